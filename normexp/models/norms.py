"""Norm layers built from their registry entries (``normexp.config.norms``).

The registry says which Keras class (or from-scratch class of
``normexp.models.layers``) a norm name means, per kind of tensor; this module
constructs it. Kinds: ``dense`` (batch, features), ``conv`` (batch, height,
width, channels), ``sequence`` (batch, time, features).
"""

import keras

from normexp.config.norms import NORMS


def build_norm(norm_name, norm_args, name, kind="dense"):
    """The layer for ``norm_name`` with ``norm_args`` over the registry's defaults, or None."""
    norm = NORMS.get(norm_name)
    if norm.layer_class is None:
        return None
    class_name, defaults = norm.layer_class, norm.defaults
    if kind == "conv" and norm.conv is not None:
        class_name, defaults = norm.conv
    return layer_type(norm, class_name)(name=name, **{**defaults, **norm_args})


def layer_type(norm, class_name):
    if norm.scratch:
        from normexp.models import layers

        return getattr(layers, class_name)
    return getattr(keras.layers, class_name)
