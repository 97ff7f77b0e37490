"""BatchNorm folded into the adjacent Dense layer computes the unfolded model's inference."""

import keras
import numpy as np
import pytest

from normexp.config.sections import ModelConfig
from normexp.engine import backend

backend.current()  # picks Keras' backend before any model is built

from normexp.models import build_model  # noqa: E402
from normexp.models.folding import fold_batch_norm  # noqa: E402


def batch_norm_model(placement, **options):
    keras.utils.set_random_seed(0)
    model = build_model(ModelConfig(hidden=(16, 8), norm="batch", placement=placement,
                                    **options))
    generator = np.random.default_rng(1)
    # Far from the initial γ = 1, β = 0, μ = 0, σ² = 1, so that a missing or misplaced term
    # of the folding shows in the outputs.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            size = layer.moving_mean.shape[0]
            layer.set_weights([generator.uniform(0.5, 2, size), generator.normal(size=size),
                               generator.normal(size=size), generator.uniform(0.2, 3, size)])
    return model


@pytest.mark.parametrize("placement, into", [("after", "following"), ("before", "preceding")])
def test_folded_outputs_equal_the_unfolded_inference(placement, into):
    model = batch_norm_model(placement)
    folded = fold_batch_norm(model)
    images = np.random.default_rng(2).uniform(size=(64, 28, 28)).astype(np.float32)
    expected = np.asarray(model(images, training=False))
    assert np.abs(np.asarray(folded(images, training=False)) - expected).max() < 1e-5
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in folded.layers)
    # The training-mode output differs (batch statistics): the check above is not vacuous.
    assert np.abs(np.asarray(model(images, training=True)) - expected).max() > 1e-3


def test_the_folded_model_has_no_norms_architecture():
    folded = fold_batch_norm(batch_norm_model("after"))
    keras.utils.set_random_seed(0)
    plain = build_model(ModelConfig(hidden=(16, 8), norm="none"))
    assert [type(layer).__name__ for layer in folded.layers] == [
        type(layer).__name__ for layer in plain.layers]
    assert [weight.shape for weight in folded.weights] == [
        weight.shape for weight in plain.weights]


def test_a_batch_norm_with_no_dense_beside_it_is_refused():
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.BatchNormalization(
        name="lonely")])
    with pytest.raises(ValueError, match="lonely: no Dense layer next to it"):
        fold_batch_norm(model)
