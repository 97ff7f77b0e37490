"""Judged claims as table cells and tables, shared by the claims page and study reports.

Contract: every function takes ``claims.Judged`` entries after ``claims.verdicts`` and
returns text. Values are shown in the metric's display unit (``metrics.CLAIM_METRICS``);
``tables(judged, page_folder)`` gives one Markdown section per family that has rows,
with the figure and study links only when ``page_folder`` is given.
"""

import math
import os
from pathlib import Path

from normexp.metrics import CLAIM_METRICS
from normexp.naming import sweep_figure_name
from normexp.report import claims, timing_claims
from normexp.report.tables import markdown

TESTED = ("#", "claim", "measured: difference [CI at the level shown]", "p",
          "verdict", "smallest detectable (80% power)")
EXACT = ("#", "claim", "measured: largest |difference| over seeds", "verdict")
LINKS = ("figure", "study")
TITLES = {
    "confirmatory": ("Confirmatory claims (one Holm family)",
                     "p: Holm-adjusted. †: ranked after Holm's stop, so never tested at a level "
                     "of its own; shown at the stop's level."),
    "exploratory": ("Exploratory claims (unadjusted, outside the family)",
                    "p: unadjusted, each judged at 5% on its own"),
    "exact": ("Exact checks (deterministic properties)", ""),
}
AFTER_STOP = "†"


def tables(judged, page_folder=None):
    """A titled table per family with rows, in ``claims.FAMILIES`` order."""
    lines = []
    for family in claims.FAMILIES:
        entries = [entry for entry in judged if entry.family == family]
        if not entries:
            continue
        title, p_note = TITLES[family]
        columns = (EXACT if family == "exact" else TESTED) + (LINKS if page_folder else ())
        rows = [row(entry, page_folder) for entry in entries]
        lines += [f"### {title}", "", markdown(columns, rows), ""]
        lines += [p_note, ""] if p_note else []
    return lines


def row(entry, page_folder=None):
    cells = (entry.claim["id"], entry.claim["claim"], measurement(entry))
    if entry.family != "exact":
        cells += (p_cell(entry),)
    cells += (verdict_cell(entry),)
    if entry.family != "exact":
        cells += (detectable_cell(entry),)
    return cells + (links(entry, page_folder) if page_folder else ())


def links(entry, page_folder):
    relative = Path(os.path.relpath(entry.folder, page_folder))
    figure = entry.claim.get("figure") or default_figure(entry.claim)
    return (f"[{figure}]({(relative / figure).as_posix()})",
            f"[{entry.study}]({(relative / 'REPORT.md').as_posix()})")


def default_figure(claim):
    metric = claim["metric"]
    if getattr(CLAIM_METRICS.get(metric), "probe", None):
        return "probes.png"
    if claim.get("at"):
        return sweep_figure_name(next(iter(claim["at"])))
    return "final_val_accuracy.png" if metric == "val_accuracy" else "curves.png"


def scaled(value, metric):
    scale, unit = CLAIM_METRICS[metric].scale, CLAIM_METRICS[metric].unit
    text = f"{scale * value:+.2f}" if unit == "pp" else f"{scale * value:+.3g}"
    return text.replace("-", "−"), unit


def with_unit(value, metric):
    text, unit = scaled(value, metric)
    return f"{text} {unit}".strip()


def compared(entry):
    """What is subtracted from what, in words."""
    (_, _, metric), (_, _, other_metric) = claims.sides(entry.claim)
    if entry.claim.get("minus"):  # a test exists only when all four conditions do
        return (f"({entry.left.label} − {entry.right.label}) − ({entry.minus_left.label} "
                f"− {entry.minus_right.label}), {CLAIM_METRICS[metric].description}")
    if metric == other_metric:
        return f"{entry.left.label} − {entry.right.label}, {CLAIM_METRICS[metric].description}"
    return f"{entry.left.label} {metric} − {entry.right.label} {other_metric}"


def measurement(entry):
    if entry.test is None:
        return "no runs stored"
    if timing_claims.is_timing(entry):
        return timing_claims.measurement(entry, AFTER_STOP if entry.after_stop else "")
    metric, test = entry.claim["metric"], entry.test
    sizes = "/".join(map(str, test.sizes))
    if entry.kind == "exact":
        largest = "none" if math.isnan(test.largest) else with_unit(test.largest, metric)
        return f"{compared(entry)}: **{largest.lstrip('+')}**, n={sizes}"
    text = f"{compared(entry)}: **{with_unit(test.estimate, metric)}**"
    if entry.kind == "fisher":
        (left, right), (size, other_size) = test.counts, test.sizes
        return text + f" ({left}/{size} vs {right}/{other_size} seeds), n={sizes}"
    if entry.verdict == "no variation":
        return text + f" (every seed equal on each side: no spread, no test), n={sizes}"
    if not math.isnan(entry.low):
        mark = AFTER_STOP if entry.after_stop else ""
        text += (f" [{scaled(entry.low, metric)[0]}, {scaled(entry.high, metric)[0]}] "
                 f"({100 * entry.level:.2f}% CI{mark})")
    return text + f", n={sizes}"


def p_cell(entry):
    value = entry.adjusted
    if math.isnan(value):
        return "–"
    return "<0.0001" if value < 0.0001 else f"{value:.2g}"


def verdict_cell(entry):
    claim = entry.claim
    if entry.family == "exact":
        return (f"**{entry.verdict}** (claim: equal within "
                f"{with_unit(claim['tolerance'], claim['metric']).lstrip('+')})")
    if timing_claims.is_timing(entry):
        return f"**{entry.verdict}** (claim: {timing_claims.verdict_claim(claim)})"
    if claim["direction"] == "equal":
        margin = with_unit(claim["margin"], claim["metric"]).lstrip("+")
        return f"**{entry.verdict}** (claim: equal within ±{margin})"
    if claim.get("by"):
        claimed = with_unit(claims.claimed_difference(claim), claim["metric"])
        return f"**{entry.verdict}** (claim: {claim['direction']} by at least {claimed})"
    return f"**{entry.verdict}** (claim: {claim['direction']})"


def detectable_cell(entry):
    if entry.verdict != "not detected":
        return "–"
    metric, value = entry.claim["metric"], entry.detectable
    if timing_claims.is_timing(entry):
        return timing_claims.detectable(entry)
    if entry.kind == "fisher":
        size, other_size = entry.test.sizes
        if math.isnan(value) and lower_rate(entry) >= 1:
            # Nothing can be above a rate of 1: no difference is detectable, whatever the seeds.
            return "none: the side claimed lower failed in every seed, so nothing can exceed it"
        if math.isnan(value):
            return (f"out of reach: no outcome of {size}/{other_size} seeds passes this "
                    "level")
        return f"{with_unit(value, metric)} in the rate, the claimed-lower side as observed"
    magnitude = with_unit(value, metric).lstrip("+")
    if entry.claim["direction"] == "equal":
        return f"equality within ±{magnitude} (if the truth is 0)"
    if entry.claim.get("by"):
        claimed = with_unit(claims.claimed_difference(entry.claim), metric)
        return f"±{magnitude} from the claimed {claimed}"
    return f"±{magnitude}"


def lower_rate(entry):
    """The observed rate of the side a Fisher claim says is lower."""
    rates = entry.test.rates
    return rates[1] if entry.claim["direction"] == "higher" else rates[0]


def counts(judged):
    """One line: how many claims each family has and how they were judged; claims that
    could not be tested (no data, too few seeds, no variation) are counted apart."""
    parts = []
    for family in claims.FAMILIES:
        entries = [entry for entry in judged if entry.family == family
                   and claims.untestable(entry) is None]
        if entries:
            parts.append(f"{len(entries)} {FAMILY_WORDS[family]} ({tally(entries)})")
    untested = [entry for entry in judged if claims.untestable(entry) is not None]
    if untested:
        parts.append(f"{len(untested)} not tested ({tally(untested)})")
    return "; ".join(parts) or "no claims"


def tally(entries):
    counted = {}
    for entry in entries:
        counted[entry.verdict] = counted.get(entry.verdict, 0) + 1
    return ", ".join(f"{number} {verdict}" for verdict, number in sorted(
        counted.items(), key=lambda item: VERDICT_ORDER.get(item[0], 9)))


VERDICT_ORDER = {"supported": 0, "contradicted": 1, "not detected": 2}
FAMILY_WORDS = {"confirmatory": "confirmatory claims judged as one Holm family",
                "exploratory": "exploratory claims, unadjusted", "exact": "exact checks"}
