#!/usr/bin/env python3
"""Per-family speed: the fast engine against its own ``fit`` baseline, in one run.

    flock /tmp/normexp-heavy.lock python benchmarks/bench_families.py   # about 5 minutes

For each family (the models of configs/cnn_norms.yaml, configs/rnn_norms.yaml and
configs/transformer_norms.yaml, and the article MLP), the same run (model, seed, batch 32, Adam, full MNIST,
1875 updates per epoch) is trained for ``--epochs`` epochs with engine ``fit``
(plain ``model.fit``) and engine ``fast`` (one compiled XLA program per
epoch), each in a fresh process, interleaved fit, fast, fit, fast …
(``--train-examples N``: the first N images, as the transformer study trains). The steady
time is the median over epochs 2.. (epoch 1 includes compilation); both
engines' epoch times include the validation pass on the 10,000 test images.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# configs/transformer_norms.yaml's model (16 tokens of 7x7 patches, 2 heads, MLP ratio 2).
TRANSFORMER = {"family": "transformer", "depth": 6, "width": 32, "heads": 2, "mlp_ratio": 2,
               "norm": "layer", "placement": "pre"}
MODELS = {
    "mlp (article MLP, LN after)": {"norm": "layer"},
    "cnn (8-16 filters, BN before)": {"family": "cnn", "filters": [8, 16], "dense": [32],
                                      "norm": "batch", "placement": "before"},
    "rnn (LSTM 64, no norm)": {"family": "rnn", "cell": "lstm", "units": [64]},
    "rnn (LSTM 64, LN in cell)": {"family": "rnn", "cell": "lstm", "units": [64],
                                  "norm": "layer", "placement": "cell"},
    "transformer (6 blocks of 32, Pre-LN)": TRANSFORMER,
    "transformer (6 blocks of 32, Pre-RMS)": {**TRANSFORMER, "norm": "rms"},
    "transformer (6 blocks of 32, Post-LN)": {**TRANSFORMER, "placement": "post"},
}


def child(model, engine, epochs, train_examples=None):
    from normexp.config.study import RunSpec, validate_settings
    from normexp.engine.trainer import train_run

    settings = validate_settings({"data": {"train_examples": train_examples},
                                  "train": {"engine": engine, "epochs": epochs,
                                            "batch_size": 32}, "model": model},
                                 "benchmark", "")
    result = train_run(RunSpec("bench", "bench", (), 0, settings))
    return {"seconds": result.history["seconds"], "updates": result.updates,
            "val_accuracy": result.history["val_accuracy"][-1]}


def measure(name, engine, epochs, train_examples=None, backend=None):
    """One fresh-process run; ``backend`` sets ``KERAS_BACKEND`` (default: inherited)."""
    command = [sys.executable, __file__, "--child", name, "--engine", engine,
               "--epochs", str(epochs)]
    if train_examples:
        command += ["--train-examples", str(train_examples)]
    environment = {**os.environ, **({"KERAS_BACKEND": backend} if backend else {})}
    output = subprocess.run(command, capture_output=True, text=True, check=True,
                            env=environment).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--epochs", type=int, default=2)
    parse.add_argument("--repeats", type=int, default=1)
    parse.add_argument("--only", action="append", default=[], help="family prefix, e.g. cnn")
    parse.add_argument("--train-examples", type=int,
                       help="train on the first N images (default: all 60,000)")
    parse.add_argument("--child")
    parse.add_argument("--engine")
    args = parse.parse_args()
    if args.child:
        print(json.dumps(child(MODELS[args.child], args.engine, args.epochs,
                               args.train_examples)))
        return
    print("| model | fit s/epoch | fast s/epoch | speed-up | fast epoch 1 s | updates/epoch "
          "| val acc fit / fast |\n|---|---|---|---|---|---|---|")
    for name in MODELS:
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        runs = {"fit": [], "fast": []}
        for _ in range(args.repeats):
            for engine in ("fit", "fast"):
                runs[engine].append(measure(name, engine, args.epochs,
                                            args.train_examples))
        steady = {engine: statistics.median(second for run in runs[engine]
                                            for second in run["seconds"][1:])
                  for engine in runs}
        first = statistics.median(run["seconds"][0] for run in runs["fast"])
        updates = {run["updates"] // args.epochs for engine in runs for run in runs[engine]}
        accuracy = " / ".join(f"{runs[engine][0]['val_accuracy']:.4f}" for engine in runs)
        print(f"| {name} | {steady['fit']:.2f} | {steady['fast']:.2f} | "
              f"**{steady['fit'] / steady['fast']:.1f}×** | {first:.2f} | "
              f"{'/'.join(map(str, sorted(updates)))} | {accuracy} |", flush=True)


if __name__ == "__main__":
    main()
