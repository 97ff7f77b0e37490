"""Layer order and parameter counts for every norm × placement."""

import pytest

from normexp.models import build_model, parameter_counts
from normexp.config.sections import ModelConfig

BASE_TRAINABLE = 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10   # 109,386
DENSE_BIASES = 128 + 64
NORM_CLASS = {"batch": "BatchNormalization", "layer": "LayerNormalization",
              "group": "GroupNormalization", "rms": "RMSNormalization"}
# (trainable, non-trainable) weights each norm layer adds per hidden unit.
PER_UNIT = {"batch": (2, 2), "layer": (2, 0), "group": (2, 0), "rms": (1, 0)}


def layer_classes(model):
    return [type(layer).__name__ for layer in model.layers]


def test_no_norm_is_the_article_mlp():
    model = build_model(ModelConfig())
    assert layer_classes(model) == ["Flatten", "Dense", "Dense", "Dense"]
    assert parameter_counts(model) == (BASE_TRAINABLE, 0)
    assert model.layers[-1].get_config()["activation"] == "softmax"


@pytest.mark.parametrize("norm", sorted(NORM_CLASS))
def test_after_places_the_norm_after_the_activated_dense(norm):
    model = build_model(ModelConfig(norm=norm, placement="after"))
    assert layer_classes(model) == ["Flatten", "Dense", NORM_CLASS[norm], "Dense",
                                    NORM_CLASS[norm], "Dense"]
    assert model.layers[1].get_config()["activation"] == "relu"
    trainable, frozen = PER_UNIT[norm]
    assert parameter_counts(model) == (BASE_TRAINABLE + trainable * DENSE_BIASES,
                                       frozen * DENSE_BIASES)


@pytest.mark.parametrize("norm", sorted(NORM_CLASS))
def test_before_places_the_norm_between_dense_and_activation(norm):
    model = build_model(ModelConfig(norm=norm, placement="before"))
    assert layer_classes(model) == ["Flatten", "Dense", NORM_CLASS[norm], "Activation", "Dense",
                                    NORM_CLASS[norm], "Activation", "Dense"]
    dense = model.layers[1].get_config()
    assert dense["activation"] == "linear"
    has_shift = norm != "rms"  # RMSNorm has no beta, so the Dense keeps its bias
    assert dense["use_bias"] is not has_shift
    trainable, frozen = PER_UNIT[norm]
    dropped = DENSE_BIASES if has_shift else 0
    assert parameter_counts(model) == (BASE_TRAINABLE - dropped + trainable * DENSE_BIASES,
                                       frozen * DENSE_BIASES)


def test_batch_norm_weights_per_layer():
    model = build_model(ModelConfig(norm="batch"))
    norm_layer = model.get_layer("batch_norm_1")
    assert len(norm_layer.trainable_weights) == 2 and len(norm_layer.non_trainable_weights) == 2


def test_norm_without_center_keeps_the_dense_bias():
    model = build_model(ModelConfig(norm="layer", placement="before",
                                    norm_args={"center": False}))
    assert model.layers[1].get_config()["use_bias"] is True


def test_norm_args_reach_the_keras_layer():
    model = build_model(ModelConfig(norm="batch", norm_args={"momentum": 0.9, "epsilon": 1e-5}))
    config = model.get_layer("batch_norm_2").get_config()
    assert (config["momentum"], config["epsilon"]) == (0.9, 1e-5)


def test_dropout_follows_each_hidden_block():
    model = build_model(ModelConfig(hidden=(32, 16, 8), dropout=0.2))
    assert layer_classes(model).count("Dropout") == 3
    assert layer_classes(model)[:3] == ["Flatten", "Dense", "Dropout"]


def test_dropout_before_the_norm_sits_between_dense_and_norm():
    end = build_model(ModelConfig(hidden=(32,), norm="batch", dropout=0.2))
    before = build_model(ModelConfig(hidden=(32,), norm="batch", dropout=0.2,
                                     dropout_position="before_norm"))
    assert layer_classes(end)[1:4] == ["Dense", "BatchNormalization", "Dropout"]
    assert layer_classes(before)[1:4] == ["Dense", "Dropout", "BatchNormalization"]
    paper_order = build_model(ModelConfig(hidden=(32,), norm="layer", placement="before",
                                          dropout=0.2, dropout_position="before_norm"))
    assert layer_classes(paper_order)[1:5] == ["Dense", "Dropout", "LayerNormalization",
                                               "Activation"]


def test_kernel_initializer_and_its_arguments_reach_every_dense_layer():
    import numpy as np

    model = build_model(ModelConfig(hidden=(256,), kernel_initializer={
        "name": "random_normal", "stddev": 2.0}))
    for name in ("dense_1", "output"):
        layer = model.get_layer(name)
        assert layer.get_config()["kernel_initializer"]["config"]["stddev"] == 2.0
        assert np.std(layer.kernel.numpy()) == pytest.approx(2.0, rel=0.05)
    default = build_model(ModelConfig(hidden=(256,)))
    limit = np.sqrt(6 / (784 + 256))  # glorot_uniform
    assert np.abs(default.get_layer("dense_1").kernel.numpy()).max() <= limit


def test_output_kernel_initializer_sets_the_output_layer_alone():
    import numpy as np

    model = build_model(ModelConfig(hidden=(256,), kernel_initializer={
        "name": "random_normal", "stddev": 2.0}, output_kernel_initializer={
        "name": "glorot_uniform"}))
    assert np.std(model.get_layer("dense_1").kernel.numpy()) == pytest.approx(2.0, rel=0.05)
    limit = np.sqrt(6 / (256 + 10))  # glorot_uniform on the output layer's shape
    assert np.abs(model.get_layer("output").kernel.numpy()).max() <= limit


@pytest.mark.parametrize("config, xla", [
    (ModelConfig(), True),
    (ModelConfig(norm="batch", placement="before"), True),
    (ModelConfig(dropout=0.2), False),       # XLA's mask RNG is ~70x slower on a CPU
])
def test_the_fast_engine_leaves_xla_for_dropout_on_a_cpu(config, xla):
    from normexp.engine import tensorflow_backend

    assert tensorflow_backend.use_xla(build_model(config)) is xla


def test_default_initialization_is_plain_keras():
    # Published runs were trained with Keras' own Dense(kernel_initializer="glorot_uniform");
    # the configurable initializer must draw the same weights for the same seed.
    import keras

    keras.utils.set_random_seed(3)
    ours = build_model(ModelConfig())
    keras.utils.set_random_seed(3)
    plain = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    for mine, theirs in zip(ours.get_weights(), plain.get_weights(), strict=True):
        assert (mine == theirs).all()
