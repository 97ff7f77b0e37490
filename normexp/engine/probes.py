"""Probes: what happens inside the network, measured at the end of every epoch.

Chosen in config (``train.probes``) and recorded per epoch into ``history.json``:

* ``pre_activation: k`` — the 15th/50th/85th percentiles (``percentiles``) of the input to
  hidden block k's activation, over all its units and a fixed probe batch (inference mode);
  the quantity of Ioffe & Szegedy (2015), Fig. 1.
* ``bn_statistics`` — validation accuracy on a fixed validation subset three ways:
  normalizing with the statistics of each batch (of the training batch size), with the
  moving averages (Keras inference), and with PreciseBN population statistics re-estimated
  on a fixed training subset at the training batch size (Wu & Johnson, 2021); and the
  inference-mode accuracy on that fixed training subset (``probe_train_accuracy``): unlike
  the epoch's running training accuracy, it is not lowered by BN's batch statistics or by
  dropout, so it measures how well the network fits its training data.
* ``gradient_norms`` — the L2 norm of each layer's loss gradient on the probe batch, with
  batch-statistics normalization in groups of the training batch size, as in training.
* ``batch_dependence`` — the largest change of any output probability of 256 fixed examples
  between two random arrangements of them into batches of 32, in training mode (batch
  statistics: ``between_batches_difference``) and in inference mode
  (``between_batches_inference_difference``); and between training-mode (batch statistics)
  and inference-mode outputs at batch 256 (``train_inference_difference``). Batches of 32,
  not an example alone: BatchNorm on a batch of one outputs its shift β for every input.

Every probe is a forward pass of a few thousand examples without side effects: batch
statistics are computed here, never through the layers' training mode, so the moving
averages are untouched. Dropout is off in every probe. ``probe_seconds`` records the cost.

Families: every probe reads an MLP; ``bn_statistics`` also reads a CNN, where BatchNorm's
statistics are per channel over the examples of a batch and their pixels (Keras' own
training mode). A model without BatchNorm reports three equal validation accuracies: each
mode normalizes the same way. Which probe a family may switch on is checked at load
(``normexp.config.run_checks.check_probes``).
"""

import time

import numpy as np

from normexp.engine import tensorflow_backend  # first: it imports TensorFlow quietly
from normexp.models import layers as scratch_layers

import keras  # noqa: E402
from keras import ops  # noqa: E402

# Keras' BatchNorm and the from-scratch one (norm batch_scratch): same weights, same math.
BATCH_NORMS = (keras.layers.BatchNormalization, scratch_layers.BatchNormalization)

PAIR_EXAMPLES, PAIR_BATCH = 256, 32   # batch_dependence: 256 examples, batches of 32


class Probes:
    """The probes of one architecture; compiled once, reused by every run of it."""

    def __init__(self, model, probe_config, batch_size, splits):
        self.model, self.config, self.batch_size = model, probe_config, batch_size
        count = max(batch_size, probe_config.examples // batch_size * batch_size)
        order = np.random.default_rng(0).permutation(len(splits.x_train))[:count]
        self.x_probe, self.y_probe = splits.x_train[order], splits.y_train[order]
        self.x_val, self.y_val = splits.x_val[:count], splits.y_val[:count]
        # batch_dependence's fixed examples: whole batches of 32 (fewer on tiny test data)
        pairs = min(PAIR_EXAMPLES, len(splits.x_val) // PAIR_BATCH * PAIR_BATCH)
        self.x_pair = splits.x_val[:pairs]
        self.rearranged = np.random.default_rng(1).permutation(pairs)
        self.groups = count // batch_size
        block = probe_config.pre_activation
        names = {layer.name for layer in model.layers}
        # With the norm before the activation, the activation is its own layer.
        self.capture = (f"activation_{block}" if f"activation_{block}" in names
                        else f"dense_{block}") if block else None
        self._passes = tensorflow_backend.compile_function(self.passes)
        self._gradients = tensorflow_backend.gradient_norm_function(self.model, self.training_loss)

    def measure(self):
        """``{history key: value}`` for this epoch."""
        started = time.perf_counter()
        values, population = {}, None
        if self.config.gradient_norms:
            # Its forward pass is PreciseBN's population pass too: the probe batch in
            # groups of the training batch size, normalized with batch statistics.
            values["gradient_norms"], population = self.gradient_norms()
        if self.config.pre_activation or self.config.bn_statistics:
            values.update(self.bn_accuracies_and_percentiles(population))
        if self.config.batch_dependence:
            values.update(self.batch_dependence())
        values["probe_seconds"] = time.perf_counter() - started
        return values

    def bn_accuracies_and_percentiles(self, population=None):
        """Two passes: the probe batch (pre-activation percentiles, inference-mode accuracy on
        this fixed training subset, PreciseBN's population statistics unless given), then the
        validation subset in all three BatchNorm modes."""
        results = {}
        population_pass = self.config.bn_statistics and population is None
        branches = ((1, "moving"),) + ((self.groups, "batch"),) * population_pass
        outputs = self._passes(self.x_probe, branches, self.capture, None)
        if self.config.pre_activation:
            results["pre_activation"] = np.percentile(
                np.asarray(outputs[0][1]), self.config.percentiles).tolist()
        if not self.config.bn_statistics:
            return results
        results["probe_train_accuracy"] = float(np.mean(
            np.argmax(np.asarray(outputs[0][0]), axis=-1) == self.y_probe))
        population = outputs[-1][2] if population_pass else population
        modes = ((self.groups, "batch"), (1, "moving"), (1, "given"))
        for key, output in zip(("batch", "moving", "precise"),
                               self._passes(self.x_val, modes, None, population)):
            results[f"probe_val_accuracy_{key}"] = float(np.mean(
                np.argmax(np.asarray(output[0]), axis=-1) == self.y_val))
        return results

    def gradient_norms(self):
        """``({layer: gradient norm}, population statistics of the same forward pass)``."""
        norms, population = self._gradients(self.x_probe, self.y_probe.astype(np.int32),
                                            self.groups)
        by_layer = {}
        for variable, norm in zip(self.model.trainable_variables, norms):
            layer = variable.path.split("/")[-2]
            by_layer[layer] = by_layer.get(layer, 0.0) + float(norm) ** 2
        return {layer: total ** 0.5 for layer, total in by_layer.items()}, population

    def batch_dependence(self):
        groups = len(self.x_pair) // PAIR_BATCH
        modes = ((groups, "batch"), (1, "batch"), (1, "moving"))
        in_order, together, inference = (np.asarray(output[0]) for output in
                                         self._passes(self.x_pair, modes, None, None))
        rearranged, rearranged_inference = (
            np.asarray(output[0])[np.argsort(self.rearranged)] for output in
            self._passes(self.x_pair[self.rearranged], modes[::2], None, None))
        return {"between_batches_difference": float(np.abs(in_order - rearranged).max()),
                "between_batches_inference_difference": float(
                    np.abs(inference - rearranged_inference).max()),
                "train_inference_difference": float(np.abs(together - inference).max())}

    def training_loss(self, x, y, groups):
        """``(mean loss with batch statistics, the BN population statistics)``."""
        probabilities, _, population = self.passes(x, ((groups, "batch"),), None, None)[0]
        loss = ops.mean(keras.losses.sparse_categorical_crossentropy(y, probabilities))
        return loss, population

    def passes(self, x, branches, capture, stats):
        """One ``(probabilities, the input of the activation of layer ``capture``, per-BN-layer
        population [mean, variance] over the groups)`` per ``(groups, mode)`` branch: ``x``
        split into ``groups`` batches, BatchNorm normalizing with "batch" (each group's
        statistics), "moving" (the moving averages) or "given" (``stats``). The layers
        before the first BatchNorm (or the captured layer) act per example, the same in
        every branch, so they run once: they hold most of the arithmetic."""
        # Dropout is the identity at inference; skipping it saves a copy.
        layers = [layer for layer in self.model.layers
                  if not isinstance(layer, keras.layers.Dropout)]
        shared = next((index for index, layer in enumerate(layers) if layer.name == capture
                       or isinstance(layer, BATCH_NORMS)), len(layers))
        h = ops.cast(x, "float32") / 255.0
        for layer in layers[:shared]:
            h = layer(h, training=False)
        return [self.branch(h, layers[shared:], groups, mode, capture, stats)
                for groups, mode in branches]

    @staticmethod
    def branch(h, layers, groups, mode, capture, stats):
        """The layers on ``h`` as ``(groups, examples per group, *one example's shape)``."""
        h = ops.reshape(h, (groups, -1, *h.shape[1:]))
        captured, population, index = ops.zeros((1,)), [], 0
        for layer in layers:
            if isinstance(layer, BATCH_NORMS) and mode != "moving":
                h, moments = batch_normalize(layer, h, stats[index] if mode == "given" else None)
                population.append(moments)
                index += 1
            elif layer.name == capture:
                h, captured = split_activation(layer, h)
            else:
                h = per_example(layer, h)
        return ops.reshape(h, (-1, h.shape[-1])), ops.reshape(captured, (-1,)), population


def per_example(layer, h):
    """Apply ``layer`` to the groups joined into one batch (every layer but BatchNorm is per
    example: a Dense or conv, a pooling, LayerNorm or GroupNorm of one image)."""
    out = layer(ops.reshape(h, (-1, *h.shape[2:])), training=False)
    return ops.reshape(out, (h.shape[0], -1, *out.shape[1:]))


def split_activation(layer, h):
    """``(output, input of the activation)`` for a Dense with its activation, or for an
    Activation layer."""
    if isinstance(layer, keras.layers.Activation):
        return layer(h), h
    pre = ops.matmul(h, layer.kernel)
    if layer.bias is not None:
        pre = pre + layer.bias
    return layer.activation(pre), pre


def batch_normalize(layer, h, given):
    """BatchNorm of each group with its own statistics (or ``given`` ones); also returns the
    population mean and variance over groups (mean of group means; mean of group second
    moments minus the squared mean), PreciseBN's estimate. Statistics are per feature of the
    last axis, over a group's examples and, for images, their pixels: every axis but the
    first (the group) and the last, as BatchNorm's training mode takes them."""
    if given is None:
        axes = tuple(range(1, len(h.shape) - 1))
        mean = ops.mean(h, axis=axes, keepdims=True)
        variance = ops.var(h, axis=axes, keepdims=True)
    else:
        mean, variance = given
    population_mean = ops.mean(mean, axis=0, keepdims=True)
    second = ops.mean(variance + ops.square(mean), axis=0, keepdims=True)
    out = (h - mean) / ops.sqrt(variance + layer.epsilon)
    if layer.scale:
        out = out * layer.gamma
    if layer.center:
        out = out + layer.beta
    return out, [population_mean, second - ops.square(population_mean)]
