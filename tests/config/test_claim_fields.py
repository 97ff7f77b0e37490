"""The claim fields of the second edition (exploratory, test, tolerance, min_effect,
failure_threshold, by): accepted when they fit, one line naming the field when they do not."""

import copy

import pytest

from normexp import cli
from normexp.config.study import load_study
from normexp.errors import ConfigError
from tests.conftest import TINY_STUDY, write_config


def study_with(**fields):
    data = copy.deepcopy(TINY_STUDY)
    data["report"]["claims"] = [{"id": "1", "claim": "BN is better", "variant": "bn_after",
                                 "against": "no_norm", "metric": "val_accuracy",
                                 "direction": "higher", **fields}]
    return data


@pytest.mark.parametrize("fields, field, words", [
    ({"exploratory": "yes"}, "exploratory", "must be true or false"),
    ({"min_effect": 0}, "min_effect", "must be > 0"),
    ({"min_effect": -0.01}, "min_effect", "must be > 0"),
    ({"min_effect": "big"}, "min_effect", "must be a number"),
    ({"test": "fsher"}, "test", "did you mean 'fisher'"),
    ({"test": "welch"}, "test", "must be one of: t, fisher, exact"),
    ({"margin": 0.01}, "margin", "only an 'equal' claim has a margin"),
    ({"test": "fisher"}, "test", "needs a binary metric"),
    ({"metric": "diverged", "direction": "equal", "margin": 0.2}, "test",
     "two independent groups"),
    ({"metric": "failed", "against_metric": "diverged", "against": None}, "test",
     "two independent groups"),
    ({"test": "exact", "tolerance": 0.001}, "test", "needs direction: equal"),
    ({"direction": "equal", "test": "exact"}, "tolerance", "needs a tolerance"),
    ({"direction": "equal", "margin": 0.01, "tolerance": 0.001}, "tolerance",
     "only an exact check"),
    ({"direction": "equal", "test": "exact", "tolerance": 0.001, "exploratory": True},
     "exploratory", "already judged outside the Holm family"),
    ({"direction": "equal", "test": "exact", "tolerance": 0.001, "margin": 0.01}, "margin",
     "not a margin"),
    ({"direction": "equal", "margin": 0.01, "min_effect": 0.02}, "min_effect",
     "planned for its margin"),
    ({"failure_threshold": 1.5}, "failure_threshold", "must be in (0, 1]"),
    ({"failure_threshold": 0.3}, "failure_threshold", "only the metric 'failed'"),
    ({"by": 0}, "by", "must be > 0"),
    ({"direction": "equal", "margin": 0.01, "by": 0.01}, "by", "only a 'higher' or 'lower'"),
    ({"metric": "failed", "direction": "lower", "by": 0.2}, "by", "tested with a t-test"),
])
def test_bad_claim_fields_name_the_field(tmp_path, fields, field, words):
    with pytest.raises(ConfigError) as error:
        load_study(write_config(tmp_path, study_with(**fields)))
    assert error.value.field == f"report.claims[0].{field}"
    assert words in error.value.problem


@pytest.mark.parametrize("fields", [
    {"exploratory": True, "min_effect": 0.01},
    {"metric": "diverged"},                       # Fisher by default
    {"metric": "failed", "test": "fisher", "failure_threshold": 0.5, "direction": "lower"},
    {"direction": "equal", "test": "exact", "tolerance": 0.0},
    {"direction": "equal", "margin": 0.01, "test": "t"},
    {"by": 0.0038, "min_effect": 0.002},
])
def test_good_claim_fields_load_and_reach_the_store_record(tmp_path, fields):
    study = load_study(write_config(tmp_path, study_with(**fields)))
    [claim] = study.report.claims
    for key, value in fields.items():
        assert getattr(claim, key) == value


def test_a_bad_test_name_is_one_line_and_exit_2_before_training(tmp_path, capsys):
    path = write_config(tmp_path, study_with(test="fishr"))
    code = cli.main(["--config", str(path), "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error
    assert error.startswith(f"normexp: error: {path}: report.claims[0].test:")
    assert "did you mean 'fisher'" in error and "Traceback" not in error
    assert not (tmp_path / "out").exists()
