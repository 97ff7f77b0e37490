"""The one trainer: both engines train the same thing; shuffling; divergence; caching."""

import copy
import math

import numpy as np
import pytest

from normexp import idx_files, tf_backend
from normexp.config import load_study
from normexp.trainer import epoch_orders, train_run
from tests.conftest import TINY_STUDY, require_real_data, write_config


@pytest.fixture(scope="module")
def mnist_slice_dir(tmp_path_factory):
    """The first 6,000 training and 1,000 test images of the real MNIST."""
    source = require_real_data()
    x_train, y_train, x_test, y_test = idx_files.read(idx_files.find_local(source, "mnist"))
    folder = tmp_path_factory.mktemp("mnist_slice")
    np.savez(folder / "mnist.npz", x_train=x_train[:6000], y_train=y_train[:6000],
             x_test=x_test[:1000], y_test=y_test[:1000])
    return folder


def spec_for(tmp_path, seed=0, **train):
    data = copy.deepcopy(TINY_STUDY)
    data["train"].update(train)
    data["seeds"] = [seed]
    data["model"] = {"hidden": [128, 64]}
    return load_study(write_config(tmp_path, data)).runs[0]


def test_fast_and_fit_engines_train_the_same_thing(tmp_path, mnist_slice_dir):
    # 6000 / 64 leaves a partial batch: both engines must take 94 steps per epoch.
    results = {engine: train_run(spec_for(tmp_path, engine=engine, batch_size=64,
                                          optimizer={"name": "adam", "learning_rate": 0.001}),
                                 data_dir=mnist_slice_dir)
               for engine in ("fast", "fit")}
    fast, fit = results["fast"], results["fit"]
    assert fast.updates == fit.updates == 2 * math.ceil(6000 / 64)
    assert fast.history.keys() == fit.history.keys()
    assert [len(values) for values in fast.history.values()] == [2] * len(fast.history)
    assert fast.history["epoch"] == fit.history["epoch"] == [1, 2]
    for result in (fast, fit):
        assert result.history["val_accuracy"][-1] > 0.88
    assert abs(fast.history["val_accuracy"][-1] - fit.history["val_accuracy"][-1]) < 0.03
    assert abs(fast.history["accuracy"][-1] - fit.history["accuracy"][-1]) < 0.03


def test_shuffling_differs_between_epochs_and_seeds():
    first, second = epoch_orders(0, 1000), epoch_orders(1, 1000)
    epoch1, epoch2 = next(first), next(first)
    assert sorted(epoch1.tolist()) == list(range(1000))
    assert not np.array_equal(epoch1, epoch2)
    assert not np.array_equal(epoch1, next(second))
    assert np.array_equal(epoch1, next(epoch_orders(0, 1000)))  # reproducible per seed


@pytest.mark.parametrize("engine", ["fast", "fit"])
def test_divergence_stops_the_run_and_is_recorded(tmp_path, tiny_data_dir, engine):
    spec = spec_for(tmp_path, engine=engine, epochs=3,
                    optimizer={"name": "sgd", "learning_rate": 1e12})
    result = train_run(spec, data_dir=tiny_data_dir)
    assert result.status == "diverged" and result.diverged_epoch == 1
    assert len(result.history["epoch"]) == 1


def test_reused_program_gives_the_same_run(tmp_path, tiny_data_dir):
    tf_backend.clear_compiled_cache()
    cold = train_run(spec_for(tmp_path, seed=1), data_dir=tiny_data_dir)
    tf_backend.clear_compiled_cache()
    train_run(spec_for(tmp_path, seed=0), data_dir=tiny_data_dir)
    warm = train_run(spec_for(tmp_path, seed=1), data_dir=tiny_data_dir)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert warm.history[key] == cold.history[key]
    assert warm.updates == cold.updates


def test_held_out_validation_also_evaluates_the_test_set(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data["data"] = {"validation": 0.2}
    spec = load_study(write_config(tmp_path, data)).runs[0]
    result = train_run(spec, data_dir=tiny_data_dir)
    assert result.updates == 2 * math.ceil(410 / 64)  # 512 - round(0.2 * 512) = 410
    assert 0 <= result.test["accuracy"] <= 1


def test_seeds_change_the_result(tmp_path, tiny_data_dir):
    first = train_run(spec_for(tmp_path, seed=0), data_dir=tiny_data_dir)
    second = train_run(spec_for(tmp_path, seed=1), data_dir=tiny_data_dir)
    assert first.history["loss"] != second.history["loss"]
