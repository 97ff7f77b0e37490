#!/usr/bin/env python3
"""Training-speed benchmark: the article's loop vs the suite's path, same run, same data.

    python benchmarks/bench_training.py                  # epoch mode (~3 minutes)
    python benchmarks/bench_training.py --mode study     # bn_vs_ln end to end (~2 minutes)
    python benchmarks/bench_training.py --mode study --compare-fit   # + plain-fit accuracy

Epoch mode interleaves A B A B … (each measurement in a fresh process):
  A  the article's loop as written: model.fit(x / 255.0, y, epochs, batch_size=32) on float64
     numpy arrays with Keras defaults, validating on the test set;
  B  the suite's train_run on the same model (article MLP + LayerNorm after), batch 32.
It prints median seconds per epoch (epoch 1, with compilation, apart), the ratio A/B, the
measured matmul peak and the FLOP floor it implies, peak memory and final accuracy.
"""

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TRAIN_FLOPS_PER_EXAMPLE = 6  # forward 2, backward 4 multiply-adds per weight


def child_article(epochs):
    from normexp.data import datasets
    from normexp.engine import tensorflow_backend
    from normexp.models import build_model
    from normexp.config.sections import ModelConfig

    keras = tensorflow_backend.keras
    (x_train, y_train, x_test, y_test), _ = datasets.load_raw("mnist")
    keras.utils.set_random_seed(0)
    model = build_model(ModelConfig(norm="layer"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    seconds = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.started)

    history = model.fit(x_train / 255.0, y_train, epochs=epochs, batch_size=32, verbose=0,
                        validation_data=(x_test / 255.0, y_test), callbacks=[Timer()])
    return seconds, history.history["val_accuracy"][-1], int(model.optimizer.iterations)


def child_suite(epochs, threads):
    from normexp.engine import tensorflow_backend

    tensorflow_backend.configure_threads(threads)
    from normexp.config.study import load_study
    from normexp.engine.trainer import train_run

    spec = next(run for run in load_study("article_ln", {"seeds": [0], "epochs": epochs}).runs
                if run.variant == "ln_after")
    result = train_run(spec)
    return result.history["seconds"], result.history["val_accuracy"][-1], result.updates


def child_matmul_peak():
    from normexp.engine import tensorflow_backend

    tf = tensorflow_backend.tf
    a = tf.random.normal((2048, 2048))
    matmul = tf.function(lambda m: tf.matmul(m, m))
    matmul(a).numpy()
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        matmul(a).numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * 2048 ** 3 / best / 1e9


def run_child(*args):
    output = subprocess.run([sys.executable, __file__, "--child", *map(str, args)],
                            capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(output.stdout.strip().splitlines()[-1])


def epoch_mode(args):
    peak = run_child("matmul")["value"]
    methods = {"A article loop (fit, float64, defaults)": ("article", args.epochs),
               "B suite train_run (TF default threads)": ("suite", args.epochs, 0),
               "B suite train_run (1 thread, as each study worker)": ("suite", args.epochs, 1)}
    samples = {name: [] for name in methods}
    for repeat in range(args.repeats):
        for name, child_args in methods.items():  # interleaved: A B B', A B B', …
            samples[name].append(run_child(*child_args))
            print(f"  repeat {repeat + 1}: {name}: {samples[name][-1]['seconds']}", file=sys.stderr)
    params = 109_770  # the article MLP with LayerNorm after (tests/test_models.py checks it)
    floor = TRAIN_FLOPS_PER_EXAMPLE * params * 60_000 / (peak * 1e9)
    rows, baseline = [], None
    for name, runs in samples.items():
        steady = statistics.median(s for run in runs for s in run["seconds"][1:])
        first = statistics.median(run["seconds"][0] for run in runs)
        accuracy = [run["val_accuracy"] for run in runs]
        baseline = baseline or steady
        rows.append((name, f"{first:.2f}", f"{steady:.3f}", f"{baseline / steady:.1f}×",
                     f"{steady / floor:.1f}×", f"{min(accuracy):.4f}–{max(accuracy):.4f}",
                     str(runs[0]["updates"] // args.epochs), f"{max(r['peak_mb'] for r in runs):.0f}"))
    print_table(("method", "epoch 1 s", "steady s/epoch", "speed-up vs A", "× FLOP floor",
                 f"val acc after {args.epochs} ep", "updates/epoch", "peak MB"), rows)
    print(f"\nmatmul peak {peak:.0f} GFLOP/s (2048² float32); FLOP floor "
          f"{floor:.3f} s/epoch ({TRAIN_FLOPS_PER_EXAMPLE}×{params:,} params×60,000 examples); "
          f"{args.repeats} repeats × {args.epochs} epochs; {machine()}")


def study_mode(args):
    rows = [measure_study("fast", args)]
    if args.compare_fit:
        rows.append(measure_study("fit", args))
    print_table(("engine", "wall s", "peak MB (all processes)", "per-variant mean final val acc"),
                rows)
    print(f"\n{machine()}")


def measure_study(engine, args):
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "bn_vs_ln.yaml"
        text = (ROOT / "configs" / "bn_vs_ln.yaml").read_text()
        config.write_text(text.replace("  batch_size: 32\n", f"  batch_size: 32\n  engine: {engine}\n"))
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                                    "--out", folder, "--quiet"], cwd=ROOT)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss_mb(process.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - started
        if process.returncode:
            sys.exit(f"study failed with exit code {process.returncode}")
        with (Path(folder) / "bn_vs_ln" / "summary.csv").open() as file:
            summary = list(csv.DictReader(file))
        accuracy = "; ".join(f"{row['condition']} {100 * float(row['mean']):.2f}±"
                             f"{100 * float(row['ci95_half_width']):.2f}"
                             for row in summary if row["metric"] == "val_accuracy")
        return (engine, f"{wall:.1f}", f"{peak:.0f}", accuracy)


def tree_rss_mb(pid):
    """Resident memory of a process and all its descendants, from /proc."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
            with open(f"/proc/{current}/task/{current}/children") as children:
                stack += [int(child) for child in children.read().split()]
        except (OSError, StopIteration):
            continue
    return total / 1024


def machine():
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), "unknown CPU")
    from importlib.metadata import version
    return (f"{os.cpu_count()} cores ({model}), Python {sys.version.split()[0]}, "
            f"TensorFlow {version('tensorflow')}, Keras {version('keras')}")


def print_table(columns, rows):
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def child_main(kind, rest):
    if kind == "matmul":
        print(json.dumps({"value": child_matmul_peak()}))
        return
    epochs = int(rest[0])
    seconds, accuracy, updates = (child_article(epochs) if kind == "article"
                                  else child_suite(epochs, int(rest[1])))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": [round(s, 3) for s in seconds], "val_accuracy": accuracy,
                      "updates": updates, "peak_mb": peak_mb}))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("epoch", "study"), default="epoch")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare-fit", action="store_true",
                        help="study mode: also run the study with the plain model.fit engine")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], args.child[1:])
    elif args.mode == "epoch":
        epoch_mode(args)
    else:
        study_mode(args)


if __name__ == "__main__":
    main()
