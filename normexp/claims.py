"""Claims: what a config asserts about its runs, checked at load and judged from the store.

A claim compares two samples of per-seed final values, ``variant`` (at sweep point ``at``,
on ``metric``) minus ``against`` (at ``against_at``, on ``against_metric``). The same
condition on both sides compares two metrics of the same runs, paired by seed; otherwise the
samples are independent (Welch). A claim with ``minus`` subtracts a second comparison of
the same metric (four independent samples, a difference of differences). ``verdicts``
judges every claim of a page together, with Holm's step-down correction, and gives each
"not detected" its minimal detectable effect.
"""

import dataclasses
import math

from normexp import stats
from normexp.errors import ConfigError
from normexp.schema import unknown_key_problem

# metric → (what it is, display scale, unit, probe that records it or None)
METRICS = {
    "val_accuracy": ("final validation accuracy", 100, "pp", None),
    "accuracy": ("final training accuracy", 100, "pp", None),
    "best_val_accuracy": ("best validation accuracy over epochs", 100, "pp", None),
    "epoch1_val_accuracy": ("validation accuracy after epoch 1", 100, "pp", None),
    "test_accuracy": ("test accuracy (held-out validation only)", 100, "pp", None),
    "generalization_gap": ("final training minus validation accuracy", 100, "pp", None),
    "loss": ("final training loss", 1, "", None),
    "val_loss": ("final validation loss", 1, "", None),
    "epochs_to_target": ("first epoch reaching the target accuracy", 1, "epochs", None),
    "seconds_per_epoch": ("median seconds per epoch after the first", 1, "s", None),
    "inference_seconds_per_example": ("median inference time per example (batches of "
                                      "10,000, fast engine)", 1e6, "µs", None),
    "diverged": ("share of seeds that diverged (1 per diverged seed)", 100, "pp", None),
    # Recorded by the probes (normexp/probes.py) when they are on.
    "probe_val_accuracy_batch": ("validation accuracy (probe subset), BN with batch "
                                 "statistics", 100, "pp", "bn_statistics"),
    "probe_val_accuracy_moving": ("validation accuracy (probe subset), BN with moving "
                                  "averages", 100, "pp", "bn_statistics"),
    "probe_val_accuracy_precise": ("validation accuracy (probe subset), BN with PreciseBN "
                                   "statistics", 100, "pp", "bn_statistics"),
    "bn_mode_gap": ("|accuracy with batch statistics − with moving averages|", 100, "pp",
                    "bn_statistics"),
    "batch_dependence": ("max |Δ output probability|, an example alone vs in a batch of 256",
                         1, "", "batch_dependence"),
    "train_inference_difference": ("max |Δ output probability|, training vs inference mode",
                                   1, "", "batch_dependence"),
}
VERDICT_LEVEL = 0.05   # family-wise error rate of a page of claims (Holm)
POWER = 0.80


def check_claims(claims, variants, sweep, path, probes_of=None):
    """Raise ``ConfigError`` for a claim naming a variant, sweep point or metric that does not
    exist (or a probe metric whose probe is off for that variant); before any training."""
    seen = set()
    for index, claim in enumerate(claims):
        field = f"report.claims[{index}]"
        if not claim.id or claim.id in seen:
            raise ConfigError(path, f"{field}.id", "every claim needs a distinct id, got "
                              f"{claim.id!r}")
        seen.add(claim.id)
        check_side({key: getattr(claim, key) for key in MINUS_KEYS}, variants, sweep, path,
                   field)
        for key in ("metric", "against_metric"):
            metric = getattr(claim, key)
            if metric is not None and metric not in METRICS:
                raise ConfigError(path, f"{field}.{key}", unknown_key_problem(metric, METRICS))
        if claim.direction == "equal" and claim.margin is None:
            raise ConfigError(path, f"{field}.margin", "an 'equal' claim needs a margin (the "
                              "largest difference that still counts as equal, in the "
                              "metric's units)")
        check_probes(claim, probes_of, path, field)
        if claim.minus is not None:
            check_minus(claim, variants, sweep, path, f"{field}.minus")


MINUS_KEYS = ("variant", "against", "at", "against_at")


def check_side(side, variants, sweep, path, field):
    """A comparison's ``variant``, ``against`` and sweep points (``at`` defaults to none)."""
    for key in ("variant", "against"):
        name = side.get(key)
        if name is not None and name not in variants:
            raise ConfigError(path, f"{field}.{key}", f"names no variant; variants: "
                              f"{', '.join(variants)}; got {name!r}")
    for key, default in (("at", {}), ("against_at", None)):
        point = default if side.get(key) is None else side[key]
        if point is not None:
            check_point(point, sweep, path, f"{field}.{key}")


def check_minus(claim, variants, sweep, path, field):
    """The subtracted comparison, a plain mapping: its keys, then it as a side."""
    if claim.against_metric is not None:
        raise ConfigError(path, field, "compares conditions, so it cannot be combined with "
                          "against_metric (two metrics of the same runs)")
    for key, value in claim.minus.items():
        if key not in MINUS_KEYS:
            raise ConfigError(path, f"{field}.{key}", unknown_key_problem(key, MINUS_KEYS))
        if key in ("at", "against_at") and not isinstance(value, (dict, type(None))):
            raise ConfigError(path, f"{field}.{key}", f"must be a mapping of sweep keys to "
                              f"values, got {value!r}")
    if claim.minus.get("variant") is None:
        raise ConfigError(path, f"{field}.variant", f"is required; variants: "
                          f"{', '.join(variants)}")
    check_side(claim.minus, variants, sweep, path, field)


def check_point(point, sweep, path, field):
    for key, value in point.items():
        if key not in sweep:
            raise ConfigError(path, f"{field}.{key}", f"is not a sweep key of this study "
                              f"(sweep keys: {', '.join(sweep) or 'none'})")
        if value not in sweep[key]:
            raise ConfigError(path, f"{field}.{key}", f"{value!r} is not a swept value; "
                              f"swept: {sweep[key]}")
    missing = [key for key in sweep if key not in point]
    if missing:
        raise ConfigError(path, field, f"must give a value for every sweep key; missing: "
                          f"{', '.join(missing)}")


def check_probes(claim, probes_of, path, field):
    if probes_of is None:
        return
    for side, variant, metric in (("metric", claim.variant, claim.metric),
                                  ("against_metric", claim.against or claim.variant,
                                   claim.against_metric or claim.metric)):
        probe = METRICS[metric][3]
        if probe and probe not in probes_of(variant):
            raise ConfigError(path, f"{field}.{side}", f"{metric!r} is recorded by the "
                              f"'{probe}' probe, which is off for variant {variant!r} (set "
                              f"train.probes.{probe})")


def sides(claim):
    """``((variant, point, metric), (variant, point, metric))`` with defaults filled in."""
    mine = (claim["variant"], claim.get("at") or {}, claim["metric"])
    theirs = (claim.get("against") or mine[0], claim.get("against_at") or mine[1],
              claim.get("against_metric") or mine[2])
    return mine, theirs


def values_of(condition, metric):
    """Per-seed values; ``diverged`` counts every seed, other metrics only usable ones."""
    if metric == "diverged":
        return [0.0] * len(condition.seeds) + [1.0] * len(condition.diverged)
    if metric == "generalization_gap":
        return [train - val for train, val in zip(condition.per_seed["accuracy"],
                                                   condition.per_seed["val_accuracy"])]
    return [value for value in condition.per_seed.get(metric, []) if not math.isnan(value)]


def find(conditions, variant, point):
    for condition in conditions:
        if condition.variant == variant and all(
                str(condition.point.get(key)) == str(value) for key, value in point.items()):
            return condition
    return None


@dataclasses.dataclass
class Judged:
    claim: dict
    study: str
    left: object          # Condition or None
    right: object
    minus_left: object = None    # the subtracted comparison's conditions, when it has one
    minus_right: object = None
    test: stats.Difference | None = None
    verdict: str = "no data"
    level: float = math.nan
    low: float = math.nan
    high: float = math.nan
    detectable: float = math.nan
    folder: object = None   # the study's store folder, for links


def judge_study(claims, conditions, study):
    """One ``Judged`` per claim of a study, with its difference test (no verdict yet)."""
    judged = []
    for claim in claims:
        (variant, point, metric), (other, other_point, other_metric) = sides(claim)
        left, right = find(conditions, variant, point), find(conditions, other, other_point)
        entry = Judged(claim, study, left, right)
        if claim.get("minus"):
            entry.minus_left, entry.minus_right = (
                find(conditions, name, at) for name, at, _ in
                sides({**claim["minus"], "metric": claim["metric"]}))
            sides_ = (left, right, entry.minus_left, entry.minus_right)
            if all(condition is not None for condition in sides_):
                entry.test = stats.contrast([values_of(condition, metric) for condition in
                                             sides_], (1, -1, -1, 1))
        elif left is not None and right is not None:
            a, b = values_of(left, metric), values_of(right, other_metric)
            entry.test = (stats.paired_difference(a, b, left.seeds, right.seeds)
                          if left is right else stats.welch_difference(a, b))
        judged.append(entry)
    return judged


def verdicts(judged, level=VERDICT_LEVEL):
    """Holm step-down over every claim with data: the i-th smallest p-value (0-based) is
    judged at ``level / (m - i)`` until one fails, then all later ones are "not detected"."""
    testable = [entry for entry in judged if entry.test is not None and entry.test.usable]
    ranked = sorted(testable, key=lambda entry: p_value(entry))
    rejecting = True
    for rank, entry in enumerate(ranked):
        alpha = level / (len(ranked) - rank)
        entry.level = 1 - alpha
        entry.low, entry.high = entry.test.interval(alpha)
        decided = decide(entry.claim, entry.low, entry.high) if rejecting else None
        rejecting = rejecting and decided is not None
        entry.verdict = decided or "not detected"
        entry.detectable = entry.test.detectable(alpha, POWER)
    for entry in judged:
        if entry.test is not None and not entry.test.usable:
            entry.verdict = "too few seeds"
    return judged


def p_value(entry):
    claim, test = entry.claim, entry.test
    if claim["direction"] != "equal":
        return test.p_value(0.0)
    return min(test.p_equivalent(claim["margin"]), test.p_outside(claim["margin"]))


def decide(claim, low, high):
    """"supported", "contradicted", or None when the interval does not settle it."""
    direction, margin = claim["direction"], claim.get("margin")
    if direction == "equal":
        if -margin < low and high < margin:
            return "supported"
        return "contradicted" if low > margin or high < -margin else None
    if low > 0:
        return "supported" if direction == "higher" else "contradicted"
    if high < 0:
        return "supported" if direction == "lower" else "contradicted"
    return None
