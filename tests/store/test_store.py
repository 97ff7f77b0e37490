"""The run store: atomic writes, completion marker, corrupt records, the study lock."""

import errno
import json
import os

import pytest

from normexp.store import run_store
from normexp.config.study import load_study, study_record
from normexp.errors import StoreError, StudyBusyError
from normexp.engine.trainer import RunResult
from tests.conftest import TINY_STUDY, write_config


@pytest.fixture
def spec(tmp_path):
    return load_study(write_config(tmp_path, TINY_STUDY)).runs[0]


def fake_result(epochs=2, status="complete"):
    history = {"epoch": list(range(1, epochs + 1)), "loss": [0.5] * epochs,
               "accuracy": [0.9] * epochs, "val_loss": [0.4] * epochs,
               "val_accuracy": [0.91] * epochs, "seconds": [1.0] * epochs}
    return RunResult(history, status, None, None, {"trainable": 1, "non_trainable": 0}, 10,
                     "CPU", 2.0)


def test_run_folder_layout(tmp_path, spec):
    folder = run_store.save_run(tmp_path, spec, fake_result(), {"versions": {}})
    assert folder == tmp_path / "tiny" / "runs" / "no_norm" / "seed_0"
    assert sorted(path.name for path in folder.iterdir()) == ["config.json", "history.json",
                                                              "meta.json"]
    assert json.loads((folder / "config.json").read_text())["model"]["hidden"] == [16]
    assert run_store.run_state(tmp_path, spec)[0] == "done"


def test_missing_meta_means_unfinished(tmp_path, spec):
    folder = run_store.save_run(tmp_path, spec, fake_result(), {})
    (folder / "meta.json").unlink()
    assert run_store.run_state(tmp_path, spec) == ("corrupt", "unfinished (no meta.json)")


@pytest.mark.parametrize("damage", [
    lambda folder: (folder / "history.json").write_text('{"epoch": [1, 2], "loss": [0.'),
    lambda folder: (folder / "history.json").write_text('{"epoch": [1, 2], "loss": [0.1]}'),
    lambda folder: (folder / "meta.json").write_text('{"status": "weird"}'),
    lambda folder: (folder / "config.json").unlink(),
])
def test_damaged_records_are_not_done(tmp_path, spec, damage):
    damage(run_store.save_run(tmp_path, spec, fake_result(), {}))
    state, reason = run_store.run_state(tmp_path, spec)
    assert state == "corrupt" and reason


def test_changed_config_makes_a_record_stale(tmp_path, spec):
    run_store.save_run(tmp_path, spec, fake_result(), {})
    changed = dict(TINY_STUDY, train={"epochs": 3})
    other = load_study(write_config(tmp_path, changed)).runs[0]
    assert run_store.run_state(tmp_path, other)[0] == "stale"


def test_non_finite_values_are_stored_as_null(tmp_path):
    run_store.write_json_atomic(tmp_path / "x.json", {"loss": [0.1, float("nan"), float("inf")]})
    assert json.loads((tmp_path / "x.json").read_text()) == {"loss": [0.1, None, None]}


def test_disk_full_is_a_clear_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "history.json"
    run_store.write_json_atomic(target, {"old": True})

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(StoreError, match="disk is full.*untouched"):
        run_store.write_json_atomic(target, {"new": True})
    assert json.loads(target.read_text()) == {"old": True}
    assert [path.name for path in tmp_path.iterdir()] == ["history.json"]  # no temp left


def test_prepare_refuses_a_file_where_a_folder_belongs(tmp_path, spec):
    (tmp_path / "blocker").write_text("")
    with pytest.raises(StoreError, match="blocker is a file"):
        run_store.prepare(tmp_path / "blocker" / "out", "tiny")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "tiny").write_text("")
    with pytest.raises(StoreError, match="is a file"):
        run_store.prepare(tmp_path / "out", "tiny")


def test_prepare_refuses_an_unwritable_place():
    with pytest.raises(StoreError, match="cannot create|not writable"):
        run_store.prepare("/proc/normexp-test", "tiny")


def test_second_lock_on_a_study_is_refused(tmp_path):
    run_store.prepare(tmp_path, "tiny")
    with run_store.lock_study(tmp_path, "tiny"):
        with pytest.raises(StudyBusyError, match=f"pid {os.getpid()}"):
            with run_store.lock_study(tmp_path, "tiny"):
                pass
    with run_store.lock_study(tmp_path, "tiny"):  # released after use
        pass


def test_load_expected_sorts_records(tmp_path):
    study = load_study(write_config(tmp_path, TINY_STUDY))
    record = study_record(study)
    run_store.save_run(tmp_path, study.runs[0], fake_result(), {})
    broken = run_store.save_run(tmp_path, study.runs[1], fake_result(), {})
    (broken / "history.json").write_text("{")
    records, missing, damaged = run_store.load_expected(tmp_path, record)
    assert len(records) == 1 and len(damaged) == 1 and len(missing) == len(study.runs) - 2
