"""Timing claims judged from the interleaved benchmark's stored repeats (``timing.json``).

Seeds are no timing replicates: claims about cost (5a–5c) are judged from the repeats of
``normexp.execution.norm_cost``, which times every arm once per repeat, interleaved. The
statistic is the per-repeat log ratio ``log(t_arm / t_against)`` (paired within a repeat,
so a slow spell of the machine cancels), its mean with a t interval over repeats
(``stats.paired_difference``), shown back on the ratio scale: "×1.07 [×1.03, ×1.11]" is a
geometric-mean ratio. "higher" tests the mean log ratio against 0; "equal" with margin m
is TOST on ±log(1 + m), so the ratio must lie within [1/(1 + m), 1 + m]. The p-value comes
from that test, and the claims enter the page's confirmatory Holm family (or the
exploratory table) like every other claim (``claims.verdicts``).

Contract: ``records(folders)`` finds ``timing.json`` up to two levels below each folder,
as the page finds ``study.json``; ``judge_record(record, folder)`` returns one
``claims.Judged`` per stored claim, its ``claim`` a page claim (``source: timing``, the
margin in log units, ``ratio_margin`` as configured, ``figure`` the stored JSON). The
text helpers take such an entry after ``claims.verdicts``.
"""

import math

from normexp.errors import StoreError
from normexp.metrics import TIMING_METRICS
from normexp.report import claims, stats
from normexp.store import run_store

RECORD_NAME, FORMAT = run_store.TIMING_RECORD, run_store.TIMING_FORMAT
REQUIRED = ("name", "claims", "repeats", "arms", "machine", "benchmark")


def record_files(folders):
    found = []
    for folder in folders:
        found += run_store.files_below(folder, RECORD_NAME)
    return list(dict.fromkeys(found))


def read_record(path):
    """The stored record, or one ``StoreError`` line naming the file."""
    try:
        record = run_store.read_json(path)
    except run_store.CorruptRecord as reason:
        raise StoreError(f"{path}: {reason}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise StoreError(f"{path}: not a timing record of format {FORMAT}; rerun "
                         "benchmarks/bench_norm_cost.py")
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise StoreError(f"{path}: lacks {', '.join(missing)}; rerun "
                         "benchmarks/bench_norm_cost.py")
    return record


def judge_folders(folders):
    """Every timing claim stored under ``folders`` (no verdicts yet)."""
    judged = []
    for path in record_files(folders):
        judged += judge_record(read_record(path), path.parent)
    return judged


def judge_record(record, folder):
    judged = []
    for stored in record["claims"]:
        claim = page_claim(stored)
        entry = claims.Judged(claim, record["name"], None, None, folder=folder)
        entry.test = ratio_test(record["repeats"], claim["metric"], claim["arm"],
                                claim["against"])
        judged.append(entry)
    return judged


def page_claim(stored):
    """A stored timing claim as the page judges it: a t-test on log ratios, the margin
    (a fraction) as ±log(1 + margin)."""
    margin = stored.get("margin")
    return {**stored, "source": "timing", "test": "t", "variant": stored["arm"],
            "ratio_margin": margin, "margin": math.log1p(margin) if margin else None,
            "figure": RECORD_NAME}


def log_ratios(repeats, metric, arm, against):
    """``log(t_arm / t_against)`` per repeat that timed both (positive times only)."""
    ratios = []
    for repeat in repeats:
        times = repeat.get(metric) or {}
        mine, theirs = times.get(arm), times.get(against)
        if isinstance(mine, (int, float)) and isinstance(theirs, (int, float)) and (
                mine > 0 and theirs > 0):
            ratios.append(math.log(mine) - math.log(theirs))
    return ratios


def ratio_test(repeats, metric, arm, against):
    """A ``stats.Difference`` of the mean log ratio (paired within repeats; n − 1 freedom)."""
    ratios = log_ratios(repeats, metric, arm, against)
    order = list(range(len(ratios)))
    return stats.paired_difference(ratios, [0.0] * len(ratios), order, order)


def is_timing(entry):
    return entry.claim.get("source") == "timing"


def ratio(log_value):
    return f"×{math.exp(log_value):.3f}"


def measurement(entry, mark):
    """"bn/ln, <metric>: **×1.071** [×1.052, ×1.090] (99.70% CI), n=30 repeats"."""
    claim, test = entry.claim, entry.test
    text = (f"{claim['arm']}/{claim['against']}, {TIMING_METRICS[claim['metric']]}: "
            f"**{ratio(test.estimate)}**" if not math.isnan(test.estimate)
            else f"{claim['arm']}/{claim['against']}: no repeats")
    if entry.verdict == "no variation":
        return text + f" (every repeat gave the same ratio: no test), n={test.sizes[0]} repeats"
    if not math.isnan(entry.low):
        text += (f" [{ratio(entry.low)}, {ratio(entry.high)}] "
                 f"({100 * entry.level:.2f}% CI{mark})")
    return text + f", n={test.sizes[0]} repeats"


def verdict_claim(claim):
    if claim["direction"] == "equal":
        return f"equal within ×/÷{1 + claim['ratio_margin']:.3g}"
    return f"{claim['direction']}, ratio {'above' if claim['direction'] == 'higher' else 'below'} ×1"


def detectable(entry):
    """The smallest ratio (or, for "equal", the narrowest ×/÷ margin) the repeats resolve."""
    if entry.claim["direction"] == "equal":
        return f"equality within ×/÷{math.exp(entry.detectable):.3f} (if the truth is ×1)"
    return f"×{math.exp(entry.detectable):.3f} or ×{math.exp(-entry.detectable):.3f}"
