"""The claims page: every claim of every study under some folders, judged from the stores.

    normexp claims experiments [more folders] [--page experiments/CLAIMS.md]
                                               [--readme README.md]

reads each ``<folder>/**/study.json`` (up to two levels down) and its run records — never a
YAML file, never a model — and writes one Markdown table: a row per claim with our
measurement, its Holm-corrected interval, the verdict, the smallest effect the study could
have detected when nothing was, a figure and the study. With ``--readme`` the table also
replaces the block between ``<!-- claims:start -->`` and ``<!-- claims:end -->``.
Any study with claims becomes rows here, whatever its model family.
"""

import argparse
import os
import sys
from pathlib import Path

from normexp.report import claims
from normexp.report import condition_data
from normexp.store import atomic, run_store
from normexp.errors import NormexpError, StoreError
from normexp.metrics import CLAIM_METRICS
from normexp.naming import sweep_figure_name
from normexp.report.tables import markdown

COLUMNS = ("#", "claim", "measured: difference [Holm-adjusted CI]", "verdict",
           "smallest detectable (80% power)", "figure", "study")
START, END = "<!-- claims:start -->", "<!-- claims:end -->"


def study_files(folders):
    found = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise StoreError(f"{folder}: no such folder (give folders that hold study stores)")
        found += sorted(folder.glob("study.json")) + sorted(folder.glob("*/study.json")) + sorted(
            folder.glob("*/*/study.json"))
    return list(dict.fromkeys(found))


def judge_folders(folders):
    """Every claim in the studies under ``folders``, judged together (one Holm family)."""
    judged = []
    for path in study_files(folders):
        try:
            record = run_store.read_json(path)
        except run_store.CorruptRecord as reason:
            raise StoreError(f"{path}: {reason}") from None
        claim_list = record.get("report", {}).get("claims") or []
        if not claim_list:
            continue
        records, _, _ = run_store.load_expected(path.parent.parent, record)
        conditions = condition_data.collect(records, record, record["report"]["target_accuracy"])
        for entry in claims.judge_study(claim_list, conditions, record["name"]):
            entry.folder = path.parent
            judged.append(entry)
    return claims.verdicts(sorted(judged, key=lambda entry: natural_key(entry.claim["id"])))


def natural_key(identifier):
    digits = "".join(character for character in identifier if character.isdigit())
    return (int(digits) if digits else 10 ** 9, identifier)


def row(entry, page_folder):
    claim = entry.claim
    relative = Path(os.path.relpath(entry.folder, page_folder) if page_folder else ".")
    figure = claim.get("figure") or default_figure(claim)
    return (claim["id"], claim["claim"], measurement(entry), verdict_cell(entry),
            detectable_cell(entry), f"[{figure}]({(relative / figure).as_posix()})",
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


def measurement(entry):
    (variant, point, metric), (other, other_point, other_metric) = claims.sides(entry.claim)
    if entry.left is None or entry.right is None or entry.test is None:
        return "no runs stored"
    if entry.claim.get("minus"):  # a test exists only when all four conditions do
        compared = (f"({entry.left.label} − {entry.right.label}) − ({entry.minus_left.label} "
                    f"− {entry.minus_right.label}), {CLAIM_METRICS[metric].description}")
    elif metric == other_metric:
        compared = (f"{entry.left.label} − {entry.right.label}, "
                    f"{CLAIM_METRICS[metric].description}")
    else:
        compared = f"{entry.left.label} {metric} − {entry.right.label} {other_metric}"
    estimate, unit = scaled(entry.test.estimate, metric)
    text = f"{compared}: **{f'{estimate} {unit}'.strip()}**"
    if entry.test.usable:
        low, _ = scaled(entry.low, metric)
        high, _ = scaled(entry.high, metric)
        text += f" [{low}, {high}] ({100 * entry.level:.2f}% CI)"
    sizes = "/".join(map(str, entry.test.sizes))
    return text + f", n={sizes}"


def verdict_cell(entry):
    if entry.claim["direction"] == "equal":
        margin, unit = scaled(entry.claim["margin"], entry.claim["metric"])
        return f"**{entry.verdict}** (claim: equal within ±{margin.lstrip('+')} {unit})".replace(
            " )", ")")
    return f"**{entry.verdict}** (claim: {entry.claim['direction']})"


def detectable_cell(entry):
    if entry.verdict != "not detected":
        return "–"
    if not entry.test.standard_error:
        return "any difference (every seed equal on both sides)"
    value, unit = scaled(entry.detectable, entry.claim["metric"])
    return f"±{value.lstrip('+')} {unit}".rstrip()


def page_text(judged, page_folder, folders):
    tested = sum(1 for entry in judged if entry.test is not None and entry.test.usable)
    lines = ["# The claims, tested", "",
             "Generated by `normexp claims " + " ".join(folders) +
             "` from the run stores alone; do not edit by hand.", "",
             f"Each row compares per-seed final values of two conditions (paired by seed when "
             f"both sides are the same runs, Welch otherwise). The {tested} claims with data "
             "form one family: intervals and verdicts are Holm-corrected (family-wise error "
             "5%), so each row's interval is wider than a plain 95% one. **supported**: the "
             "interval lies on the claimed side of 0 (or within the margin, for 'equal'); "
             "**contradicted**: it lies on the other side (or beyond the margin); **not "
             "detected**: neither — the smallest detectable difference says how large an "
             "effect the study would have found 80% of the time, from the observed seed "
             "spread, so 'not detected' is never 'no effect'. Diverged seeds are left out of "
             "every metric except `diverged`. pp = percentage points.", "",
             markdown(COLUMNS, [row(entry, page_folder) for entry in judged]), ""]
    return "\n".join(lines)


def update_readme(readme, table):
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise StoreError(f"{readme}: needs the markers {START} and {END} around the table")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    atomic.write(readme, f"{head}{START}\n{table}\n{END}{tail}")


def readme_table(judged, page):
    rows = [(entry.claim["id"], entry.claim["claim"], measurement(entry).split(": ", 1)[-1],
             entry.verdict) for entry in judged]
    return markdown(("#", "claim", "measured", "verdict"), rows) + (
        f"\n\nFull table, with the comparisons, intervals and figures: [{page}]({page}).")


def main(argv=None):
    parse = argparse.ArgumentParser(prog="normexp claims",
                                    description="Judge every claim in the study stores.")
    parse.add_argument("folders", nargs="+", help="folders holding study stores")
    parse.add_argument("--page", default=None, help="where to write the page (default: "
                       "CLAIMS.md in the first folder)")
    parse.add_argument("--readme", help="also refresh the table between the claims markers")
    args = parse.parse_args(argv)
    try:
        page = Path(args.page or Path(args.folders[0]) / "CLAIMS.md")
        judged = judge_folders(args.folders)
        atomic.write(page, page_text(judged, page.parent, args.folders))
        if args.readme:
            update_readme(Path(args.readme), readme_table(judged, page.as_posix()))
    except NormexpError as error:
        print(f"normexp: error: {error}", file=sys.stderr)
        return error.exit_code
    print(f"{len(judged)} claims judged: " + ", ".join(
        f"{entry.claim['id']} {entry.verdict}" for entry in judged) + f"\nPage: {page}")
    return 0

