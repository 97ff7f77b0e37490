"""misclassified_images.npz: exactly the union of what stored runs got wrong, merged as runs
are stored, filled in for stored runs that the file lacks."""

import dataclasses

import numpy as np
import pytest

from normexp.config.study import load_study
from normexp.engine.trainer import Misclassified
from normexp.store import misclassified_images, run_store
from tests.conftest import TINY_STUDY, fake_result, write_config

COUNT = 40


@pytest.fixture
def runs(tmp_path):
    return load_study(write_config(tmp_path, TINY_STUDY)).runs


@pytest.fixture
def validation():
    generator = np.random.default_rng(3)
    return (generator.integers(0, 256, size=(COUNT, 28, 28), dtype=np.uint8),
            generator.integers(0, 10, size=COUNT).astype(np.int32))


def wrong(*index):
    return dataclasses.replace(fake_result([0.5]), misclassified=Misclassified(
        COUNT, sorted(index), [0] * len(index)))


class CountingLoader:
    """``validation_set(spec)`` that counts its calls: data is loaded only when needed."""

    def __init__(self, arrays):
        self.arrays, self.calls = arrays, 0

    def __call__(self, spec):
        self.calls += 1
        return self.arrays


def test_the_file_holds_exactly_the_union_of_wrong_examples(tmp_path, runs, validation):
    loader = CountingLoader(validation)
    writer = misclassified_images.Writer(tmp_path, "tiny", loader)
    for spec, result in zip(runs, (wrong(3, 7, 9), wrong(7, 20), wrong(), wrong(9, 3))):
        run_store.save_run(tmp_path, spec, result, {})
        writer(spec, result)
    writer(runs[0], fake_result([0.5]))  # a result without predictions (diverged) adds nothing
    stored = misclassified_images.read(tmp_path / "tiny")
    assert list(stored) == ["mnist__test"]
    union = [3, 7, 9, 20]
    assert stored["mnist__test"]["index"].tolist() == union
    assert np.array_equal(stored["mnist__test"]["images"], validation[0][union])
    assert stored["mnist__test"]["labels"].tolist() == validation[1][union].tolist()
    assert loader.calls == 2  # only the two results that grew the union needed the images


def test_backfill_adds_stored_runs_the_file_lacks(tmp_path, runs, validation):
    for spec, result in zip(runs, (wrong(1, 2), wrong(2, 30))):
        run_store.save_run(tmp_path, spec, result, {})
    misclassified_images.Writer(tmp_path, "tiny", CountingLoader(validation)).backfill(runs)
    assert misclassified_images.read(tmp_path / "tiny")["mnist__test"]["index"].tolist() == [
        1, 2, 30]
    loader = CountingLoader(validation)
    assert misclassified_images.Writer(tmp_path, "tiny", loader).backfill(runs) == 0
    assert loader.calls == 0  # nothing missing: no dataset is loaded


def test_an_absent_or_damaged_file_reads_as_empty(tmp_path):
    assert misclassified_images.read(tmp_path) == {}
    (tmp_path / misclassified_images.FILE_NAME).write_bytes(b"not a zip file")
    assert misclassified_images.read(tmp_path) == {}


def test_past_the_cap_the_file_keeps_what_the_most_runs_got_wrong(tmp_path, runs, validation,
                                                                   monkeypatch):
    monkeypatch.setattr(misclassified_images, "MAX_IMAGES", 3)
    loader = CountingLoader(validation)
    writer = misclassified_images.Writer(tmp_path, "tiny", loader)
    # 7 wrong in three runs, 9 in two, then 1, 3, 20 in one each (ties: the lower index).
    for spec, result in zip(runs, (wrong(3, 7, 9), wrong(7, 20, 9), wrong(1, 7))):
        run_store.save_run(tmp_path, spec, result, {})
        writer(spec, result)
    stored = misclassified_images.read(tmp_path / "tiny")["mnist__test"]
    assert stored["index"].tolist() == [1, 7, 9]
    assert np.array_equal(stored["images"], validation[0][[1, 7, 9]])
    # A new session counts every stored run afresh and arrives at the same choice.
    fresh = misclassified_images.Writer(tmp_path, "tiny", CountingLoader(validation))
    assert fresh.backfill(runs) == 0
    assert misclassified_images.read(tmp_path / "tiny")["mnist__test"]["index"].tolist() == [
        1, 7, 9]
