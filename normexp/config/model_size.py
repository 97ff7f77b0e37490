"""How big a configured model is, known before anything is built (no TensorFlow here).

A config may validate field by field and still describe a model no machine can
train (``hidden: [1000000000000]``). Building it would fail deep inside
TensorFlow, or swap the machine to a halt first, so the size is computed from the
config and refused at load time with one line.

Contract: ``parameter_count(model_config)`` counts every weight of the family's
network (``normexp.models``), plus at most four per normalized unit or channel
for a norm layer (γ, β and BatchNorm's two moving statistics), and for recurrent
BatchNorm the moving mean and variance of each time step.
The transformer's count is exact for LayerNorm and one norm per block position.
``training_bytes`` is float32 weights, gradients and two optimizer slots per
weight, plus the activations a batch keeps for the backward pass (an upper
estimate for the CNN and RNN: three per unit, per pixel or per time step).
"""

import os

FLOAT_BYTES = 4
COPIES_PER_WEIGHT = 4   # weight, gradient, and Adam's two moment estimates
NORM_WEIGHTS_PER_UNIT = 4


def parameter_count(model_config, inputs=28 * 28, classes=10):
    return sizes(model_config, inputs, classes)[0]


def training_bytes(model_config, batch_size, inputs=28 * 28, classes=10):
    parameters, units = sizes(model_config, inputs, classes)
    activations = batch_size * (inputs + 3 * units + classes)
    return FLOAT_BYTES * (parameters * COPIES_PER_WEIGHT + activations)


def sizes(model_config, inputs, classes):
    """``(parameters, activation units per example)`` of the configured family."""
    family = getattr(model_config, "family", "mlp")
    if family == "cnn":
        return cnn_sizes(model_config, inputs, classes)
    if family == "rnn":
        return rnn_sizes(model_config, classes)
    if family == "transformer":
        return transformer_sizes(model_config, inputs, classes)
    norm_units = 0 if model_config.norm == "none" else sum(model_config.hidden)
    return dense_count([inputs, *model_config.hidden, classes]) + norm_weights(
        model_config, norm_units), sum(model_config.hidden)


def dense_count(widths):
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in zip(widths, widths[1:]))


def norm_weights(model_config, units):
    return 0 if model_config.norm == "none" else NORM_WEIGHTS_PER_UNIT * units


def cnn_sizes(model_config, inputs, classes):
    side, channels, parameters, units = round(inputs ** 0.5), 1, 0, 0
    blocks = zip(model_config.filters, model_config.per_block("kernel_size"),
                 model_config.per_block("pooling"))
    for filters, kernel, pooling in blocks:
        parameters += kernel * kernel * channels * filters + filters
        units += side * side * filters
        side = side // model_config.pool_size if pooling != "none" else side
        channels = filters
    parameters += norm_weights(model_config, sum(model_config.filters))
    parameters += dense_count([side * side * channels, *model_config.dense, classes])
    return parameters, units + sum(model_config.dense)


def rnn_sizes(model_config, classes, pixels=28 * 28):
    gates = {"simple": 1, "gru": 3, "lstm": 4}[model_config.cell]
    steps = model_config.steps
    recurrent_batch_norm = model_config.placement == "cell" and model_config.norm == "batch"
    parameters, width = 0, pixels // steps
    for units in model_config.units:
        # kernels and bias, plus the cell's norm gains (at most 2 per gate unit + 2 per unit)
        parameters += gates * units * (width + units + 3) + 2 * units
        if recurrent_batch_norm:  # a moving mean and variance per step of its three terms
            parameters += 2 * steps * (2 * gates + 1) * units
        width = units
    parameters += norm_weights(model_config, sum(model_config.units))
    parameters += dense_count([width, classes])
    return parameters, steps * gates * sum(model_config.units)


def transformer_sizes(model_config, inputs, classes):
    """Patch embedding, positions, per block attention (q, k, v, output: 4 · (w² + w)), MLP and
    two norms, the final norm, the head. Units: each token's width per layer of a block,
    plus every head's token-by-token attention weights."""
    tokens, width = model_config.tokens(), model_config.width
    hidden = width * model_config.mlp_ratio
    block = 4 * (width * width + width) + dense_count([width, hidden, width])
    parameters = (dense_count([inputs // tokens, width]) + tokens * width
                  + model_config.depth * (block + norm_weights(model_config, 2 * width))
                  + norm_weights(model_config, width) + dense_count([width, classes]))
    units = model_config.depth * (tokens * (6 * width + hidden)
                                  + model_config.heads * tokens * tokens)
    return parameters, units


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
            f"{human_bytes(available)}; use fewer or smaller layers")


def human_bytes(count):
    for unit in ("B", "KB", "MB", "GB", "TB", "PB", "EB"):
        if count < 1000 or unit == "EB":
            return f"{count:.3g} {unit}"
        count /= 1000
    return f"{count:.3g} EB"
