"""BatchNorm folded into the adjacent Dense layer: the same inference, no norm layer left.

In inference mode BatchNorm is an affine map per feature, ``x → s·(x − μ) + β`` with
``s = γ/√(σ² + ε)`` from its moving statistics (μ, σ²), so it can be merged into the
Dense layer next to it (Dense computes ``x @ W + b``):

* **into the preceding Dense** when nothing lies between them (``placement: before``,
  Dense → BN → activation): ``W' = W·s`` (each output column scaled),
  ``b' = (b − μ)·s + β``;
* **into the following Dense** when the activation lies before the BN (the article's
  ``placement: after``, Dense+relu → BN → Dense; a BN cannot move back through the relu):
  ``W' = s[:, None]·W`` (each input row scaled), ``b' = b + (β − μ·s) @ W``.

``fold_batch_norm(model)`` returns a new ``keras.Sequential`` without BatchNorm layers whose
inference outputs equal ``model(x, training=False)`` up to float rounding; the folded model
has no norm's architecture. It refuses (``ValueError``) a BatchNorm with no Dense to fold
into. The original model is left untouched.
"""

import keras
import numpy as np


def fold_batch_norm(model):
    """``model`` (a Sequential of Dense, BatchNormalization and shape/activation layers)
    with every BatchNorm folded into an adjacent Dense layer."""
    layers, kept, index = list(model.layers), [], 0
    while index < len(layers):
        layer = layers[index]
        following = layers[index + 1] if index + 1 < len(layers) else None
        if is_dense(layer) and linear(layer) and is_batch_norm(following):
            kept.append(dense_copy(layer, *into_preceding(layer, following)))
            index += 2
        elif is_batch_norm(layer) and is_dense(following):
            kept.append(dense_copy(following, *into_following(layer, following)))
            index += 2
        elif is_batch_norm(layer):
            raise ValueError(f"{layer.name}: no Dense layer next to it to fold it into")
        else:
            kept.append(plain_copy(layer))
            index += 1
    folded = keras.Sequential([keras.Input(shape=model.input_shape[1:]),
                               *(layer for layer, _ in kept)], name=f"{model.name}_folded")
    for layer, weights in kept:
        if weights:
            layer.set_weights(weights)
    return folded


def is_dense(layer):
    return isinstance(layer, keras.layers.Dense)


def is_batch_norm(layer):
    return isinstance(layer, keras.layers.BatchNormalization)


def linear(layer):
    return layer.get_config().get("activation") in (None, "linear")


def affine(norm):
    """``(s, μ, β)`` of a BatchNorm in inference mode: output = s·(x − μ) + β."""
    mean, variance = norm.moving_mean.numpy(), norm.moving_variance.numpy()
    gamma = norm.gamma.numpy() if norm.scale else np.ones_like(mean)
    beta = norm.beta.numpy() if norm.center else np.zeros_like(mean)
    return gamma / np.sqrt(variance + norm.epsilon), mean, beta


def dense_parts(dense):
    kernel = dense.kernel.numpy()
    bias = dense.bias.numpy() if dense.use_bias else np.zeros(kernel.shape[1], kernel.dtype)
    return kernel, bias


def into_preceding(dense, norm):
    """Dense → BN: ``W' = W·s``, ``b' = (b − μ)·s + β``."""
    (kernel, bias), (scale, mean, beta) = dense_parts(dense), affine(norm)
    check_features(norm, scale, kernel.shape[1])
    return kernel * scale[None, :], (bias - mean) * scale + beta


def into_following(norm, dense):
    """BN → Dense: ``W' = s[:, None]·W``, ``b' = b + (β − μ·s) @ W``."""
    (kernel, bias), (scale, mean, beta) = dense_parts(dense), affine(norm)
    check_features(norm, scale, kernel.shape[0])
    return kernel * scale[:, None], bias + (beta - mean * scale) @ kernel


def check_features(norm, scale, features):
    """A BatchNorm folds into a Dense only when it normalizes that Dense's features (its
    statistics are per feature of the last axis)."""
    if scale.shape != (features,):
        raise ValueError(f"{norm.name}: {scale.shape[0]} statistics for {features} Dense "
                         "features; only a BatchNorm over the Dense features folds")


def dense_copy(dense, kernel, bias):
    """A Dense like ``dense`` (units, activation, name) with a bias and the given weights."""
    config = {**dense.get_config(), "use_bias": True}
    return keras.layers.Dense.from_config(config), [kernel, bias]


def plain_copy(layer):
    return type(layer).from_config(layer.get_config()), layer.get_weights()
