"""The ``bn_statistics`` probe on a CNN, checked against Keras' own layers run another way.

BatchNorm in a conv block normalizes each channel over the examples of a batch and their
pixels. The expected values here come from clones of the model run through Keras (training
mode group by group, or inference with moving averages set to numpy's pooled statistics),
never through ``probes.passes``.
"""

import copy

import numpy as np
import pytest

from normexp.config.families import CnnConfig
from normexp.data import datasets
from normexp.engine import probes
from normexp.config.sections import ProbeConfig
from normexp.config.study import load_study
from normexp.engine.trainer import train_run
from normexp.models import build_model
from tests.conftest import TINY_STUDY, write_config

import keras  # noqa: E402  (after normexp: TensorFlow is imported quietly)

BN_ONLY = ProbeConfig(bn_statistics=True, examples=64)
BATCH = 16   # four groups of 16 in the 64-example probe batch and validation subset


def cnn_probe(tiny_data_dir, norm="batch", placement="before"):
    keras.utils.set_random_seed(0)
    model = build_model(CnnConfig(filters=(4, 6), dense=(8,), norm=norm, placement=placement))
    splits = datasets.load("mnist", "test", tiny_data_dir)
    return probes.Probes(model, BN_ONLY, BATCH, splits), model


def clone(model):
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def batch_norms(model):
    return [layer for layer in model.layers
            if isinstance(layer, keras.layers.BatchNormalization)]


def norm_inputs(model, images):
    """The input of each BatchNorm layer, Keras' training mode on ``images`` as one batch
    (it moves ``model``'s averages: call it on a clone)."""
    inputs = keras.Model(model.inputs, [layer.input for layer in batch_norms(model)])
    return [np.asarray(value) for value in inputs([images], training=True)]


def expected_precise_model(model, x_probe):
    """A clone whose moving averages are PreciseBN's statistics, found layer by layer: the
    inputs of BN layer k come from the probe batch in groups of ``BATCH``, every BN before it
    in training mode (batch statistics), pooled over all groups' examples and pixels."""
    precise = clone(model)
    for index, layer in enumerate(batch_norms(precise)):
        training = clone(model)
        groups = [norm_inputs(training, datasets.scale(x_probe[start:start + BATCH]))[index]
                  for start in range(0, len(x_probe), BATCH)]
        pooled = np.concatenate(groups)
        axes = tuple(range(pooled.ndim - 1))
        layer.moving_mean.assign(pooled.mean(axis=axes))
        layer.moving_variance.assign(pooled.var(axis=axes))
    return precise


def accuracy(probabilities, labels):
    return float(np.mean(np.argmax(np.asarray(probabilities), axis=-1) == labels))


def test_cnn_precise_statistics_are_numpys_over_examples_and_pixels(tiny_data_dir):
    probe, model = cnn_probe(tiny_data_dir)
    population = probe.passes(probe.x_probe, ((probe.groups, "batch"),), None, None)[0][2]
    images = datasets.scale(probe.x_probe)[..., None]
    conv = model.get_layer("conv_1")   # no bias: BatchNorm's shift replaces it
    outputs = np.asarray(conv(images))
    mean, variance = (np.asarray(value) for value in population[0])
    assert mean.shape == variance.shape == (1, 1, 1, 1, 4)
    np.testing.assert_allclose(mean.ravel(), outputs.mean(axis=(0, 1, 2)), atol=1e-5)
    np.testing.assert_allclose(variance.ravel(), outputs.var(axis=(0, 1, 2)), rtol=1e-3,
                               atol=1e-6)


def test_cnn_three_modes_match_keras_computed_another_way(tiny_data_dir):
    probe, model = cnn_probe(tiny_data_dir)
    x_val, y_val = probe.x_val, probe.y_val
    population = probe.passes(probe.x_probe, ((probe.groups, "batch"),), None, None)[0][2]
    batch, moving, precise = (np.asarray(output[0]) for output in probe.passes(
        x_val, ((probe.groups, "batch"), (1, "moving"), (1, "given")), None, population))

    by_group = clone(model)   # training mode moves its averages, not the model's
    expected_batch = np.concatenate([by_group(datasets.scale(x_val[start:start + BATCH]),
                                              training=True)
                                     for start in range(0, len(x_val), BATCH)])
    expected_moving = model.predict(datasets.scale(x_val), verbose=0)
    expected_precise = expected_precise_model(model, probe.x_probe)(datasets.scale(x_val),
                                                                    training=False)
    np.testing.assert_allclose(batch, expected_batch, atol=1e-5)
    np.testing.assert_allclose(moving, expected_moving, atol=1e-5)
    np.testing.assert_allclose(precise, np.asarray(expected_precise), atol=1e-5)
    # The three modes differ here, so matching each one is not matching any one.
    assert np.abs(precise - moving).max() > 1e-3 and np.abs(batch - precise).max() > 1e-3

    values = probe.measure()
    assert values["probe_val_accuracy_moving"] == accuracy(expected_moving, y_val)
    assert values["probe_val_accuracy_batch"] == accuracy(expected_batch, y_val)
    assert values["probe_val_accuracy_precise"] == accuracy(expected_precise, y_val)


@pytest.mark.parametrize("norm, placement", [("batch", "before"), ("batch", "after"),
                                             ("layer", "before"), ("none", "before")])
def test_cnn_probe_leaves_every_variable_untouched(tiny_data_dir, norm, placement):
    probe, model = cnn_probe(tiny_data_dir, norm, placement)
    before = [variable.numpy().copy() for variable in model.variables]
    values = probe.measure()
    assert all(np.array_equal(old, variable.numpy())
               for old, variable in zip(before, model.variables))
    expected = accuracy(model.predict(datasets.scale(probe.x_val), verbose=0), probe.y_val)
    assert values["probe_val_accuracy_moving"] == expected
    if norm != "batch":   # nothing depends on the batch: the three modes are one
        assert (values["probe_val_accuracy_batch"] == values["probe_val_accuracy_precise"]
                == expected)


def test_a_cnn_runs_probes_reach_the_history_each_epoch(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data["model"] = {"family": "cnn", "filters": [4], "dense": [8], "norm": "batch"}
    data["variants"], data["report"] = [{"name": "bn"}], {}
    data["train"]["probes"] = {"bn_statistics": True, "examples": 128}
    spec = load_study(write_config(tmp_path, data)).runs[0]
    history = train_run(spec, data_dir=tiny_data_dir).history
    for mode in ("batch", "moving", "precise"):
        assert len(history[f"probe_val_accuracy_{mode}"]) == 2
