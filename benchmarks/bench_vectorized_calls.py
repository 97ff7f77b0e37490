#!/usr/bin/env python3
"""Where a vectorized epoch's time goes: training against validation, per inference call size.

    KERAS_BACKEND=jax python benchmarks/bench_vectorized_calls.py --seeds 4,8 \
        --calls 10000,256 --only cnn                                   # about 2 minutes

For each model of bench_families.py and each seed count, in one process per seed count: one
vectorized ``train_epoch`` on the first ``--train-examples`` images (after one that
compiles), then the validation forward pass on the first ``--validation`` test images with
the inference calls holding each ``--calls`` examples in all, shared by the seeds (the best
of two passes, after one that compiles), then the per-seed losses (after a first call).
Seconds, not ratios.
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time

from bench_families import MODELS  # importing it puts the repository on sys.path


def child(name, seeds, calls, train_examples, validation):
    import numpy as np

    from normexp.config.study import RunSpec, validate_settings
    from normexp.data import datasets
    from normexp.engine import vectorized

    settings = validate_settings({"data": {"train_examples": train_examples},
                                  "train": {"epochs": 1, "batch_size": 32},
                                  "model": MODELS[name]}, "benchmark", "")
    specs = [RunSpec("bench", "bench", (), seed, settings) for seed in range(seeds)]
    splits = datasets.load("mnist", "test", None, train_examples)
    splits = dataclasses.replace(splits, x_val=splits.x_val[:validation],
                                 y_val=splits.y_val[:validation])
    program = vectorized.VectorizedEpochs(specs, splits)
    orders = np.stack([np.random.default_rng(seed).permutation(train_examples)
                       for seed in range(seeds)])
    program.train_epoch(orders)
    report = {"train_epoch": seconds(lambda: program.train_epoch(orders))}
    for size in calls:
        # The engine's cap; CACHED_AT_ONCE is lifted so that every size is what it says.
        vectorized.EVALUATED_AT_ONCE = vectorized.CACHED_AT_ONCE = size
        program.probabilities(splits.x_val)
        report[f"validation, calls of {size}"] = min(
            seconds(lambda: program.probabilities(splits.x_val)) for _ in range(2))
    probabilities, labels = program.probabilities(splits.x_val), np.asarray(splits.y_val)

    def losses():
        return [float(program.single.loss(labels, seed)) for seed in probabilities]

    losses()   # the first call traces the loss's operations
    report["per-seed losses"] = seconds(losses)
    return report


def seconds(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main():
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--seeds", default="4,8", help="seed counts, e.g. 4,8")
    parse.add_argument("--calls", default="10000,256", help="examples per inference call")
    parse.add_argument("--train-examples", type=int, default=2000)
    parse.add_argument("--validation", type=int, default=10000, help="test images validated")
    parse.add_argument("--only", action="append", default=[], help="family prefix, e.g. cnn")
    parse.add_argument("--child")
    args = parse.parse_args()
    calls = [int(size) for size in args.calls.split(",")]
    if args.child:
        print(json.dumps(child(args.child, int(args.seeds), calls, args.train_examples,
                               args.validation)))
        return
    for name in MODELS:
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        for count in args.seeds.split(","):
            command = [sys.executable, __file__, "--child", name, "--seeds", count,
                       "--calls", args.calls, "--train-examples", str(args.train_examples),
                       "--validation", str(args.validation)]
            output = subprocess.run(command, capture_output=True, text=True, check=True,
                                    env={**os.environ, "KERAS_BACKEND": "jax"}).stdout
            report = json.loads(output.strip().splitlines()[-1])
            print(f"{name}, {count} seeds: " + ", ".join(
                f"{part} {value:.2f} s" for part, value in report.items()), flush=True)


if __name__ == "__main__":
    main()
