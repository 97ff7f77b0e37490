"""Build a Keras optimizer from the config's ``optimizer`` mapping."""

from normexp.config.optimizers import OPTIMIZERS


def build_optimizer(optimizer_config, updates=None):
    """A fresh Keras optimizer from ``{"name": ..., "schedule": ..., **constructor_kwargs}``.

    ``updates`` (the run's optimizer steps) sets where a schedule's decay ends."""
    import keras

    class_name = OPTIMIZERS.get(optimizer_config["name"])
    kwargs = {key: value for key, value in optimizer_config.items()
              if key not in ("name", "schedule")}
    rate = kwargs.get("learning_rate")
    if isinstance(rate, int) and not isinstance(rate, bool):
        # YAML reads `learning_rate: 1` as an int, which Keras refuses.
        kwargs["learning_rate"] = float(rate)
    if "schedule" in optimizer_config:
        kwargs["learning_rate"] = learning_rate_schedule(
            optimizer_config["schedule"], kwargs.get("learning_rate", 0.001), updates)
    return getattr(keras.optimizers, class_name)(**kwargs)


def learning_rate_schedule(schedule, rate, updates):
    """Keras' ``CosineDecay`` as warmup then constant or cosine decay, over ``updates``.

    With ``w = warmup_steps``, ``T = updates``, ``r = rate``, ``f = final_fraction`` and
    ``s`` the optimizer's step count before the update (0 for the first)::

        s < w:   r · s / w                                   (so the first update has rate 0)
        s >= w:  r · (f + (1 - f) · (1 + cos(π · min(s - w, T - w) / (T - w))) / 2)   cosine
                 r                                                                   constant

    ``constant`` is ``CosineDecay`` with ``alpha = 1``: the decay ends where it starts.
    """
    import keras

    warmup = schedule.get("warmup_steps", 0)
    cosine = schedule.get("decay", "constant") == "cosine"
    alpha = schedule.get("final_fraction", 0.0) if cosine else 1.0
    if warmup == 0:
        return keras.optimizers.schedules.CosineDecay(rate, updates, alpha=alpha)
    return keras.optimizers.schedules.CosineDecay(
        0.0, updates - warmup, alpha=alpha, warmup_target=rate, warmup_steps=warmup)
