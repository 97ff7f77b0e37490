#!/usr/bin/env python3
"""The cost model of the scheduler, measured: seconds per step, per example and per compile.

    flock /tmp/normexp-heavy.lock python benchmarks/bench_cost_model.py [family ...]   # ~6 min

``costs.estimated_cost`` ranks runs by ``epochs · (steps · step + examples · example) ·
engine + compile`` seconds, with one ``step``, ``example`` and ``compile`` per family
(``costs.FAMILY_COSTS``). This script measures them as a study worker runs (fast engine,
1 TensorFlow thread, one process for all runs): each family's study model at batch 4, 32
and 256 for 2 epochs on a fixed training subset, validated on the 10,000 test images.
Epoch 2's seconds are fit by least squares to ``steps · step + examples · example``
(examples = training examples + validation examples); ``compile`` is the median of epoch 1
minus epoch 2. It prints each measurement, the fitted constants and how well the fit
predicts every point, then the constants to put in ``costs.FAMILY_COSTS``.
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAMILIES = {   # the models of the shipped studies, training subset size (keeps it short)
    "mlp": ({"hidden": [128, 64], "norm": "batch"}, 12000),
    "cnn": ({"family": "cnn", "filters": [8, 16], "dense": [32], "norm": "batch",
             "placement": "before"}, 3000),
    "rnn": ({"family": "rnn", "cell": "lstm", "units": [32, 32], "norm": "layer",
             "placement": "cell"}, 3000),
    "transformer": ({"family": "transformer", "depth": 6, "width": 32, "heads": 2,
                     "norm": "layer"}, 3000),
}
BATCH_SIZES = (4, 32, 256)
VALIDATION_EXAMPLES = 10000


def measure(model, examples, batch_size):
    from normexp.config.study import RunSpec, validate_settings
    from normexp.engine.trainer import train_run

    settings = validate_settings({"data": {"train_examples": examples},
                                  "train": {"epochs": 2, "batch_size": batch_size},
                                  "model": model}, "benchmark", "")
    seconds = train_run(RunSpec("bench", "bench", (), 0, settings)).history["seconds"]
    steps = -(-examples // batch_size)
    return {"batch": batch_size, "steps": steps, "examples": examples + VALIDATION_EXAMPLES,
            "epoch1": seconds[0], "epoch2": seconds[1]}


def fit(points):
    design = np.array([[point["steps"], point["examples"]] for point in points], dtype=float)
    seconds = np.array([point["epoch2"] for point in points])
    (step, example), *_ = np.linalg.lstsq(design, seconds, rcond=None)
    compile_seconds = float(np.median([point["epoch1"] - point["epoch2"] for point in points]))
    return {"step": float(step), "example": float(example), "compile": compile_seconds}


def main():
    from normexp.engine import tensorflow_backend

    tensorflow_backend.configure_threads(1)
    constants = {}
    for family in sys.argv[1:] or FAMILIES:
        model, examples = FAMILIES[family]
        points = [measure(model, examples, batch_size) for batch_size in BATCH_SIZES]
        constants[family] = fit(points)
        for point in points:
            predicted = (point["steps"] * constants[family]["step"]
                         + point["examples"] * constants[family]["example"])
            print(f"{family} batch {point['batch']:>3}: {point['steps']:>5} steps, epoch 1 "
                  f"{point['epoch1']:.2f} s, epoch 2 {point['epoch2']:.2f} s "
                  f"(model: {predicted:.2f} s)", flush=True)
        values = constants[family]
        print(f"{family}: {1e6 * values['step']:.0f} µs per step, "
              f"{1e6 * values['example']:.1f} µs per example, {values['compile']:.1f} s to "
              f"compile", flush=True)
    print(json.dumps(constants))


if __name__ == "__main__":
    main()
