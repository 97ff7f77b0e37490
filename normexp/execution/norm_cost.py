"""BatchNorm's cost as an interleaved timing benchmark (claims 5a–5c), stored as one JSON.

    python benchmarks/bench_norm_cost.py [--config configs/claims/timing.yaml]
                                         [--out experiments/claims] [--other-work TEXT]

Arms (``config.timing.ARMS``): the article's MLP with no norm, BatchNorm and LayerNorm,
each built from the same seed and trained by the fast engine's compiled epoch program
(``compiled_epochs``: ``train_steps`` Adam steps of ``batch_size`` in one program call), and
``bn_folded``: the BN model with each BatchNorm folded into the adjacent Dense layer
(``models.folding``), run for inference only. Every arm first runs once untimed (compiling
its programs), then each of ``repeats`` repeats times every arm once, in an order shuffled
per repeat with ``seed``: its training steps (trained arms), then ``inference_passes``
inference passes over one batch of ``inference_examples`` images through the engine's
inference program (all arms). Seeds are
no timing replicates; repeats of the same work, interleaved, are: a slow spell of the
machine hits every arm of a repeat alike, and the ratio within a repeat cancels it.

The images are seeded random pixels, not MNIST: a dense network's cost does not depend on
the pixel values, and the benchmark then needs no data folder.

Stored record (``<out>/<name>/timing.json``, written atomically), the contract the claims
page reads (``normexp.report.timing_claims``): ``format`` (1), ``name``, ``description``,
``benchmark`` (the settings), ``arms`` (name → words), ``claims`` (the config's timing
claims), ``machine`` (CPU, cores, threads, device, versions, date UTC, command, other work,
load averages before and after), ``folding`` (largest |Δ output probability| between the BN
model and its folded copy, inference mode) and ``repeats``: one mapping per repeat with
``order`` (arm names, as run), ``train_seconds`` (trained arm → seconds of its steps) and
``inference_seconds_per_example`` (arm → seconds / examples).
"""

import dataclasses
import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from normexp.engine import backend

ENGINE_BACKEND = backend.current()  # first: it picks Keras' backend and imports it quietly

import keras  # noqa: E402

from normexp.config.sections import ModelConfig  # noqa: E402
from normexp.config.timing import ARMS, TRAINED_ARMS  # noqa: E402
from normexp.models import build_model  # noqa: E402
from normexp.models.folding import fold_batch_norm  # noqa: E402
from normexp.store import atomic, run_store  # noqa: E402

FORMAT, RECORD_NAME = run_store.TIMING_FORMAT, run_store.TIMING_RECORD
NORM_OF_ARM = {"no_norm": "none", "bn": "batch", "ln": "layer"}
FOLDING_EXAMPLES = 1000   # the folded model's outputs are compared on this many images


def synthetic_data(settings):
    """``(x_train, y_train, images)``: uint8 pixels and labels, seeded; ``x_train`` holds
    exactly ``train_steps`` batches."""
    generator = np.random.default_rng(settings.seed)
    count = settings.train_steps * settings.batch_size
    x_train = generator.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    y_train = generator.integers(0, 10, count).astype(np.int32)
    images = generator.integers(0, 256, (settings.inference_examples, 28, 28), dtype=np.uint8)
    return x_train, y_train, images


def arm_model(settings, arm):
    keras.utils.set_random_seed(settings.seed)  # every arm starts from the same draws
    return build_model(ModelConfig(hidden=settings.hidden, placement=settings.placement,
                                   norm=NORM_OF_ARM[arm]))


def compiled_program(settings, arm, model, x_train, y_train):
    """The fast engine's compiled epochs for ``model`` (its own cache key per arm)."""
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    return ENGINE_BACKEND.compiled_epochs(f"norm_cost:{arm}:{settings}", model, optimizer,
                                          settings.batch_size, x_train, y_train)


def time_training(program, permutation):
    started = time.perf_counter()
    program.train_epoch(permutation)   # returns Python floats: the steps have finished
    return time.perf_counter() - started


def time_inference(program, images, passes=1):
    started = time.perf_counter()
    for _ in range(passes):
        program.predict_classes(images, chunk=len(images))   # one batch, as NumPy: finished
    return (time.perf_counter() - started) / (passes * len(images))


def prepare(settings):
    """``(programs, permutation, images, folding)`` with every program compiled and run
    once (warm-up, not timed); the folded arm comes from the BN model after its warm-up
    steps, so from trained moving statistics."""
    x_train, y_train, images = synthetic_data(settings)
    permutation = np.arange(len(x_train))
    programs = {}
    for arm in TRAINED_ARMS:
        programs[arm] = compiled_program(settings, arm, arm_model(settings, arm),
                                         x_train, y_train)
        time_training(programs[arm], permutation)
    batch_norm_model = programs["bn"].model
    folded = fold_batch_norm(batch_norm_model)
    programs["bn_folded"] = compiled_program(settings, "bn_folded", folded, x_train, y_train)
    for arm in ARMS:
        time_inference(programs[arm], images)
    sample = images[:FOLDING_EXAMPLES].astype(np.float32) / 255.0
    difference = np.abs(np.asarray(batch_norm_model(sample, training=False))
                        - np.asarray(folded(sample, training=False))).max()
    return programs, permutation, images, {"largest_difference": float(difference),
                                           "examples": len(sample)}


def measure(settings, progress=None):
    """``(repeats, folding)`` of the stored record (see the module's docstring)."""
    programs, permutation, images, folding = prepare(settings)
    shuffler = np.random.default_rng(settings.seed)
    repeats = []
    for index in range(settings.repeats):
        order = [str(arm) for arm in shuffler.permutation(list(ARMS))]
        repeat = {"order": order, "train_seconds": {}, "inference_seconds_per_example": {}}
        for arm in order:
            if arm in TRAINED_ARMS:
                repeat["train_seconds"][arm] = time_training(programs[arm], permutation)
            repeat["inference_seconds_per_example"][arm] = time_inference(
                programs[arm], images, settings.inference_passes)
        repeats.append(repeat)
        if progress:
            progress(index + 1, repeat)
    return repeats, folding


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass   # not Linux: platform's answer below
    return platform.processor() or platform.machine()


def machine_info(settings, command, other_work, load_before):
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": settings.threads,
            "device": ENGINE_BACKEND.device_name(), "versions": ENGINE_BACKEND.versions(),
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%d %H:%M"), "command": command, "other_work": other_work,
            "load_average": {"before": list(load_before), "after": list(os.getloadavg())}}


def build_record(timing, repeats, folding, machine):
    return {"format": FORMAT, "name": timing.name, "description": timing.description,
            "benchmark": dataclasses.asdict(timing.benchmark), "arms": dict(ARMS),
            "claims": [dataclasses.asdict(claim) for claim in timing.claims],
            "machine": machine, "folding": folding, "repeats": repeats}


def write_record(out, record):
    """``<out>/<name>/timing.json``, atomically; returns its path."""
    folder = Path(out) / record["name"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RECORD_NAME
    atomic.write(path, json.dumps(record, indent=1) + "\n")
    return path


def run(timing, out, other_work, command=None, progress=None):
    """Measure ``timing`` (a ``TimingConfig``) and store the record; returns its path."""
    load_before = os.getloadavg()
    repeats, folding = measure(timing.benchmark, progress)
    command = command or " ".join(map(shlex.quote, sys.argv))
    machine = machine_info(timing.benchmark, command, other_work, load_before)
    return write_record(out, build_record(timing, repeats, folding, machine))
