"""Shared fixtures: the real MNIST folder, a tiny synthetic MNIST, config writers."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = os.environ.get("NORMEXP_DATA_DIR")


def require_real_data():
    """The real MNIST folder from $NORMEXP_DATA_DIR, or a skip saying why.

    Under CI=true a missing folder fails instead: CI must never pass by skipping the
    tests that train on real data."""
    if not REAL_DATA or not Path(REAL_DATA).is_dir():
        reason = ("real MNIST absent: set NORMEXP_DATA_DIR to a folder with mnist.npz "
                  "or the four IDX .gz files (CI uses ../shared/datasets)")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}; NORMEXP_DATA_DIR={REAL_DATA!r}")
        pytest.skip(reason)
    return Path(REAL_DATA)


@pytest.fixture
def real_data_dir():
    return require_real_data()


def write_tiny_mnist(folder, train=512, test=128, seed=0):
    """A learnable stand-in for MNIST: each class lights up its own block of pixels."""
    generator = np.random.default_rng(seed)
    arrays = {}
    for split, count in (("train", train), ("test", test)):
        labels = np.arange(count) % 10
        generator.shuffle(labels)
        images = generator.integers(0, 60, size=(count, 28, 28))
        for index, label in enumerate(labels):
            images[index, 2 * label:2 * label + 6, 4:24] += 180
        arrays[f"x_{split}"] = images.clip(0, 255).astype(np.uint8)
        arrays[f"y_{split}"] = labels.astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "mnist.npz", **arrays)
    return folder


@pytest.fixture
def tiny_data_dir(tmp_path):
    return write_tiny_mnist(tmp_path / "tiny_data")


TINY_STUDY = {
    "name": "tiny",
    "description": "test study",
    "seeds": [0, 1],
    "train": {"epochs": 2, "batch_size": 64, "optimizer": {"name": "adam", "learning_rate": 0.01}},
    "model": {"hidden": [16]},
    "variants": [{"name": "no_norm", "model": {"norm": "none"}},
                 {"name": "bn_after", "model": {"norm": "batch"}}],
    "report": {"baseline": "no_norm", "target_accuracy": 0.5},
}


def write_config(folder, data, name="study.yaml"):
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def fingerprint_before(run, later_model_fields):
    """The fingerprint ``run`` had before the later-added fields existed: the hash of its
    settings without them (``later_model_fields`` from the model section; train.probes,
    train.backend, data.train_examples always), the data folder, plus its seed."""
    import hashlib
    import json

    from normexp.config.sections import settings_to_dict

    old = settings_to_dict(run.settings)
    for name in later_model_fields:
        old["model"].pop(name)
    for section, name in (("train", "probes"), ("train", "backend"), ("data", "dir"),
                          ("data", "train_examples")):
        old[section].pop(name)
    old["seed"] = run.seed
    return hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()[:16]


def run_cli(*args, data_dir=None, cwd=ROOT, timeout=300, **popen):
    """Run ``python run.py ...`` in a subprocess; returns the CompletedProcess."""
    environment = dict(os.environ)
    if data_dir is not None:
        environment["NORMEXP_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *map(str, args)], cwd=cwd,
                          env=environment, capture_output=True, text=True, timeout=timeout,
                          **popen)


@contextlib.contextmanager
def sigint_not_ignored():
    """A child started in here turns SIGINT into KeyboardInterrupt even when the test
    runner itself was started with SIGINT ignored (a background job of a shell without job
    control, as in some CI scripts): Python installs its handler only over the default."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def fake_result(val_accuracy, status="complete"):
    """A ``RunResult`` with the given validation curve, for report and store tests."""
    from normexp.engine.trainer import RunResult

    epochs = len(val_accuracy)
    history = {"epoch": list(range(1, epochs + 1)), "loss": [0.3] * epochs,
               "accuracy": [0.9] * epochs, "val_loss": [0.2] * epochs,
               "val_accuracy": val_accuracy, "seconds": [2.0] + [1.0] * (epochs - 1)}
    return RunResult(history, status, 1 if status == "diverged" else None, None,
                     {"trainable": 100, "non_trainable": 0}, 10, "CPU", 3.0)


def store_fake_study(folder, data, accuracies=lambda spec: [0.5, 0.9 + 0.01 * spec.seed]):
    """A study's store holding a ``fake_result`` for every run (nothing trained): the
    config is written to ``folder``, the store to ``folder/out``; returns ``(study, out)``.
    ``accuracies(spec)`` gives a run's validation accuracy per epoch."""
    from normexp.config.study import load_study, study_record
    from normexp.store import run_store

    study = load_study(write_config(folder, data))
    out = Path(folder) / "out"
    run_store.prepare(out, study.name)
    run_store.write_study(out, study_record(study))
    for spec in study.runs:
        run_store.save_run(out, spec, fake_result(accuracies(spec)), {})
    return study, out


REAL_DATA_FIXTURES = {"real_data_dir", "mnist_slice", "mnist_slice_dir", "mnist_2000_dir"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the group markers
def pytest_collection_modifyitems(items):
    """Every test that reads the real MNIST files carries the ``real_data`` marker, so
    ``-m "not real_data"`` runs where the files are absent. Under pytest-xdist
    (``-n auto --dist loadgroup``), every test that starts Ray runs in one worker, one at a
    time: two Ray runtimes on one machine would contend for its ports and CPUs, and the
    cluster fixture is shared by its module's tests."""
    for item in items:
        if REAL_DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_data)
        if item.get_closest_marker("ray") or item.module.__name__.endswith("test_ray_cluster"):
            item.add_marker(pytest.mark.xdist_group("ray"))
