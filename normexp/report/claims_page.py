"""The claims page: every claim of every study under some folders, judged from the stores.

    normexp claims experiments [more folders] [--page experiments/CLAIMS.md]
                                               [--readme README.md ...]

reads each ``<folder>/**/study.json`` (up to two levels down) and its run records, and each
``timing.json`` of the interleaved timing benchmark there (``timing_claims``) — never a
YAML file, never a model — and writes the page: a table per family (confirmatory claims
under one Holm correction, exploratory ones unadjusted, exact checks), each row with our
measurement, its interval, its p-value, the verdict, the smallest effect the study could
have detected when nothing was, a figure and the study. ``--readme`` (repeatable) rewrites
the generated blocks of a Markdown file (``readme_blocks``). Each folder also gets
``claims_family.json``, naming the folders judged together, so that a study's report
(``family_for``) shows the page's verdicts; a timing record gets its ``REPORT.md`` from
the page itself (``timing_report``). Any study with claims becomes rows here,
whatever its model family.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from normexp.report import claims
from normexp.report import claims_text
from normexp.report import condition_data
from normexp.report import readme_blocks
from normexp.report import timing_claims, timing_report
from normexp.store import atomic, run_store
from normexp.errors import NormexpError, StoreError

FAMILY_FILE = "claims_family.json"


def study_files(folders):
    found = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise StoreError(f"{folder}: no such folder (give folders that hold study stores)")
        found += run_store.files_below(folder, "study.json")
    return list(dict.fromkeys(found))


def judge_folders(folders):
    """Every claim in the studies under ``folders``, judged together (one Holm family for
    the confirmatory ones)."""
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
    judged += timing_claims.judge_folders(folders)
    refuse_repeated_ids(judged)
    return claims.verdicts(sorted(judged, key=lambda entry: natural_key(entry.claim["id"])))


def refuse_repeated_ids(judged):
    """One id, one row: a claim moved to another store (13 to rnn_long, 5a/5b to the timing
    benchmark) whose old study still lists it, its report not rebuilt since, would
    otherwise be judged twice, in one family."""
    seen = {}
    for entry in judged:
        identifier = entry.claim["id"]
        if identifier in seen:
            raise StoreError(
                f"{entry.folder}: claim id {identifier!r} is also claimed by "
                f"{seen[identifier]}; each id must be judged in one place (rebuild a moved "
                f"claim's old study with --report-only)")
        seen[identifier] = entry.folder


def write_family_files(folders, page):
    """``claims_family.json`` in each folder: the folders judged together and the page."""
    for folder in map(Path, folders):
        atomic.write(folder / FAMILY_FILE, json.dumps({
            "folders": [Path(os.path.relpath(other, folder)).as_posix() for other in folders],
            "page": Path(os.path.relpath(page, folder)).as_posix()}, indent=1) + "\n")


def family_for(study_folder):
    """``(judged, page)`` of the claims page whose folders hold ``study_folder``, from the
    stores, or ``(None, reason)``. The page reaches two levels down, so its family file is
    in the study's folder, its parent or its grandparent."""
    study_folder = Path(study_folder).resolve()
    for folder in (study_folder, *list(study_folder.parents)[:2]):
        try:
            record = json.loads((folder / FAMILY_FILE).read_text(encoding="utf-8"))
            folders = [folder / other for other in record["folders"]]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        try:
            if study_folder / "study.json" not in {path.resolve()
                                                   for path in study_files(folders)}:
                continue
            return judge_folders(folders), folder / record["page"]
        except NormexpError as error:
            return None, f"the claims page's family could not be judged: {error}"
    return None, "no claims page covers this store"


def report_section(study_record, records, folder):
    """This study's claims with the claims page's verdicts, judged with every claim of the
    page's studies (``family_for``); without such a page, judged on this study
    alone and labelled as that."""
    claim_list = study_record["report"].get("claims")
    if not claim_list:
        return []
    judged, page = (family_for(folder) if folder is not None
                    else (None, "no store folder given"))
    if judged is not None:
        mine = [entry for entry in judged if entry.folder.resolve() == folder.resolve()]
        link = os.path.relpath(page, folder)
        return ["## Claims", "", f"The verdicts of the claims page [{Path(link).name}]"
                f"({Path(link).as_posix()}), recomputed from the stores: the confirmatory "
                f"claims are judged together with all {family_count(judged)} confirmatory "
                "claims of the page's studies (Holm), so these rows read exactly as the "
                "page's.", "", *claims_text.tables(mine), ""]
    conditions = condition_data.collect(records, study_record,
                                        study_record["report"]["target_accuracy"])
    judged = claims.verdicts(claims.judge_study(claim_list, conditions, study_record["name"]))
    return ["## Claims (within-study view)", "",
            f"Judged on this study alone ({page}): the confirmatory claims form a Holm family "
            f"of this study's {family_count(judged)} only. A claims page judging more studies "
            "together (`normexp claims FOLDER`) corrects across all of them, and its verdicts "
            "are the ones to quote.", "",
            *claims_text.tables(judged), ""]


def natural_key(identifier):
    digits = "".join(character for character in identifier if character.isdigit())
    return (int(digits) if digits else 10 ** 9, identifier)


def family_count(judged):
    """How many claims Holm's correction counts: the confirmatory ones with a test."""
    return sum(1 for entry in judged if entry.family == "confirmatory"
               and claims.untestable(entry) is None)


def page_text(judged, page_folder, folders):
    confirmatory = family_count(judged)
    lines = ["# The claims, tested", "",
             "Generated by `normexp claims " + " ".join(folders) +
             "` from the run stores alone; do not edit by hand.", "",
             f"**{claims_text.counts(judged)}.**", "",
             "Each row compares per-seed final values of two conditions (paired by seed when "
             "both sides are the same runs, Welch otherwise; Fisher's exact test for a "
             f"binary metric such as `diverged`). The {confirmatory} confirmatory claims "
             "with a test form one family: Holm's step-down keeps the family-wise error at "
             "5%, so each row is judged at a level stricter than 95%, shown with its "
             "interval. Holm's procedure tests the rows in order of p-value and stops at the "
             "first it cannot reject; the rows after that stop are never tested at a level "
             "of their own, so they are shown at the stop's level and marked "
             f"{claims_text.AFTER_STOP}. **supported**: the interval lies on the claimed "
             "side of 0 (of the claimed difference, for a claim 'by at least' an effect; "
             "or, for 'equal', inside ±margin: two one-sided tests); "
             "**contradicted**: it lies on the other side (or beyond the margin); **not "
             "detected**: neither — the smallest detectable effect says how large an effect "
             "the study would have found 80% of the time at that level, from the observed "
             "seed spread (for 'equal': the narrowest margin it could have shown), so 'not "
             "detected' is never 'no effect'. **no variation**: every seed gave the same "
             "value on each side, so a t-test has nothing to work with (no p). Exploratory "
             "claims (added after seeing results, or not pre-registered) are judged each at "
             "5% on its own, outside the family; exact checks compare the largest "
             "|difference| between seeds with a tolerance. Diverged seeds are left out of "
             "every metric except `diverged` and `failed`. pp = percentage points. How each "
             "test works: docs/claims.md.", ""]
    lines += timing_note(judged)
    lines += claims_text.tables(judged, page_folder)
    return "\n".join(lines)


def timing_note(judged):
    """The page's paragraph on timing rows, when it has any."""
    if not any(timing_claims.is_timing(entry) for entry in judged):
        return []
    return ["Timing rows compare arms of an interleaved benchmark instead of seeds: every "
            "repeat times each arm once, in a shuffled order, and the row's statistic is the "
            "per-repeat log ratio of two arms' times (paired within the repeat), its mean "
            "and t interval shown as a ratio (×); 'equal' within ×/÷(1 + m) is two "
            "one-sided tests on ±log(1 + m). The figure column links the stored repeats.", ""]


def readme_table(judged, page):
    rows = [(entry.claim["id"], entry.claim["claim"],
             claims_text.measurement(entry).split(": ", 1)[-1],
             JUDGED_AS[entry.family], entry.verdict) for entry in judged]
    return claims_text.markdown(("#", "claim", "measured", "judged as", "verdict"), rows) + (
        f"\n\nFull table, with the comparisons, intervals and figures: [{page}]({page}).")


JUDGED_AS = {"confirmatory": "Holm family", "exploratory": "exploratory, unadjusted",
             "exact": "exact check"}


def readme_values(judged):
    return {entry.claim["id"]: {"verdict": entry.verdict, "measured":
                                claims_text.measurement(entry).split(": ", 1)[-1]}
            for entry in judged}


def main(argv=None):
    parse = argparse.ArgumentParser(prog="normexp claims",
                                    description="Judge every claim in the study stores.")
    parse.add_argument("folders", nargs="+", help="folders holding study stores")
    parse.add_argument("--page", default=None, help="where to write the page (default: "
                       "CLAIMS.md in the first folder)")
    parse.add_argument("--readme", action="append", default=[], help="also refresh the "
                       "generated blocks of this Markdown file (repeatable)")
    args = parse.parse_args(argv)
    try:
        page = Path(args.page or Path(args.folders[0]) / "CLAIMS.md")
        judged = judge_folders(args.folders)
        atomic.write(page, page_text(judged, page.parent, args.folders))
        write_family_files(args.folders, page)
        timing_report.write_reports(judged, page)
        for readme in map(Path, args.readme):
            page_link = Path(os.path.relpath(page, readme.parent)).as_posix()
            readme_blocks.refresh(readme, readme_table(judged, page_link),
                                  claims_text.counts(judged), readme_values(judged))
    except NormexpError as error:
        print(f"normexp: error: {error}", file=sys.stderr)
        return error.exit_code
    print(f"{len(judged)} claims judged: " + ", ".join(
        f"{entry.claim['id']} {entry.verdict}" for entry in judged) + f"\nPage: {page}")
    return 0
