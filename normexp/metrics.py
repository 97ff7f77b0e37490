"""Metric names, the one home for them: what a run records and what claims may compare.

* ``TRAINING_METRICS``: what every epoch records, in ``history.json``'s order
  (``HISTORY_KEYS`` adds the epoch number and its wall seconds);
* ``CURVE_METRICS``: the same four in the order the report shows them
  (accuracy first), which is also the order of a study's published reference numbers;
* ``PROBE_SCALARS``: per-epoch scalars the probes record when switched on;
* ``CLAIM_METRICS``: what a claim may compare, with its description, display
  scale and unit, the probe that must be on to record it, and whether it is binary
  (1 or 0 per seed);
* ``CLAIM_TESTS``: the tests a claim may name (``test:``), checked at load by the config
  and applied by the report;
* ``TIMING_METRICS``: what a timing claim (``configs/claims/timing.yaml``) compares, from
  the interleaved benchmark's stored repeats, as a ratio of two arms' times.
"""

import dataclasses

TRAINING_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
HISTORY_KEYS = ("epoch", *TRAINING_METRICS, "seconds")
CURVE_METRICS = ("accuracy", "val_accuracy", "loss", "val_loss")
PROBE_SCALARS = ("probe_train_accuracy", "probe_val_accuracy_batch", "probe_val_accuracy_moving",
                 "probe_val_accuracy_precise", "between_batches_difference",
                 "between_batches_inference_difference", "train_inference_difference",
                 "probe_seconds", "inference_seconds_per_example")


@dataclasses.dataclass(frozen=True)
class ClaimMetric:
    """A per-run value a claim compares: shown as ``value × scale`` in ``unit``."""

    description: str
    scale: float = 1
    unit: str = ""
    probe: str | None = None    # the ``train.probes`` switch that records it, if any
    binary: bool = False        # 1 or 0 per seed: compared with Fisher's exact test


CLAIM_METRICS = {
    "val_accuracy": ClaimMetric("final validation accuracy", 100, "pp"),
    "accuracy": ClaimMetric("final training accuracy", 100, "pp"),
    "best_val_accuracy": ClaimMetric("best validation accuracy over epochs", 100, "pp"),
    "epoch1_val_accuracy": ClaimMetric("validation accuracy after epoch 1", 100, "pp"),
    "test_accuracy": ClaimMetric("test accuracy (held-out validation only)", 100, "pp"),
    "generalization_gap": ClaimMetric("final training minus validation accuracy", 100, "pp"),
    "inference_generalization_gap": ClaimMetric(
        "inference-mode accuracy on a fixed training subset minus validation accuracy, final "
        "epoch", 100, "pp", "bn_statistics"),
    "probe_train_accuracy": ClaimMetric("inference-mode accuracy on a fixed training subset",
                                        100, "pp", "bn_statistics"),
    "loss": ClaimMetric("final training loss"),
    "val_loss": ClaimMetric("final validation loss"),
    "epochs_to_target": ClaimMetric("first epoch reaching the target accuracy (one past the "
                                    "last epoch for a seed that never does)", 1, "epochs"),
    "seconds_per_epoch": ClaimMetric("median seconds per epoch after the first", 1, "s"),
    "inference_seconds_per_example": ClaimMetric("median inference time per example (batches "
                                                 "of 10,000, fast engine)", 1e6, "µs"),
    "diverged": ClaimMetric("share of seeds that diverged (1 per diverged seed)", 100, "pp",
                            binary=True),
    "failed": ClaimMetric("share of seeds that failed (diverged, or final validation accuracy "
                          "below the claim's failure_threshold)", 100, "pp", binary=True),
    "probe_val_accuracy_batch": ClaimMetric("validation accuracy (probe subset), BN with "
                                            "batch statistics", 100, "pp", "bn_statistics"),
    "probe_val_accuracy_moving": ClaimMetric("validation accuracy (probe subset), BN with "
                                             "moving averages", 100, "pp", "bn_statistics"),
    "probe_val_accuracy_precise": ClaimMetric("validation accuracy (probe subset), BN with "
                                              "PreciseBN statistics", 100, "pp",
                                              "bn_statistics"),
    "bn_mode_gap": ClaimMetric("|accuracy with batch statistics − with moving averages|", 100,
                               "pp", "bn_statistics"),
    "between_batches_difference": ClaimMetric(
        "max |Δ output probability|, an example in two random batches of 32, training mode",
        probe="batch_dependence"),
    "between_batches_inference_difference": ClaimMetric(
        "max |Δ output probability|, an example in two random batches of 32, inference mode",
        probe="batch_dependence"),
    "train_inference_difference": ClaimMetric("max |Δ output probability|, training vs "
                                              "inference mode", probe="batch_dependence"),
}

# A claim's ``test``; unset, it is "fisher" for a binary metric and "t" otherwise.
CLAIM_TESTS = {
    "t": "Welch's t-test (independent seeds), paired t-test (two metrics of the same runs) or "
         "a contrast of four means; Holm-corrected in the page's family",
    "fisher": "Fisher's exact test on a binary metric (two-sided), two independent groups",
    "exact": "an exact check of a deterministic property: the largest |difference| between "
             "any two seeds against the claim's tolerance, no interval",
}


def claim_test(test, metric):
    """The test a claim is judged with: its own ``test``, else Fisher's for a binary
    metric and the t-test otherwise."""
    if test is not None:
        return test
    return "fisher" if CLAIM_METRICS[metric].binary else "t"


# A timing claim's metric: measured per arm in every repeat of the interleaved benchmark
# (``normexp.execution.norm_cost``), compared as the ratio of two arms' times.
TIMING_METRICS = {
    "train_seconds": "seconds of a fixed number of training steps",
    "inference_seconds_per_example": "inference seconds per example",
}
