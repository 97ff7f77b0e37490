"""Build a study's report from its store alone: REPORT.md, CSVs and PNG figures.

``build_report(out, study_name)`` reads ``study.json`` and the run records
(never the YAML, never a model), so it can be rebuilt at any time with
``run.py --report-only``. Diverged and missing runs are listed, never plotted.
"""

import csv
import datetime
import io
import math

from normexp.metrics import PROBE_SCALARS
from normexp.naming import csv_value, sweep_figure_name
from normexp.report import claims_page, condition_data, misclassified
from normexp.report import plots
from normexp.report import probes_figure
from normexp.report import sweeps
from normexp.report import tables
from normexp.report import stats
from normexp.store import atomic, run_store
from normexp.errors import StoreError

FIGURES = {"curves": "curves.png", "final": "final_val_accuracy.png",
           "article": "article_figure.png", "probes": "probes.png",
           "misclassified": "misclassified.png", "disagreements": "disagreements.png"}


def build_report(out, study_name):
    """Write the report files; return the console summary text."""
    folder = run_store.study_dir(out, study_name)
    try:
        study_record = run_store.read_json(folder / "study.json")
    except run_store.CorruptRecord as reason:
        raise StoreError(f"{folder}: no readable study.json ({reason}); run the study first") from None
    records, missing, broken = run_store.load_expected(out, study_record)
    settings = study_record["report"]
    conditions = condition_data.collect(records, study_record, settings["target_accuracy"])
    with_data = [condition for condition in conditions if condition.curves]
    errors = misclassified.collect(folder, with_data, settings.get("baseline"))
    write_figures(folder, conditions, with_data, study_record, settings, errors)
    summary = tables.summary_rows(conditions)
    differences = tables.difference_rows(conditions, settings["baseline"])
    references = tables.reference_rows(conditions, settings["reference"])
    comparisons = tables.comparison_rows(conditions, settings.get("comparisons", []))
    write_csvs(folder, conditions, summary)
    text = markdown_report(study_record, records, missing, broken, summary,
                           differences, references, with_data, comparisons, errors, folder)
    atomic.write(folder / "REPORT.md", text)
    return console_summary(study_record, summary, differences, missing, broken, folder,
                           tables.few_seeds_note(with_data))


def write_figures(folder, conditions, with_data, study_record, settings, errors=None):
    """Write every figure, then remove the ones an older config left behind; a full disk on
    the way stops with one line and leaves the previous figures in place."""
    written = set()
    for name, figure in study_figures(conditions, with_data, study_record, settings, errors):
        plots.save(figure, folder / name)
        written.add(name)
    for path in [folder / name for name in FIGURES.values()] + list(folder.glob("sweep_*.png")):
        if path.name not in written:
            path.unlink(missing_ok=True)


def study_figures(conditions, with_data, study_record, settings, errors):
    """``(file name, figure)`` for each figure the stored data calls for, built lazily."""
    colors = plots.variant_colors(study_record["variants"])
    if errors is not None:  # misclassified.collect: some run has predictions, and the images
        yield FIGURES["misclassified"], misclassified.misclassified_figure(errors)
        disagreements = misclassified.disagreements_figure(errors)
        if disagreements is not None:
            yield FIGURES["disagreements"], disagreements
    if not with_data:
        return
    yield from sweeps.sweep_figures(conditions, colors).items()
    probes = probes_figure.probes_figure(conditions, colors)
    if probes is not None:
        yield FIGURES["probes"], probes
    yield FIGURES["curves"], (plots.sweep_curves_figure(with_data, colors)
                              if sweeps.sweep_keys(with_data)
                              else plots.curves_figure(with_data, colors))
    figure, ax = plots.plt.subplots(figsize=(1.6 * len(conditions) + 3, 4.5))
    plots.plot_final_accuracy(with_data, colors, ax=ax)
    figure.tight_layout()
    yield FIGURES["final"], figure
    names = {condition.name for condition in with_data}
    panels = settings["panels"]
    if panels and all(panel["variant"] in names for panel in panels):
        yield FIGURES["article"], plots.article_figure(with_data, panels)


def write_csvs(folder, conditions, summary):
    """summary.csv and per_seed.csv; each sweep key is a column of its own."""
    keys = sweeps.sweep_keys(conditions)

    def identity(condition):
        return [condition.name, condition.variant,
                *(csv_value(condition.point.get(key)) for key in keys)]

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["condition", "variant", *keys, "metric", "n", "mean", "ci95_half_width"])
    for condition in conditions:
        for metric, values in condition.per_seed.items():
            usable = [value for value in values if not math.isnan(value)]
            if not usable and metric in PROBE_SCALARS + ("bn_mode_gap",):
                continue
            mean, half = stats.mean_interval(usable)
            writer.writerow([*identity(condition), metric, len(usable), fmt(mean), fmt(half)])
    atomic.write(folder / "summary.csv", buffer.getvalue())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    metrics = [metric for metric in (conditions[0].per_seed if conditions else [])
               if any(not math.isnan(value) for condition in conditions
                      for value in condition.per_seed[metric])]
    writer.writerow(["condition", "variant", *keys, "seed", *metrics])
    for condition in conditions:
        for index, seed in enumerate(condition.seeds):
            writer.writerow([*identity(condition), seed,
                             *(fmt(condition.per_seed[metric][index]) for metric in metrics)])
    atomic.write(folder / "per_seed.csv", buffer.getvalue())


def fmt(value):
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.6g}"


def markdown_report(study_record, records, missing, broken, summary, differences, references,
                    with_data, comparisons=(), errors=None, folder=None):
    settings = study_record["report"]
    seeds = ", ".join(map(str, study_record["seeds"]))
    lines = [f"# Study `{study_record['name']}`", "", study_record["description"], "",
             f"Config: `{study_record['source']}` · seeds: {seeds} · "
             f"runs stored: {len(records)}/{len(study_record['runs'])} · "
             f"{environment_line(records)} · report built "
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC", ""]
    lines += problems_section(missing, broken)
    if settings["panels"] and with_data:
        lines += ["## The article's figure", "", f"![article figure]({FIGURES['article']})", ""]
    lines += reference_section(settings, references)
    lines += figures_section(with_data)
    lines += summary_section(settings, summary, with_data)
    lines += differences_section(settings, differences)
    lines += comparisons_section(comparisons)
    lines += claims_page.report_section(study_record, records, folder)
    if with_data:
        lines += [f"![final validation accuracy per seed]({FIGURES['final']})", ""]
    lines += misclassified.section(errors, FIGURES) if errors is not None else []
    lines += ["Per-seed values: `per_seed.csv`; means and intervals: `summary.csv`; every run's "
            "config, history and metadata: `runs/<condition>/seed_<k>/`.", ""]
    return "\n".join(lines)


def figures_section(with_data):
    if not with_data:
        return []
    lines = ["## Curves", "", "Mean over seeds; the shaded band is the 95% confidence interval "
             "of the mean (t-interval), not the spread of single runs.", "",
             f"![curves]({FIGURES['curves']})", ""]
    lines += sweep_section(with_data)
    # Every fast run records its inference time, a probe scalar with no panel of its own.
    if probes_figure.panels_for(with_data):
        lines += ["## Probes", "", "Recorded at the end of every epoch on fixed examples "
                  "(see `train.probes` in docs/config.md); their cost per epoch is the "
                  "`probe_seconds` column of per_seed.csv.", "",
                  f"![probes]({FIGURES['probes']})", ""]
    return lines


def summary_section(settings, summary, with_data):
    lines = ["## Summary", "",
             "Final-epoch values; accuracies in %, mean ± half-width of the 95% t-interval "
             f"over seeds. Epochs to target: median first epoch with validation accuracy ≥ "
             f"{100 * settings['target_accuracy']:g}%. s/epoch: median wall seconds of "
             "epochs after the first (the first includes compilation).", "",
             tables.markdown(tables.SUMMARY_COLUMNS, summary), ""]
    note = tables.few_seeds_note(with_data)
    return lines + ([f"**{note}**", ""] if note else [])


def sweep_section(conditions):
    keys = sweeps.sweep_keys(conditions)
    if not keys:
        return []
    lines = ["## Against the swept values", "",
             "Final accuracy at each sweep point, one line per variant: mean over the seeds "
             "that did not diverge, error bars = 95% CI of the mean; right panel: the "
             "fraction of seeds that diverged there.", ""]
    return lines + [f"![sweep of {key}]({sweep_figure_name(key)})" for key in keys] + [""]


def reference_section(settings, references):
    if not references:
        return []
    return ["## Against the reference", "",
            f"Reference: {settings['reference_source'] or 'published numbers'}. "
            "Accuracies in %; ours is the mean over seeds with a 95% t-interval. A single "
            "published run is compared with the 95% prediction interval for one run of "
            "ours (mean ± t·s·√(1+1/n)), not with our mean: one run scatters more than a "
            "mean does.", "",
            tables.markdown(tables.REFERENCE_COLUMNS, references), ""]


def differences_section(settings, differences):
    if not differences:
        return []
    return [f"## Differences vs `{settings['baseline']}`", "",
            "Percentage points; Welch 95% t-interval over seeds. \"No clear difference\" "
            "means the interval includes 0 — with few seeds that is common, and it is not "
            f"evidence of no effect. With {len(differences)} comparisons, about "
            f"{0.05 * len(differences):.2g} intervals are expected to exclude 0 by chance "
            "alone, so read a lone borderline \"higher\" or \"lower\" as a lead to "
            "test with more seeds, not a finding.", "",
            tables.markdown(tables.DIFFERENCE_COLUMNS, differences), ""]


def comparisons_section(comparisons):
    if not comparisons:
        return []
    pairs = len(comparisons)
    return ["## Comparisons", "",
            "Each row is one variant minus another, on a final-epoch metric: accuracies in "
            "percentage points, losses in their own units; Welch 95% t-interval over seeds. "
            f"These are {pairs} intervals, so about {0.05 * pairs:.2g} are expected to exclude "
            "0 by chance alone.", "",
            tables.markdown(tables.COMPARISON_COLUMNS, comparisons), ""]


def environment_line(records):
    if not records:
        return "no runs yet"
    meta = records[0]["meta"]
    versions = meta.get("versions", {})
    return (f"device: {meta.get('device', '?')}, TensorFlow {versions.get('tensorflow', '?')}, "
            f"Keras {versions.get('keras', '?')}")


def problems_section(missing, broken):
    if not missing and not broken:
        return []
    lines = ["## Incomplete", ""]
    lines += [f"- missing: `{folder}` ({reason})" for folder, reason in missing]
    lines += [f"- unreadable, ignored: `{folder}` ({reason})" for folder, reason in broken]
    return lines + ["", "Rerun the same command to train what is missing.", ""]


def console_summary(study_record, summary, differences, missing, broken, folder, note=""):
    parts = [f"Study {study_record['name']}: "
             f"{len(study_record['runs']) - len(missing) - len(broken)}/"
             f"{len(study_record['runs'])} runs", "",
             tables.console(tables.SUMMARY_COLUMNS[:6], [row[:6] for row in summary])]
    if differences:
        parts += ["", f"vs {study_record['report']['baseline']}:",
                  tables.console(tables.DIFFERENCE_COLUMNS[:4],
                                        [row[:4] for row in differences])]
    if missing or broken:
        parts += ["", f"{len(missing)} runs missing, {len(broken)} unreadable; rerun to finish."]
    parts += ["", note] if note else []
    parts += ["", f"Report: {folder / 'REPORT.md'}"]
    return "\n".join(parts)
