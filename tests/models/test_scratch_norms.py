"""The from-scratch BatchNorm and LayerNorm against Keras' layers, in an MLP and in a CNN.

Tolerance: |scratch - keras| <= 1e-5 + 1e-4 * |keras| (float32). Both compute the
same formulas, but in different orders (Keras, for example, may form the
variance as E[x^2] - E[x]^2 and fuse the scale), and each rounding of
about 6e-8 relative is amplified by 1/sqrt(var + eps) and summed over a batch,
giving differences near 1e-6. A real formula difference is far larger:
an unbiased variance at n=32 changes outputs by ~1.6%, epsilon 1e-5 instead of
1e-3 changes them by ~5e-4 at unit variance (the last test shows the
comparison catches that), and momentum 0.9 instead of 0.99 moves the moving
statistics by whole percents after a few steps.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from normexp.models import build_model
from normexp.config.families import CnnConfig, MlpConfig

TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}
STEPS = 5

# family config, Keras' norm name, scratch norm name, extra norm args
PAIRS = {
    "mlp_batch": (MlpConfig, {"hidden": (32, 16)}, "batch", {"momentum": 0.9}),
    "mlp_layer": (MlpConfig, {"hidden": (32, 16)}, "layer", {}),
    "cnn_batch": (CnnConfig, {"filters": (4, 6), "dense": (8,)}, "batch", {"momentum": 0.9}),
    "cnn_layer": (CnnConfig, {"filters": (4, 6), "dense": (8,)}, "layer", {}),
}


def twin_models(pair, placement="before", norm_args=None):
    config_class, fields, norm, default_args = PAIRS[pair]
    args = {**default_args, **(norm_args or {})}
    models = []
    for name in (norm, f"{norm}_scratch"):
        keras.utils.set_random_seed(0)
        models.append(build_model(config_class(norm=name, placement=placement, norm_args=args,
                                               **fields)))
    reference, scratch = models
    modules = {type(layer).__module__.split(".")[0] for layer in norm_layers(scratch)}
    assert modules == {"normexp"} and norm_layers(reference)
    assert all(type(layer).__module__.startswith("keras") for layer in norm_layers(reference))
    scratch.set_weights(reference.get_weights())  # same layer order, same variable order
    return reference, scratch


def norm_layers(model):
    return [layer for layer in model.layers if "_norm_" in layer.name]


def batches(count=STEPS, size=32):
    generator = np.random.default_rng(1)
    for _ in range(count):
        images = generator.random((size, 28, 28)).astype("float32")
        yield images, generator.integers(0, 10, size).astype("int32")


def gradients(model, images, labels):
    """Loss gradients w.r.t. the input images and every norm layer's gamma and beta."""
    images = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(images)
        loss = keras.losses.sparse_categorical_crossentropy(labels, model(images, training=True))
        loss = tf.reduce_mean(loss)
    parameters = [weight for layer in norm_layers(model) for weight in layer.trainable_weights]
    return tape.gradient(loss, [images, *parameters])


def close(left, right):
    np.testing.assert_allclose(np.asarray(left), np.asarray(right), **TOLERANCE)


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_forward_in_training_and_inference(pair):
    reference, scratch = twin_models(pair)
    images, _ = next(batches())
    for training in (True, False):
        for keras_layer, scratch_layer in zip(norm_layers(reference), norm_layers(scratch)):
            inputs = keras.Model(reference.inputs[0], keras_layer.input)(images)
            close(scratch_layer(inputs, training=training), keras_layer(inputs, training=training))
        close(scratch(images, training=training), reference(images, training=training))


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_gradients_wrt_inputs_gamma_and_beta(pair):
    reference, scratch = twin_models(pair)
    images, labels = next(batches())
    expected, got = gradients(reference, images, labels), gradients(scratch, images, labels)
    assert len(expected) == len(got) == 1 + 2 * len(norm_layers(reference))
    for mine, theirs in zip(got, expected):
        assert np.abs(np.asarray(theirs)).max() > 0
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-3,
                                   atol=1e-6 * np.abs(np.asarray(theirs)).max() + 1e-9)


@pytest.mark.parametrize("pair", ["mlp_batch", "cnn_batch"])
def test_moving_statistics_and_weights_after_training_steps(pair):
    reference, scratch = twin_models(pair)
    for model in (reference, scratch):
        optimizer = keras.optimizers.SGD(0.1)
        for images, labels in batches():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
                    labels, model(images, training=True)))
            optimizer.apply(tape.gradient(loss, model.trainable_variables),
                            model.trainable_variables)
    for keras_layer, scratch_layer in zip(norm_layers(reference), norm_layers(scratch)):
        moved = keras_layer.moving_mean.numpy()
        assert np.abs(moved).max() > 1e-3    # the statistics did move over the steps
        close(scratch_layer.moving_mean, moved)
        close(scratch_layer.moving_variance, keras_layer.moving_variance)
    for mine, theirs in zip(scratch.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-3, atol=1e-5)
    images, _ = next(batches(1))
    close(scratch(images, training=False), reference(images, training=False))


def test_the_tolerance_catches_a_small_formula_difference():
    reference, _ = twin_models("mlp_batch")
    _, other_epsilon = twin_models("mlp_batch", norm_args={"epsilon": 1e-5})
    other_epsilon.set_weights(reference.get_weights())
    images, _ = next(batches())
    layer = norm_layers(reference)[0]
    inputs = keras.Model(reference.inputs[0], layer.input)(images)
    with pytest.raises(AssertionError):
        close(norm_layers(other_epsilon)[0](inputs, training=True), layer(inputs, training=True))
