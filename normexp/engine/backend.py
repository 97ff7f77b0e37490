"""The engine's backend module for this process: ``tensorflow_backend`` or ``jax_backend``.

Both offer the same functions: ``configure_threads``, ``enable_determinism``,
``device_name``, ``versions``, ``compiled_epochs`` (the fast engine's compiled epochs),
``try_one_step`` and ``clear_compiled_cache``. The trainer and the runner reach them
through ``current()``; only those two modules import TensorFlow or JAX.
"""

import importlib

from normexp import backends
from normexp.errors import BackendError


def current():
    """The selected backend's module; ``BackendError`` (one line) when it cannot run."""
    problem = backends.problem()
    if problem:
        raise BackendError(problem)
    return importlib.import_module(f"normexp.engine.{backends.selected()}_backend")


def name():
    return backends.selected()
