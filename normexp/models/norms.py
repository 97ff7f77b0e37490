"""The normalization registry: config name → Keras layer.

For a hidden activation vector ``h`` with features ``j`` in a batch ``b``:

* ``batch``  (BatchNormalization): ``y = gamma * (h - mean_b) / sqrt(var_b + eps) + beta``,
  statistics over the batch per feature; moving averages replace them at inference.
* ``layer``  (LayerNormalization): ``y = gamma * (h - mean_j) / sqrt(var_j + eps) + beta``,
  statistics over the features of each example; identical in training and inference.
* ``group``  (GroupNormalization): as ``layer`` but per group of features (``groups``).
* ``rms``    (RMSNormalization): ``y = gamma * h / sqrt(mean_j(h^2) + eps)``; no shift.
* ``none``: no layer.

Adding a norm is one ``NORMS.register`` line naming the Keras layer class.
"""

import dataclasses

from normexp.registry import Registry


@dataclasses.dataclass(frozen=True)
class Norm:
    """How to build one norm layer and whether it brings its own shift (beta).

    ``shift_argument`` is the constructor keyword that switches the shift off
    (``center``), or None when the layer never has one.
    """

    layer_class: str | None
    shift_argument: str | None = None

    def build(self, norm_args, name):
        if self.layer_class is None:
            return None
        import keras

        return getattr(keras.layers, self.layer_class)(name=name, **norm_args)

    def has_shift(self, norm_args):
        if self.layer_class is None or self.shift_argument is None:
            return False
        return bool(norm_args.get(self.shift_argument, True))


NORMS = Registry("norm")
NORMS.register("none", Norm(None))
NORMS.register("batch", Norm("BatchNormalization", "center"))
NORMS.register("layer", Norm("LayerNormalization", "center"))
NORMS.register("group", Norm("GroupNormalization", "center"))
NORMS.register("rms", Norm("RMSNormalization"))

PLACEMENTS = ("after", "before")
