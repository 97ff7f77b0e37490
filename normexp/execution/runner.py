"""Run a study: plan → skip finished runs → train (in parallel workers) → store.

Finished runs are found in the store and never retrained (unless ``force``);
each result is written by this process as soon as its run ends, so an
interruption loses at most the runs in flight. Workers never write files.
"""

import concurrent.futures
import dataclasses
import multiprocessing
import os
import queue
import signal

from normexp import backends
from normexp.config import model_size
from normexp.store import run_store
from normexp.errors import ConfigError, NormexpError, one_line_summary
from normexp.execution import costs, interrupts
from normexp.execution.progress import Progress


@dataclasses.dataclass
class Plan:
    todo: list      # RunSpec to train
    done: list      # RunSpec already complete in the store
    notes: list     # human-readable warnings about stale or corrupt records


class Interrupted(Exception):
    """Training stopped by the user; finished runs are stored."""

    def __init__(self, finished, remaining):
        super().__init__(f"interrupted with {remaining} runs left")
        self.finished, self.remaining = finished, remaining


class WorkerDied(NormexpError):
    exit_code = 1


def plan(study, runs, out, force=False):
    todo, done, notes, elsewhere = [], [], [], {}
    for spec in runs:
        state, detail = run_store.run_state(out, spec)
        if state == "done" and not force:
            done.append(spec)
            continue
        if spec.backend() != backends.selected():   # pinned by train.backend
            elsewhere.setdefault(spec.backend(), []).append(spec)
            continue
        if state in ("corrupt", "stale"):
            folder = run_store.run_dir(out, study.name, spec.condition, spec.seed)
            notes.append(f"warning: {folder}: {detail}; it will be retrained")
        todo.append(spec)
    for backend, specs in elsewhere.items():
        variants = ", ".join(dict.fromkeys(spec.variant for spec in specs))
        notes.append(f"note: {len(specs)} runs ({variants}) have train.backend: {backend}; "
                     f"run the same command with KERAS_BACKEND={backend} to train them")
    return Plan(todo, done, notes)


def dry_check(study, runs):
    """Build every distinct model and optimizer once and take one step with them, so
    bad Keras arguments (``norm_args``, optimizer options) fail before any training."""
    from normexp.engine import backend
    from normexp.engine.trainer import build_for_run

    checked = set()
    for spec in runs:
        key = repr((spec.settings.model, spec.settings.train.optimizer))
        if key in checked:
            continue
        checked.add(key)
        try:
            backend.current().try_one_step(*build_for_run(spec))
        # Keras and TensorFlow reject arguments with many exception types (TypeError,
        # ValueError, InvalidArgumentError, AttributeError...); all mean "bad config" here.
        except Exception as error:
            message = one_line_summary(error)
            raise ConfigError(study.source, f"variant {spec.condition} (model.norm_args, "
                              f"model.kernel_initializer or train.optimizer)",
                              f"Keras rejected it: {message}") from None


WORKER_MEMORY = 1.5e9  # bytes; a worker on the article MLP peaks near 1 GB


def choose_jobs(requested, pending):
    """``--jobs`` when given; else one worker per core (1 on a GPU), as many as memory holds."""
    if requested:
        return max(1, min(requested, pending))
    from normexp.engine import backend

    if backend.current().device_name().startswith("GPU"):
        return 1
    memory = model_size.physical_memory()
    by_memory = int(memory // WORKER_MEMORY) or 1 if memory else os.cpu_count() or 1
    return max(1, min(os.cpu_count() or 1, pending, by_memory))


def store_finished(out, spec, result, meta, progress, on_stored):
    """Store one finished run (only the driver does), report it, then run ``on_stored``."""
    run_store.save_run(out, spec, result, meta)
    progress.run_done(spec, result)
    if on_stored is not None:
        on_stored(spec, result)


def execute(plan_, out, jobs, data_dir=None, quiet=False, on_stored=None, vectorize=False):
    """Train ``plan_.todo``, storing each result as it arrives; returns their count.
    ``on_stored(spec, result)`` runs after each result is stored (TensorBoard events);
    ``vectorize`` trains a condition's seeds together (``trainer.train_runs``)."""
    progress = Progress(plan_.todo, quiet=quiet)
    extra = {**run_metadata(), **({"vectorized": True} if vectorize else {})}
    finished = 0

    def store_result(spec, result):
        nonlocal finished
        store_finished(out, spec, result, extra, progress, on_stored)
        finished += 1

    try:
        if jobs == 1:
            run_sequentially(plan_.todo, data_dir, progress, store_result, vectorize)
        else:
            run_in_parallel(plan_.todo, jobs, data_dir, progress, store_result, vectorize)
    except KeyboardInterrupt:
        raise Interrupted(finished, len(plan_.todo) - finished) from None
    return finished


def run_metadata():
    from normexp import __version__
    from normexp.engine import backend

    return {"versions": {**backend.current().versions(), "normexp": __version__}}


def run_sequentially(runs, data_dir, progress, store_result, vectorize=False):
    from normexp.engine.run_groups import train_runs

    def epoch_done(spec, epoch, metrics):
        progress.epoch_done(spec, epoch, metrics)
        interrupts.check()

    for spec, result in train_runs(runs, data_dir, epoch_done, vectorize):
        store_result(spec, result)
        interrupts.check()


def run_in_parallel(runs, jobs, data_dir, progress, store_result, vectorize=False):
    """Workers pull chunks of runs, costliest first; every result is stored the moment
    it arrives. A chunk is a stretch of runs that mostly share compiled programs."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    chunks = costs.scheduled_chunks(runs, jobs)
    workers = min(jobs, len(chunks))
    threads = max(1, (os.cpu_count() or 1) // workers)
    executor = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=worker_start, initargs=(threads, events))
    by_key = {(spec.condition, spec.seed): spec for spec in runs}
    received = 0
    try:
        # The pool hands the next chunk to whichever worker is free, in submission order.
        pending = {executor.submit(worker_train_block, chunk, data_dir, vectorize)
                   for chunk in chunks}
        while pending:
            ready, pending = concurrent.futures.wait(
                pending, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED)
            received += handle_events(events, by_key, progress, store_result)
            interrupts.check()
            for future in ready:
                collect(future)
        while received < len(runs):  # results still in the queue's pipe
            received += handle_events(events, by_key, progress, store_result, wait=10)
    finally:
        stop_workers(executor)


def collect(future):
    try:
        return future.result()
    except concurrent.futures.process.BrokenProcessPool as error:
        raise WorkerDied(f"a training worker process died ({error}); finished runs are "
                         "saved, rerun the same command to continue") from None


def stop_workers(executor):
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


def handle_events(events, by_key, progress, store_result, wait=0):
    """Process queued epoch and result events; returns how many results were stored."""
    stored = 0
    while True:
        try:
            kind, condition, seed, payload = events.get(timeout=wait) if wait else events.get_nowait()
        except queue.Empty:
            if wait:
                raise WorkerDied("a worker finished without sending all its results; finished "
                                 "runs are saved, rerun the same command to continue") from None
            return stored
        spec = by_key[(condition, seed)]
        if kind == "epoch":
            progress.epoch_done(spec, *payload)
        else:
            store_result(spec, payload)
            stored += 1
            if wait:
                return stored


_events = None
_parent = None


def worker_start(threads, events):
    global _events, _parent
    # Ctrl-C reaches the whole process group; only the parent decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from normexp.engine import backend

    backend.current().configure_threads(threads)
    _events, _parent = events, os.getppid()


def worker_train_block(block, data_dir, vectorize=False):
    from normexp.engine.run_groups import train_runs

    def report_epoch(spec, epoch, metrics):
        if os.getppid() != _parent:  # the parent was killed: nobody will store our results
            os._exit(1)
        _events.put(("epoch", spec.condition, spec.seed, (epoch, metrics)))

    for spec, result in train_runs(block, data_dir, report_epoch, vectorize):
        _events.put(("result", spec.condition, spec.seed, result))
