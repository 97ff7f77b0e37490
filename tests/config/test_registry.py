import pytest

from normexp.config.norms import NORMS
from normexp.config.optimizers import ACTIVATIONS, OPTIMIZERS
from normexp.registry import Registry


def test_unknown_name_lists_valid_names_and_suggests():
    with pytest.raises(ValueError) as error:
        NORMS.get("btach")
    message = str(error.value)
    assert "'btach'" in message and "did you mean 'batch'" in message
    for name in ("none", "batch", "layer", "group", "rms"):
        assert name in message


def test_register_twice_is_refused():
    registry = Registry("thing")
    registry.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a", 2)


def test_registries_hold_the_documented_names():
    assert {"adam", "sgd", "rmsprop", "adamw"} <= set(OPTIMIZERS.names())
    assert {"relu", "gelu", "tanh"} <= set(ACTIVATIONS.names())
