"""The lowered conv and pooling forms against Keras' own layers: outputs and gradients.

Tolerance: |lowered - keras| <= 1e-5 + 1e-5 * |keras| (float32). The im2col
matmul sums the same k·k·c_in products as TensorFlow's convolution, in another
order, so results differ by float32 rounding (measured: at most 3.8e-6 on
values up to 26, about 1.5e-7 relative). A wrong kernel flip, a padding off by one or a
transposed kernel reshape changes outputs by whole units (the last conv test
shows the comparison catches a one-pixel padding shift).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from normexp.engine import tensorflow_backend
from normexp.models import build_model, lowering
from normexp.config.families import CnnConfig

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}

CONVS = {
    "3x3 same, relu, 1 channel in": dict(filters=8, kernel_size=3, padding="same",
                                        activation="relu", channels=1),
    "4x4 same (uneven padding), no bias": dict(filters=5, kernel_size=4, padding="same",
                                               use_bias=False, channels=3),
    "5x3 valid, tanh": dict(filters=6, kernel_size=(5, 3), padding="valid", activation="tanh",
                            channels=2),
}


def built(layer, shape, seed=0):
    keras.utils.set_random_seed(seed)
    layer.build(shape)
    for weight in layer.weights:  # a nonzero bias, so a dropped bias would show
        weight.assign(np.random.default_rng(seed).normal(size=weight.shape).astype("float32"))
    return layer


def outputs_and_gradients(function, layer, inputs):
    inputs = tf.constant(inputs)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = function(inputs)
        # Weighted, so that each output position gets its own upstream gradient.
        weights = tf.reshape(tf.range(tf.size(outputs), dtype=tf.float32) % 7 - 3.0,
                             outputs.shape)
        loss = tf.reduce_sum(outputs * weights)
    return [outputs, *tape.gradient(loss, [inputs, *layer.trainable_weights])]


def images(channels, size=11, batch=4, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, size, size, channels)).astype("float32")


@pytest.mark.parametrize("name", sorted(CONVS))
def test_lowered_conv_matches_keras_conv2d(name):
    options = dict(CONVS[name])
    channels = options.pop("channels")
    layer = built(keras.layers.Conv2D(**options), (None, 11, 11, channels))
    assert lowering.lowered(layer) is lowering.conv2d
    inputs = images(channels)
    theirs = outputs_and_gradients(layer, layer, inputs)
    mine = outputs_and_gradients(lambda x: lowering.conv2d(layer, x), layer, inputs)
    assert [tuple(value.shape) for value in mine] == [tuple(value.shape) for value in theirs]
    for left, right in zip(mine, theirs):
        np.testing.assert_allclose(left, right, **TOLERANCE)


def test_the_tolerance_catches_a_one_pixel_padding_shift():
    layer = built(keras.layers.Conv2D(4, 3, padding="same"), (None, 11, 11, 2))
    inputs = images(2)
    shifted = np.roll(inputs, 1, axis=2)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(lowering.conv2d(layer, shifted), layer(inputs), **TOLERANCE)


@pytest.mark.parametrize("kind", ["MaxPooling2D", "AveragePooling2D"])
@pytest.mark.parametrize("pool, size", [(2, 28), (2, 7), (3, 11)])
def test_lowered_pooling_matches_keras_pooling(kind, pool, size):
    layer = getattr(keras.layers, kind)(pool)
    assert lowering.lowered(layer) is lowering.pool2d
    # Distinct values: max pooling's gradient may differ only at exact ties.
    inputs = images(3, size)
    theirs = outputs_and_gradients(layer, layer, inputs)
    mine = outputs_and_gradients(lambda x: lowering.pool2d(layer, x), layer, inputs)
    assert mine[0].shape == theirs[0].shape == (4, size // pool, size // pool, 3)
    for left, right in zip(mine, theirs):
        np.testing.assert_allclose(left, right, **TOLERANCE)


@pytest.mark.parametrize("layer, expected", [
    (keras.layers.Conv2D(4, 3, strides=2), False),
    (keras.layers.Conv2D(4, 3, dilation_rate=2), False),
    (keras.layers.Conv2D(4, 3, padding="valid"), True),
    (keras.layers.MaxPooling2D(2, strides=1), False),
    (keras.layers.MaxPooling2D(2, padding="same"), False),
    (keras.layers.Dense(3), False),
])
def test_only_the_options_the_forms_reproduce_are_lowered(layer, expected):
    assert (lowering.lowered(layer) is not None) is expected


def cnn(**fields):
    keras.utils.set_random_seed(0)
    return build_model(CnnConfig(**{"filters": (4, 6), "dense": (8,), **fields}))


def test_the_whole_model_forward_equals_keras_in_both_modes():
    model = cnn(norm="batch", placement="before")
    assert lowering.covers(model)
    inputs = np.random.default_rng(2).random((16, 28, 28)).astype("float32")
    for training in (False, True):
        np.testing.assert_allclose(lowering.forward(model, inputs, training),
                                   model(inputs, training=training), **TOLERANCE)


def test_the_fast_engine_uses_xla_only_where_every_spatial_layer_is_lowered():
    assert tensorflow_backend.use_xla(cnn())
    assert not tensorflow_backend.use_xla(cnn(dropout=0.2))  # XLA's dropout masks are slow
    strided = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3, strides=2)])
    assert not lowering.covers(strided) and not tensorflow_backend.use_xla(strided)
    mlp = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert tensorflow_backend.lowered_forward(mlp) is mlp  # nothing to lower: the model itself


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_the_fast_engine_steps_as_keras_steps(norm):
    # Six SGD steps of the compiled (XLA, lowered) epoch program against six steps of the
    # Keras model in a plain graph, on the same batches (measured: weights within 9.2e-7;
    # the tolerance is 1e-5, a wrong batch or a missed update moves them by ~1e-2).
    # Whole runs are not compared
    # weight by weight: a CNN run amplifies rounding (perturbing the initial weights by
    # 1e-6 relative moved weights by up to 1e-2 after 189 Adam steps), so its engines
    # are compared as results over seeds (README, "Every model family").
    placement = "after" if norm == "layer" else "before"
    fast_model, reference = cnn(norm=norm, placement=placement), cnn(norm=norm,
                                                                    placement=placement)
    fast_optimizer, optimizer = keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1)
    generator = np.random.default_rng(3)
    pixels = generator.integers(0, 256, (96, 28, 28)).astype("uint8")
    labels = generator.integers(0, 10, 96).astype("int32")
    program = tensorflow_backend.CompiledEpochs(fast_model, fast_optimizer, 32, pixels, labels)
    assert program.forward is not fast_model  # the lowered forward pass
    loss = keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def step(images, targets):
        with tf.GradientTape() as tape:
            value = loss(targets, reference(images, training=True))
        optimizer.apply(tape.gradient(value, reference.trainable_variables),
                        reference.trainable_variables)

    for epoch in range(2):
        order = np.random.default_rng(epoch).permutation(96).astype("int32")
        program.train_epoch(order)
        for batch in order.reshape(3, 32):
            step(tensorflow_backend.to_unit_float(pixels[batch]), labels[batch])
    for mine, theirs in zip(fast_model.variables, reference.variables):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-5, err_msg=mine.path)
