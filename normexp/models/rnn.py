"""The ``rnn`` family: the image read row by row, from an ``RnnConfig``.

Shape: the (batch, 28, 28) image is a sequence of 28 time steps of 28
features; ``[recurrent layer] × len(units) → Dense(10, softmax)``. Every layer
but the last returns its whole output sequence; the last returns its final
output. The cell is Keras' ``SimpleRNN``, ``GRU`` or ``LSTM``, or, with
``placement: cell``, ``LayerNormRecurrentCell`` (LayerNorm inside the
recurrence). With ``placement: after`` the norm layer sits between stacked
recurrent layers; on a (batch, time, features) tensor it acts on every time
step: LayerNorm per example and step over the features, BatchNorm per feature
with statistics shared over the batch and all time steps.
"""

import keras

from normexp.models.norms import build_norm
from normexp.models.recurrent_cell import LayerNormRecurrentCell


CELL_LAYERS = {"simple": "SimpleRNN", "gru": "GRU", "lstm": "LSTM"}


def build(model_config, input_shape=(28, 28), classes=10):
    layers = [keras.Input(shape=input_shape)]
    last = len(model_config.units)
    for index, units in enumerate(model_config.units, start=1):
        layers.append(recurrent_layer(model_config, units, index, sequences=index < last))
        if index < last and model_config.placement == "after":
            norm_layer = build_norm(
                model_config.norm, dict(model_config.norm_args),
                f"{model_config.norm}_norm_{index}", "sequence")
            layers.extend([norm_layer] if norm_layer is not None else [])
        if model_config.dropout > 0:
            layers.append(keras.layers.Dropout(model_config.dropout, name=f"dropout_{index}"))
    layers.append(keras.layers.Dense(classes, activation="softmax", name="output"))
    return keras.Sequential(layers, name=f"rnn_{model_config.cell}_{model_config.norm}_"
                                         f"{model_config.placement}")


def recurrent_layer(model_config, units, index, sequences):
    name = f"{model_config.cell}_{index}"
    if model_config.placement == "cell" and model_config.norm != "none":
        epsilon = dict(model_config.norm_args).get("epsilon", 1e-3)
        cell = LayerNormRecurrentCell(model_config.cell, units, model_config.activation,
                                      epsilon=epsilon, name=f"{name}_cell")
        return keras.layers.RNN(cell, return_sequences=sequences, name=name)
    return getattr(keras.layers, CELL_LAYERS[model_config.cell])(
        units, activation=model_config.activation, return_sequences=sequences, name=name)
