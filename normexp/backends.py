"""Which Keras backend this process trains with: TensorFlow (the default) or JAX.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so the choice is
made here, before that, and every process (workers inherit the environment)
sees the same. Unset, it is TensorFlow when TensorFlow is installed, else JAX
when JAX is: a machine with only JAX (a GPU set up from
``requirements-jax-gpu.txt``) needs no flag. No backend is imported here.
"""

import importlib.util
import os

SUPPORTED = ("tensorflow", "jax")
INSTALL = {"tensorflow": "pip install -r requirements.txt",
           "jax": "pip install -r requirements-jax.txt (CPU) or requirements-jax-gpu.txt (CUDA)"}


def installed(package):
    return importlib.util.find_spec(package) is not None


def selected():
    """The backend name, choosing (and exporting) one when ``KERAS_BACKEND`` is unset."""
    name = os.environ.get("KERAS_BACKEND")
    if not name:
        name = "jax" if installed("jax") and not installed("tensorflow") else "tensorflow"
        os.environ["KERAS_BACKEND"] = name
    return name


def problem():
    """Why the selected backend cannot run here (one line), or None."""
    name = selected()
    if name not in SUPPORTED:
        return (f"KERAS_BACKEND={name!r} is not supported; normexp trains with: "
                f"{', '.join(SUPPORTED)} (unset it for TensorFlow)")
    if not installed(name):
        return f"KERAS_BACKEND={name} but {name} is not installed: {INSTALL[name]}"
    return None


def vectorize_problem():
    """Why ``--vectorize`` (all seeds of a condition as one JAX program) cannot run, or None."""
    if selected() != "jax":
        return (f"--vectorize trains all seeds of a condition in one JAX program; it needs "
                f"KERAS_BACKEND=jax (now {selected()!r})")
    return None
