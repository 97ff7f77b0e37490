"""The ``mlp`` family: the article's fully connected network, from an ``MlpConfig``.

Shape: ``Flatten → [hidden block] × len(hidden) → Dense(10, softmax)``, where a
hidden block is

* ``placement: after``  — ``Dense(units, activation)``, then the norm layer
  (the article's order);
* ``placement: before`` — ``Dense(units)``, the norm layer, then the activation
  (the BatchNorm paper's order). The Dense bias is dropped when the norm layer
  has its own shift (beta), since the norm's mean subtraction cancels it;

each followed by ``Dropout(dropout)`` when ``dropout > 0`` (``dropout_position: end``), or
with the dropout just before the norm layer (``dropout_position: before_norm``). Every Dense
layer's kernel starts from ``kernel_initializer`` (``{name, **arguments}``), the output
layer's from ``output_kernel_initializer`` when it is set.
"""

import keras

from normexp.config.norms import NORMS
from normexp.models.norms import build_norm


def build(model_config, input_shape=(28, 28), classes=10):
    """A ``keras.Sequential`` for ``model_config``; layer names are stable per index."""
    layers = [keras.Input(shape=input_shape), keras.layers.Flatten(name="flatten")]
    for index, units in enumerate(model_config.hidden, start=1):
        layers.extend(hidden_block(model_config, units, index))
    output = model_config.output_kernel_initializer or model_config.kernel_initializer
    layers.append(keras.layers.Dense(classes, activation="softmax", name="output",
                                     kernel_initializer=initializer(output)))
    return keras.Sequential(layers, name=f"mlp_{model_config.norm}_{model_config.placement}")


def initializer(spec):
    """A fresh Keras initializer per layer, from ``{"name": ..., **arguments}``.

    Built once, as ``Dense(kernel_initializer="glorot_uniform")`` builds its own: an
    unseeded initializer draws its seed from Keras' global seed when it is made, so making
    a throwaway one first would shift every later layer's weights away from plain Keras'."""
    arguments = dict(spec)
    return keras.initializers.get({"class_name": arguments.pop("name"), "config": arguments})


def hidden_block(model_config, units, index):
    def dense(activation, use_bias):
        return keras.layers.Dense(units, activation=activation, use_bias=use_bias,
                                  kernel_initializer=initializer(
                                      model_config.kernel_initializer),
                                  name=f"dense_{index}")

    return normalized_block(model_config, dense, index, "dense")


def normalized_block(model_config, make_linear, index, kind):
    """``make_linear(activation, use_bias)`` with the norm after or before the activation.

    Shared by every family whose blocks are a linear map, a norm and an activation.
    """
    norm = NORMS.get(model_config.norm)
    norm_layer = build_norm(model_config.norm, dict(model_config.norm_args),
                            f"{model_config.norm}_norm_{index}", kind)
    activation = model_config.activation
    if norm_layer is None:
        block = [make_linear(activation, True)]
    elif model_config.placement == "after":
        block = [make_linear(activation, True), norm_layer]
    else:
        block = [make_linear(None, not norm.has_shift(model_config.norm_args)), norm_layer,
                 keras.layers.Activation(activation, name=f"activation_{index}")]
    if model_config.dropout > 0:
        dropout = keras.layers.Dropout(model_config.dropout, name=f"dropout_{index}")
        at = (block.index(norm_layer) if norm_layer is not None
              and model_config.dropout_position == "before_norm" else len(block))
        block.insert(at, dropout)
    return block
