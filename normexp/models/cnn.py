"""The ``cnn`` family: Conv2D blocks, then a dense head, from a ``CnnConfig``.

Shape: ``Reshape(28, 28, 1) → [conv block] × len(filters) → Flatten →
[Dense(units, activation)] × len(dense) → Dense(10, softmax)``. A conv block
is ``Conv2D(filters, kernel_size, padding="same")`` with the norm after or
before its activation, exactly as the MLP's hidden block, then the block's
pooling (``max``, ``average`` or ``none``) and Dropout when set.

The norm sits in the conv blocks only; the dense head is plain, so every
variant shares the same head. What each norm normalizes over in a conv block
is listed in ``normexp.models.norms``.
"""

import keras

from normexp.models.mlp import normalized_block


POOLING_LAYERS = {"max": "MaxPooling2D", "average": "AveragePooling2D"}


def build(model_config, input_shape=(28, 28), classes=10):
    """The images arrive as (batch, 28, 28); the model adds the channel axis itself."""
    layers = [keras.Input(shape=input_shape),
              keras.layers.Reshape((*input_shape, 1), name="add_channel")]
    blocks = zip(model_config.filters, model_config.per_block("kernel_size"),
                 model_config.per_block("pooling"))
    for index, (filters, kernel, pooling) in enumerate(blocks, start=1):
        layers.extend(conv_block(model_config, filters, kernel, index))
        if pooling != "none":
            layers.append(getattr(keras.layers, POOLING_LAYERS[pooling])(
                model_config.pool_size, name=f"pool_{index}"))
    layers.append(keras.layers.Flatten(name="flatten"))
    for index, units in enumerate(model_config.dense, start=1):
        layers.append(keras.layers.Dense(units, activation=model_config.activation,
                                         name=f"head_{index}"))
    layers.append(keras.layers.Dense(classes, activation="softmax", name="output"))
    return keras.Sequential(layers, name=f"cnn_{model_config.norm}_{model_config.placement}")


def conv_block(model_config, filters, kernel, index):
    def conv(activation, use_bias):
        return keras.layers.Conv2D(filters, kernel, padding="same", activation=activation,
                                   use_bias=use_bias, name=f"conv_{index}")

    return normalized_block(model_config, conv, index, "conv")
