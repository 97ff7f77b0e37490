"""The transformer family: patches, the block's Pre/Post order against a hand-written
reference, where the final norm goes, and its size known before building."""

import numpy as np
import pytest

from normexp.config import model_size
from normexp.config.families import TransformerConfig
from normexp.models import build_model, parameter_counts

RANDOM = np.random.default_rng(0)
IMAGES = RANDOM.random((3, 28, 28)).astype("float32")


def layer_classes(model):
    return [type(layer).__name__ for layer in model.layers]


def test_patches_are_cut_row_by_row():
    import keras

    model = build_model(TransformerConfig(patch_size=7))
    patches = keras.Model(model.inputs[0], model.get_layer("patches").output)(IMAGES).numpy()
    assert patches.shape == (3, 16, 49)
    for token in (0, 1, 4, 15):
        row, column = divmod(token, 4)
        expected = IMAGES[:, 7 * row:7 * row + 7, 7 * column:7 * column + 7].reshape(3, 49)
        np.testing.assert_array_equal(patches[:, token], expected)


def normalize(x, norm, axes, epsilon, gamma, beta):
    """The reference norms: LN and BN standardize over ``axes``; RMS only rescales."""
    if norm == "rms":
        return x / np.sqrt(np.mean(x ** 2, axis=axes, keepdims=True) + epsilon) * gamma
    mean = x.mean(axis=axes, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def reference_norm(layer, norm, x):
    if layer is None:
        return x
    weights = {weight.name: weight.numpy() for weight in layer.weights}
    axes = (0, 1) if norm.startswith("batch") else -1   # BN: over the batch and the tokens
    return normalize(x, norm, axes, layer.epsilon, weights.get("gamma", weights.get("scale")),
                     weights.get("beta", 0.0))


def reference_attention(attention, x):
    """``softmax(q kᵀ / sqrt(d)) v`` per head, then the output projection."""
    def project(dense, pattern="btf,fhd->bthd"):
        return np.einsum(pattern, x, dense.kernel.numpy()) + dense.bias.numpy()

    query, key, value = (project(dense) for dense in (
        attention._query_dense, attention._key_dense, attention._value_dense))
    scores = np.einsum("bqhd,bkhd->bhqk", query, key) / np.sqrt(query.shape[-1])
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    mixed = np.einsum("bhqk,bkhd->bqhd", weights, value)
    output = attention._output_dense
    return np.einsum("bqhd,hdf->bqf", mixed, output.kernel.numpy()) + output.bias.numpy()


def reference_mlp(block, x):
    hidden = x @ block.expand.kernel.numpy() + block.expand.bias.numpy()
    hidden = 0.5 * hidden * (1 + np.vectorize(math_erf)(hidden / np.sqrt(2)))   # exact GELU
    return hidden @ block.contract.kernel.numpy() + block.contract.bias.numpy()


def math_erf(value):
    import math

    return math.erf(value)


def reference_block(block, norm, placement, x):
    """pre: ``x + f(norm(x))``; post: ``norm(x + f(x))``; attention first, then the MLP."""
    branches = (lambda h: reference_attention(block.attention, h),
                lambda h: reference_mlp(block, h))
    for branch, layer in zip(branches, block.norms):
        if placement == "pre":
            x = x + branch(reference_norm(layer, norm, x))
        else:
            x = reference_norm(layer, norm, x + branch(x))
    return x


@pytest.mark.parametrize("norm", ["layer", "batch", "rms", "none", "layer_scratch",
                                  "batch_scratch"])
@pytest.mark.parametrize("placement", ["pre", "post"])
def test_block_computes_its_placement_exactly(norm, placement):
    import keras

    model = build_model(TransformerConfig(norm=norm, placement=placement, depth=1, width=8,
                                          heads=2, activation="gelu"))
    block = model.get_layer("block_1")
    for layer in block.norms:   # gamma and beta away from 1 and 0, so misplacing them shows
        for weight in (layer.trainable_weights if layer is not None else ()):
            weight.assign(RANDOM.normal(1.0, 0.5, weight.shape).astype("float32"))
    tokens = keras.Model(model.inputs[0], model.get_layer("position_embedding").output)
    x = tokens(IMAGES).numpy()
    expected = reference_block(block, norm, placement, x.astype("float64"))
    np.testing.assert_allclose(block(x, training=True).numpy(), expected, rtol=0, atol=2e-4)
    if norm != "none":   # the other order computes something else
        other = reference_block(block, norm, {"pre": "post", "post": "pre"}[placement], x)
        assert np.abs(other - expected).max() > 1e-2


def test_batch_norm_on_tokens_averages_over_batch_and_tokens():
    model = build_model(TransformerConfig(norm="batch", depth=1, width=8))
    layer = model.get_layer("block_1").norms[0]
    x = RANDOM.normal(3.0, 2.0, (4, 16, 8)).astype("float32")
    output = layer(x, training=True).numpy()
    np.testing.assert_allclose(output.mean(axis=(0, 1)), 0, atol=1e-5)
    assert np.abs(output.mean(axis=-1)).max() > 0.1    # not per token


def test_only_pre_ln_has_a_final_norm_and_both_pool_over_tokens():
    pre = build_model(TransformerConfig(norm="layer", placement="pre", depth=2))
    post = build_model(TransformerConfig(norm="layer", placement="post", depth=2))
    assert layer_classes(pre)[-4:] == ["TransformerBlock", "LayerNormalization",
                                       "GlobalAveragePooling1D", "Dense"]
    assert layer_classes(post)[-3:] == ["TransformerBlock", "GlobalAveragePooling1D", "Dense"]
    assert pre(IMAGES).shape == post(IMAGES).shape == (3, 10)


@pytest.mark.parametrize("norm, exact", [("none", True), ("batch", True), ("layer", False),
                                         ("rms", False)])
@pytest.mark.parametrize("patch_size, width, depth, heads, ratio",
                         [(7, 32, 2, 2, 2), (4, 24, 3, 3, 4)])
def test_size_is_known_before_building(norm, exact, patch_size, width, depth, heads, ratio):
    config = TransformerConfig(norm=norm, patch_size=patch_size, width=width, depth=depth,
                               heads=heads, mlp_ratio=ratio)
    built = sum(parameter_counts(build_model(config)))
    estimated = model_size.parameter_count(config)
    # Four weights per normalized unit is exact for BN (γ, β, two moving statistics) and
    # an upper bound for LN (γ, β) and RMSNorm (γ).
    assert estimated == built if exact else built < estimated
