"""The ``rnn`` family: the image read as a sequence, from an ``RnnConfig``.

Shape: the (batch, 28, 28) image is a sequence of ``steps`` time steps of
``784 / steps`` pixels, read row by row (28 steps: one row each, the default;
196 steps: four pixels each, a row taking seven steps), each pixel in [0, 1] or,
with ``pixels: centered``, pixel − 0.5; ``[recurrent layer] ×
len(units) → Dense(10, softmax)``. Every layer but the last returns its whole
output sequence; the last returns its final output. The cell is Keras'
``SimpleRNN``, ``GRU`` or ``LSTM``; with ``placement: cell`` the norm sits inside
the recurrence: LayerNorm in ``LayerNormRecurrentCell`` (Ba et al. 2016), or
BatchNorm with statistics per time step in ``BatchNormLSTM`` (Cooijmans et al.
2016). With ``placement: after`` the norm layer sits between stacked recurrent
layers; on a (batch, time, features) tensor it acts on every time step:
LayerNorm per example and step over the features, BatchNorm per feature with
statistics shared over the batch and all time steps.
"""

import math

import keras

from normexp.models.norms import build_norm
from normexp.models.recurrent_batch_norm import BatchNormLSTM
from normexp.models.recurrent_cell import LayerNormRecurrentCell


CELL_LAYERS = {"simple": "SimpleRNN", "gru": "GRU", "lstm": "LSTM"}


def build(model_config, input_shape=(28, 28), classes=10):
    layers = [keras.Input(shape=input_shape)]
    if model_config.pixels == "centered":
        # Blank pixels become −0.5, not 0: LayerNorm of an all-zero vector has a gradient of
        # gain / sqrt(epsilon) (31.6 with Keras' epsilon 1e-3), which compounds over a blank
        # stretch of steps; 25 blank steps of 4 pixels overflow float32.
        layers.append(keras.layers.Rescaling(1.0, offset=-0.5, name="center"))
    if model_config.steps != input_shape[0]:
        # Row-major: consecutive pixels of a row form a step (28 rows → 28 steps needs none,
        # so row-by-row models stay exactly as they were built before steps existed).
        pixels = math.prod(input_shape) // model_config.steps
        layers.append(keras.layers.Reshape((model_config.steps, pixels), name="steps"))
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
    if model_config.placement == "cell" and model_config.norm == "batch":
        return BatchNormLSTM(units, model_config.steps, model_config.activation,
                             return_sequences=sequences, name=name,
                             **dict(model_config.norm_args))
    if model_config.placement == "cell" and model_config.norm != "none":
        epsilon = dict(model_config.norm_args).get("epsilon", 1e-3)
        cell = LayerNormRecurrentCell(model_config.cell, units, model_config.activation,
                                      epsilon=epsilon, name=f"{name}_cell")
        return keras.layers.RNN(cell, return_sequences=sequences, name=name)
    return getattr(keras.layers, CELL_LAYERS[model_config.cell])(
        units, activation=model_config.activation, return_sequences=sequences, name=name)
