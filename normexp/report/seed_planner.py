"""The seed planner: how many seeds each claim needs, from a study's stored runs as a pilot.

``plan_text(out, record)`` takes the study's record as ``study.json`` would hold it (the
name, its runs and fingerprints, the report settings with the claims: a plain mapping, so
the planner can size claims a config has just gained), reads the matching stored runs under
``out`` (nothing is trained) and returns the plan as text: per claim the seeds per side
for 80% power and the minutes they take, then the whole study.

Power is computed with the page's own formulas (``stats.Difference.detectable`` and
``equivalence_detectable``, ``exact_tests.power``) at Holm's first, strictest step,
0.05 / m, m being the claims page's confirmatory family with this study's claims as the
config now has them: a claim sized so holds its power at whatever rank it ends. Each
side's spread is the pilot's; the effect is ``min_effect``, else the margin of an "equal"
claim, else the pilot's own difference (said so: an observed effect overstates on
average what a replication will find); for a claim tested against a claimed difference
(``by``), effects are distances from it.
"""

import math
import os

import numpy as np

from normexp.errors import StoreError
from normexp.report import claims, claims_page, claims_text, condition_data, exact_tests, stats
from normexp.store import run_store

MAX_SEEDS = 100


def plan_text(out, record):
    records, _, _ = run_store.load_expected(out, record)
    if not records:
        raise StoreError(f"{run_store.study_dir(out, record['name'])}: no stored runs of this "
                         "config to use as a pilot; train a few seeds first")
    conditions = condition_data.collect(records, record, record["report"]["target_accuracy"])
    judged = claims.judge_study(record["report"].get("claims") or [], conditions,
                                record["name"])
    size, family = family_size(out, record["name"], judged)
    seconds = seconds_per_run(records)
    lines = [f"Seed plan for {record['name']} (pilot: {len(records)} stored runs under {out}; "
             f"80% power; confirmatory claims at 0.05/{size} = {0.05 / size:.2g}, Holm's "
             f"first step in {family}; exploratory ones at 0.05)"]
    needed = {}
    for entry in judged:
        seeds, text = plan_claim(entry, 0.05 / size)
        lines.append(f"  {entry.claim['id']:<5} {text}{minutes_text(entry, seeds, seconds)}")
        for condition in conditions_of(entry) if seeds else ():
            needed[condition.name] = max(needed.get(condition.name, 0), seeds)
    return "\n".join(lines + study_total(needed, conditions, seconds))


def family_size(out, study_name, judged):
    """``(m, words)``: the page's confirmatory family, with this study's claims as given
    here; without a claims page over this store, this study's confirmatory claims."""
    page_family, reason = claims_page.family_for(run_store.study_dir(out, study_name))
    others = sum(1 for entry in page_family or () if entry.family == "confirmatory"
                 and entry.study != study_name)
    size = max(1, others + sum(1 for entry in judged if entry.family == "confirmatory"))
    if page_family is None:
        return size, f"this study's own family ({reason}: a page judging more studies " \
                     "together needs more seeds)"
    return size, f"the family of the claims page {os.path.relpath(reason)}"


def plan_claim(entry, family_alpha):
    """``(seeds per side or None, text)`` for one claim."""
    if entry.test is None or not entry.test.usable:
        return None, "no pilot data for both sides (at least 2 seeds each)"
    if entry.kind == "exact":
        return 1, "exact check: deterministic, 1 seed per side decides it"
    alpha = family_alpha if entry.family == "confirmatory" else 0.05
    effect, source = effect_of(entry)
    if entry.claim["direction"] == "equal" and abs(entry.test.estimate) >= effect:
        observed = claims_text.with_unit(entry.test.estimate, entry.claim["metric"])
        return None, (f"the pilot's difference, {observed}, lies beyond the margin: more "
                      "seeds would show it unequal, not equal")
    if not effect:
        return None, "no effect to plan for: the pilot shows none; set min_effect"
    if entry.kind == "fisher":
        seeds = fisher_seeds(entry, effect, alpha)
    else:
        seeds = t_seeds(entry, effect, alpha)
        if seeds == 0:
            return None, "the pilot's seeds do not vary: a t-test cannot be sized"
    metric = entry.claim["metric"]
    target = f"{claims_text.with_unit(effect, metric).lstrip('+')} ({source})"
    if seeds is None:
        return None, f"{target}: more than {MAX_SEEDS} seeds per side"
    return seeds, f"{target}: {seeds} seeds per side"


def effect_of(entry):
    claim = entry.claim
    if claim.get("min_effect"):
        return claim["min_effect"], "min_effect"
    if claim["direction"] == "equal":
        return claim["margin"], "equal within the margin, if the truth is 0"
    if claim.get("by"):
        claimed = claims_text.with_unit(claims.claimed_difference(claim), claim["metric"])
        return (abs(entry.test.estimate - claims.claimed_difference(claim)),
                f"the pilot's distance from the claimed {claimed}")
    return abs(entry.test.estimate), "the pilot's difference"


def spreads(entry):
    """``(per-side standard deviations × |weight|, paired)`` of the pilot."""
    claim, metric = entry.claim, entry.claim["metric"]
    if claim.get("minus"):
        sides = (entry.left, entry.right, entry.minus_left, entry.minus_right)
        return [float(np.std(claims.values_of(side, metric, claim), ddof=1))
                for side in sides], False
    other_metric = claim.get("against_metric") or metric
    if entry.left is entry.right:
        a, b = claims.paired_values(entry.left, metric, other_metric)
        return [float(np.std(np.subtract(a, b), ddof=1))], True
    a = claims.values_of(entry.left, metric, claim)
    b = claims.values_of(entry.right, other_metric, claim)
    return [float(np.std(a, ddof=1)), float(np.std(b, ddof=1))], False


def planned(deviations, paired, seeds):
    """The ``stats.Difference`` a study with ``seeds`` per side and these spreads would have."""
    if paired:
        return stats.Difference(0.0, deviations[0] / math.sqrt(seeds), seeds - 1, (seeds,))
    parts = [deviation ** 2 / seeds for deviation in deviations]
    freedom = sum(parts) ** 2 / sum(part ** 2 / (seeds - 1) for part in parts)
    return stats.Difference(0.0, math.sqrt(sum(parts)), freedom, (seeds,) * len(parts))


def t_seeds(entry, effect, alpha):
    """Fewest seeds per side whose detectable effect is at most ``effect``; 0 when the
    pilot does not vary, None beyond ``MAX_SEEDS``."""
    deviations, paired = spreads(entry)
    if not any(deviations):
        return 0
    for seeds in range(2, MAX_SEEDS + 1):
        difference = planned(deviations, paired, seeds)
        reach = (difference.equivalence_detectable(alpha, claims.POWER)
                 if entry.claim["direction"] == "equal"
                 else difference.detectable(alpha, claims.POWER))
        if reach <= effect:
            return seeds
    return None


def fisher_seeds(entry, effect, alpha):
    """Fewest seeds per side at which Fisher's test has 80% power for a rate difference of
    ``effect``, the claimed-lower side at its pilot rate; None beyond ``MAX_SEEDS``."""
    sign = 1 if entry.claim["direction"] == "higher" else -1
    low_rate = entry.test.rates[1] if sign > 0 else entry.test.rates[0]
    if low_rate + effect > 1:
        return None
    rate, other_rate = exact_tests.rates_for(effect, low_rate, sign)
    for seeds in range(2, MAX_SEEDS + 1):
        if exact_tests.power(seeds, seeds, rate, other_rate, alpha, sign) >= claims.POWER:
            return seeds
    return None


def conditions_of(entry):
    found = {}
    for condition in (entry.left, entry.right, entry.minus_left, entry.minus_right):
        if condition is not None:
            found[condition.name] = condition
    return list(found.values())


def seconds_per_run(records):
    """Mean stored wall seconds of one run, per condition."""
    by_condition = {}
    for record in records:
        by_condition.setdefault(record["meta"]["condition"], []).append(
            record["meta"].get("seconds") or 0.0)
    return {name: float(np.mean(values)) for name, values in by_condition.items()}


def minutes_text(entry, seeds, seconds):
    if not seeds:
        return ""
    total = sum(seeds * seconds.get(condition.name, 0.0) for condition in conditions_of(entry))
    return f", {total / 60:.1f} min of runs"


def study_total(needed, conditions, seconds):
    if not needed:
        return []
    have = {condition.name: len(condition.seeds) + len(condition.diverged)
            for condition in conditions}
    total = sum(seeds * seconds.get(name, 0.0) for name, seeds in needed.items())
    extra = sum(max(0, seeds - have.get(name, 0)) * seconds.get(name, 0.0)
                for name, seeds in needed.items())
    return ["Whole study: " + ", ".join(f"{name} {seeds}" for name, seeds in needed.items())
            + f" seeds; {total / 60:.1f} min of runs ({extra / 60:.1f} min beyond the "
            "stored ones), timed from the stored runs in one worker each: divide by the "
            "workers that run at once on idle cores."]
