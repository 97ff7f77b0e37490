"""``--executor ray``: every run is one Ray task; this process plans, waits and stores.

The driver keeps the local executor's guarantees: it alone writes the store, it
stores each result the moment it arrives, Ctrl-C keeps every finished run, and
a rerun trains only what is missing. Workers need Python and the packages of
requirements.txt, nothing else: normexp's code is shipped with the job
(``py_modules``) and the data travels once per node through Ray's object
store, so no worker needs ``NORMEXP_DATA_DIR``.

Ray's own behaviour this relies on (checked with small experiments first):
``ray.init`` on an address where nothing answers retries for minutes, so the
address is probed with a plain TCP connection and ``ray.init`` runs under a
watchdog; a task whose node dies is retried on another node (``max_retries``);
numpy arrays passed through the object store arrive as read-only zero-copy views.
"""

import contextlib
import logging
import os
import re
import socket
import threading
from pathlib import Path

from normexp.data import datasets
from normexp.execution import runner
from normexp import backends, native_stderr
from normexp.errors import NormexpError, one_line_summary
from normexp.execution import interrupts
from normexp.execution.progress import Progress

CPUS_PER_RUN = 1        # 1-thread runs use a core best (docs/performance.md)
TASK_RETRIES = 3        # attempts after a worker or node dies; a Python error is not retried
PROBE_SECONDS = 5       # TCP probe of --address
# ray.init on an address that accepts connections but never completes (not a Ray head)
CONNECT_SECONDS = float(os.environ.get("NORMEXP_RAY_CONNECT_SECONDS", 60))
ADDRESS_PATTERN = re.compile(r"^(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})$")
EXECUTORS = ("local", "ray")


class ExecutorError(NormexpError):
    """--executor / --address cannot be used (exit 2, nothing trained or lost)."""


def check_executor(executor, address):
    """Validate the options before anything else happens; probe the address."""
    if executor not in EXECUTORS:
        raise ExecutorError(f"--executor: unknown executor {executor!r}; valid: "
                            f"{', '.join(EXECUTORS)}")
    if address is not None and executor != "ray":
        raise ExecutorError("--address: only used with --executor ray")
    if executor == "ray":
        import_ray()
        if address is not None:
            probe(*parse_address(address), address)


def parse_address(address):
    """``(host, port)`` of a ``HOST:PORT`` head-node address."""
    match = ADDRESS_PATTERN.match(address.strip())
    port = int(match["port"]) if match else 0
    if not match or not 0 < port < 65536:
        raise ExecutorError(f"--address: expected HOST:PORT of a Ray head node, as printed by "
                           f"`ray start --head` (e.g. 10.0.0.5:6379), got {address!r}")
    return match["host"].strip("[]"), port


def probe(host, port, address):
    try:
        socket.create_connection((host, port), timeout=PROBE_SECONDS).close()
    except OSError as error:
        reason = "timed out" if isinstance(error, socket.timeout) else (
            error.strerror or type(error).__name__)
        raise ExecutorError(f"--address {address}: no Ray head node answers ({reason}, waited "
                           f"up to {PROBE_SECONDS} s); start one with `ray start --head "
                           f"--port={port}` or check the address") from None


def import_ray():
    try:
        import ray
    except ImportError as error:
        raise ExecutorError(f"--executor ray needs the 'ray' package ({error}); install it with "
                           f"pip install -r requirements.txt") from None
    return ray


@contextlib.contextmanager
def connected(address, local_cpus):
    """A Ray session: the cluster at ``address``, or a new local runtime."""
    ray = import_ray()
    options = dict(log_to_driver=False, logging_level=logging.WARNING,
                   runtime_env={"py_modules": [str(Path(__file__).resolve().parent)],
                                # workers train on the backend the driver fingerprints
                                "env_vars": {"KERAS_BACKEND": backends.selected()}})
    if address is None:
        options.update(num_cpus=local_cpus, include_dashboard=False)
    # Ray's C++ core logs every connection attempt (and a notice about token
    # authentication) straight to file descriptor 2.
    with native_stderr.silenced() as stderr:
        watchdog = threading.Timer(CONNECT_SECONDS, give_up, (address, stderr))
        watchdog.daemon = True
        watchdog.start()
        try:
            ray.init(address=address, **options)
        except Exception as error:  # Ray raises several types (version mismatch, auth, …)
            message = one_line_summary(error)
            where = f"--address {address}" if address else "--executor ray (a local runtime)"
            raise ExecutorError(f"{where}: Ray could not start or connect: {message}") from None
        finally:
            watchdog.cancel()
    try:
        yield ray
    finally:
        ray.shutdown()


def give_up(address, stderr):
    """ray.init hangs when something answers that is not a Ray head node."""
    os.write(stderr, f"normexp: error: --address {address}: no Ray cluster answered within "
                     f"{CONNECT_SECONDS:g} s; check the address (nothing was trained or "
                     f"lost)\n".encode())
    os._exit(2)


def cluster_cpus(ray):
    return int(ray.cluster_resources().get("CPU", 0))


def cluster_gpus(ray):
    return int(ray.cluster_resources().get("GPU", 0))


def execute(plan_, out, ray, data_dir=None, quiet=False, on_stored=None, vectorize=False):
    """Train ``plan_.todo`` as Ray tasks, storing each result as it arrives. With
    ``vectorize`` (JAX), the seeds of a condition are one task, on one GPU if the cluster
    has any."""
    from normexp.engine.run_groups import seed_groups

    progress = Progress(plan_.todo, quiet=quiet)
    remote = ray.remote(max_retries=TASK_RETRIES, **task_resources(ray, vectorize))(train_task)
    shared = share_data(ray, plan_.todo, data_dir)
    groups = seed_groups(plan_.todo) if vectorize else ([spec] for spec in plan_.todo)
    pending = {remote.remote(specs, shared[data_key(specs[0])], CPUS_PER_RUN, vectorize): specs
               for specs in groups}
    finished, failures = 0, []
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for reference in ready:
                specs = pending.pop(reference)
                try:
                    results, worker_meta = ray.get(reference)
                except ray.exceptions.RayError as error:
                    failures.extend((spec, error) for spec in specs)
                    continue
                for spec, result in zip(specs, results):
                    replay_epochs(spec, result, progress)
                    runner.store_finished(out, spec, result, worker_meta, progress, on_stored)
                    finished += 1
            interrupts.check()
    except KeyboardInterrupt:
        cancel(ray, pending)
        raise runner.Interrupted(finished, len(plan_.todo) - finished) from None
    if failures:
        raise failed_runs(failures)
    return finished


def task_resources(ray, vectorize):
    """One core per run; a vectorized condition asks for one GPU where the cluster has one
    (a task asking for a GPU that no node has would wait forever)."""
    if vectorize and cluster_gpus(ray) >= 1:
        return {"num_cpus": CPUS_PER_RUN, "num_gpus": 1}
    return {"num_cpus": CPUS_PER_RUN}


def replay_epochs(spec, result, progress):
    """A Ray result arrives whole: show its epochs as local progress would have."""
    for index, epoch in enumerate(result.history["epoch"]):
        progress.epoch_done(spec, epoch, {key: result.history[key][index]
                                          for key in ("accuracy", "val_accuracy")})


def data_key(spec):
    return spec.settings.data.dataset, spec.settings.data.validation


def share_data(ray, runs, data_dir):
    """One object-store copy of each dataset the runs use, loaded here, once."""
    shared = {}
    for spec in runs:
        key = data_key(spec)
        if key not in shared:
            data = spec.settings.data
            shared[key] = ray.put(datasets.load(data.dataset, data.validation,
                                                data_dir or data.dir))
    return shared


def cancel(ray, pending):
    for reference in pending:
        with contextlib.suppress(Exception):  # already finished or its node is gone
            ray.cancel(reference, force=True)


def failed_runs(failures):
    spec, error = failures[0]
    first = one_line_summary(error)
    return runner.WorkerDied(f"{len(failures)} run(s) failed on the Ray cluster (first: "
                             f"{spec.condition} seed {spec.seed}: {first}); finished runs are "
                             f"saved, rerun the same command to retry the rest")


_configured = False


def train_task(specs, splits, threads, vectorize=False):
    """Body of one Ray task: train ``specs`` (one run, or a condition's seeds together) on
    ``splits`` (from the object store); their results in order, and the worker's metadata."""
    global _configured
    from normexp import __version__
    from normexp.engine import backend
    from normexp.engine.run_groups import train_runs

    if not _configured:  # TensorFlow's thread pools are fixed by the first op
        backend.current().configure_threads(threads)
        _configured = True
    data = specs[0].settings.data
    datasets.provide(data.dataset, data.validation, splits)
    results = [result for _, result in train_runs(specs, vectorize=vectorize)]
    worker_meta = {"versions": {**backend.current().versions(), "normexp": __version__},
                   "executor": "ray", "host": socket.gethostname(),
                   **({"vectorized": True} if vectorize else {})}
    return results, worker_meta
