#!/usr/bin/env python3
"""The Ray path against the local path, and the cost of TensorBoard events.

    python benchmarks/bench_ray.py --mode tensorboard   # ~1 minute
    python benchmarks/bench_ray.py --mode overhead      # ~5 minutes (bn_vs_ln twice per backend)

Run it alone (the team wraps it in ``flock /tmp/normexp-heavy.lock``): every figure is a
ratio or difference against a baseline timed in the same invocation.

overhead: the default study (bn_vs_ln, 15 runs) end to end with ``--backend local`` and
``--backend ray`` (a Ray runtime on this machine), interleaved A B B A, each in a fresh
process and store; Ray's per-task round trip, cold worker start and object-store put;
the driver's cost to store one result. From these it estimates a 350-run study on
1, 4 and 16 machines (see ``scaling``; the assumptions are printed with it).

tensorboard: one real run's epoch time against the time to write that run's events.
"""

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STUDY_RUNS = 350            # 5 norms x 2 placements x 7 batch sizes x 5 seeds
CORES_PER_MACHINE = 2       # like this machine; one run per core


def timed_study(backend, out):
    command = [sys.executable, str(ROOT / "run.py"), "--config", "bn_vs_ln", "--out", str(out),
               "--quiet", "--backend", backend]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    runs = []  # (run seconds, compile seconds: first epoch minus the run's steady epoch)
    for path in out.glob("bn_vs_ln/runs/*/seed_*/meta.json"):
        epochs = json.loads((path.parent / "history.json").read_text())["seconds"]
        runs.append((json.loads(path.read_text())["seconds"],
                     epochs[0] - statistics.median(epochs[1:])))
    return wall, runs


def ray_micro():
    """Per-task round trip, cold start and put of the MNIST splits on a local runtime."""
    import ray

    from normexp.data import datasets

    started = time.perf_counter()
    ray.init(num_cpus=CORES_PER_MACHINE, include_dashboard=False, log_to_driver=False)
    figures = {"init_s": time.perf_counter() - started}

    @ray.remote(num_cpus=1)
    def cold(size):
        import normexp.engine.tensorflow_backend  # noqa: F401  (what a new worker pays: TensorFlow)
        return size

    started = time.perf_counter()
    ray.get(cold.remote(0))
    figures["cold_worker_with_tensorflow_s"] = time.perf_counter() - started
    noop = ray.remote(num_cpus=1)(lambda: None)
    ray.get([noop.remote() for _ in range(20)])
    started = time.perf_counter()
    for _ in range(200):
        ray.get(noop.remote())
    figures["task_round_trip_ms"] = (time.perf_counter() - started) / 200 * 1000
    started = time.perf_counter()
    ray.get([noop.remote() for _ in range(1000)])
    figures["task_throughput_per_s"] = 1000 / (time.perf_counter() - started)
    splits = datasets.load("mnist", "test")
    started = time.perf_counter()
    reference = ray.put(splits)
    figures["put_mnist_ms"] = (time.perf_counter() - started) * 1000
    figures["mnist_mb"] = sum(getattr(splits, name).nbytes for name in
                              ("x_train", "y_train", "x_val", "y_val")) / 1e6
    started = time.perf_counter()
    ray.get(cold.remote(reference))
    figures["task_with_mnist_ms"] = (time.perf_counter() - started) * 1000
    ray.shutdown()
    return figures


def driver_store_cost(stored_out, repeats=30):
    """Seconds for the driver to store one result and write its events."""
    from normexp.store import run_store
    from normexp.store import tensorboard_log
    from normexp.config.study import load_study
    from normexp.engine.trainer import RunResult

    spec = load_study("bn_vs_ln").runs[0]
    record = run_store.read_record(run_store.run_dir(stored_out, spec.study, spec.condition, spec.seed))
    keys = ("status", "diverged_epoch", "test", "parameters", "updates", "device", "seconds")
    result = RunResult(record["history"], *(record["meta"].get(key) for key in keys))
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        for _ in range(repeats):
            run_store.save_run(scratch, spec, result, {"versions": {}})
            tensorboard_log.write_run(scratch, spec, result.history)
        return (time.perf_counter() - started) / repeats


def overhead(repeats):
    walls = {"local": [], "ray": []}
    runs = {"local": [], "ray": []}
    order = ["local", "ray", "ray", "local"] * repeats
    with tempfile.TemporaryDirectory() as scratch:
        for index, backend in enumerate(order):
            wall, measured = timed_study(backend, Path(scratch) / f"{backend}{index}")
            walls[backend].append(wall)
            runs[backend] += measured
            print(f"  {backend:<5} bn_vs_ln: {wall:6.1f} s wall", flush=True)
        store_cost = driver_store_cost(Path(scratch) / "local0")
    micro = ray_micro()
    return walls, runs, store_cost, micro


def scaling(t_run, task_overhead, start_cost, store_cost, data_mb, bandwidth_mb_s=100):
    """Wall time of STUDY_RUNS runs on M machines of CORES_PER_MACHINE cores."""
    rows = []
    for machines in (1, 4, 16, 175):
        slots = machines * CORES_PER_MACHINE
        waves = math.ceil(STUDY_RUNS / slots)
        shipping = data_mb * (machines - 1) / bandwidth_mb_s  # worst case: all from the head
        training = waves * (t_run + task_overhead)
        driver = STUDY_RUNS * store_cost  # serial on the driver, overlaps training
        wall = start_cost + shipping + max(training, driver)
        rows.append((machines, slots, waves, shipping, training, driver, wall))
    return rows


def report_overhead(walls, runs, store_cost, micro):
    local, ray = statistics.median(walls["local"]), statistics.median(walls["ray"])
    print(f"\nbn_vs_ln wall (median): local {local:.1f} s, ray {ray:.1f} s -> ray/local "
          f"{ray / local:.3f} ({ray - local:+.1f} s)")
    for backend in ("local", "ray"):
        seconds = [run for run, _ in runs[backend]]
        print(f"  {backend}: worker-side seconds per run mean {statistics.mean(seconds):.2f}, "
              f"median {statistics.median(seconds):.2f}, runs that compiled "
              f"{sum(compiled > 1.0 for _, compiled in runs[backend])}/{len(seconds)}")
    compile_cost = statistics.median([compiled for _, compiled in runs["ray"] if compiled > 1.0])
    warm = statistics.median([run for run, compiled in runs["ray"] if compiled <= 1.0])
    print("ray micro: " + ", ".join(f"{key} {value:.3g}" for key, value in micro.items()))
    print(f"driver: store + events per result {store_cost * 1000:.1f} ms")
    start_cost = micro["init_s"] + micro["cold_worker_with_tensorflow_s"]
    cold = warm + compile_cost
    print(f"\n{STUDY_RUNS}-run study, {CORES_PER_MACHINE} cores/machine, one run per core; every "
          f"run costs a batch-32 5-epoch run that compiles (t_run = {warm:.2f} s warm + "
          f"{compile_cost:.2f} s compile = {cold:.2f} s; larger batch sizes are faster, so this "
          f"is an upper bound); Ray start + cold worker {start_cost:.1f} s once; "
          f"{micro['mnist_mb']:.0f} MB of MNIST to each node from the head at 100 MB/s:")
    print("machines | slots | waves | data s | training s | driver s | wall")
    for machines, slots, waves, shipping, training, driver, wall in scaling(
            cold, micro["task_round_trip_ms"] / 1000, start_cost, store_cost,
            micro["mnist_mb"]):
        print(f"{machines:8} | {slots:5} | {waves:5} | {shipping:6.1f} | {training:10.1f} | "
              f"{driver:8.1f} | {wall / 60:.2f} min")


def tensorboard_cost(repeats=50):
    """One real run (2 epochs, 1 thread): its steady epoch time vs writing its events."""
    from normexp.engine import tensorflow_backend

    tensorflow_backend.configure_threads(1)
    from normexp.store import tensorboard_log
    from normexp.config.study import load_study
    from normexp.engine.trainer import train_run

    spec = load_study("bn_vs_ln", {"epochs": 2, "seeds": [0]}).runs[3]  # ln_after
    result = train_run(spec)
    epoch = result.history["seconds"][-1]
    history = {key: values * 50 for key, values in result.history.items()}  # 100 epochs
    with tempfile.TemporaryDirectory() as scratch:
        timings = {}
        for epochs, data in ((2, result.history), (100, history)):
            started = time.perf_counter()
            for _ in range(repeats):
                tensorboard_log.write_run(scratch, spec, data)
            timings[epochs] = (time.perf_counter() - started) / repeats
    print(f"steady epoch (ln_after, batch 32, full MNIST, 1 thread): {epoch:.3f} s")
    for epochs, seconds in timings.items():
        share = seconds / (epochs * epoch) * 100
        print(f"events of a {epochs}-epoch run: {seconds * 1000:.2f} ms = {share:.3f}% of its "
              f"{epochs} epochs ({seconds / epochs * 1000:.3f} ms per epoch)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("overhead", "tensorboard"), default="overhead")
    parser.add_argument("--repeats", type=int, default=1, help="A B B A blocks (overhead)")
    args = parser.parse_args()
    if args.mode == "tensorboard":
        tensorboard_cost()
    else:
        report_overhead(*overhead(args.repeats))


if __name__ == "__main__":
    main()
