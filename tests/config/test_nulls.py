"""An explicit null: "not set" where a field allows it, one line where it does not."""

import pytest

from normexp import cli
from normexp.config.study import load_study
from tests.conftest import write_config

BASE = {"variants": [{"name": "a"}]}


def test_null_where_a_field_allows_it_means_not_set(tmp_path):
    study = load_study(write_config(tmp_path, {**BASE, "jobs": None, "train": {
        "probes": {"pre_activation": None}}, "data": {"train_examples": None}}))
    settings = study.runs[0].settings
    assert study.jobs is None and settings.train.probes.pre_activation is None
    assert settings.data.train_examples is None


@pytest.mark.parametrize("section, field", [({"train": {"epochs": None}}, "train.epochs"),
                                            ({"model": {"hidden": None}}, "model.hidden")])
def test_null_where_a_field_needs_a_value_is_one_line(tmp_path, capsys, section, field):
    path = write_config(tmp_path, {**BASE, **section})
    assert cli.main(["--config", str(path), "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f": {field}: " in error and "Traceback" not in error
