"""Recurrent BatchNorm (Cooijmans et al. 2016) against a NumPy loop of its equations."""

import keras
import numpy as np
import pytest

from normexp.models.recurrent_batch_norm import BatchNormLSTM

BATCH, STEPS, FEATURES, UNITS = 5, 4, 3, 2
EPSILON, MOMENTUM = 1e-3, 0.9
INPUTS = np.random.default_rng(7).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


def sigmoid(value):
    return 1 / (1 + np.exp(-value))


def batch_norm(values, mean, variance, gain, shift=0.0):
    return gain * (values - mean) / np.sqrt(variance + EPSILON) + shift


def moments(values):
    """Over the batch (axis 0), biased variance."""
    return values.mean(axis=0), values.var(axis=0)


def numpy_sequence(weights, inputs, moving=None):
    """The paper's BN-LSTM, step by step. ``moving``: per-step statistics for inference
    ({term: (mean[steps], variance[steps])}); None: training, batch statistics per step.
    Returns the outputs (batch, steps, units) and each term's per-step batch statistics."""
    kernel, recurrent_kernel, bias, input_gain, recurrent_gain, cell_gain, cell_shift = weights
    projected = inputs @ kernel
    statistics = {name: ([], []) for name in ("input", "recurrent", "cell")}
    output, cell, outputs = np.zeros((len(inputs), UNITS)), np.zeros((len(inputs), UNITS)), []
    for step in range(inputs.shape[1]):
        terms = {"input": projected[:, step], "recurrent": output @ recurrent_kernel}
        for name in terms:
            mean, variance = (moments(terms[name]) if moving is None
                              else (moving[name][0][step], moving[name][1][step]))
            statistics[name][0].append(mean)
            statistics[name][1].append(variance)
            terms[name] = batch_norm(terms[name], mean, variance,
                                     input_gain if name == "input" else recurrent_gain)
        i, f, o, g = np.split(terms["input"] + terms["recurrent"] + bias, 4, axis=-1)
        cell = sigmoid(f) * cell + sigmoid(i) * np.tanh(g)
        mean, variance = (moments(cell) if moving is None
                          else (moving["cell"][0][step], moving["cell"][1][step]))
        statistics["cell"][0].append(mean)
        statistics["cell"][1].append(variance)
        output = sigmoid(o) * np.tanh(batch_norm(cell, mean, variance, cell_gain, cell_shift))
        outputs.append(output)
    return np.stack(outputs, axis=1), {name: tuple(map(np.stack, pair))
                                       for name, pair in statistics.items()}


def bn_layer(seed=0):
    keras.utils.set_random_seed(seed)
    layer = BatchNormLSTM(UNITS, STEPS, return_sequences=True, momentum=MOMENTUM,
                          epsilon=EPSILON)
    layer.build((None, STEPS, FEATURES))
    generator = np.random.default_rng(seed)
    # Gains, shift and bias away from their starts, so that each one is exercised.
    for weight in layer.trainable_weights:
        weight.assign(weight.numpy() + generator.normal(0, 0.3, weight.shape))
    return layer


def trainable_values(layer):
    """In ``numpy_sequence``'s order."""
    cell = layer.cell
    weights = (layer.kernel, cell.recurrent_kernel, cell.bias, layer.input_gain,
               cell.recurrent_gain, cell.cell_gain, cell.cell_shift)
    return [np.asarray(weight.numpy(), "float64") for weight in weights]


def moving_values(layer):
    moving = layer.moving_statistics()
    return {name: (moving[f"{name}_mean"].numpy(), moving[f"{name}_variance"].numpy())
            for name in ("input", "recurrent", "cell")}


def test_starts_as_the_paper_recommends():
    layer = BatchNormLSTM(UNITS, STEPS)
    layer.build((None, STEPS, FEATURES))
    _, _, bias, *gains, shift = trainable_values(layer)
    for gain in gains:
        np.testing.assert_array_equal(gain, np.float32(0.1))
    assert all(variable.shape[0] == STEPS                          # one row per time step
               for variable in layer.moving_statistics().values())
    np.testing.assert_array_equal(shift, 0)
    np.testing.assert_array_equal(bias, [0, 0, 1, 1, 0, 0, 0, 0])    # forget gate: 1


def test_training_matches_the_equations_with_per_step_statistics():
    layer = bn_layer()
    expected, statistics = numpy_sequence(trainable_values(layer), INPUTS.astype("float64"))
    np.testing.assert_allclose(np.asarray(layer(INPUTS, training=True)), expected,
                               rtol=1e-4, atol=1e-5)
    # Moving averages start at mean 0, variance 1 and take one step towards each time
    # step's own batch statistics.
    for name, (mean, variance) in moving_values(layer).items():
        np.testing.assert_allclose(mean, (1 - MOMENTUM) * statistics[name][0],
                                   rtol=1e-4, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(variance, MOMENTUM + (1 - MOMENTUM) * statistics[name][1],
                                   rtol=1e-4, atol=1e-5, err_msg=name)
    # Statistics per step, not pooled over steps: the steps' batch means differ.
    assert np.ptp(statistics["cell"][0], axis=0).max() > 1e-2


def test_inference_uses_each_steps_moving_averages():
    layer = bn_layer()
    generator = np.random.default_rng(3)
    for name, variable in layer.moving_statistics().items():
        shift = 1.0 if "variance" in name else 0.0
        variable.assign(shift + generator.uniform(0, 0.5, variable.shape))
    moving = moving_values(layer)
    expected, _ = numpy_sequence(trainable_values(layer), INPUTS.astype("float64"), moving)
    np.testing.assert_allclose(np.asarray(layer(INPUTS, training=False)), expected,
                               rtol=1e-4, atol=1e-5)
    before = {name: value.copy() for name, (value, _) in moving.items()}
    assert all(np.array_equal(moving_values(layer)[name][0], before[name]) for name in before)
    # Changing step 2's statistics changes the outputs from step 2 on, and no earlier.
    changed = moving["cell"][0].copy()
    changed[2] += 0.5
    layer.moving_statistics()["cell_mean"].assign(changed)
    after = np.asarray(layer(INPUTS, training=False))
    np.testing.assert_allclose(after[:, :2], expected[:, :2], rtol=1e-4, atol=1e-5)
    assert not np.allclose(after[:, 2], expected[:, 2], atol=1e-3)


@pytest.mark.parametrize("training, depends", [(True, True), (False, False)])
def test_an_examples_output_depends_on_its_batch_only_in_training(training, depends):
    layer = bn_layer()
    others = np.random.default_rng(11).normal(2.0, 1.0, INPUTS.shape).astype("float32")
    in_batch = np.asarray(layer(INPUTS, training=training))[0]
    in_other_batch = np.asarray(
        layer(np.concatenate([INPUTS[:1], others[1:]]), training=training))[0]
    assert (not np.allclose(in_batch, in_other_batch, atol=1e-3)) == depends


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="uses TensorFlow's tape")
def test_last_output_without_sequences_and_gradients_reach_every_weight():
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    layer = BatchNormLSTM(UNITS, STEPS)
    with tf.GradientTape() as tape:
        output = layer(INPUTS, training=True)
        loss = tf.reduce_sum(output * np.arange(1, UNITS + 1, dtype="float32"))
    assert output.shape == (BATCH, UNITS)
    gradients = tape.gradient(loss, layer.trainable_weights)
    assert all(gradient is not None and np.abs(gradient.numpy()).max() > 0
               for gradient in gradients)
