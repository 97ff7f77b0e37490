"""Registries: every registered name works in Keras; unknown names get the valid list."""

import copy

import numpy as np
import pytest

from normexp.config.norms import NORMS
from normexp.config.optimizers import ACTIVATIONS, OPTIMIZERS
from normexp.config.study import load_study
from normexp.errors import ConfigError
from normexp.registry import Registry
from tests.conftest import TINY_STUDY, write_config


def test_unknown_name_lists_valid_names_and_suggests():
    with pytest.raises(ValueError) as error:
        NORMS.get("btach")
    message = str(error.value)
    assert "'btach'" in message and "did you mean 'batch'" in message
    for name in NORMS.names():
        assert name in message


def test_register_twice_is_refused():
    registry = Registry("thing")
    registry.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a", 2)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_registered_optimizer_builds_a_keras_optimizer_that_descends(name):
    import keras

    from normexp.engine.optimizers import build_optimizer

    optimizer = build_optimizer({"name": name, "learning_rate": 0.1})
    assert isinstance(optimizer, keras.optimizers.Optimizer)
    # One step on f(w) = sum(w^2), gradient 2w: every optimizer moves w towards 0.
    weights = keras.Variable(np.array([1.0, -2.0], dtype="float32"))
    optimizer.apply_gradients([(2.0 * weights.value, weights)])
    moved = weights.numpy()
    assert np.all(np.abs(moved) < [1.0, 2.0]), (name, moved)
    assert int(optimizer.iterations.numpy()) == 1


def test_a_whole_number_learning_rate_from_yaml_is_accepted():
    """``learning_rate: 1`` reads as an int, which Keras' optimizers refuse."""
    from normexp.engine.optimizers import build_optimizer

    optimizer = build_optimizer({"name": "sgd", "learning_rate": 3})
    assert float(optimizer.learning_rate) == 3.0


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_every_registered_activation_is_a_keras_activation(name):
    import keras

    function = keras.activations.get(name)
    inputs = np.linspace(-3, 3, 7, dtype="float32")[None, :]
    outputs = np.asarray(keras.ops.convert_to_numpy(function(keras.ops.convert_to_tensor(inputs))))
    assert outputs.shape == inputs.shape and np.all(np.isfinite(outputs))
    assert outputs[0, -1] > outputs[0, 0]  # larger inputs come out larger over [-3, 3]
    curvature = np.abs(np.diff(outputs[0], 2)).max()  # zero exactly for an affine function
    assert (curvature < 1e-6) == (name == "linear"), (name, outputs)
    # ... and a Dense layer accepts it by that name, as the model builders pass it.
    layer = keras.layers.Dense(3, activation=name)
    assert layer(inputs).shape == (1, 3)


def test_documented_names_are_registered():
    assert {"adam", "sgd", "rmsprop", "adamw"} <= set(OPTIMIZERS.names())
    assert {"relu", "gelu", "tanh"} <= set(ACTIVATIONS.names())


@pytest.mark.parametrize("section, field, typo, meant, registry", [
    ("train", "optimizer", "adma", "adam", OPTIMIZERS),
    ("train", "optimizer", "rmsprp", "rmsprop", OPTIMIZERS),
    ("model", "activation", "rleu", "relu", ACTIVATIONS),
    ("model", "activation", "gelü", "gelu", ACTIVATIONS),
    ("model", "norm", "layr", "layer", NORMS),
])
def test_a_misspelt_name_in_a_config_names_the_field_suggests_and_lists_all(
        tmp_path, section, field, typo, meant, registry):
    data = copy.deepcopy(TINY_STUDY)
    data[section][field] = typo
    with pytest.raises(ConfigError) as error:
        load_study(write_config(tmp_path, data))
    assert error.value.field == f"{section}.{field}"
    message = str(error.value)
    assert repr(typo) in message and f"did you mean {meant!r}" in message
    for name in registry.names():
        assert name in message
