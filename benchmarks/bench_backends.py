#!/usr/bin/env python3
"""The fast engine on TensorFlow against the fast engine on JAX, one seed, in one run.

    python benchmarks/bench_backends.py --train-examples 10000   # about 4 minutes

For each model of bench_families.py, the same run (seed 0, batch 32, Adam) is trained
for ``--epochs`` epochs by the fast engine with ``KERAS_BACKEND=tensorflow`` and with
``KERAS_BACKEND=jax``, each in a fresh process, interleaved. Steady time: the median of
epochs 2.. (epoch 1 compiles), validation on the 10,000 test images included. The
ratio is TensorFlow's time over JAX's (above 1: JAX is faster).

``--seeds 1,16,128`` adds the vectorized engine (all seeds of a condition in one
``vmap``-ed program, JAX): run-epochs per second (seeds / steady epoch seconds) for
TensorFlow fast (one seed), JAX fast (one seed) and JAX vectorized at each count.
``--convolutions im2col,keras`` measures the vectorized engine with each form of the
convolutions: ``im2col`` (``normexp/models/lowering.py``, what it runs on every device)
and ``keras`` (Keras' own, which ``vmap`` turns into grouped convolutions; before issue
17's change, what it ran on a GPU).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from bench_families import MODELS, measure  # importing it puts the repository on sys.path

from normexp import backends


def vectorized_child(name, seeds, epochs, train_examples, convolutions="im2col"):
    """Seconds per epoch of ``seeds`` seeds trained as one program (JAX)."""
    from normexp.config.study import RunSpec, validate_settings
    from normexp.engine import jax_backend, vectorized

    if convolutions == "keras":   # the engine has no switch for the slow form: a patch
        jax_backend.lowers = lambda model, vectorized: False

    settings = validate_settings({"data": {"train_examples": train_examples},
                                  "train": {"epochs": epochs, "batch_size": 32},
                                  "model": MODELS[name]}, "benchmark", "")
    specs = [RunSpec("bench", "bench", (), seed, settings) for seed in range(seeds)]
    seconds = vectorized.train_seeds(specs)[0].history["seconds"]
    import jax

    return {"seconds": seconds, "device": jax.devices()[0].device_kind}


def measure_vectorized(name, seeds, epochs, train_examples, convolutions):
    command = [sys.executable, __file__, "--child", name, "--seeds", str(seeds),
               "--epochs", str(epochs), "--train-examples", str(train_examples or 0),
               "--convolutions", convolutions]
    output = subprocess.run(command, capture_output=True, text=True, check=True,
                            env={**os.environ, "KERAS_BACKEND": "jax"}).stdout
    return json.loads(output.strip().splitlines()[-1])


def seed_table(args, counts):
    forms = args.convolutions.split(",")
    columns = [(count, form) for count in counts for form in forms]
    print("Run-epochs per second (seeds / steady seconds per epoch):\n\n"
          "| model | TF fast, 1 seed | JAX fast, 1 seed | "
          + " | ".join(f"JAX vectorized, {count}" + (f" ({form})" if len(forms) > 1 else "")
                       for count, form in columns) + " |\n|---|---|---|" + "---|" * len(columns))
    devices = set()
    for name in MODELS:
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        # A GPU machine set up from requirements-jax-gpu.txt has no TensorFlow: "—".
        rates = [1 / statistics.median(measure(name, "fast", args.epochs, args.train_examples,
                                               backend)["seconds"][1:])
                 if backends.installed(backend) else None for backend in ("tensorflow", "jax")]
        for count, form in columns:
            run = measure_vectorized(name, count, args.epochs, args.train_examples, form)
            rates.append(count / statistics.median(run["seconds"][1:]))
            devices.add(run["device"])
        print(f"| {name} | " + " | ".join("—" if rate is None else f"{rate:.2f}"
                                          for rate in rates) + " |", flush=True)
    print(f"\nJAX device: {', '.join(sorted(devices))}")


def main():
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--epochs", type=int, default=3)
    parse.add_argument("--train-examples", type=int)
    parse.add_argument("--only", action="append", default=[], help="family prefix, e.g. cnn")
    parse.add_argument("--seeds", help="vectorized seed counts, e.g. 1,16,128")
    parse.add_argument("--convolutions", default="im2col",
                       help="the vectorized engine's convolution forms, e.g. im2col,keras")
    parse.add_argument("--child")
    args = parse.parse_args()
    if args.child:
        print(json.dumps(vectorized_child(args.child, int(args.seeds), args.epochs,
                                          args.train_examples or None, args.convolutions)))
        return
    if args.seeds:
        return seed_table(args, [int(count) for count in args.seeds.split(",")])
    print("| model | TensorFlow s/epoch | JAX s/epoch | TF / JAX | epoch 1 TF / JAX s "
          "| val acc TF / JAX |\n|---|---|---|---|---|---|")
    for name in MODELS:
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        runs = {backend: measure(name, "fast", args.epochs, args.train_examples, backend)
                for backend in ("tensorflow", "jax")}
        steady = {backend: statistics.median(run["seconds"][1:]) for backend, run in runs.items()}
        first = " / ".join(f"{run['seconds'][0]:.2f}" for run in runs.values())
        accuracy = " / ".join(f"{run['val_accuracy']:.4f}" for run in runs.values())
        print(f"| {name} | {steady['tensorflow']:.2f} | {steady['jax']:.2f} | "
              f"**{steady['tensorflow'] / steady['jax']:.2f}** | {first} | {accuracy} |",
              flush=True)


if __name__ == "__main__":
    main()
