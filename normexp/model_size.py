"""How big a configured MLP is, known before anything is built (no TensorFlow here).

A config may validate field by field and still describe a model no machine can
train (``hidden: [1000000000000]``). Building it would fail deep inside
TensorFlow, or swap the machine to a halt first, so the size is computed from the
config and refused at load time with one line.

Contract: ``parameter_count(model_config)`` counts every weight of
``Flatten → Dense × len(hidden) → Dense(classes)``, plus at most four per hidden
unit for a norm layer (γ, β and BatchNorm's two moving statistics).
``training_bytes`` is float32 weights, gradients and two optimizer slots per
weight, plus the activations a batch keeps for the backward pass.
"""

import os

FLOAT_BYTES = 4
COPIES_PER_WEIGHT = 4   # weight, gradient, and Adam's two moment estimates
NORM_WEIGHTS_PER_UNIT = 4


def parameter_count(model_config, inputs=28 * 28, classes=10):
    widths = [inputs, *model_config.hidden, classes]
    dense = sum(fan_in * fan_out + fan_out for fan_in, fan_out in zip(widths, widths[1:]))
    norms = 0 if model_config.norm == "none" else NORM_WEIGHTS_PER_UNIT * sum(model_config.hidden)
    return dense + norms


def training_bytes(model_config, batch_size, inputs=28 * 28, classes=10):
    activations = batch_size * (inputs + 3 * sum(model_config.hidden) + classes)
    weights = parameter_count(model_config, inputs, classes) * COPIES_PER_WEIGHT
    return FLOAT_BYTES * (weights + activations)


def physical_memory():
    """Bytes of RAM, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def size_problem(model_config, batch_size):
    """A one-line reason this model cannot be trained here, or None."""
    available = physical_memory()
    needed = training_bytes(model_config, batch_size)
    if available is None or needed <= available:
        return None
    return (f"this model has about {parameter_count(model_config):,} parameters and needs "
            f"about {human_bytes(needed)} of memory to train, more than this machine's "
            f"{human_bytes(available)}; use fewer or smaller hidden layers")


def human_bytes(count):
    for unit in ("B", "KB", "MB", "GB", "TB", "PB", "EB"):
        if count < 1000 or unit == "EB":
            return f"{count:.3g} {unit}"
        count /= 1000
    return f"{count:.3g} EB"
