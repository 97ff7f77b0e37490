"""The vectorized engine (JAX): seed k of a vectorized run is the single-seed run of seed k,
a diverging seed leaves the others alone, memory errors retry with fewer seeds, and the
option is refused where it cannot run."""

import copy
import json
import sys
import types

import pytest

from normexp.engine import run_groups
from normexp.errors import DeviceMemoryError
from tests.conftest import TINY_STUDY, run_cli, write_config
from tests.engine.test_jax_backend import needs_jax, on_jax, script_result


# Every seed of each variant trained together, then one by one; the largest difference of
# any per-epoch metric and whether the misclassified validation examples are the same.
SEED_FOR_SEED = """
import json, sys
from normexp.config.study import load_study
from normexp.engine import trainer, vectorized

study = load_study(sys.argv[1])
report = {}
for variant in study.variants:
    specs = [spec for spec in study.runs if spec.variant == variant]
    together = vectorized.train_seeds(specs, sys.argv[2])
    alone = [trainer.train_run(spec, sys.argv[2]) for spec in specs]
    report[variant] = [{
        "difference": max(abs(x - y) for key in ("loss", "accuracy", "val_loss",
                                                 "val_accuracy", "learning_rate")
                          for x, y in zip(a.history[key], b.history[key])),
        "same_errors": a.misclassified == b.misclassified,
        "updates": [a.updates, b.updates], "epochs": len(a.history["epoch"])}
        for a, b in zip(together, alone)]
    report[variant + "_seeds_differ"] = len({r.history["loss"][-1] for r in together}) == 2
print(json.dumps(report))
"""


ON_A_GPU = "from normexp.engine import jax_backend\njax_backend.on_gpu = lambda: True\n"


@needs_jax
@pytest.mark.slow
def test_each_seed_of_a_vectorized_run_is_its_single_run(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0, 1], report={}, model={"hidden": [32], "placement": "before"},
                variants=[{"name": "no_norm", "model": {"norm": "none"}},
                          {"name": "bn", "model": {"norm": "batch"}},
                          {"name": "ln", "model": {"norm": "layer", "dropout": 0.2}},
                          {"name": "cnn_bn", "model": {"family": "cnn", "hidden": None,
                                                       "filters": [4], "dense": [8],
                                                       "norm": "batch"}}])
    data["train"].update(epochs=2, batch_size=48,   # 512 / 48: a partial last batch
                         optimizer={"name": "adam", "learning_rate": 0.01,
                                    "schedule": {"warmup_steps": 5, "decay": "cosine"}})
    # With a GPU's choice (on_gpu patched true): the single CNN run keeps Keras'
    # convolutions, the vectorized program computes them as im2col. The single JAX engine's
    # im2col on a CPU is checked against Keras' convolutions by fast vs fit
    # (tests/engine/test_jax_backend.py), so this also covers the CPU's lowered lanes.
    report = script_result(ON_A_GPU + SEED_FOR_SEED, write_config(tmp_path, data),
                           tiny_data_dir)
    for variant in ("no_norm", "bn", "ln", "cnn_bn"):
        assert report[variant + "_seeds_differ"], variant   # the lanes are not one seed
        for seed in report[variant]:
            # Measured: at most 2.4e-7 (float32 rounding of the same program, batched).
            assert seed["difference"] < 1e-5 and seed["same_errors"], (variant, seed)
            assert seed["updates"] == [22, 22] and seed["epochs"] == 2


DIVERGING_LANE = """
import json, sys
import numpy as np
import jax.numpy as jnp
from normexp.config.study import load_study
from normexp.data import datasets
from normexp.engine import vectorized

specs = load_study(sys.argv[1]).runs
splits = datasets.load("mnist", "test", sys.argv[2])
clean = vectorized.VectorizedEpochs(specs, splits)
poisoned = vectorized.VectorizedEpochs(specs, splits)
trainable, non_trainable, optimizer = poisoned.state
poisoned.state = ([weight.at[1].set(jnp.nan) for weight in trainable], non_trainable, optimizer)
orders = np.stack([np.random.default_rng(seed).permutation(512) for seed in (0, 1)])
clean_loss, _ = clean.train_epoch(orders)
poisoned_loss, _ = poisoned.train_epoch(orders)
print(json.dumps({"clean": clean_loss.tolist(), "poisoned": poisoned_loss.tolist()}))
"""


@needs_jax
@pytest.mark.slow
def test_a_diverging_seed_cannot_poison_the_others(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0, 1], report={}, variants=[{"name": "bn", "model": {"norm": "batch"}}])
    losses = script_result(DIVERGING_LANE, write_config(tmp_path, data), tiny_data_dir)
    assert losses["poisoned"][0] == losses["clean"][0]         # seed 0: bit for bit
    assert losses["poisoned"][1] != losses["poisoned"][1]      # seed 1: NaN


# Validation in chunks whose size shrinks with the seed count (so 128 seeds of a CNN do not
# hold 128 x 10,000 examples' activations at once) gives what one call gives.
CHUNKED_EVALUATION = """
import json, sys
from normexp.config.study import load_study
from normexp.data import datasets
from normexp.engine import vectorized

specs = load_study(sys.argv[1]).runs
splits = datasets.load("mnist", "test", sys.argv[2])
program = vectorized.VectorizedEpochs(specs, splits)
whole = program.evaluate(splits.x_val, splits.y_val)
vectorized.EVALUATED_AT_ONCE = 50   # 2 seeds: 25 examples a call, 128 examples in 6 calls
chunks = program.chunk_examples()
chunked = program.evaluate(splits.x_val, splits.y_val)
print(json.dumps({"chunk": chunks, "whole": [list(map(float, side)) for side in whole[:2]],
                  "chunked": [list(map(float, side)) for side in chunked[:2]]}))
"""


@needs_jax
@pytest.mark.slow
def test_validation_in_chunks_per_seed_count_gives_the_same_numbers(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0, 1], report={}, variants=[{"name": "bn", "model": {"norm": "batch"}}])
    result = script_result(CHUNKED_EVALUATION, write_config(tmp_path, data), tiny_data_dir)
    assert result["chunk"] == 25
    for whole, chunked in zip(result["whole"], result["chunked"]):
        assert chunked == pytest.approx(whole, rel=1e-5)


def test_running_out_of_device_memory_retries_with_fewer_seeds(monkeypatch):
    calls = []

    def train_seeds(specs, data_dir, on_epoch):
        calls.append(len(specs))
        if len(specs) > 2:
            raise RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate")
        return [f"result {spec}" for spec in specs]

    monkeypatch.setitem(sys.modules, "normexp.engine.vectorized",
                        types.SimpleNamespace(train_seeds=train_seeds))
    assert run_groups.train_together(list(range(5)), None, None) == [
        f"result {seed}" for seed in range(5)]
    assert calls == [5, 2, 3, 1, 2]
    monkeypatch.setitem(sys.modules, "normexp.engine.vectorized", types.SimpleNamespace(
        train_seeds=lambda specs, *_: (_ for _ in ()).throw(
            RuntimeError("RESOURCE_EXHAUSTED: Out of memory\nwhile trying to allocate"))))
    seed = types.SimpleNamespace(condition="bn_after", seed=7)
    with pytest.raises(DeviceMemoryError) as raised:
        run_groups.train_together([seed], None, None)
    assert str(raised.value).startswith("bn_after seed 7 does not fit the device's memory even "
                                        "trained alone (RESOURCE_EXHAUSTED: Out of memory while")
    assert "\n" not in str(raised.value) and raised.value.exit_code == 1


def test_a_single_run_out_of_memory_is_one_line_and_other_errors_pass_through(monkeypatch):
    class ResourceExhaustedError(Exception):   # TensorFlow's name; its text has no XLA code
        pass

    spec = types.SimpleNamespace(condition="ln_after", seed=0)
    for error, expected in ((ResourceExhaustedError("OOM when allocating"), DeviceMemoryError),
                            (ValueError("RESOURCE exhausted? no"), ValueError)):
        monkeypatch.setattr(run_groups, "train_run", lambda *_, error=error: (_ for _ in ()).throw(
            error))
        with pytest.raises(expected):
            list(run_groups.train_runs([spec]))


@pytest.mark.parametrize("arguments, words", [
    ((), "--vectorize trains all seeds of a condition in one JAX program; it needs "
         "KERAS_BACKEND=jax (now 'tensorflow')"),
])
def test_vectorize_on_tensorflow_is_one_line_and_exit_2(tmp_path, arguments, words):
    config = write_config(tmp_path, copy.deepcopy(TINY_STUDY))
    result = run_cli("--config", config, "--out", tmp_path / "out", "--vectorize", *arguments)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"normexp: error: {words}"]


def stored_histories(out):
    """Every stored run's per-epoch metrics, without its timings."""
    histories = {}
    for path in sorted(out.glob("tiny/runs/*/seed_*/history.json")):
        history = json.loads(path.read_text())
        history.pop("seconds", None)
        histories[path.parent.parent.name, path.parent.name] = history
    return histories


@needs_jax
@pytest.mark.slow
@pytest.mark.ray
def test_a_vectorized_condition_is_one_ray_task_and_stores_what_local_training_does(
        tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data["train"]["epochs"] = 1
    config = write_config(tmp_path, data)
    common = ("run.py", "--config", config, "--data-dir", tiny_data_dir, "--vectorize",
              "--jobs", "1")
    local = on_jax(*common, "--out", tmp_path / "local")
    on_ray = on_jax(*common, "--out", tmp_path / "ray", "--executor", "ray")
    assert local.returncode == 0 and on_ray.returncode == 0, on_ray.stderr[-3000:]
    assert "the seeds of each condition are one task" in on_ray.stderr
    # Two conditions, two seeds each: one task per condition, four stored runs.
    histories = stored_histories(tmp_path / "ray")
    assert len(histories) == 4
    assert histories == stored_histories(tmp_path / "local")
    metas = [json.loads(path.read_text()) for path in (tmp_path / "ray").glob(
        "tiny/runs/*/seed_*/meta.json")]
    assert {meta["versions"]["backend"] for meta in metas} == {"jax"}
    assert {meta["executor"] for meta in metas} == {"ray"}


@needs_jax
@pytest.mark.slow
def test_a_study_pinned_to_two_backends_trains_each_half_on_its_own(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data["train"]["epochs"] = 1
    data["variants"] = [{"name": "on_tf", "train": {"backend": "tensorflow"}},
                        {"name": "on_jax", "train": {"backend": "jax"}}]
    data["report"] = {"comparisons": [{"variant": "on_jax", "against": "on_tf"}]}
    config, out = write_config(tmp_path, data), tmp_path / "out"
    common = ("--config", config, "--out", out, "--data-dir", tiny_data_dir, "--jobs", "1")
    first = run_cli(*common)   # TensorFlow: its half only, and says how to train the rest
    assert first.returncode == 0, first.stderr[-3000:]
    assert ("note: 2 runs (on_jax) have train.backend: jax; run the same command with "
            "KERAS_BACKEND=jax to train them") in first.stderr
    assert sorted(path.parts[-3] for path in out.glob("tiny/runs/*/seed_*/meta.json")) == [
        "on_tf", "on_tf"]
    second = on_jax("run.py", *common, "--vectorize")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Training 2 runs of tiny (2 already done)" in second.stderr   # TF half kept
    metas = {path.parts[-3]: json.loads(path.read_text())
             for path in out.glob("tiny/runs/*/seed_0/meta.json")}
    assert metas["on_jax"]["versions"]["backend"] == "jax" and metas["on_jax"]["vectorized"]
    assert "tensorflow" in metas["on_tf"]["versions"] and "vectorized" not in metas["on_tf"]
    third = run_cli(*common)
    assert third.returncode == 0 and "All 4 runs of tiny are already in" in third.stderr


@needs_jax
@pytest.mark.slow
def test_a_vectorized_study_is_stored_per_seed_and_resumes(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data["train"]["epochs"] = 1
    config, out = write_config(tmp_path, data), tmp_path / "out"
    command = ("run.py", "--config", config, "--out", out, "--data-dir", tiny_data_dir,
               "--vectorize", "--jobs", "1")
    first = on_jax(*command)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "the seeds of each condition in one program" in first.stderr
    stored = sorted(path.parent.name for path in out.glob("tiny/runs/*/seed_*/meta.json"))
    assert stored == ["seed_0", "seed_0", "seed_1", "seed_1"]
    again = on_jax(*command)
    assert again.returncode == 0 and "nothing to train" in again.stderr
