"""The optimizer and activation registries: config name → Keras class or function name.

An optimizer entry names a ``keras.optimizers`` class; every other key of the
config's ``optimizer`` mapping is passed to its constructor unchanged
(``normexp.engine.optimizers.build_optimizer``), except ``schedule``, which wraps
``learning_rate`` in a schedule. No TensorFlow here.
"""

from normexp.config.schema import suggestion
from normexp.registry import Registry

OPTIMIZERS = Registry("optimizer")
for _name, _class_name in {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD",
                           "rmsprop": "RMSprop", "adagrad": "Adagrad", "adamax": "Adamax",
                           "nadam": "Nadam", "lion": "Lion"}.items():
    OPTIMIZERS.register(_name, _class_name)

ACTIVATIONS = Registry("activation")
for _name in ("relu", "gelu", "tanh", "sigmoid", "elu", "selu", "silu", "swish",
              "softplus", "leaky_relu", "mish", "linear"):
    ACTIVATIONS.register(_name, _name)


# A learning-rate schedule: ``train.optimizer.schedule`` (``normexp.engine.optimizers``).
DECAYS = ("constant", "cosine")
SCHEDULE_KEYS = ("warmup_steps", "decay", "final_fraction")


def schedule_problem(schedule):
    """Why ``schedule`` (``{warmup_steps, decay, final_fraction}``) is invalid, or None.

    ``warmup_steps``: updates over which the rate rises linearly from 0 to
    ``learning_rate`` (default 0); ``decay``: what follows, ``constant`` (default) or
    ``cosine`` down to ``final_fraction × learning_rate`` (default 0) at the run's last
    update. Whether the warmup fits in the run is checked with the run's length."""
    if not isinstance(schedule, dict):
        return "schedule must be a mapping, e.g. {warmup_steps: 500, decay: cosine}"
    for key in schedule:
        if key not in SCHEDULE_KEYS:
            return (f"schedule has no key {key!r}{suggestion(key, SCHEDULE_KEYS)}; "
                    f"keys: {', '.join(SCHEDULE_KEYS)}")
    warmup = schedule.get("warmup_steps", 0)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        return f"schedule.warmup_steps must be an integer >= 0, got {warmup!r}"
    decay = schedule.get("decay", "constant")
    if decay not in DECAYS:
        return (f"schedule.decay must be one of: {', '.join(DECAYS)}, got "
                f"{decay!r}{suggestion(decay, DECAYS)}")
    fraction = schedule.get("final_fraction", 0.0)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not (
            0 <= fraction <= 1):
        return f"schedule.final_fraction must be a number in [0, 1], got {fraction!r}"
    if "final_fraction" in schedule and decay != "cosine":
        return "schedule.final_fraction applies to decay: cosine only"
    return None


def warmup_problem(schedule, updates):
    """Why the warmup cannot fit in a run of ``updates`` optimizer steps, or None."""
    warmup = (schedule or {}).get("warmup_steps", 0)
    if warmup >= updates:
        return (f"warmup_steps {warmup} is not shorter than the whole run ({updates} "
                f"updates); use fewer warmup steps or more epochs")
    return None

