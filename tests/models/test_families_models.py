"""CNN and RNN builders: layer order, what each norm normalizes over, training in both engines."""

import copy

import numpy as np
import pytest

from normexp.config import model_size
from normexp.config.study import load_study
from normexp.models import build_model, parameter_counts
from normexp.config.families import CnnConfig, RnnConfig
from normexp.engine.trainer import train_run
from tests.conftest import TINY_STUDY, write_config

IMAGES = np.random.default_rng(0).random((6, 28, 28)).astype("float32")


def layer_classes(model):
    return [type(layer).__name__ for layer in model.layers]


def test_cnn_blocks_pool_and_head():
    model = build_model(CnnConfig(filters=(4, 8), pooling=("max", "average"), dense=(16,)))
    assert layer_classes(model) == ["Reshape", "Conv2D", "MaxPooling2D", "Conv2D",
                                    "AveragePooling2D", "Flatten", "Dense", "Dense"]
    conv = 1 * 4 * 9 + 4 + 4 * 8 * 9 + 8
    assert parameter_counts(model) == (conv + 7 * 7 * 8 * 16 + 16 + 16 * 10 + 10, 0)


def test_cnn_norm_before_the_activation_drops_the_conv_bias():
    model = build_model(CnnConfig(filters=(4,), norm="batch", placement="before"))
    assert layer_classes(model)[:4] == ["Reshape", "Conv2D", "BatchNormalization", "Activation"]
    assert model.get_layer("conv_1").get_config()["use_bias"] is False


def normalized_output(config, norm_layer_name):
    import keras

    model = build_model(config)
    inner = keras.Model(model.inputs[0], model.get_layer(norm_layer_name).output)
    return inner(IMAGES, training=True).numpy()


@pytest.mark.parametrize("norm, axes", [
    ("batch", (0, 1, 2)),          # per channel, over examples and pixels
    ("layer", (1, 2, 3)),          # per example, over pixels and channels
    ("layer_scratch", (1, 2, 3)),
    ("instance", (1, 2)),          # per example and channel, over pixels
])
def test_each_conv_norm_standardizes_over_its_axes(norm, axes):
    # Before the activation (no dead ReLU channels), with a tiny epsilon, so that the
    # variance comes out 1 even where activations are small.
    config = CnnConfig(filters=(6,), norm=norm, placement="before", norm_args={"epsilon": 1e-6})
    output = normalized_output(config, f"{norm}_norm_1")
    assert np.allclose(output.mean(axis=axes), 0, atol=1e-4)
    assert np.allclose(output.var(axis=axes), 1, atol=1e-2)
    other = tuple(axis for axis in range(4) if axis not in axes)[:1] or (0,)
    assert not np.allclose(output.mean(axis=other), 0, atol=1e-3)


def test_group_norm_standardizes_each_group_of_channels():
    output = normalized_output(CnnConfig(filters=(6,), norm="group", norm_args={"groups": 2}),
                               "group_norm_1")
    grouped = output.reshape(6, 28, 28, 2, 3)
    assert np.allclose(grouped.mean(axis=(1, 2, 4)), 0, atol=1e-4)
    assert not np.allclose(output.mean(axis=(1, 2)), 0, atol=1e-3)


def test_rnn_reads_rows_and_stacks_layers_with_norms_between():
    model = build_model(RnnConfig(cell="gru", units=(8, 8, 4), norm="layer"))
    assert layer_classes(model) == ["GRU", "LayerNormalization", "GRU", "LayerNormalization",
                                    "GRU", "Dense"]
    assert model.layers[0].input.shape == (None, 28, 28)
    assert model.layers[1].output.shape == (None, 28, 8)   # every time step is normalized


def test_rnn_with_layer_norm_in_the_cell_uses_the_custom_cell():
    model = build_model(RnnConfig(cell="lstm", units=(8, 8), norm="layer", placement="cell"))
    assert layer_classes(model) == ["RNN", "RNN", "Dense"]
    assert type(model.layers[0].cell).__name__ == "LayerNormRecurrentCell"
    assert model(IMAGES).shape == (6, 10)


def test_rnn_reads_pieces_of_rows_as_steps():
    # 196 steps of 4 pixels: step k holds pixels 4k..4k+3 of the image in row-major order,
    # so a row is seven steps.
    model = build_model(RnnConfig(units=(4,), steps=196))
    assert layer_classes(model) == ["Reshape", "LSTM", "Dense"]
    assert model.layers[0].output.shape == (None, 196, 4)
    sequence = np.asarray(model.layers[0](IMAGES))
    np.testing.assert_array_equal(sequence[:, 7], IMAGES[:, 1, :4])
    np.testing.assert_array_equal(sequence[:, 13], IMAGES[:, 1, 24:])


def test_centered_pixels_take_half_off_every_pixel():
    model = build_model(RnnConfig(units=(4,), steps=196, pixels="centered"))
    assert layer_classes(model)[:2] == ["Rescaling", "Reshape"]
    sequence = np.asarray(model.layers[1](model.layers[0](IMAGES)))
    np.testing.assert_allclose(sequence[:, 7], IMAGES[:, 1, :4] - 0.5, atol=1e-7)
    assert layer_classes(build_model(RnnConfig(units=(4,))))[0] == "LSTM"   # unit: as before


def test_rnn_with_batch_norm_in_the_cell_keeps_statistics_per_step():
    config = RnnConfig(units=(8, 4), norm="batch", placement="cell", steps=56,
                       norm_args={"momentum": 0.9, "initial_gain": 0.5})
    model = build_model(config)
    assert layer_classes(model) == ["Reshape", "BatchNormLSTM", "BatchNormLSTM", "Dense"]
    first = model.layers[1]
    assert (first.momentum, first.initial_gain, first.steps) == (0.9, 0.5, 56)
    assert model(IMAGES).shape == (6, 10)
    trainable, frozen = parameter_counts(model)
    # Per layer: 4 gates × units × (inputs + units + bias + 2 gains) + cell gain and shift;
    # frozen: a moving mean and variance for each of 56 steps of 4u + 4u + u statistics.
    assert trainable == (4 * 8 * (14 + 8 + 3) + 2 * 8) + (4 * 4 * (8 + 4 + 3) + 2 * 4) + 4 * 10 + 10
    assert frozen == 2 * 56 * 9 * (8 + 4)
    # Known before building, as for every family (an upper bound: 4 per unit for any norm).
    assert 0 <= model_size.parameter_count(config) - (trainable + frozen) <= 4 * (8 + 4)


# (model, epochs, batch size): the recurrent models need more updates on the tiny images.
FAMILY_MODELS = {
    "cnn_bn": ({"family": "cnn", "filters": [4, 8], "dense": [16], "norm": "batch"}, 3, 64),
    "cnn_gn": ({"family": "cnn", "filters": [4], "norm": "group", "norm_args": {"groups": 2}},
               3, 64),
    "rnn_ln_cell": ({"family": "rnn", "cell": "gru", "units": [16], "norm": "layer",
                     "placement": "cell"}, 8, 32),
    "rnn_bn_between": ({"family": "rnn", "cell": "gru", "units": [16, 16],
                        "norm": "batch_scratch"}, 6, 32),
}


@pytest.mark.parametrize("name", sorted(FAMILY_MODELS))
@pytest.mark.parametrize("engine", ["fast", "fit"])
def test_every_family_trains_in_both_engines(tmp_path, tiny_data_dir, name, engine):
    model, epochs, batch_size = FAMILY_MODELS[name]
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0], report={}, model=model, variants=[{"name": name}])
    data["train"].update(engine=engine, epochs=epochs, batch_size=batch_size)
    spec = load_study(write_config(tmp_path, data)).runs[0]
    result = train_run(spec, data_dir=tiny_data_dir)
    assert result.status == "complete" and result.updates == epochs * 512 // batch_size
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.history["val_accuracy"][-1] > 0.5                  # chance is 0.1
