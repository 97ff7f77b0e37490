"""The transformer's config and learning-rate schedules: defaults, and every bad value one
line naming its field, before anything trains."""

import copy

import pytest

from normexp.config.study import load_study
from normexp.errors import ConfigError
from tests.conftest import TINY_STUDY, run_cli, write_config


def study_data(model=None, train=None):
    data = copy.deepcopy(TINY_STUDY)
    data.update(report={}, variants=[{"name": "only"}], model=model or {"hidden": [16]})
    data["train"].update(train or {})
    return data


def load(tmp_path, model=None, train=None):
    return load_study(write_config(tmp_path, study_data(model, train)))


def refusal(tmp_path, model=None, train=None):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, model, train)
    return caught.value.field, caught.value.problem


def test_transformer_defaults(tmp_path):
    model = load(tmp_path, {"family": "transformer"}).runs[0].settings.model
    assert (model.norm, model.placement, model.activation) == ("layer", "pre", "gelu")
    assert (model.patch_size, model.tokens(), model.width, model.heads) == (7, 16, 32, 2)


@pytest.mark.parametrize("model, field, words", [
    ({"patch_size": 5}, "patch_size", "divide the 28-pixel image side"),
    ({"heads": 3}, "heads", "3 does not divide width 32"),
    ({"placement": "after"}, "placement", "must be one of: pre, post"),
    ({"placement": "psot"}, "placement", "did you mean 'post'"),
    ({"norm": "group"}, "norm", "does not apply to family 'transformer'"),
    ({"norm": "instance"}, "norm", "does not apply to family 'transformer'"),
    ({"depth": 0}, "depth", "must be > 0"),
    ({"filters": [4]}, "filters", "does not apply to family 'transformer'"),
])
def test_transformer_misuse_is_refused_naming_the_field(tmp_path, model, field, words):
    name, problem = refusal(tmp_path, {"family": "transformer", **model})
    assert name == f"variants[0](only).model.{field}" or name == f"model.{field}"
    assert words in problem


def test_pre_and_post_belong_to_the_transformer(tmp_path):
    name, problem = refusal(tmp_path, {"hidden": [16], "placement": "pre"})
    assert name.endswith("model.placement") and "after, before for family 'mlp'" in problem


ADAM = {"name": "adam", "learning_rate": 0.01}


@pytest.mark.parametrize("schedule, words", [
    ({"warmup_step": 10}, "no key 'warmup_step'; did you mean 'warmup_steps'?"),
    ({"warmup_steps": -1}, "warmup_steps must be an integer >= 0"),
    ({"warmup_steps": 1.5}, "warmup_steps must be an integer >= 0"),
    ({"decay": "cosin"}, "decay must be one of: constant, cosine, got 'cosin'; did you mean"),
    ({"decay": "cosine", "final_fraction": 2}, "final_fraction must be a number in [0, 1]"),
    ({"final_fraction": 0.1}, "final_fraction applies to decay: cosine only"),
    ("cosine", "schedule must be a mapping"),
])
def test_bad_schedules_are_refused(tmp_path, schedule, words):
    name, problem = refusal(tmp_path, train={"optimizer": {**ADAM, "schedule": schedule}})
    assert name.endswith("train.optimizer") and words in problem


def test_a_warmup_longer_than_the_run_is_refused(tmp_path):
    # The tiny study: 2 epochs of 60,000 / 64 → 938 updates each, 1,876 in all.
    long = {**ADAM, "schedule": {"warmup_steps": 1876}}
    name, problem = refusal(tmp_path, train={"optimizer": long})
    assert name == "train.optimizer.schedule.warmup_steps"
    assert "not shorter than the whole run (1876 updates)" in problem
    fits = {**ADAM, "schedule": {"warmup_steps": 1875}}
    assert load(tmp_path, train={"optimizer": fits}).runs[0].settings.updates() == 1876


def test_a_schedule_changes_the_fingerprint_and_no_schedule_leaves_it(tmp_path):
    plain = load(tmp_path).runs[0]
    scheduled = load(tmp_path, train={"optimizer": {**ADAM, "schedule": {"warmup_steps": 5}}})
    assert "schedule" not in plain.resolved()["train"]["optimizer"]
    assert plain.fingerprint() != scheduled.runs[0].fingerprint()


def test_the_command_line_gives_one_line_and_exit_2(tmp_path):
    data = study_data({"family": "transformer", "heads": 5})
    result = run_cli("--config", write_config(tmp_path, data), "--dry-run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "model.heads" in result.stderr
