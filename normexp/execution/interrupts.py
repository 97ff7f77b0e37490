"""Ctrl-C and SIGTERM that cannot be lost.

Python runs a signal handler between bytecodes, wherever the main thread happens to be.
When that is a garbage-collector callback (JAX registers one, and Keras imports JAX when it
is installed) or a ``__del__``, the ``KeyboardInterrupt`` the handler raises is printed as
"Exception ignored in ..." and dropped, and the study would train on. So the handler also
records the request, and the runner calls :func:`check` after every event it handles: an
interrupt is acted on at the latest one epoch later. The dropped exception's "Exception
ignored" traceback is not printed: the stop it announces is still coming.
"""

import signal
import sys

_requested = False


def stop_requested(signum, frame):
    global _requested
    _requested = True
    raise KeyboardInterrupt


def install():
    """Route SIGINT and SIGTERM through :func:`stop_requested` (main thread only)."""
    global _requested
    _requested = False
    signal.signal(signal.SIGINT, stop_requested)
    signal.signal(signal.SIGTERM, stop_requested)
    sys.unraisablehook = quiet_when_requested(sys.unraisablehook)


def quiet_when_requested(hook):
    """``hook``, except that a dropped ``KeyboardInterrupt`` of a requested stop is silent."""
    def unraisable(record):
        if not (_requested and isinstance(record.exc_value, KeyboardInterrupt)):
            hook(record)
    return unraisable


def check():
    """Raise ``KeyboardInterrupt`` if a stop was requested, even one that was swallowed."""
    if _requested:
        raise KeyboardInterrupt
