"""The LayerNorm-inside-the-cell recurrent cell against a NumPy loop of its equations."""

import keras
import numpy as np
import pytest

from normexp.models.recurrent_cell import LayerNormRecurrentCell

BATCH, STEPS, FEATURES, UNITS = 3, 5, 4, 6


def sigmoid(value):
    return 1 / (1 + np.exp(-value))


def layer_norm(vector, gain, epsilon):
    mean = vector.mean(axis=-1, keepdims=True)
    return gain * (vector - mean) / np.sqrt(vector.var(axis=-1, keepdims=True) + epsilon)


def numpy_sequence(kind, weights, inputs, epsilon):
    """Ba et al.'s layer-normalized recurrences, step by step (activation tanh)."""
    names = ["kernel", "recurrent_kernel", "bias", "input_gain", "recurrent_gain", "cell_gain",
             "cell_shift"]
    w = dict(zip(names, weights))
    output = np.zeros((BATCH, UNITS))
    cell = np.zeros((BATCH, UNITS))
    outputs = []
    for step in range(STEPS):
        x = inputs[:, step]
        if kind == "simple":
            summed = x @ w["kernel"] + output @ w["recurrent_kernel"]
            output = np.tanh(layer_norm(summed, w["input_gain"], epsilon) + w["bias"])
        else:
            from_input = layer_norm(x @ w["kernel"], w["input_gain"], epsilon)
            from_state = layer_norm(output @ w["recurrent_kernel"], w["recurrent_gain"], epsilon)
        if kind == "lstm":
            i, f, o, g = np.split(from_input + from_state + w["bias"], 4, axis=-1)
            cell = sigmoid(f) * cell + sigmoid(i) * np.tanh(g)
            normalized = layer_norm(cell, w["cell_gain"], epsilon) + w["cell_shift"]
            output = sigmoid(o) * np.tanh(normalized)
        if kind == "gru":
            (xr, xz, xn), (hr, hz, hn) = (np.split(v, 3, axis=-1) for v in (from_input, from_state))
            br, bz, bn = np.split(w["bias"], 3)
            reset, update = sigmoid(xr + hr + br), sigmoid(xz + hz + bz)
            output = update * output + (1 - update) * np.tanh(xn + reset * hn + bn)
        outputs.append(output)
    return np.stack(outputs, axis=1)


def cell_layer(kind, epsilon=1e-3, seed=0):
    keras.utils.set_random_seed(seed)
    layer = keras.layers.RNN(LayerNormRecurrentCell(kind, UNITS, epsilon=epsilon),
                             return_sequences=True)
    layer.build((None, STEPS, FEATURES))
    generator = np.random.default_rng(seed)
    # Gains and biases away from their starting values, so each one is exercised.
    layer.set_weights([weight + generator.normal(0, 0.3, weight.shape)
                       for weight in layer.get_weights()])
    return layer


INPUTS = np.random.default_rng(7).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


@pytest.mark.parametrize("kind", ["simple", "gru", "lstm"])
def test_cell_matches_the_equations(kind):
    layer = cell_layer(kind)
    expected = numpy_sequence(kind, layer.get_weights(), INPUTS.astype("float64"), 1e-3)
    np.testing.assert_allclose(layer(INPUTS).numpy(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["simple", "gru", "lstm"])
def test_output_ignores_the_scale_of_the_kernels(kind):
    # LayerNorm of W x does not change when W is multiplied by a constant; a plain
    # cell's output does. GRU and LSTM normalize W x and U h separately, so each
    # may be scaled on its own; the simple cell normalizes W x + U h, so both
    # scale together. (A tiny epsilon keeps the invariance exact.)
    layer = cell_layer(kind, epsilon=1e-9)
    before = layer(INPUTS).numpy()
    weights = layer.get_weights()
    recurrent_scale = 5.0 if kind == "simple" else 0.2
    layer.set_weights([weights[0] * 5.0, weights[1] * recurrent_scale, *weights[2:]])
    np.testing.assert_allclose(layer(INPUTS).numpy(), before, rtol=1e-4, atol=1e-5)
    plain = keras.layers.SimpleRNN(UNITS, return_sequences=True)
    plain_before = plain(INPUTS).numpy()
    plain.set_weights([plain.get_weights()[0] * 5.0, *plain.get_weights()[1:]])
    assert not np.allclose(plain(INPUTS).numpy(), plain_before, atol=1e-3)


def test_every_step_normalizes_its_pre_activations():
    layer = cell_layer("simple", epsilon=1e-9)
    kernel, recurrent, bias, gain = layer.get_weights()
    layer.set_weights([kernel, recurrent, np.zeros_like(bias), np.ones_like(gain)])
    outputs = np.arctanh(np.clip(layer(INPUTS).numpy(), -0.999999, 0.999999))
    np.testing.assert_allclose(outputs.mean(axis=-1), 0, atol=1e-3)
    np.testing.assert_allclose(outputs.std(axis=-1), 1, atol=1e-2)
