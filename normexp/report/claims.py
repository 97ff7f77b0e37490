"""Claims judged from the store: differences, Holm's step-down, verdicts.

A claim (a plain mapping from ``study.json``) compares two samples of per-seed final
values, ``variant`` (at sweep point ``at``, on ``metric``) minus ``against`` (at
``against_at``, on ``against_metric``). The same condition on both sides compares two
metrics of the same runs, paired by seed; otherwise the samples are independent (Welch).
A claim with ``minus`` subtracts a second comparison of the same metric (four independent
samples, a difference of differences). ``verdicts`` judges every claim of a page together,
with Holm's step-down correction, and gives each "not detected" its minimal detectable
effect. Checking claims at load is ``normexp.config.claim_checks``.
"""

import dataclasses
import math

from normexp.report import stats

VERDICT_LEVEL = 0.05   # family-wise error rate of a page of claims (Holm)
POWER = 0.80


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
