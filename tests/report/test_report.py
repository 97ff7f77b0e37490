"""The report is built from the store alone: figures, tables, reference, gaps."""

import copy
import csv

import numpy as np
import pytest
from scipy import stats as scipy_stats

from normexp.report import condition_data
from normexp.store import run_store
from normexp.config.study import load_study, study_record
from normexp.report.study_report import build_report
from tests.conftest import TINY_STUDY, fake_result, store_fake_study, write_config

ARTICLE_STYLE = copy.deepcopy(TINY_STUDY)
ARTICLE_STYLE["seeds"] = [0, 1, 2]
ARTICLE_STYLE["report"] = {
    "baseline": "no_norm", "target_accuracy": 0.95,
    "panels": [{"variant": "no_norm", "title": "without"}, {"variant": "bn_after", "title": "with"}],
    "reference": {"no_norm": {"val_accuracy": {2: 0.95}}, "bn_after": {"val_accuracy": {2: 0.99}}}}


result = fake_result


def build(tmp_path, data, accuracies):
    study = load_study(write_config(tmp_path, data))
    run_store.prepare(tmp_path / "out", study.name)
    run_store.write_study(tmp_path / "out", study_record(study))
    for spec in study.runs:
        values = accuracies.get((spec.variant, spec.seed))
        if values == "diverged":
            run_store.save_run(tmp_path / "out", spec, result([float("nan")], "diverged"), {})
        elif values is not None:
            run_store.save_run(tmp_path / "out", spec, result(values), {})
    text = build_report(tmp_path / "out", study.name)
    return text, (tmp_path / "out" / study.name)


def test_reference_table_judges_a_single_run_by_prediction_interval(tmp_path):
    accuracies = {("no_norm", seed): [0.90, value] for seed, value in enumerate((0.94, 0.95, 0.96))}
    accuracies.update({("bn_after", seed): [0.93, value]
                       for seed, value in enumerate((0.96, 0.965, 0.97))})
    console, folder = build(tmp_path, ARTICLE_STYLE, accuracies)
    report = (folder / "REPORT.md").read_text()
    assert (folder / "article_figure.png").is_file() and "![article figure]" in report
    assert "| no_norm | val_accuracy | 2 | 95.00 | 95.00 ± 2.48 | 94.00–96.00 |" in report
    assert report.index("| no_norm | val_accuracy") < report.index("| bn_after | val_accuracy")
    assert "| bn_after | val_accuracy | 2 | 99.00 |" in report and "no, higher than ours" in report
    assert "| bn_after | +1.50 |" in report  # difference vs the baseline, in points
    assert "Study tiny: 6/6 runs" in console


def test_missing_and_diverged_runs_are_listed_not_plotted(tmp_path):
    accuracies = {("no_norm", 0): [0.9, 0.95], ("no_norm", 1): [0.9, 0.96],
                  ("bn_after", 0): "diverged"}
    console, folder = build(tmp_path, ARTICLE_STYLE, accuracies)
    report = (folder / "REPORT.md").read_text()
    assert "## Incomplete" in report and "missing: " in report
    assert "0/1 (1 diverged: seed 0 at epoch 1)" in report
    assert not (folder / "article_figure.png").exists()  # a panel has no data
    assert "runs missing" in console
    rows = list(csv.DictReader((folder / "per_seed.csv").open()))
    assert [row["condition"] for row in rows] == ["no_norm", "no_norm"]


def test_empty_store_still_reports(tmp_path):
    console, folder = build(tmp_path, TINY_STUDY, {})
    assert "Study tiny: 0/4 runs" in console
    assert "no runs yet" in (folder / "REPORT.md").read_text()


def test_sweep_conditions_are_compared_at_the_same_point(tmp_path):
    data = copy.deepcopy(TINY_STUDY)
    data["sweep"] = {"train.batch_size": [32, 64]}
    accuracies = {}
    for variant, shift in (("no_norm", 0.0), ("bn_after", 0.01)):
        for seed in (0, 1):
            accuracies[(variant, seed)] = [0.9, 0.95 + shift + 0.001 * seed]
    _, folder = build(tmp_path, data, accuracies)
    report = (folder / "REPORT.md").read_text()
    assert "| bn_after · batch 32 | +1.00 |" in report
    assert "| bn_after · batch 64 | +1.00 |" in report
    assert "| no_norm · batch 64 | +" not in report  # not compared across points
    assert "__train" not in report.split("Per-seed values")[0]  # labels, not folder names


def test_sweep_figure_csv_columns_and_diverged_fraction(tmp_path):
    data = copy.deepcopy(TINY_STUDY)
    data["seeds"] = [0, 1, 2]
    data["sweep"] = {"train.batch_size": [8, 64]}
    accuracies = {(variant, seed): [0.9, 0.95 + 0.01 * seed]
                  for variant in ("no_norm", "bn_after") for seed in (0, 1, 2)}
    accuracies[("bn_after", 2)] = "diverged"
    _, folder = build(tmp_path, data, accuracies)
    report = (folder / "REPORT.md").read_text()
    assert (folder / "sweep_batch.png").is_file() and "](sweep_batch.png)" in report
    assert "95% confidence interval of the mean" in report
    rows = list(csv.DictReader((folder / "per_seed.csv").open()))
    assert {(row["variant"], row["train.batch_size"]) for row in rows} == {
        ("no_norm", "8"), ("no_norm", "64"), ("bn_after", "8"), ("bn_after", "64")}
    study = load_study(write_config(tmp_path, data))
    records, _, _ = run_store.load_expected(tmp_path / "out", study_record(study))
    conditions = condition_data.collect(records, study_record(study), 0.95)
    from normexp.report import plots
    from normexp.report import sweeps
    figure = sweeps.sweep_figure(conditions, plots.variant_colors(study.variants),
                                       "train.batch_size")
    accuracy_axis, _, diverged_axis = figure.axes
    assert accuracy_axis.get_xscale() == "log"
    fractions = {line.get_label(): list(line.get_ydata()) for line in diverged_axis.lines}
    assert fractions == {"no_norm": [0.0, 0.0], "bn_after": [1 / 3, 1 / 3]}
    bars = [container for container in accuracy_axis.containers]
    means = sorted(list(bar.lines[0].get_ydata()) for bar in bars)
    assert means[0] == pytest.approx([0.955, 0.955]) and means[1] == pytest.approx([0.96, 0.96])


def test_sweep_figure_styles_other_points_and_drops_an_empty_diverged_panel(tmp_path):
    data = copy.deepcopy(TINY_STUDY)
    data["sweep"] = {"train.batch_size": [8, 64], "model.dropout": [0.0, 0.5]}
    study = load_study(write_config(tmp_path, data))
    out = tmp_path / "out"
    run_store.prepare(out, study.name)
    run_store.write_study(out, study_record(study))
    for spec in study.runs:
        run_store.save_run(out, spec, fake_result([0.5, 0.9 + 0.01 * spec.seed]), {})
    records, _, _ = run_store.load_expected(out, study_record(study))
    conditions = condition_data.collect(records, study_record(study), 0.95)
    from normexp.report import plots
    from normexp.report import sweeps
    figure = sweeps.sweep_figure(conditions, plots.variant_colors(study.variants),
                                       "train.batch_size")
    assert len(figure.axes) == 2 and "no seed diverged" in figure._suptitle.get_text()
    styles = {container.get_label(): container.lines[0].get_linestyle()
              for container in figure.axes[0].containers}
    assert styles["no_norm · dropout 0"] == styles["bn_after · dropout 0"] == "-"
    assert styles["no_norm · dropout 0.5"] == styles["bn_after · dropout 0.5"] == "--"


def test_study_without_a_baseline_has_no_differences_section(tmp_path):
    data = copy.deepcopy(TINY_STUDY)
    data["report"] = {}
    console, folder = build(tmp_path, data, {("no_norm", 0): [0.9, 0.95],
                                             ("bn_after", 0): [0.9, 0.96]})
    assert "Differences vs" not in (folder / "REPORT.md").read_text()
    assert "vs " not in console and "Study tiny: 2/4 runs" in console


def test_summary_csv_holds_the_means_and_intervals_and_epochs_to_target(tmp_path):
    accuracies = {("no_norm", 0): [0.90, 0.94], ("no_norm", 1): [0.96, 0.97],
                  ("no_norm", 2): [0.90, 0.95]}
    _, folder = build(tmp_path, ARTICLE_STYLE, accuracies)
    rows = {(row["condition"], row["metric"]): row
            for row in csv.DictReader((folder / "summary.csv").open())}
    finals = np.array([0.94, 0.97, 0.95])
    half = scipy_stats.t.ppf(0.975, 2) * finals.std(ddof=1) / np.sqrt(3)
    row = rows[("no_norm", "val_accuracy")]
    assert int(row["n"]) == 3
    assert float(row["mean"]) == pytest.approx(finals.mean(), abs=1e-6)
    assert float(row["ci95_half_width"]) == pytest.approx(half, rel=1e-5)
    assert float(rows[("no_norm", "epochs_to_target")]["mean"]) == pytest.approx(1.5)
    assert rows[("bn_after", "val_accuracy")]["n"] == "0"
    report = (folder / "REPORT.md").read_text()
    # target 95%: seed 0 never reaches it, seed 1 at epoch 1, seed 2 at epoch 2
    assert "| 1.5 (2/3 reached) |" in report


def test_stale_figures_are_deleted_when_their_data_is_gone(tmp_path):
    accuracies = {(variant, seed): [0.9, 0.95] for variant in ("no_norm", "bn_after")
                  for seed in range(3)}
    _, folder = build(tmp_path, ARTICLE_STYLE, accuracies)
    figures = ("curves.png", "final_val_accuracy.png", "article_figure.png")
    assert all((folder / name).is_file() for name in figures)
    for run in (folder / "runs").glob("*/seed_*/meta.json"):
        run.unlink()
    build_report(tmp_path / "out", "tiny")
    assert not any((folder / name).exists() for name in figures)
    assert "no runs yet" in (folder / "REPORT.md").read_text()


def test_diverged_runs_stay_out_of_curves_and_statistics(tmp_path):
    accuracies = {("no_norm", 0): [0.90, 0.94], ("no_norm", 1): "diverged",
                  ("no_norm", 2): [0.92, 0.96]}
    study = load_study(write_config(tmp_path, ARTICLE_STYLE))
    build(tmp_path, ARTICLE_STYLE, accuracies)
    records, _, _ = run_store.load_expected(tmp_path / "out", study_record(study))
    condition = condition_data.collect(records, study_record(study), 0.95)[0]
    assert condition.seeds == [0, 2] and condition.diverged == [(1, 1)]
    assert condition.curves["val_accuracy"].tolist() == [[0.90, 0.94], [0.92, 0.96]]
    assert condition.per_seed["val_accuracy"] == [0.94, 0.96]


def test_comparisons_give_every_final_metric_an_interval(tmp_path):
    data = copy.deepcopy(ARTICLE_STYLE)
    data["report"] = {"comparisons": [{"variant": "bn_after", "against": "no_norm"}]}
    accuracies = {("no_norm", seed): [0.9, 0.95 + 0.001 * seed] for seed in range(3)}
    accuracies.update({("bn_after", seed): [0.9, 0.97 + 0.001 * seed] for seed in range(3)})
    _, folder = build(tmp_path, data, accuracies)
    report = (folder / "REPORT.md").read_text()
    assert "## Comparisons" in report
    assert "| bn_after − no_norm | val acc (pp) | +2.00 | [+1.77, +2.23] | higher |" in report
    # identical train losses: a zero-width interval at 0
    assert "| bn_after − no_norm | train loss | +0.0000 |" in report
    assert report.count("| bn_after − no_norm |") == 4


def test_a_sweep_study_draws_one_panel_per_point_with_a_colour_per_variant(tmp_path):
    data = copy.deepcopy(TINY_STUDY)
    data["sweep"] = {"train.batch_size": [8, 64], "model.dropout": [0.0, 0.5]}
    study, out = store_fake_study(tmp_path, data, lambda spec: [
        0.5, 0.8 + dict(spec.point)["train.batch_size"] / 1000])
    records, _, _ = run_store.load_expected(out, study_record(study))
    conditions = condition_data.collect(records, study_record(study), 0.95)
    from normexp.report import plots
    colors = plots.variant_colors(study.variants)
    figure = plots.sweep_curves_figure(conditions, colors)
    panels = [ax for ax in figure.axes if ax.get_visible()]
    titles = [ax.get_title() for ax in panels]
    assert len(panels) == 4 * 2    # 4 sweep points × (validation accuracy, training loss)
    def panel(metric, *parts):
        return next(ax for ax, title in zip(panels, titles) if title.split(" · ")[0] == metric
                    and set(parts) <= set(title.split(" · ")[1:]))

    for ax in panels:               # each panel: one line per variant, in its colour
        assert [line.get_color() for line in ax.lines] == [colors["no_norm"], colors["bn_after"]]
    at_64 = panel("Validation accuracy", "batch 64", "dropout 0")
    assert at_64.lines[0].get_ydata()[-1] == pytest.approx(0.864)
    assert len({ax.get_ylim() for ax in panels[:4]}) == 1    # shared y within a metric
    legend = figure.legends[0]
    assert [text.get_text() for text in legend.get_texts()] == ["no_norm", "bn_after"]


def test_every_figure_the_report_links_exists(tmp_path):
    # Fast runs record their inference time per epoch, a probe scalar without a panel: the
    # Probes section (and its image link) appears only when a probe figure is drawn.
    import re

    study = load_study(write_config(tmp_path, TINY_STUDY))
    out = tmp_path / "out"
    run_store.prepare(out, study.name)
    run_store.write_study(out, study_record(study))
    for spec in study.runs:
        run = result([0.5, 0.9])
        run.history["inference_seconds_per_example"] = [2e-6, 2e-6]
        run.history["learning_rate"] = [0.01, 0.01]
        run_store.save_run(out, spec, run, {})
    build_report(out, study.name)
    text = (out / study.name / "REPORT.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert "curves.png" in linked and "## Probes" not in text
    assert all((out / study.name / name).exists() for name in linked), linked
