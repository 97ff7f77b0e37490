#!/usr/bin/env python3
"""Scheduling by cost vs contiguous blocks, on a batch-size sweep: wall time of one study.

    python benchmarks/bench_scheduling.py [--study batch|engines] [--epochs 1] [--repeats 2]

Two studies on real MNIST, 2 workers. ``batch``: no norm, BatchNorm and LayerNorm at batch
4, 32 and 256, 2 seeds (a batch-4 run costs about 3 of batch 256). ``engines``: the article
MLP with the fast engine and with ``fit``, 4 seeds each (a fit run costs about 14 fast ones).
  A  the previous split: each worker gets one contiguous block of the run list
     (``costs.scheduled_chunks`` swapped for ``contiguous_blocks`` in that process);
  B  the current one: workers pull chunks, costliest first (``costs.scheduled_chunks``).
Trials alternate A B A B (each a fresh process, --force into a fresh folder); the script
prints every wall time and the ratio of the medians.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STUDIES = {
    "batch": """name: schedule_bench
seeds: [0, 1]
train: {epochs: EPOCHS, optimizer: adam}
variants: [{name: no_norm}, {name: bn, model: {norm: batch}}, {name: ln, model: {norm: layer}}]
sweep: {train.batch_size: [4, 32, 256]}
""",
    # The case of issue 8: fast runs, then fit runs (about 14x costlier) in one study.
    "engines": """name: schedule_bench
seeds: [0, 1, 2, 3]
train: {epochs: EPOCHS, optimizer: adam}
variants: [{name: fast}, {name: fit, train: {engine: fit}}]
""",
}


def contiguous_blocks(runs, jobs):
    """The split before scheduling by cost: ``jobs`` blocks of consecutive runs."""
    size = -(-len(runs) // jobs)
    return [list(runs[start:start + size]) for start in range(0, len(runs), size)]


def trial(kind, folder, epochs, study):
    from normexp import cli
    from normexp.execution import costs

    if kind == "contiguous":
        costs.scheduled_chunks = contiguous_blocks
    config = Path(folder) / "schedule_bench.yaml"
    config.write_text(STUDIES[study].replace("EPOCHS", str(epochs)))
    return cli.main(["--config", str(config), "--out", str(Path(folder) / "out"), "--jobs", "2",
                     "--force", "--quiet"])


def main():
    parse = argparse.ArgumentParser()
    parse.add_argument("--trial", choices=("contiguous", "scheduled"))
    parse.add_argument("--folder")
    parse.add_argument("--repeats", type=int, default=2)
    parse.add_argument("--epochs", type=int, default=1)
    parse.add_argument("--study", choices=tuple(STUDIES), default="batch")
    args = parse.parse_args()
    if args.trial:
        sys.exit(trial(args.trial, args.folder, args.epochs, args.study))
    walls = {"contiguous": [], "scheduled": []}
    for _ in range(args.repeats):
        for kind in walls:
            with tempfile.TemporaryDirectory() as folder:
                started = time.perf_counter()
                subprocess.run([sys.executable, __file__, "--trial", kind, "--folder", folder,
                                "--epochs", str(args.epochs), "--study", args.study], check=True)
                walls[kind].append(time.perf_counter() - started)
                print(f"{kind:<10} {walls[kind][-1]:.1f} s", flush=True)
    a, b = statistics.median(walls["contiguous"]), statistics.median(walls["scheduled"])
    print(f"median wall: contiguous blocks {a:.1f} s, scheduled by cost {b:.1f} s; "
          f"speed-up {a / b:.2f}x ({100 * (a - b) / a:.0f}% less wall time)")


if __name__ == "__main__":
    main()
