"""Claims judged from the store: the right test per claim, Holm's step-down, verdicts.

A claim (a plain mapping from ``study.json``) compares two samples of per-seed final
values, ``variant`` (at sweep point ``at``, on ``metric``) minus ``against`` (at
``against_at``, on ``against_metric``). The same condition on both sides compares two
metrics of the same runs, paired by seed; otherwise the samples are independent (Welch).
A claim with ``minus`` subtracts a second comparison of the same metric (four independent
samples, a difference of differences).

Each claim belongs to one family (``family_of``): "confirmatory" claims are judged
together with Holm's step-down correction; "exploratory" ones (``exploratory: true``)
each at 5%, unadjusted; "exact" checks (``test: exact``) compare the largest |difference|
over seeds with a tolerance. The test is the claim's ``test`` (``metrics.claim_test``):
t (Welch, paired or a contrast; TOST for "equal"), Fisher's exact test for a binary
metric, or the exact check. ``verdicts`` judges a list of ``Judged`` in place. Checking
claims at load is ``normexp.config.claim_checks``.
"""

import dataclasses
import math

from normexp.metrics import claim_test
from normexp.report import exact_tests, stats

VERDICT_LEVEL = 0.05   # family-wise error rate of a page of claims (Holm)
POWER = 0.80
FAMILIES = ("confirmatory", "exploratory", "exact")


def family_of(claim):
    if test_of(claim) == "exact":
        return "exact"
    return "exploratory" if claim.get("exploratory") else "confirmatory"


def test_of(claim):
    return claim_test(claim.get("test"), claim["metric"])


def sides(claim):
    """``((variant, point, metric), (variant, point, metric))`` with defaults filled in."""
    mine = (claim["variant"], claim.get("at") or {}, claim["metric"])
    theirs = (claim.get("against") or mine[0], claim.get("against_at") or mine[1],
              claim.get("against_metric") or mine[2])
    return mine, theirs


def values_of(condition, metric, claim=None):
    """Per-seed values; ``diverged`` and ``failed`` count every seed (a diverged seed has
    failed), other metrics only usable ones."""
    if metric == "diverged":
        return [0.0] * len(condition.seeds) + [1.0] * len(condition.diverged)
    if metric == "failed":
        threshold = (claim or {}).get("failure_threshold", 0.5)
        return [float(value < threshold) for value in condition.per_seed["val_accuracy"]] + [
            1.0] * len(condition.diverged)
    return [value for value in seed_values(condition, metric) if not math.isnan(value)]


def seed_values(condition, metric):
    """One value per usable seed, in ``condition.seeds`` order, NaN where a run lacks it."""
    if metric in ("generalization_gap", "inference_generalization_gap"):
        train = "accuracy" if metric == "generalization_gap" else "probe_train_accuracy"
        return [fit - val for fit, val in zip(condition.per_seed[train],
                                              condition.per_seed["val_accuracy"])]
    values = list(condition.per_seed.get(metric) or [math.nan] * len(condition.seeds))
    if metric == "epochs_to_target" and condition.seeds:
        # A seed that never reaches the target counts as one epoch past its run: dropping it
        # would judge the slower arm on its fastest seeds only.
        past_the_end = condition.curves["val_accuracy"].shape[1] + 1
        values = [past_the_end if math.isnan(value) else value for value in values]
    return values


def paired_values(condition, metric, other_metric):
    """Two metrics of the same runs, seed by seed, keeping the seeds that have both."""
    pairs = [(value, other) for value, other in zip(seed_values(condition, metric),
                                                    seed_values(condition, other_metric))
             if not (math.isnan(value) or math.isnan(other))]
    return [pair[0] for pair in pairs], [pair[1] for pair in pairs]


def find(conditions, variant, point):
    for condition in conditions:
        if condition.variant == variant and all(
                str(condition.point.get(key)) == str(value) for key, value in point.items()):
            return condition
    return None


@dataclasses.dataclass
class Judged:
    """One claim of one study: its conditions, its test, and (after ``verdicts``) its
    verdict. ``level`` is the confidence of the interval shown (1 − the alpha it was
    judged at), ``adjusted`` its Holm-adjusted p (unadjusted for exploratory claims),
    ``after_stop`` true for a row ranked after Holm's procedure stopped."""

    claim: dict
    study: str
    left: object          # Condition or None
    right: object
    minus_left: object = None    # the subtracted comparison's conditions, when it has one
    minus_right: object = None
    test: object = None   # stats.Difference, exact_tests.FisherTest or exact_tests.ExactCheck
    verdict: str = "no data"
    level: float = math.nan
    low: float = math.nan
    high: float = math.nan
    detectable: float = math.nan
    p: float = math.nan
    adjusted: float = math.nan
    after_stop: bool = False
    folder: object = None   # the study's store folder, for links

    @property
    def family(self):
        return family_of(self.claim)

    @property
    def kind(self):
        return test_of(self.claim)


def judge_study(claims, conditions, study):
    """One ``Judged`` per claim of a study, with its test (no verdict yet)."""
    judged = []
    for claim in claims:
        (variant, point, _), (other, other_point, _) = sides(claim)
        entry = Judged(claim, study, find(conditions, variant, point),
                       find(conditions, other, other_point))
        if claim.get("minus"):
            entry.minus_left, entry.minus_right = (
                find(conditions, name, at) for name, at, _ in
                sides({**claim["minus"], "metric": claim["metric"]}))
        entry.test = build_test(entry)
        judged.append(entry)
    return judged


def build_test(entry):
    """The claim's test on its conditions' per-seed values; None when a condition is
    missing."""
    claim, metric = entry.claim, entry.claim["metric"]
    other_metric = claim.get("against_metric") or metric
    if claim.get("minus"):
        sides_ = (entry.left, entry.right, entry.minus_left, entry.minus_right)
        if any(condition is None for condition in sides_):
            return None
        return stats.contrast([values_of(condition, metric, claim) for condition in sides_],
                              (1, -1, -1, 1))
    if entry.left is None or entry.right is None:
        return None
    paired = entry.left is entry.right and entry.kind != "fisher"
    if paired:
        a, b = paired_values(entry.left, metric, other_metric)
    else:
        a, b = values_of(entry.left, metric, claim), values_of(entry.right, other_metric, claim)
    if entry.kind == "fisher":
        return exact_tests.fisher_test(a, b)
    if entry.kind == "exact":
        return exact_tests.exact_check(a, b, paired)
    seeds = list(range(len(a)))
    return (stats.paired_difference(a, b, seeds, seeds) if paired
            else stats.welch_difference(a, b))


def untestable(entry):
    """Why a claim cannot be tested ("no data", "too few seeds", "no variation"), or None."""
    if entry.test is None:
        return "no data"
    if not entry.test.usable:
        return "too few seeds"
    if entry.kind == "t" and not entry.test.varies:
        return "no variation"
    return None


def verdicts(judged, level=VERDICT_LEVEL):
    """Judge every entry in place: confirmatory claims as one Holm family at ``level``,
    exploratory ones each at ``level``, exact checks against their tolerance."""
    testable = []
    for entry in judged:
        reason = untestable(entry)
        if reason:
            entry.verdict = reason
        else:
            testable.append(entry)
    for entry in testable:
        if entry.family == "exact":
            tolerance = entry.claim["tolerance"]
            entry.verdict = "supported" if entry.test.largest <= tolerance else "contradicted"
        else:
            entry.p = p_value(entry)
    holm([entry for entry in testable if entry.family == "confirmatory"], level)
    for entry in testable:
        if entry.family == "exploratory":
            entry.adjusted = entry.p
            judge_at(entry, level)
            entry.verdict = decide_entry(entry, level) or "not detected"
    return judged


def holm(family, level):
    """Holm's step-down: the i-th smallest p-value (0-based) is judged at
    ``level / (m - i)`` until one is not rejected; every row after that stop is "not
    detected" and shown at the stop's level, the last one the procedure tested.
    Adjusted p-values: max over earlier ranks of min(1, (m - i) · p), so that a row is
    rejected exactly when its adjusted p is at most ``level``."""
    ranked = sorted(family, key=lambda entry: entry.p)
    stop, adjusted = None, 0.0
    for rank, entry in enumerate(ranked):
        remaining = len(ranked) - rank
        adjusted = max(adjusted, min(1.0, remaining * entry.p))
        entry.adjusted, entry.after_stop = adjusted, stop is not None
        alpha = stop if stop is not None else level / remaining
        decided = None if entry.after_stop else decide_entry(entry, alpha)
        if decided is None and stop is None:
            stop = alpha
        judge_at(entry, alpha)
        entry.verdict = decided or "not detected"


def judge_at(entry, alpha):
    """The interval and the smallest detectable effect at ``alpha``."""
    entry.level = 1 - alpha
    if entry.kind == "fisher":
        sign = 1 if entry.claim["direction"] == "higher" else -1
        entry.detectable = entry.test.detectable(alpha, POWER, sign)
        return
    entry.low, entry.high = entry.test.interval(alpha)
    entry.detectable = (entry.test.equivalence_detectable(alpha, POWER)
                        if entry.claim["direction"] == "equal"
                        else entry.test.detectable(alpha, POWER))


def decide_entry(entry, alpha):
    if entry.kind == "fisher":
        if entry.p > alpha:
            return None
        sign = 1 if entry.claim["direction"] == "higher" else -1
        return "supported" if entry.test.estimate * sign > 0 else "contradicted"
    return decide(entry.claim, *entry.test.interval(alpha))


def p_value(entry):
    claim, test = entry.claim, entry.test
    if entry.kind == "fisher":
        return test.p_value()
    if claim["direction"] != "equal":
        return test.p_value(claimed_difference(claim))
    return min(test.p_equivalent(claim["margin"]), test.p_outside(claim["margin"]))


def decide(claim, low, high):
    """"supported", "contradicted", or None when the interval does not settle it."""
    direction, margin = claim["direction"], claim.get("margin")
    if direction == "equal":
        if -margin < low and high < margin:
            return "supported"
        return "contradicted" if low > margin or high < -margin else None
    null = claimed_difference(claim)
    if low > null:
        return "supported" if direction == "higher" else "contradicted"
    if high < null:
        return "supported" if direction == "lower" else "contradicted"
    return None


def claimed_difference(claim):
    """What a "higher" / "lower" claim's difference is tested against: 0, or +by / −by for
    a claim that the difference is at least ``by`` (a published effect size), so that an
    interval wholly short of it contradicts the claim."""
    by = claim.get("by") or 0.0
    return -by if claim["direction"] == "lower" else by
