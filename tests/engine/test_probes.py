"""Probes compute what they claim, leave the model untouched, and reach the store."""

import copy

import numpy as np
import pytest

from normexp.data import datasets
from normexp.engine import probes
from normexp.engine import tensorflow_backend
from normexp.config.study import load_study
from normexp.errors import ConfigError
from normexp.models import build_model
from normexp.config.sections import ModelConfig, ProbeConfig
from normexp.engine.trainer import train_run
from tests.conftest import TINY_STUDY, write_config

import keras  # noqa: E402  (after normexp: TensorFlow is imported quietly)
import tensorflow as tf  # noqa: E402

ALL = ProbeConfig(pre_activation=1, bn_statistics=True, gradient_norms=True,
                  batch_dependence=True, examples=64)


def probe_set(tiny_data_dir, norm, batch_size=16, placement="before"):
    keras.utils.set_random_seed(0)
    model = build_model(ModelConfig(hidden=(24, 12), norm=norm, placement=placement))
    splits = datasets.load("mnist", "test", tiny_data_dir)
    return probes.Probes(model, ALL, batch_size, splits), model


@pytest.mark.parametrize("norm", ["batch", "batch_scratch"])
def test_batch_statistics_forward_is_keras_training_mode(tiny_data_dir, norm):
    probe, model = probe_set(tiny_data_dir, norm, batch_size=64)
    x = probe.x_probe
    inference = model(tensorflow_backend.to_unit_float(tf.constant(x)), training=False)
    # Several branches in one pass share the per-example layers; each must still be exact.
    ours, moving = (output[0] for output in probe.passes(
        x, ((1, "batch"), (1, "moving")), None, None))
    np.testing.assert_allclose(np.asarray(moving), np.asarray(inference), atol=1e-5)
    theirs = model(tensorflow_backend.to_unit_float(tf.constant(x)), training=True)  # moves averages
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-5)


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_training_subset_accuracy_is_keras_inference_mode_on_the_probe_batch(tiny_data_dir,
                                                                              norm):
    probe, model = probe_set(tiny_data_dir, norm, batch_size=16)
    inference = model(tensorflow_backend.to_unit_float(tf.constant(probe.x_probe)),
                      training=False)
    expected = np.mean(np.argmax(np.asarray(inference), axis=-1) == probe.y_probe)
    assert probe.bn_accuracies_and_percentiles()["probe_train_accuracy"] == expected
    assert 0 < expected < 1   # an untrained net: neither trivially right nor wrong


def test_precise_statistics_are_the_population_of_the_norm_input(tiny_data_dir):
    probe, model = probe_set(tiny_data_dir, "batch", batch_size=16)
    population = probe.passes(probe.x_probe, ((probe.groups, "batch"),), None, None)[0][2]
    dense = model.get_layer("dense_1")
    inputs = probe.x_probe.reshape(len(probe.x_probe), -1).astype(np.float32) / 255.0
    hidden = inputs @ dense.kernel.numpy()  # the Dense has no bias before BatchNorm
    mean, variance = (np.asarray(value).ravel() for value in population[0])
    np.testing.assert_allclose(mean, hidden.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(variance, hidden.var(axis=0), rtol=1e-3, atol=1e-6)


def test_gradient_pass_gives_the_same_population_statistics(tiny_data_dir):
    probe, _ = probe_set(tiny_data_dir, "batch", batch_size=16)
    _, from_gradients = probe.gradient_norms()
    own = probe.passes(probe.x_probe, ((probe.groups, "batch"),), None, None)[0][2]
    for (mean, variance), (own_mean, own_variance) in zip(from_gradients, own):
        np.testing.assert_allclose(np.asarray(mean), np.asarray(own_mean), atol=1e-6)
        np.testing.assert_allclose(np.asarray(variance), np.asarray(own_variance), atol=1e-6)
    # Shared or not, PreciseBN's accuracy is the same number.
    assert (probe.bn_accuracies_and_percentiles(from_gradients)["probe_val_accuracy_precise"]
            == probe.bn_accuracies_and_percentiles()["probe_val_accuracy_precise"])


def test_pre_activation_percentiles_and_untouched_moving_averages(tiny_data_dir):
    probe, model = probe_set(tiny_data_dir, "none", placement="after")
    before = [variable.numpy().copy() for variable in model.variables]
    values = probe.measure()
    dense = model.get_layer("dense_1")
    inputs = probe.x_probe.reshape(len(probe.x_probe), -1).astype(np.float32) / 255.0
    expected = np.percentile(inputs @ dense.kernel.numpy() + dense.bias.numpy(), (15, 50, 85))
    np.testing.assert_allclose(values["pre_activation"], expected, rtol=1e-4, atol=1e-5)
    assert all(np.array_equal(old, variable.numpy())
               for old, variable in zip(before, model.variables))
    assert set(values["gradient_norms"]) == {"dense_1", "dense_2", "output"}


def test_gradient_norms_match_a_training_step(tiny_data_dir):
    probe, model = probe_set(tiny_data_dir, "batch", batch_size=64)
    x, y = probe.x_probe, probe.y_probe.astype(np.int32)
    with tf.GradientTape() as tape:
        output = model(tensorflow_backend.to_unit_float(tf.constant(x)), training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, output))
    gradients = tape.gradient(loss, model.trainable_variables)
    expected = np.sqrt(sum(float(tf.reduce_sum(g ** 2)) for v, g in zip(
        model.trainable_variables, gradients) if "/dense_2/" in v.path))
    assert probe.gradient_norms()[0]["dense_2"] == pytest.approx(expected, rel=1e-4)


def test_layer_norm_ignores_the_batch_and_batch_norm_does_not(tiny_data_dir):
    layer, _ = probe_set(tiny_data_dir, "layer")
    batch, _ = probe_set(tiny_data_dir, "batch")
    assert max(layer.batch_dependence().values()) < 1e-5
    measured = batch.batch_dependence()
    assert measured["between_batches_difference"] > 0.01
    assert measured["train_inference_difference"] > 0.01
    assert measured["between_batches_inference_difference"] < 1e-5   # moving averages


def test_probes_reach_the_history_each_epoch(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data["train"]["probes"] = {"pre_activation": 1, "bn_statistics": True, "examples": 128}
    spec = load_study(write_config(tmp_path, data)).runs[-1]
    history = train_run(spec, data_dir=tiny_data_dir).history
    assert len(history["pre_activation"]) == len(history["probe_val_accuracy_precise"]) == 2
    assert len(history["pre_activation"][0]) == 3 and "gradient_norms" not in history


@pytest.mark.parametrize("changes, field, words", [
    ({"train": {"probes": {"pre_activation": 3}}}, "train.probes.pre_activation",
     "the model has 1"),
    ({"train": {"probes": {"bn_stats": True}}}, "train.probes.bn_stats",
     "did you mean 'bn_statistics'"),
    ({"report": {"claims": [{"id": "8", "variant": "bn_after",
                             "metric": "probe_val_accuracy_precise",
                             "against_metric": "probe_val_accuracy_moving"}]}},
     "report.claims[0].metric", "'bn_statistics' probe, which is off"),
])
def test_bad_probe_settings_name_the_field(tmp_path, changes, field, words):
    data = copy.deepcopy(TINY_STUDY)
    data.update(changes)
    with pytest.raises(ConfigError) as error:
        load_study(write_config(tmp_path, data))
    assert error.value.field == field and words in str(error.value)
