"""normexp on Keras' JAX backend: the fast engine's compiled epochs train what ``fit``
trains, every family runs, and the backend is chosen, recorded and refused in one line.

Keras fixes its backend at import, so everything on JAX runs in a subprocess with
``KERAS_BACKEND=jax``; this process stays on TensorFlow.
"""

import copy
import json
import os
import subprocess
import sys

import pytest

from normexp import backends
from normexp.config.study import load_study
from tests.conftest import ROOT, TINY_STUDY, run_cli, write_config

# CI installs JAX, so there a missing JAX fails these tests instead of skipping them.
needs_jax = pytest.mark.skipif(not backends.installed("jax") and not os.environ.get("CI"),
                               reason="JAX is not installed (pip install jax==0.10.2)")
pytestmark = needs_jax

# On tiny data (512 images, batch 64 → 8 updates per epoch, 2 epochs): both engines from
# the same seed, then the largest difference of any weight and of the trained function's
# outputs (training mode, 128 validation images).
COMPARE = """
import json, sys
import numpy as np
from normexp.config.study import load_study
from normexp.data import datasets
from normexp.engine.trainer import FastEngine, FitEngine, build_for_run, train_run

results = {}
for spec in load_study(sys.argv[1]).runs:
    splits = datasets.load("mnist", "test", sys.argv[2])
    engines = {}
    for engine_class in (FastEngine, FitEngine):
        model, optimizer = build_for_run(spec, len(splits.x_train))
        engine = engine_class(model, optimizer, spec, splits)
        history, diverged = engine.train(None)
        engines[engine_class.__name__] = (engine, history)
    (fast, fast_history), (fit, fit_history) = engines.values()
    images = splits.x_val[:128].astype("float32") / 255
    results[spec.variant] = {
        "updates": [int(e.optimizer.iterations.numpy()) for e in (fast, fit)],
        "weights": max(float(np.abs(np.asarray(a.value) - np.asarray(b.value)).max())
                       for a, b in zip(fast.model.variables, fit.model.variables)),
        "outputs": float(np.abs(np.asarray(fast.model(images, training=True))
                                - np.asarray(fit.model(images, training=True))).max()),
        "loss": [fast_history["loss"], fit_history["loss"]],
        "val_accuracy": fast_history["val_accuracy"][-1]}
stored = train_run(load_study(sys.argv[1]).runs[0], data_dir=sys.argv[2])
results["run"] = {"status": stored.status, "device": stored.device,
                  "learning_rate": stored.history["learning_rate"]}
print(json.dumps(results))
"""

VARIANTS = [
    {"name": "mlp_bn", "model": {"hidden": [32, 16], "norm": "batch", "placement": "before"}},
    {"name": "mlp_dropout", "model": {"hidden": [32], "dropout": 0.25}},
    {"name": "cnn_bn", "model": {"family": "cnn", "hidden": None, "filters": [4, 8],
                                 "dense": [16], "norm": "batch", "placement": "before"}},
    {"name": "rnn_ln_cell", "model": {"family": "rnn", "hidden": None, "cell": "gru",
                                      "units": [16], "norm": "layer", "placement": "cell"}},
    {"name": "rnn_bn_cell", "model": {"family": "rnn", "hidden": None, "units": [8],
                                      "steps": 28, "norm": "batch", "placement": "cell",
                                      "norm_args": {"momentum": 0.5}}},
    {"name": "transformer_post", "model": {"family": "transformer", "hidden": None,
                                           "depth": 1, "width": 16, "placement": "post"}},
]


def jax_environment():
    return {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}


def on_jax(*arguments, timeout=600):
    """``python ARGUMENTS`` in the repository, in a process on Keras' JAX backend."""
    return subprocess.run([sys.executable, *map(str, arguments)], env=jax_environment(),
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def script_result(script, *arguments):
    """What a script run on JAX prints last, as JSON; the script must succeed."""
    finished = on_jax("-c", script, *arguments)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(finished.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_fast_and_fit_train_the_same_model_on_jax(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0], report={}, variants=VARIANTS, model={"hidden": [16]})
    data["train"].update(epochs=2, optimizer={"name": "adam", "learning_rate": 0.01,
                                              "schedule": {"warmup_steps": 4}})
    config = write_config(tmp_path, data)
    results = script_result(COMPARE, config, tiny_data_dir)
    for variant in (entry["name"] for entry in VARIANTS):
        result = results[variant]
        assert result["updates"] == [16, 16], variant
        # Both are XLA programs on the same CPU; they differ only in how XLA fuses the
        # step (one scan over the epoch vs one jitted step per batch). Dropout draws the
        # same masks from the same seed generator state in both.
        assert result["outputs"] < 1e-4, (variant, result)
        for fast, fit in zip(*result["loss"]):
            assert fast == pytest.approx(fit, abs=1e-4), variant
    # Moving statistics included: BN's, and recurrent BN's per-step ones, assigned after
    # its loop over time.
    assert results["mlp_bn"]["weights"] < 1e-4 and results["rnn_bn_cell"]["weights"] < 1e-4
    assert results["mlp_bn"]["val_accuracy"] > 0.5          # it learned; chance is 0.1
    assert results["run"]["status"] == "complete" and results["run"]["device"] == "CPU"
    assert results["run"]["learning_rate"][0] == pytest.approx(0.01)   # warmup over


@pytest.mark.slow
def test_a_jax_study_records_its_backend_and_is_not_a_tensorflow_study(tmp_path,
                                                                        tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0], variants=[{"name": "v"}], report={})
    config = write_config(tmp_path, data)
    out = tmp_path / "out"
    finished = on_jax("run.py", "--config", config, "--out", out, "--data-dir", tiny_data_dir,
                      "--quiet")
    assert finished.returncode == 0, finished.stderr[-3000:]
    meta = json.loads(next(out.glob("tiny/runs/*/seed_0/meta.json")).read_text())
    assert meta["versions"]["backend"] == "jax" and "jax" in meta["versions"]
    tensorflow_fingerprint = load_study(config).runs[0].fingerprint()   # this process: TF
    assert meta["fingerprint"] != tensorflow_fingerprint
    dry = run_cli("--config", config, "--out", out, "--dry-run", data_dir=tiny_data_dir)
    lines = [line for line in dry.stdout.splitlines() if "seed 0" in line]
    assert lines and all(line.endswith("to train") for line in lines), dry.stdout


@pytest.mark.parametrize("environment, words", [
    ({"KERAS_BACKEND": "torch"}, "KERAS_BACKEND='torch' is not supported; normexp trains with: "
                                 "tensorflow, jax (unset it for TensorFlow)"),
])
def test_an_unsupported_backend_is_one_line_and_exit_2(tmp_path, tiny_data_dir, environment,
                                                       words):
    config = write_config(tmp_path, {**copy.deepcopy(TINY_STUDY), "seeds": [0]})
    finished = subprocess.run([sys.executable, "run.py", "--config", str(config), "--out",
                               str(tmp_path / "out"), "--data-dir", str(tiny_data_dir)],
                              env={**os.environ, **environment}, capture_output=True,
                              text=True, timeout=300, cwd=ROOT)
    assert finished.returncode == 2 and "Traceback" not in finished.stderr
    assert finished.stderr.strip().splitlines() == [f"normexp: error: {words}"]
    assert not list((tmp_path / "out").glob("*/runs/*/*/meta.json"))


def test_probes_on_jax_are_refused_at_load(tmp_path):
    data = copy.deepcopy(TINY_STUDY)
    data["train"]["probes"] = {"bn_statistics": True}
    finished = on_jax("run.py", "--config", write_config(tmp_path, data), "--dry-run")
    assert finished.returncode == 2
    assert "train.probes: probes need the TensorFlow backend" in finished.stderr


def test_jax_asked_for_but_missing_names_the_install(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setattr(backends, "installed", lambda package: package != "jax")
    assert backends.problem() == ("KERAS_BACKEND=jax but jax is not installed: "
                                  + backends.INSTALL["jax"])


def test_unset_backend_prefers_tensorflow_then_jax(monkeypatch):
    for available, expected in (({"tensorflow", "jax"}, "tensorflow"), ({"jax"}, "jax"),
                                (set(), "tensorflow")):
        monkeypatch.delenv("KERAS_BACKEND", raising=False)
        monkeypatch.setattr(backends, "installed", lambda package: package in available)
        assert backends.selected() == expected and os.environ["KERAS_BACKEND"] == expected
