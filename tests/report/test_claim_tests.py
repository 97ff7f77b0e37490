"""The tests behind the claims: Fisher's exact test and its power, TOST's detectable
margin, Holm's adjusted p-values and its stop, no p without variation, exact checks."""

import math
from itertools import product

import numpy as np
import pytest
from scipy import stats as scipy_stats

from normexp.report import claims, claims_text, exact_tests, stats
from normexp.report.condition_data import Condition


def test_fisher_p_matches_scipy_for_every_outcome():
    for size, other_size in ((5, 5), (7, 3), (10, 12)):
        table = exact_tests.p_table(size, other_size)
        for k, j in product(range(size + 1), range(other_size + 1)):
            expected = scipy_stats.fisher_exact([[k, size - k], [j, other_size - j]]).pvalue
            assert table[k, j] == pytest.approx(expected, abs=1e-12)


def test_fisher_five_of_five_against_none_by_hand():
    # Margins 5/5 and 5 positives: the two extreme tables each have 1/C(10, 5).
    test = exact_tests.fisher_test([1] * 5, [0] * 5)
    assert test.p_value() == pytest.approx(2 / 252)
    assert test.estimate == 1.0 and test.counts == (5, 0)


def test_fisher_power_counts_exactly_the_rejected_outcomes():
    # With certain rates the outcome is 5/5 vs 0/5 (p = 0.0079): always rejected at 0.01,
    # never at 0.005, and never on the wrong side.
    assert exact_tests.power(5, 5, 1.0, 0.0, 0.01, 1) == pytest.approx(1.0)
    assert exact_tests.power(5, 5, 1.0, 0.0, 0.005, 1) == 0.0
    assert exact_tests.power(5, 5, 1.0, 0.0, 0.01, -1) == 0.0
    # By hand at rates 0.5 vs 0 and alpha 0.01: only 5/5 vs 0/5 rejects, probability 0.5^5.
    assert exact_tests.power(5, 5, 0.5, 0.0, 0.01, 1) == pytest.approx(0.5 ** 5)


def test_fisher_power_agrees_with_simulation():
    generator = np.random.default_rng(1)
    first = generator.binomial(12, 0.7, 20000)
    second = generator.binomial(12, 0.1, 20000)
    table = exact_tests.p_table(12, 12)
    simulated = np.mean((table[first, second] <= 0.01) & (first > second))
    assert exact_tests.power(12, 12, 0.7, 0.1, 0.01, 1) == pytest.approx(simulated, abs=0.01)


def test_fisher_detectable_is_the_smallest_difference_with_80_percent_power():
    effect = exact_tests.detectable_rate_difference(20, 20, 0.0, 0.01, 0.8, 1)
    assert exact_tests.power(20, 20, effect, 0.0, 0.01, 1) >= 0.8
    assert exact_tests.power(20, 20, effect - 0.01, 0.0, 0.01, 1) < 0.8
    # 5 vs 5 seeds cannot pass 0.05/30 at all: even 5/5 vs 0/5 gives p = 0.0079.
    assert math.isnan(exact_tests.detectable_rate_difference(5, 5, 0.0, 0.05 / 30, 0.8, 1))


def test_equivalence_detectable_margin_has_about_80_percent_power():
    generator = np.random.default_rng(0)
    spread, seeds, alpha = 0.01, 8, 0.05
    planned = stats.Difference(0.0, spread * np.sqrt(2 / seeds), 2 * seeds - 2, (seeds, seeds))
    margin = planned.equivalence_detectable(alpha, 0.80)
    assert margin > planned.detectable(alpha, 0.80)  # both one-sided tests must succeed
    a = generator.normal(0.0, spread, size=(4000, seeds))
    b = generator.normal(0.0, spread, size=(4000, seeds))
    difference = a.mean(1) - b.mean(1)
    error = np.sqrt(a.var(1, ddof=1) / seeds + b.var(1, ddof=1) / seeds)
    critical = scipy_stats.t.ppf(1 - alpha / 2, 2 * seeds - 2)
    shown = np.mean(np.abs(difference) + critical * error < margin)
    assert shown == pytest.approx(0.80, abs=0.04)


def test_tost_p_rejects_exactly_when_the_interval_is_inside_the_margin():
    test = stats.welch_difference([0.1, 0.3, 0.2, 0.25], [0.2, 0.15, 0.22, 0.18])
    for margin in (0.05, 0.1, 0.2, 0.4):
        low, high = test.interval(0.05)
        assert (test.p_equivalent(margin) <= 0.05) == (-margin < low and high < margin)


def test_zero_spread_gives_no_p_and_no_interval():
    test = stats.welch_difference([1.0] * 5, [0.0] * 5)
    assert not test.varies and math.isnan(test.p_value(0.0))
    assert all(math.isnan(value) for value in test.interval(0.05))


def condition(name, values, diverged=0):
    return Condition(name, name, seeds=list(range(len(values))),
                     per_seed={"val_accuracy": list(values)},
                     diverged=[(99, 1)] * diverged)


def judged(entries):
    """``Judged`` claims on val_accuracy over conditions given as ``(id, a, b, extra)``."""
    out = []
    for identifier, a, b, extra in entries:
        claim = {"id": identifier, "claim": identifier, "variant": "a", "against": "b",
                 "metric": "val_accuracy", "direction": "higher", **extra}
        out += claims.judge_study([claim], [condition("a", a), condition("b", b)], "s")
    return out


def test_holm_adjusted_p_and_rows_after_the_stop():
    base = [0.90, 0.91, 0.92, 0.93, 0.94]
    entries = judged([("big", [v + 0.10 for v in base], base, {}),
                      ("mid", [v + 0.03 for v in base], base, {}),
                      ("small", [v + 0.011 for v in base], base, {}),
                      ("none", [v + 0.001 for v in base], base, {})])
    claims.verdicts(entries)
    by_id = {entry.claim["id"]: entry for entry in entries}
    raw = sorted((entry.test.p_value(0.0), entry.claim["id"]) for entry in entries)
    expected, running = {}, 0.0
    for rank, (p, identifier) in enumerate(raw):  # Holm's adjusted p, by hand
        running = max(running, min(1.0, (4 - rank) * p))
        expected[identifier] = running
    for identifier, entry in by_id.items():
        assert entry.adjusted == pytest.approx(expected[identifier])
        assert (entry.verdict == "supported") == (entry.adjusted <= 0.05)
    stopped = [entry for entry in entries if entry.verdict == "not detected"]
    assert len(stopped) >= 2  # a stop and at least one row after it
    first_stop = min(stopped, key=lambda entry: entry.p)
    later = [entry for entry in stopped if entry is not first_stop]
    assert not first_stop.after_stop and all(entry.after_stop for entry in later)
    assert all(entry.level == first_stop.level for entry in later)  # never a level not reached


def test_no_variation_is_outside_the_family_and_exploratory_is_unadjusted():
    base = [0.90, 0.91, 0.92, 0.93, 0.94]
    entries = judged([("flat", [1.0] * 5, [1.0] * 5, {}),
                      ("tested", [v + 0.02 for v in base], base, {}),
                      ("explore", [v + 0.02 for v in base], base, {"exploratory": True})])
    claims.verdicts(entries)
    flat, tested, explore = entries
    assert flat.verdict == "no variation" and math.isnan(flat.p)
    assert tested.level == pytest.approx(0.95)  # a family of one: the others are not in it
    assert explore.family == "exploratory" and explore.level == pytest.approx(0.95)
    assert explore.adjusted == explore.p == pytest.approx(tested.p)


def test_exact_check_takes_the_largest_difference_between_any_two_seeds():
    check = exact_tests.exact_check([0.0, 2e-5, 0.0], [1e-5, 0.0], paired=False)
    assert check.largest == pytest.approx(2e-5) and check.sizes == (3, 2)
    paired = exact_tests.exact_check([0.5, 0.7], [0.5, 0.4], paired=True)
    assert paired.largest == pytest.approx(0.3) and paired.sizes == (2,)
    entries = judged([("same", [0.5, 0.5 + 5e-5], [0.5, 0.5], {"direction": "equal",
                                                               "test": "exact",
                                                               "tolerance": 1e-4}),
                      ("apart", [0.5, 0.5 + 5e-4], [0.5, 0.5], {"direction": "equal",
                                                                "test": "exact",
                                                                "tolerance": 1e-4})])
    claims.verdicts(entries)
    assert [entry.verdict for entry in entries] == ["supported", "contradicted"]
    assert all(entry.family == "exact" and math.isnan(entry.level) for entry in entries)


def test_failed_counts_diverged_and_low_accuracy_seeds_and_uses_fisher():
    low = condition("a", [0.3, 0.95, 0.2], diverged=1)
    claim = {"metric": "failed", "failure_threshold": 0.5}
    assert claims.values_of(low, "failed", claim) == [1.0, 0.0, 1.0, 1.0]
    [entry] = claims.judge_study([{"id": "f", "claim": "", "variant": "a", "against": "b",
                                   "metric": "failed", "direction": "higher",
                                   "failure_threshold": 0.5}],
                                 [low, condition("b", [0.9, 0.92, 0.95, 0.97])], "s")
    assert entry.kind == "fisher" and entry.test.counts == (3, 0) and entry.test.sizes == (4, 4)


def test_two_metrics_of_the_same_runs_pair_seed_by_seed_past_a_missing_value():
    runs = Condition("a", "a", seeds=[0, 1, 2, 3],
                     per_seed={"probe_val_accuracy_precise": [0.50, math.nan, 0.70, 0.80],
                               "probe_val_accuracy_moving": [0.40, 0.45, 0.65, 0.70]})
    claim = {"id": "p", "claim": "", "variant": "a", "metric": "probe_val_accuracy_precise",
             "against_metric": "probe_val_accuracy_moving", "direction": "higher"}
    [entry] = claims.judge_study([claim], [runs], "s")
    expected = scipy_stats.ttest_rel([0.50, 0.70, 0.80], [0.40, 0.65, 0.70])
    assert entry.test.sizes == (3,)
    assert entry.test.estimate == pytest.approx(0.25 / 3)
    assert entry.test.p_value(0.0) == pytest.approx(expected.pvalue)


def test_a_claimed_difference_is_the_null_of_p_and_verdict():
    # LN − no norm about +0.1 pp: "higher" is not shown, but "higher by at least 0.38 pp" is
    # contradicted, and p is Welch's two-sided p against +0.38 pp, as scipy computes it.
    base = [0.9740, 0.9744, 0.9742, 0.9746, 0.9741, 0.9743]
    ln = [value + 0.001 + wiggle for value, wiggle in zip(
        base, (0.0003, -0.0002, 0.0001, -0.0003, 0.0002, 0.0))]
    plain, claimed = judged([("plain", ln, base, {}), ("by", ln, base, {"by": 0.0038})])
    claims.verdicts([plain])
    claims.verdicts([claimed])
    assert claims.claimed_difference(claimed.claim) == 0.0038
    assert claims.claimed_difference({"direction": "lower", "by": 0.0038}) == -0.0038
    expected = scipy_stats.ttest_ind(np.subtract(ln, 0.0038), base, equal_var=False).pvalue
    assert claimed.p == pytest.approx(expected)
    assert plain.verdict == "supported" and claimed.verdict == "contradicted"
    assert plain.low == pytest.approx(claimed.low)  # the interval is the same; its yardstick not


def test_decide_against_a_claimed_difference():
    higher = {"direction": "higher", "by": 0.0038}
    assert claims.decide(higher, 0.0040, 0.0060) == "supported"
    assert claims.decide(higher, 0.0010, 0.0030) == "contradicted"   # above 0, short of it
    assert claims.decide(higher, 0.0010, 0.0050) is None
    lower = {"direction": "lower", "by": 0.01}
    assert claims.decide(lower, -0.03, -0.02) == "supported"
    assert claims.decide(lower, -0.005, 0.001) == "contradicted"


def test_fisher_detectable_when_the_side_claimed_lower_is_at_100_percent():
    # 24/24 vs 24/24 failed: nothing is "out of reach" for lack of seeds; no rate can exceed 1.
    entry = claims.judge_study([{"id": "f", "claim": "", "variant": "a", "against": "b",
                                 "metric": "failed", "direction": "lower"}],
                               [condition("a", [0.1] * 24), condition("b", [0.1] * 24)], "s")
    claims.verdicts(entry)
    cell = claims_text.detectable_cell(entry[0])
    assert entry[0].verdict == "not detected" and cell.startswith("none: the side claimed lower")
    assert "out of reach" not in cell
