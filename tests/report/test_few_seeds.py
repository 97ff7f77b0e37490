"""Below three seeds a study shows means, says why, and judges no difference."""

import copy
import math
import re

from normexp.report import stats, study_report
from tests.conftest import TINY_STUDY, store_fake_study


def test_two_seeds_give_no_interval_one_more_does():
    assert math.isnan(stats.mean_interval([0.61, 0.62])[1])
    assert math.isnan(stats.prediction_interval([0.61, 0.62])[0])
    assert math.isnan(stats.difference_interval([0.6, 0.7], [0.5, 0.55, 0.52])[1])
    mean, half = stats.mean_interval([0.61, 0.62, 0.63])
    assert mean == 0.62 and 0 < half < 0.1


def build(tmp_path, seeds):
    data = copy.deepcopy(TINY_STUDY)
    data["seeds"] = seeds
    def accuracies(spec):  # bn_after is 20 pp better, no_norm's seeds far apart
        spread = 0.3 * spec.seed if spec.variant == "no_norm" else 0.01 * spec.seed
        return [0.3, min(0.5 + spread + (0.2 if spec.variant == "bn_after" else 0.0), 1.0)]

    study, out = store_fake_study(tmp_path, data, accuracies)
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
