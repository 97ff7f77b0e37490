#!/usr/bin/env python3
"""The fast engine on TensorFlow against the fast engine on JAX, one seed, in one run.

    python benchmarks/bench_backends.py --train-examples 10000   # about 4 minutes

For each model of bench_families.py, the same run (seed 0, batch 32, Adam) is trained
for ``--epochs`` epochs by the fast engine with ``KERAS_BACKEND=tensorflow`` and with
``KERAS_BACKEND=jax``, each in a fresh process, interleaved. Steady time: the median of
epochs 2.. (epoch 1 compiles), validation on the 10,000 test images included. The
ratio is TensorFlow's time over JAX's (above 1: JAX is faster). All seeds of a
condition in one vectorized program, the GPU case, is not measured here yet.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from bench_families import MODELS, ROOT  # importing it puts the repository on sys.path


def measure(name, backend, epochs, train_examples):
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_families.py"), "--child", name,
               "--engine", "fast", "--epochs", str(epochs)]
    if train_examples:
        command += ["--train-examples", str(train_examples)]
    output = subprocess.run(command, capture_output=True, text=True, check=True,
                            env={**os.environ, "KERAS_BACKEND": backend}).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--epochs", type=int, default=3)
    parse.add_argument("--train-examples", type=int)
    parse.add_argument("--only", action="append", default=[], help="family prefix, e.g. cnn")
    args = parse.parse_args()
    print("| model | TensorFlow s/epoch | JAX s/epoch | TF / JAX | epoch 1 TF / JAX s "
          "| val acc TF / JAX |\n|---|---|---|---|---|---|")
    for name in MODELS:
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        runs = {backend: measure(name, backend, args.epochs, args.train_examples)
                for backend in ("tensorflow", "jax")}
        steady = {backend: statistics.median(run["seconds"][1:]) for backend, run in runs.items()}
        first = " / ".join(f"{run['seconds'][0]:.2f}" for run in runs.values())
        accuracy = " / ".join(f"{run['val_accuracy']:.4f}" for run in runs.values())
        print(f"| {name} | {steady['tensorflow']:.2f} | {steady['jax']:.2f} | "
              f"**{steady['tensorflow'] / steady['jax']:.2f}** | {first} | {accuracy} |",
              flush=True)


if __name__ == "__main__":
    main()
