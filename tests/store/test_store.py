"""The run store: atomic writes, completion marker, corrupt records, the study lock."""

import dataclasses
import errno
import json
import os
from pathlib import Path

import pytest

from normexp.store import run_store
from normexp.config.study import load_study, study_record
from normexp.errors import StoreError, StudyBusyError
from normexp.engine.trainer import Misclassified, RunResult
from tests.conftest import ROOT, TINY_STUDY, write_config


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


def with_predictions(result, index=(2, 5, 11), predicted=(7, 0, 3), count=20):
    return dataclasses.replace(result, misclassified=Misclassified(count, list(index),
                                                                   list(predicted)))


def test_predictions_are_written_before_meta_and_read_back(tmp_path, spec, monkeypatch):
    written = []
    original = run_store.atomic.write

    def recording_write(path, data, **options):
        written.append(Path(path).name)
        original(path, data, **options)

    monkeypatch.setattr(run_store.atomic, "write", recording_write)
    folder = run_store.save_run(tmp_path, spec, with_predictions(fake_result()), {})
    assert written == ["config.json", "history.json", "predictions.json", "meta.json"]
    stored = json.loads((folder / "predictions.json").read_text())
    # Bits 2, 5 and 11 of 20, little-endian: bytes 0b00100100, 0b00001000, 0 → "JAgA".
    assert stored == {"split": "validation", "dataset": "mnist", "validation": "test",
                      "images": "mnist__test", "count": 20, "wrong": "JAgA", "predicted": "703"}
    assert "misclassified" not in json.loads((folder / "meta.json").read_text())
    state, record = run_store.run_state(tmp_path, spec)
    assert state == "done" and record["predictions"] == {
        **stored, "wrong_index": [2, 5, 11], "wrong_predicted": [7, 0, 3]}


def test_a_run_wrong_everywhere_stores_a_small_file(tmp_path, spec):
    everything = Misclassified(10000, list(range(10000)), [index % 10 for index in range(10000)])
    folder = run_store.save_run(tmp_path, spec, dataclasses.replace(
        fake_result(), misclassified=everything), {})
    assert (folder / "predictions.json").stat().st_size < 12_000   # a JSON list: ~70 kB
    read = run_store.read_predictions(folder)
    assert read["wrong_index"] == everything.index
    assert read["wrong_predicted"] == everything.predicted


@pytest.mark.parametrize("wrong", ["not base64!", "AAAA/w=="])   # the second: bits past count
def test_a_damaged_bitmask_is_ignored_not_fatal(tmp_path, wrong):
    (tmp_path / "predictions.json").write_text(json.dumps(
        {"images": "mnist__test", "count": 20, "wrong": wrong, "predicted": ""}))
    assert run_store.read_predictions(tmp_path) is None


def test_runs_without_predictions_stay_complete(tmp_path, spec):
    folder = run_store.save_run(tmp_path, spec, with_predictions(fake_result()), {})
    run_store.save_run(tmp_path, spec, fake_result(), {})  # retrained: the old file must go
    assert not (folder / "predictions.json").exists()
    state, record = run_store.run_state(tmp_path, spec)
    assert state == "done" and "predictions" not in record


@pytest.mark.parametrize("text", ['{"images": "mnist__test", "count": 20, "wrong_index": [5, 2],'
                                  ' "wrong_predicted": [1, 1]}', '{"count": 2', "[]",
                                  '{"images": "m", "count": 3, "wrong_index": [3], '
                                  '"wrong_predicted": [1]}'])
def test_a_malformed_predictions_file_is_ignored_not_fatal(tmp_path, spec, text):
    folder = run_store.save_run(tmp_path, spec, with_predictions(fake_result()), {})
    (folder / "predictions.json").write_text(text)
    state, record = run_store.run_state(tmp_path, spec)
    assert state == "done" and "predictions" not in record


def test_published_stores_without_predictions_load_complete():
    study = ROOT / "experiments" / "engine_fidelity"  # stored before predictions existed
    record = json.loads((study / "study.json").read_text())
    records, missing, broken = run_store.load_expected(study.parent, record)
    assert len(records) == len(record["runs"]) > 0 and not missing and not broken
    assert not any("predictions" in run for run in records)
