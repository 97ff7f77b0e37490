"""Silence C++ libraries (TensorFlow, Ray) that write to file descriptor 2 directly.

Their start-up logs bypass Python's ``sys.stderr`` and logging levels, so the only way
to keep them off the console is to point the descriptor itself at /dev/null.
"""

import contextlib
import os


@contextlib.contextmanager
def silenced(enabled=True):
    """While inside, fd 2 goes to /dev/null; yields a duplicate of the real stderr's fd
    (for a last word to the user), or 2 when ``enabled`` is false. Python exceptions still
    surface: they are raised after the descriptor is restored."""
    if not enabled:
        yield 2
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield saved
    finally:
        os.dup2(saved, 2)
        os.close(saved)
