"""Learning-rate schedules (their values, the rate recorded per epoch) and the transformer in
both engines: the fast engine's compiled epochs train what ``model.fit`` trains."""

import copy
import math

import numpy as np
import pytest

from normexp.config.study import load_study
from normexp.engine.optimizers import learning_rate_schedule
from normexp.engine.trainer import FastEngine, FitEngine, train_run
from tests.conftest import TINY_STUDY, write_config
from tests.engine.test_trainer import trained_engine


def expected_rate(step, rate, warmup, updates, decay, final=0.0):
    if step < warmup:
        return rate * step / warmup
    if decay == "constant":
        return rate
    progress = min(step - warmup, updates - warmup) / (updates - warmup)
    return rate * (final + (1 - final) * (1 + math.cos(math.pi * progress)) / 2)


@pytest.mark.parametrize("schedule", [
    {"warmup_steps": 10, "decay": "cosine"},
    {"warmup_steps": 10},
    {"decay": "cosine", "final_fraction": 0.2},
    {"warmup_steps": 1, "decay": "cosine", "final_fraction": 0.5},
])
def test_schedule_values_follow_the_documented_formula(schedule):
    function = learning_rate_schedule(schedule, 0.01, 100)
    for step in (0, 1, 5, 9, 10, 11, 50, 99, 100, 150):
        assert float(function(step)) == pytest.approx(expected_rate(
            step, 0.01, schedule.get("warmup_steps", 0), 100, schedule.get("decay", "constant"),
            schedule.get("final_fraction", 0.0)), rel=1e-5, abs=1e-9), step


def tiny_spec(tmp_path, optimizer, engine="fast", epochs=3, model=None, batch_size=64):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0], report={}, variants=[{"name": "v"}],
                model=model or {"hidden": [16]})
    data["train"].update(engine=engine, epochs=epochs, batch_size=batch_size,
                         optimizer=optimizer)
    return load_study(write_config(tmp_path, data)).runs[0]


@pytest.mark.parametrize("engine", ["fast", "fit"])
def test_each_epoch_records_the_rate_at_its_end(tmp_path, tiny_data_dir, engine):
    optimizer = {"name": "adam", "learning_rate": 0.01,
                 "schedule": {"warmup_steps": 12, "decay": "cosine"}}
    spec = tiny_spec(tmp_path, optimizer, engine)
    result = train_run(spec, data_dir=tiny_data_dir)
    steps = result.updates // 3   # 512 tiny images / 64 → 8 updates per epoch
    assert steps == 8
    expected = [expected_rate(steps * epoch, 0.01, 12, 24, "cosine") for epoch in (1, 2, 3)]
    assert result.history["learning_rate"] == pytest.approx(expected, abs=1e-7)
    assert result.history["learning_rate"][-1] == pytest.approx(0.0, abs=1e-9)


def test_without_a_schedule_the_recorded_rate_is_the_constant(tmp_path, tiny_data_dir):
    spec = tiny_spec(tmp_path, {"name": "sgd", "learning_rate": 0.05}, epochs=2)
    assert train_run(spec, data_dir=tiny_data_dir).history["learning_rate"] == pytest.approx(
        [0.05, 0.05])


def test_the_compiled_program_is_not_shared_by_schedules_of_different_length(
        tmp_path, tiny_data_dir):
    # Same model and optimizer mapping; only the run length (and so the decay) differs.
    optimizer = {"name": "adam", "learning_rate": 0.01, "schedule": {"decay": "cosine"}}
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    short = train_run(tiny_spec(tmp_path / "a", optimizer, epochs=2), data_dir=tiny_data_dir)
    long = train_run(tiny_spec(tmp_path / "b", optimizer, epochs=4), data_dir=tiny_data_dir)
    assert short.history["learning_rate"][-1] == pytest.approx(0.0, abs=1e-9)
    assert long.history["learning_rate"][1] == pytest.approx(0.005, rel=1e-5)


TRANSFORMERS = {
    "pre_ln_warmup_cosine": ({"norm": "layer", "placement": "pre"},
                             {"warmup_steps": 30, "decay": "cosine"}),
    "pre_bn": ({"norm": "batch", "placement": "pre"}, None),
}
# Post-LN's order is checked against the hand-written block (tests/models/test_transformer.py)
# and trained fast against fit on JAX (tests/engine/test_jax_backend.py, transformer_post);
# a third TensorFlow compile here cost 10 s of the suite's 12-minute budget.


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TRANSFORMERS))
def test_fast_and_fit_train_the_same_transformer(tmp_path, mnist_2000_dir, name):
    # As test_trainer's MLP check: same seed, same orders, 2,000 / 32 → 63 updates per
    # epoch. Weights are not compared one by one: some directions get an exactly zero
    # gradient (the attention's key bias, since softmax ignores a shift shared by all keys;
    # with BN, the patch embedding's bias, which every norm subtracts again), and Adam
    # turns the float32 rounding noise there into steps of ~lr. Those directions do not
    # change the function, so the trained functions are compared: outputs on 500
    # validation images in training mode (BN with batch statistics, where the shift
    # cancels exactly; its moving mean tracks the drifting shift with a lag). Measured:
    # 1e-7 to 5e-7; a wrong order, a missed update or a schedule one step off moves
    # outputs by ~1e-2.
    model, schedule = TRANSFORMERS[name]
    optimizer = {"name": "adam", "learning_rate": 0.001}
    if schedule:
        optimizer["schedule"] = schedule
    spec = tiny_spec(tmp_path, optimizer, epochs=2, batch_size=32, model={
        "family": "transformer", "depth": 2, "width": 16, "heads": 2, **model})
    fast, fast_history = trained_engine(FastEngine, spec, mnist_2000_dir)
    fit, fit_history = trained_engine(FitEngine, spec, mnist_2000_dir)
    assert int(fast.optimizer.iterations.numpy()) == int(fit.optimizer.iterations.numpy()) == 126
    assert [v.path for v in fast.model.variables] == [v.path for v in fit.model.variables]
    images = fast.splits.x_val[:500].astype("float32") / 255
    difference = np.abs(fast.model(images, training=True).numpy()
                        - fit.model(images, training=True).numpy()).max()
    assert difference < 2e-5, difference
    for metric in ("loss", "accuracy", "learning_rate"):
        assert fast_history[metric] == pytest.approx(fit_history[metric], abs=2e-4), metric
