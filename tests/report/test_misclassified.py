"""The report's misclassified images: figures, and counts checked by hand on synthetic runs."""

import copy
import dataclasses

import numpy as np

from normexp.config.study import load_study, study_record
from normexp.engine.trainer import Misclassified
from normexp.report import condition_data, misclassified
from normexp.report.study_report import build_report
from normexp.store import misclassified_images, run_store
from tests.conftest import TINY_STUDY, fake_result, write_config

COUNT = 20
STUDY = copy.deepcopy(TINY_STUDY)
STUDY["seeds"] = [0, 1, 2]
# (variant, seed) → {validation index: predicted label}, chosen so that by hand:
# no_norm (the baseline) gets 1 wrong in 3/3 seeds, 2 and 5 in 1/3; bn_after gets 3 wrong in
# 3/3 seeds (8, 8, 6: shown as 8), 4 in 2/3 (1, 9: a tie, shown as 1), 5 and 2 in 1/3.
WRONG = {("no_norm", 0): {1: 7, 2: 3}, ("no_norm", 1): {1: 7}, ("no_norm", 2): {1: 4, 5: 0},
         ("bn_after", 0): {3: 8, 4: 1, 5: 2}, ("bn_after", 1): {3: 8, 4: 9},
         ("bn_after", 2): {3: 6, 2: 5}}
# bn_after, mostly wrong (≥ 2 of 3 seeds) and right in every baseline seed: 3 and 4;
# no_norm mostly wrong, bn_after right in every seed: 1. Mean errors: 5/3 and 7/3.
ROWS = [("no_norm", "3", "1.7", "–", "–"), ("bn_after", "3", "2.3", "2", "1")]


def validation_set():
    generator = np.random.default_rng(0)
    return (generator.integers(0, 256, size=(COUNT, 28, 28), dtype=np.uint8),
            np.arange(COUNT, dtype=np.int32) % 10)


def store(tmp_path, wrong=WRONG, images=True):
    """A study store of synthetic runs with predictions, and its images file."""
    out = tmp_path / "out"
    tmp_path.mkdir(exist_ok=True)
    study = load_study(write_config(tmp_path, STUDY))
    run_store.prepare(out, study.name)
    run_store.write_study(out, study_record(study))
    arrays = validation_set()
    writer = misclassified_images.Writer(out, study.name, lambda spec: arrays)
    for spec in study.runs:
        result = fake_result([0.5, 0.6])
        errors = wrong.get((spec.variant, spec.seed))
        if errors is not None:
            index = sorted(errors)
            result = dataclasses.replace(result, misclassified=Misclassified(
                COUNT, index, [errors[position] for position in index]))
        run_store.save_run(out, spec, result, {})
        if images:
            writer(spec, result)
    return out / study.name


def study_errors(folder):
    study = run_store.read_json(folder / "study.json")
    records, _, _ = run_store.load_expected(folder.parent, study)
    conditions = condition_data.collect(records, study, 0.5)
    return misclassified.collect(folder, conditions, "no_norm")


def test_counts_and_titles_match_a_hand_computation(tmp_path):
    errors = study_errors(store(tmp_path))
    assert misclassified.count_rows(errors) == ROWS
    labels = validation_set()[1]
    figure = misclassified.disagreements_figure(errors)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles == [f"{labels[3]}→8\n3/3 seeds", f"{labels[4]}→1\n2/3 seeds"]
    figure = misclassified.misclassified_figure(errors)
    rows = [[ax.get_title() for ax in figure.axes[row * 12:(row + 1) * 12] if ax.get_title()]
            for row in range(2)]
    assert rows[0] == [f"{labels[1]}→7\n3/3 seeds", f"{labels[2]}→3\n1/3 seeds",
                       f"{labels[5]}→0\n1/3 seeds"]
    assert rows[1][:2] == [f"{labels[3]}→8\n3/3 seeds", f"{labels[4]}→1\n2/3 seeds"]


def test_the_report_draws_both_figures_and_the_counts_table(tmp_path):
    folder = store(tmp_path)
    build_report(folder.parent, "tiny")
    report = (folder / "REPORT.md").read_text()
    assert "## Misclassified validation images" in report
    assert "6 of the 6 runs that did not diverge" in report and "the 5 images" in report
    assert "| bn_after | 3 | 2.3 | 2 | 1 |" in report
    assert "| no_norm | 3 | 1.7 | – | – |" in report
    for name in ("misclassified.png", "disagreements.png"):
        assert (folder / name).stat().st_size > 0 and f"]({name})" in report


def test_no_predictions_or_no_images_means_no_section(tmp_path):
    folder = store(tmp_path / "without_predictions", wrong={})
    build_report(folder.parent, "tiny")
    assert "Misclassified" not in (folder / "REPORT.md").read_text()
    assert not (folder / "misclassified.png").exists()

    folder = store(tmp_path / "stale")
    build_report(folder.parent, "tiny")
    assert (folder / "misclassified.png").exists()
    (folder / misclassified_images.FILE_NAME).unlink()
    build_report(folder.parent, "tiny")
    assert "Misclassified" not in (folder / "REPORT.md").read_text()
    assert not (folder / "misclassified.png").exists()
    assert not (folder / "disagreements.png").exists()


def condition(name, *seeds):
    """A Condition whose seed k got the examples of ``seeds[k]`` ({index: label}) wrong."""
    predictions = [{"images": "mnist__test", "count": COUNT, "seed": seed,
                    "wrong_index": sorted(wrong), "wrong_predicted": [wrong[index] for index
                                                                      in sorted(wrong)]}
                   for seed, wrong in enumerate(seeds)]
    return condition_data.Condition(name, name, seeds=list(range(len(seeds))),
                                    predictions=predictions)


def test_half_the_seeds_is_mostly_wrong_and_one_baseline_seed_is_enough_to_exclude():
    here = misclassified.errors_of(condition("here", {1: 3, 2: 4}, {1: 3, 3: 5}))
    there = misclassified.errors_of(condition("there", {3: 5}, {}))
    # 1 (2/2 seeds) and 2 (1/2: exactly half) count; 3 does not: the baseline missed it once.
    assert misclassified.wrong_here_right_there(here, there) == [1, 2]
    assert misclassified.wrong_here_right_there(there, here) == []  # here got 3 wrong too
    assert here.predicted(1) == 3 and here.mean_errors() == 2.0
