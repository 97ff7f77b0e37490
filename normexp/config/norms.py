"""The normalization registry: config name → which layer, for each kind of tensor it normalizes.

This module describes the norms (TensorFlow-free, so configs validate before
Keras loads); ``normexp.models.norms.build_norm`` constructs the layers.

Three kinds of tensor reach a norm: ``dense`` (batch, features) in the MLP and
the CNN's head, ``conv`` (batch, height, width, channels) in the CNN, and
``sequence`` (batch, time, features) between stacked recurrent layers, and
``tokens`` (batch, tokens, features) in the transformer.

* ``batch``  (BatchNormalization): ``y = gamma * (h - mean) / sqrt(var + eps) + beta``,
  statistics per feature/channel over every other axis of the batch (examples,
  and pixels, time steps or tokens); moving averages replace them at inference.
* ``layer``  (LayerNormalization): statistics per example. Dense and sequence:
  over the features (per time step, per token). Conv: over height, width and channels
  together, with one gamma/beta per channel (Ba et al.'s "all hidden units of a
  layer", Wu & He's GroupNorm with one group); this is Keras'
  ``GroupNormalization(groups=1)``. Keras' ``LayerNormalization`` with its
  default ``axis=-1`` would instead normalize each pixel's channel vector on its
  own, and with ``axis=[1, 2, 3]`` it would learn a gamma per pixel, making its
  parameter count differ from BN/GN/IN by a factor of height × width.
* ``group``  (GroupNormalization): per example, per group of ``groups`` channels
  (over the pixels too in conv); ``groups`` must divide the channels. Not on
  tokens: it would pool statistics over every token of an image, so one patch
  would change every other patch's features.
* ``instance`` (GroupNormalization with one channel per group): per example and
  channel, over the pixels; conv only (on a feature vector it would zero everything).
* ``rms``    (RMSNormalization): ``y = gamma * h / sqrt(mean(h^2) + eps)``, over the
  last axis; no shift (Zhang & Sennrich, 2019).
* In a recurrent cell (``placement: cell``, rnn only): ``layer`` is Ba et al.'s
  LayerNorm of the gates' input and recurrent pre-activations and the cell state
  (``normexp.models.recurrent_cell``, any cell); ``batch`` is Cooijmans et al.'s
  recurrent BatchNorm of the same three terms, statistics per time step over
  the batch, moving averages per time step (``normexp.models.recurrent_batch_norm``,
  LSTM only).
* ``batch_scratch``, ``layer_scratch``: the same math written out in
  ``normexp.models.layers`` and tested against Keras' layers.
* ``none``: no layer.

Adding a norm is one ``NORMS.register`` line naming the layer class.
"""

import dataclasses

from normexp.registry import Registry

ALL_FAMILIES = ("mlp", "cnn", "rnn", "transformer")
CELLS = ("simple", "gru", "lstm")


@dataclasses.dataclass(frozen=True)
class Norm:
    """How to build one norm layer and whether it brings its own shift (beta).

    ``shift_argument`` is the constructor keyword that switches the shift off
    (``center``), or None when the layer never has one. ``conv`` overrides the
    class and default arguments on image tensors. ``families`` lists the model
    families it applies to; ``in_cell`` names the recurrent cells it can sit inside
    (``placement: cell``) and ``cell_args`` the ``norm_args`` its in-cell form takes.
    ``scratch`` marks the from-scratch layers of ``normexp.models.layers``.
    """

    layer_class: str | None
    shift_argument: str | None = None
    defaults: dict = dataclasses.field(default_factory=dict)
    conv: tuple | None = None           # (layer_class, defaults) for conv tensors
    families: tuple = ALL_FAMILIES
    in_cell: tuple = ()
    cell_args: tuple = ()
    scratch: bool = False

    def has_shift(self, norm_args):
        if self.layer_class is None or self.shift_argument is None:
            return False
        return bool(norm_args.get(self.shift_argument, True))

    def groups(self, norm_args):
        """Channels per example are split into this many groups (None: not grouped)."""
        if self.layer_class != "GroupNormalization":
            return None
        return norm_args.get("groups", self.defaults.get("groups", 32))


NORMS = Registry("norm")
NORMS.register("none", Norm(None))
# In the cell, BN is recurrent BN (Cooijmans et al. 2016), written for the LSTM only;
# initial_gain is its gamma's start (0.1, the paper's recommendation).
NORMS.register("batch", Norm("BatchNormalization", "center", in_cell=("lstm",),
                             cell_args=("epsilon", "momentum", "initial_gain")))
NORMS.register("layer", Norm("LayerNormalization", "center",
                             conv=("GroupNormalization", {"groups": 1}), in_cell=CELLS,
                             cell_args=("epsilon",)))
NORMS.register("group", Norm("GroupNormalization", "center", families=("mlp", "cnn")))
NORMS.register("instance", Norm("GroupNormalization", "center", {"groups": -1},
                                families=("cnn",)))
NORMS.register("rms", Norm("RMSNormalization"))
NORMS.register("batch_scratch", Norm("BatchNormalization", "center", scratch=True))
NORMS.register("layer_scratch", Norm("LayerNormalization", "center", scratch=True,
                                     conv=("LayerNormalization", {"axis": (1, 2, 3)})))

PLACEMENTS = ("after", "before")
