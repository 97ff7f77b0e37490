"""The one trainer: both engines train the same thing; shuffling; divergence; caching."""

import copy
import math
import pickle

import numpy as np
import pytest

from normexp.data import datasets
from normexp.engine import tensorflow_backend
from normexp.config.study import load_study
from normexp.engine.trainer import (FastEngine, FitEngine, build_for_run, epoch_orders,
                                    misclassified, train_run)
from tests.conftest import TINY_STUDY, write_config, write_tiny_mnist


def spec_for(tmp_path, seed=0, **train):
    data = copy.deepcopy(TINY_STUDY)
    data["train"].update(train)
    data["seeds"] = [seed]
    data["model"] = {"hidden": [128, 64]}
    return load_study(write_config(tmp_path, data)).runs[0]


def engine_spec(tmp_path, norm, placement, epochs=3, batch_size=32, seed=0):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[seed], variants=[{"name": "v"}], report={})
    data["train"] = {"epochs": epochs, "batch_size": batch_size,
                     "optimizer": {"name": "adam", "learning_rate": 0.001}}
    data["model"] = {"hidden": [128, 64], "norm": norm, "placement": placement}
    return load_study(write_config(tmp_path, data)).runs[0]


def trained_engine(engine_class, spec, data_dir):
    splits = datasets.load("mnist", "test", str(data_dir))
    model, optimizer = build_for_run(spec)
    engine = engine_class(model, optimizer, spec, splits)
    history, diverged = engine.train(None)
    assert diverged is None
    return engine, history


@pytest.mark.parametrize("norm, placement", [("none", "after"), ("batch", "before"),
                                             ("layer", "after")])
def test_fast_and_fit_engines_reach_the_same_weights(tmp_path, mnist_2000_dir, norm, placement):
    # Same seed → same initial weights and the same epoch orders; 2,000 / 32 leaves a
    # partial batch of 16, so 63 updates per epoch. Tolerance: the two paths compute the
    # same float32 arithmetic in different kernels (XLA fusions vs TensorFlow ops), which
    # sum in different orders, so each step differs by float32 rounding (~1e-7 relative).
    # Adam moves a weight by at most ~lr = 1e-3 per step; after 189 steps we measured
    # differences of at most 3.5e-6. 1e-4 leaves room for other CPUs while any change of
    # batch order, or a missed or extra update, moves weights by ~1e-3 and fails.
    # (The CNN is compared step by step in test_lowering.py: its runs amplify rounding.)
    spec = engine_spec(tmp_path, norm, placement)
    fast, fast_history = trained_engine(FastEngine, spec, mnist_2000_dir)
    fit, fit_history = trained_engine(FitEngine, spec, mnist_2000_dir)
    assert int(fast.optimizer.iterations.numpy()) == int(fit.optimizer.iterations.numpy()) == 189
    names = [variable.path for variable in fast.model.variables]
    assert names == [variable.path for variable in fit.model.variables]
    if norm == "batch":  # the moving statistics are compared too
        assert sum("moving" in name for name in names) == 4
    for name, left, right in zip(names, fast.model.variables, fit.model.variables):
        np.testing.assert_allclose(left.numpy(), right.numpy(), rtol=0, atol=1e-4, err_msg=name)
    for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert fast_history[metric] == pytest.approx(fit_history[metric], abs=1e-4), metric


def test_recurrent_batch_norm_keeps_its_moving_averages_in_the_fast_engine(tmp_path,
                                                                          tiny_data_dir):
    # Recurrent BN assigns its per-step moving averages after its own scan over time, inside
    # the layer's call; the fast engine's compiled epoch must keep those assignments as
    # model.fit does. 512 images / 64 = 8 updates per epoch, 2 epochs; momentum 0.5 so
    # that the averages move far from their start (mean 0, variance 1) in 16 updates.
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0], variants=[{"name": "v"}], report={})
    data["train"] = {"epochs": 2, "batch_size": 64,
                     "optimizer": {"name": "adam", "learning_rate": 0.001}}
    data["model"] = {"family": "rnn", "cell": "lstm", "units": [8], "steps": 56,
                     "norm": "batch", "placement": "cell", "norm_args": {"momentum": 0.5}}
    spec = load_study(write_config(tmp_path, data)).runs[0]
    fast, fast_history = trained_engine(FastEngine, spec, tiny_data_dir)
    fit, fit_history = trained_engine(FitEngine, spec, tiny_data_dir)
    moving = fast.model.get_layer("lstm_1").moving_statistics()
    assert len(moving) == len(fast.model.non_trainable_variables) == 6
    assert all(variable.shape[0] == 56 for variable in moving.values())   # one row per step
    assert np.abs(moving["cell_variance"].numpy() - 1).max() > 0.1
    for left, right in zip(fast.model.variables, fit.model.variables):
        np.testing.assert_allclose(left.numpy(), right.numpy(), rtol=0, atol=1e-4,
                                   err_msg=left.path)
    assert fast_history["val_accuracy"] == pytest.approx(fit_history["val_accuracy"], abs=1e-4)


def indexed_data_dir(folder, count=96):
    """Images whose first pixel is their own index, so a batch tells which examples it holds."""
    images = np.zeros((count, 28, 28), np.uint8)
    images[:, 0, 0] = np.arange(count)
    labels = (np.arange(count) % 10).astype(np.uint8)
    folder.mkdir()
    np.savez(folder / "mnist.npz", x_train=images, y_train=labels, x_test=images[:20],
             y_test=labels[:20])
    return folder


class BatchRecorder(tensorflow_backend.keras.layers.Layer):
    """Identity layer that records the indices of the examples it sees (eager only)."""

    def __init__(self, seen, **kwargs):
        super().__init__(**kwargs)
        self.record = seen.extend  # a list attribute would be copied by Keras' tracking

    def call(self, inputs, training=None):
        if training:
            self.record(np.rint(np.asarray(inputs[:, 0, 0]) * 255).astype(int).tolist())
        return inputs


def test_fit_engine_feeds_a_new_seeded_order_every_epoch(tmp_path):
    # Watch what model.fit really feeds: a recording layer, run eagerly. A seeded
    # fit(shuffle=True) would feed one order three times.
    keras = tensorflow_backend.keras
    spec = engine_spec(tmp_path, "none", "after", epochs=3, batch_size=16, seed=7)
    splits = datasets.load("mnist", "test", str(indexed_data_dir(tmp_path / "indexed")))
    seen = []
    model = keras.Sequential([keras.Input((28, 28)), BatchRecorder(seen), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    engine = FitEngine(model, keras.optimizers.Adam(), spec, splits)
    engine.model.run_eagerly = True
    engine.train(None)
    fed = [seen[epoch * 96:(epoch + 1) * 96] for epoch in range(3)]
    orders = epoch_orders(7, 96)
    for epoch in range(3):
        assert fed[epoch] == next(orders).tolist(), f"epoch {epoch + 1}"
    assert fed[0] != fed[1] != fed[2]


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
    assert result.misclassified is None  # a diverged model predicts nothing worth showing


def weak_spec(tmp_path, engine="fast"):
    """One epoch of slow SGD on tiny MNIST: about 70% of validation examples still wrong."""
    return spec_for(tmp_path, engine=engine, epochs=1,
                    optimizer={"name": "sgd", "learning_rate": 0.01})


@pytest.mark.parametrize("engine_class", [FastEngine, FitEngine])
def test_recorded_predictions_are_the_trained_models_argmax(tmp_path, tiny_data_dir,
                                                            engine_class):
    engine, history = trained_engine(engine_class, weak_spec(tmp_path), tiny_data_dir)
    splits = datasets.load("mnist", "test", str(tiny_data_dir))
    wrong = misclassified(engine.predict_classes(splits.x_val), splits.y_val)
    # Independently: Keras' own predict, in other batches.
    argmax = np.argmax(engine.model.predict(datasets.scale(splits.x_val), batch_size=16,
                                            verbose=0), axis=-1)
    expected = np.flatnonzero(argmax != splits.y_val)
    assert 0 < len(expected) < len(splits.y_val)
    assert wrong.count == len(splits.y_val) == 128
    assert wrong.index == expected.tolist()
    assert wrong.predicted == argmax[expected].tolist()
    assert len(wrong.index) == round((1 - history["val_accuracy"][-1]) * wrong.count)


def test_a_run_result_carries_the_validation_examples_it_gets_wrong(tmp_path, tiny_data_dir):
    result = train_run(weak_spec(tmp_path), data_dir=tiny_data_dir)
    y_val = datasets.load("mnist", "test", str(tiny_data_dir)).y_val
    wrong = result.misclassified
    assert wrong.count == 128 and wrong.index == sorted(set(wrong.index))
    assert len(wrong.index) == round((1 - result.history["val_accuracy"][-1]) * 128) > 0
    assert all(y_val[index] != label for index, label in zip(wrong.index, wrong.predicted))
    assert all(type(value) is int for value in wrong.index + wrong.predicted)
    assert pickle.loads(pickle.dumps(result)) == result  # it travels to the driver pickled


def test_reused_program_gives_the_same_run(tmp_path, tiny_data_dir):
    tensorflow_backend.clear_compiled_cache()
    cold = train_run(spec_for(tmp_path, seed=1), data_dir=tiny_data_dir)
    tensorflow_backend.clear_compiled_cache()
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


def test_compiled_program_is_not_reused_across_training_sets(tmp_path):
    # Same config, two data folders in one process: the second run must train on its own
    # images, exactly as a cold process would.
    first = write_tiny_mnist(tmp_path / "first", seed=0)
    second = write_tiny_mnist(tmp_path / "second", seed=1)
    spec = spec_for(tmp_path, seed=0)
    tensorflow_backend.clear_compiled_cache()
    train_run(spec, data_dir=first)
    warm = train_run(spec, data_dir=second)
    tensorflow_backend.clear_compiled_cache()
    cold = train_run(spec, data_dir=second)
    assert warm.history["loss"] == cold.history["loss"]
    assert warm.history["val_accuracy"] == cold.history["val_accuracy"]
