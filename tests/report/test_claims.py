"""Claims: validated at load, judged from the store with Holm's correction, one page."""

import copy

import numpy as np
import pytest
from scipy import stats as scipy_stats

from normexp.report import claims
from normexp import cli
from normexp.report import claims_page, claims_text
from normexp.report import stats
from normexp.store import run_store
from normexp.config.study import load_study, study_record
from normexp.errors import ConfigError
from tests.conftest import TINY_STUDY, fake_result, write_config

SWEPT = copy.deepcopy(TINY_STUDY)
SWEPT["seeds"] = [0, 1, 2, 3, 4]
SWEPT["sweep"] = {"train.batch_size": [8, 64]}


def with_claims(*entries):
    data = copy.deepcopy(SWEPT)
    data["report"]["claims"] = list(entries)
    return data


def claim(**fields):
    return {"id": "1", "claim": "BN is worse at batch 8", "variant": "bn_after",
            "against": "no_norm", "at": {"train.batch_size": 8}, "metric": "val_accuracy",
            "direction": "lower", **fields}


@pytest.mark.parametrize("fields, field, words", [
    ({"variant": "bn"}, "report.claims[0].variant", "names no variant"),
    ({"against": "ln"}, "report.claims[0].against", "names no variant"),
    ({"metric": "val_acc"}, "report.claims[0].metric", "did you mean 'val_accuracy'"),
    ({"at": {"train.epochs": 2}}, "report.claims[0].at.train.epochs", "not a sweep key"),
    ({"at": {"train.batch_size": 2}}, "report.claims[0].at.train.batch_size",
     "not a swept value"),
    ({"at": {}}, "report.claims[0].at", "every sweep key"),
    ({"direction": "equal"}, "report.claims[0].margin", "needs a margin"),
    ({"direction": "better"}, "report.claims[0].direction", "higher, lower, equal"),
    ({"id": ""}, "report.claims[0].id", "distinct id"),
    ({"minus": {"variant": "bn"}}, "report.claims[0].minus.variant", "names no variant"),
    ({"minus": {"against": "no_norm"}}, "report.claims[0].minus.variant", "is required"),
    ({"minus": {"variant": "bn_after", "at": 8}}, "report.claims[0].minus.at",
     "must be a mapping"),
    ({"minus": {"varient": "bn_after"}}, "report.claims[0].minus.varient",
     "did you mean 'variant'"),
    ({"minus": {"variant": "bn_after"}}, "report.claims[0].minus.at", "every sweep key"),
    ({"minus": {"variant": "bn_after", "at": {"train.batch_size": 8},
                "against_at": {"train.batch_size": 9}}},
     "report.claims[0].minus.against_at.train.batch_size", "not a swept value"),
])
def test_bad_claims_name_the_field(tmp_path, fields, field, words):
    with pytest.raises(ConfigError) as error:
        load_study(write_config(tmp_path, with_claims(claim(**fields))))
    assert error.value.field == field and words in str(error.value)


def test_bad_claim_is_one_line_and_exit_2_before_training(tmp_path, capsys):
    path = write_config(tmp_path, with_claims(claim(metric="accuracy_val")))
    code = cli.main(["--config", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "report.claims[0].metric" in err
    assert not (tmp_path / "o").exists()


def test_welch_and_paired_match_scipy():
    a, b = [0.91, 0.93, 0.92, 0.95, 0.90], [0.97, 0.96, 0.975, 0.965, 0.97]
    welch = stats.welch_difference(a, b)
    assert welch.p_value(0.0) == pytest.approx(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    paired = stats.paired_difference(a, b, [0, 1, 2, 3, 4], [0, 1, 2, 3, 4])
    assert paired.p_value(0.0) == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue)
    low, high = paired.interval(0.05)
    expected = scipy_stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (low, high) == pytest.approx((expected.low, expected.high))


def test_minimal_detectable_effect_has_about_80_percent_power():
    generator = np.random.default_rng(0)
    spread, seeds = 0.01, 5
    planned = stats.Difference(0.0, spread * np.sqrt(2 / seeds), 2 * seeds - 2, (seeds, seeds))
    effect = planned.detectable(0.05, 0.80)
    a = generator.normal(effect, spread, size=(4000, seeds))
    b = generator.normal(0.0, spread, size=(4000, seeds))
    power = np.mean(scipy_stats.ttest_ind(a, b, axis=1).pvalue < 0.05)
    assert power == pytest.approx(0.80, abs=0.03)


def stored_study(tmp_path, entries, values):
    """Store fake runs whose final validation accuracy is ``values[(variant, batch)][seed]``."""
    study = load_study(write_config(tmp_path, with_claims(*entries)))
    out = tmp_path / "out"
    run_store.prepare(out, study.name)
    run_store.write_study(out, study_record(study))
    for spec in study.runs:
        accuracy = values[(spec.variant, spec.settings.train.batch_size)][spec.seed]
        run_store.save_run(out, spec, fake_result([0.5, accuracy]), {})
    return out


def test_verdicts_holm_levels_and_the_page(tmp_path):
    noise = [0.0, 0.004, -0.004, 0.002, -0.002]
    values = {("no_norm", 8): [0.96 + n for n in noise], ("no_norm", 64): [0.95 + n for n in noise],
              ("bn_after", 8): [0.90 + n for n in reversed(noise)],
              ("bn_after", 64): [0.951 + n for n in reversed(noise)]}
    entries = [claim(id="1"), claim(id="2", direction="higher"),
               claim(id="3", at={"train.batch_size": 64}),
               claim(id="4", at={"train.batch_size": 64}, direction="equal", margin=0.02)]
    out = stored_study(tmp_path, entries, values)
    judged = claims_page.judge_folders([out])
    verdict = {entry.claim["id"]: entry for entry in judged}
    assert verdict["1"].verdict == "supported" and verdict["2"].verdict == "contradicted"
    assert verdict["3"].verdict == "not detected" and verdict["4"].verdict == "supported"
    assert verdict["1"].test.estimate == pytest.approx(-0.06)
    # Holm: the k-th smallest p-value is judged at 0.05/(4 - k); "not detected" has its MDE.
    assert sorted(round(entry.level, 4) for entry in judged) == [0.95, 0.975, 0.9833, 0.9875]
    assert verdict["3"].level == 0.95  # the largest p-value is judged last, at 0.05
    assert verdict["3"].detectable > abs(verdict["3"].test.estimate)
    page = out / "CLAIMS.md"
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- claims:start -->\nold\n<!-- claims:end -->\nrest\n")
    assert claims_page.main([str(out), "--readme", str(readme)]) == 0
    text = page.read_text()
    assert "| 1 | BN is worse at batch 8 | bn_after · batch 8 − no_norm · batch 8, final " \
           "validation accuracy: **−6.00 pp** [−6.64, −5.36] (98.75% CI), n=5/5 |" in text
    assert "**not detected** (claim: lower) | ±" in text
    assert "[tiny](tiny/REPORT.md)" in text and "[sweep_batch.png](tiny/sweep_batch.png)" in text
    assert "old" not in readme.read_text() and "| 4 |" in readme.read_text()


def test_contrast_is_welch_for_two_samples_and_sums_four_for_an_interaction():
    a, b, c, d = [0.91, 0.93, 0.92], [0.97, 0.96, 0.975, 0.965], [0.5, 0.6, 0.7], [0.8, 0.8, 0.9]
    two = stats.contrast((a, b), (1, -1))
    assert two.p_value(0.0) == pytest.approx(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    four = stats.contrast((a, b, c, d), (1, -1, -1, 1))
    variances = [np.var(x, ddof=1) / len(x) for x in (a, b, c, d)]
    assert four.estimate == pytest.approx(np.mean(a) - np.mean(b) - np.mean(c) + np.mean(d))
    assert four.standard_error == pytest.approx(np.sqrt(sum(variances)))
    assert four.freedom == pytest.approx(sum(variances) ** 2 / sum(
        v ** 2 / (len(x) - 1) for v, x in zip(variances, (a, b, c, d))))


def test_a_difference_of_differences_is_judged_and_shown(tmp_path):
    noise = [0.0, 0.004, -0.004, 0.002, -0.002]
    values = {("no_norm", 8): [0.90 + n for n in noise], ("no_norm", 64): [0.95 + n for n in noise],
              ("bn_after", 8): [0.96 + n for n in reversed(noise)],
              ("bn_after", 64): [0.96 + n for n in reversed(noise)]}
    gain_at_8 = claim(id="1", direction="higher", minus={
        "variant": "bn_after", "against": "no_norm", "at": {"train.batch_size": 64}})
    out = stored_study(tmp_path, [gain_at_8], values)
    [entry] = claims_page.judge_folders([out])
    assert entry.test.estimate == pytest.approx((0.96 - 0.90) - (0.96 - 0.95))
    assert entry.test.sizes == (5, 5, 5, 5) and entry.verdict == "supported"
    assert claims_text.measurement(entry).startswith(
        "(bn_after · batch 8 − no_norm · batch 8) − (bn_after · batch 64 − no_norm · batch 64)"
        ", final validation accuracy: **+5.00 pp**")


def test_missing_folder_is_one_line(tmp_path, capsys):
    assert claims_page.main([str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_decide_with_margin():
    equal = {"direction": "equal", "margin": 0.01}
    assert claims.decide(equal, -0.005, 0.004) == "supported"
    assert claims.decide(equal, 0.02, 0.05) == "contradicted"
    assert claims.decide(equal, -0.002, 0.03) is None


def test_a_seed_that_never_reaches_the_target_counts_one_epoch_past_the_run():
    """Dropping it would judge the slow arm on its fastest seeds: here, 2 of 3 seeds never
    reach the target in 4 epochs, and the third reaches it at epoch 1."""
    from normexp.report.condition_data import Condition
    condition = Condition("slow", "slow", seeds=[0, 1, 2],
                          per_seed={"epochs_to_target": [1.0, float("nan"), float("nan")]},
                          curves={"val_accuracy": np.zeros((3, 4))})
    assert claims.values_of(condition, "epochs_to_target") == [1.0, 5, 5]
    assert claims.values_of(condition, "val_accuracy") == []


def test_a_claim_id_judged_in_two_studies_is_one_line_exit_2(tmp_path, capsys):
    values = {(variant, batch): [0.9 + 0.001 * seed for seed in range(5)]
              for variant in ("no_norm", "bn_after") for batch in (8, 64)}
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = stored_study(tmp_path / "first", [claim(id="7")], values)
    second = stored_study(tmp_path / "second", [claim(id="7")], values)
    assert claims_page.main([str(first), str(second)]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and "claim id '7' is also claimed by" in error


def test_report_only_judges_the_claims_of_the_edited_config(tmp_path):
    """A claim moved out of a study (its config edited after training) leaves that study's
    record and report once ``--report-only`` rebuilds it; no run is touched."""
    values = {(variant, batch): [0.9 + 0.001 * seed for seed in range(5)]
              for variant in ("no_norm", "bn_after") for batch in (8, 64)}
    out = stored_study(tmp_path, [claim(id="7")], values)
    runs_before = sorted(path.stat().st_mtime_ns for path in out.glob("*/runs/*/*/*.json"))
    edited = write_config(tmp_path, with_claims(claim(id="8")), "edited.yaml")
    assert cli.main(["--config", str(edited), "--out", str(out), "--report-only"]) == 0
    assert [entry.claim["id"] for entry in claims_page.judge_folders([out])] == ["8"]
    assert "| 8 |" in (out / "tiny" / "REPORT.md").read_text()
    assert sorted(path.stat().st_mtime_ns for path in out.glob("*/runs/*/*/*.json")) == runs_before
