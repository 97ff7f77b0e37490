"""Below three seeds a study shows means, says why, and judges no difference."""

import copy
import math
import re

from normexp.config.study import load_study, study_record
from normexp.report import stats, study_report
from normexp.store import run_store
from tests.conftest import TINY_STUDY, fake_result, write_config


def test_two_seeds_give_no_interval_one_more_does():
    assert math.isnan(stats.mean_interval([0.61, 0.62])[1])
    assert math.isnan(stats.prediction_interval([0.61, 0.62])[0])
    assert math.isnan(stats.difference_interval([0.6, 0.7], [0.5, 0.55, 0.52])[1])
    mean, half = stats.mean_interval([0.61, 0.62, 0.63])
    assert mean == 0.62 and 0 < half < 0.1


def build(tmp_path, seeds):
    data = copy.deepcopy(TINY_STUDY)
    data["seeds"] = seeds
    study = load_study(write_config(tmp_path, data))
    out = tmp_path / "out"
    run_store.prepare(out, study.name)
    run_store.write_study(out, study_record(study))
    for spec in study.runs:  # bn_after is 20 pp better, no_norm's seeds far apart
        spread = 0.3 * spec.seed if spec.variant == "no_norm" else 0.01 * spec.seed
        accuracy = 0.5 + spread + (0.2 if spec.variant == "bn_after" else 0.0)
        run_store.save_run(out, spec, fake_result([0.3, min(accuracy, 1.0)]), {})
    return study_report.build_report(out, study.name), (out / "tiny" / "REPORT.md").read_text()


def test_two_seeds_print_means_and_a_note_instead_of_wide_intervals(tmp_path):
    console, report = build(tmp_path, [0, 1])
    for text in (console, report):
        assert "Intervals are uninformative below 3 seeds" in text
        assert "too few seeds to tell" in text
        assert not re.search(r"\d ± \d", text)   # no "61.11 ± 119.33"
    assert "no_norm, bn_after have fewer" in console


def test_three_seeds_print_intervals_and_no_note(tmp_path):
    console, report = build(tmp_path, [0, 1, 2])
    assert "uninformative" not in console + report
    assert re.search(r"\d ± \d", console) and "too few seeds" not in console
