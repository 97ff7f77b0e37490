"""User-facing errors: each becomes one line on stderr and exit code 2 (bad input), or the
class's own ``exit_code`` (1: the run failed, not the input)."""


class NormexpError(Exception):
    """An error the user can fix; ``str(error)`` is the whole message."""

    exit_code = 2


class ConfigError(NormexpError):
    """A config file (or a CLI override) holds something not allowed.

    Formats as ``<file>: <field>: <problem>`` so the user knows where to look.
    """

    def __init__(self, source, field, problem):
        self.source = str(source)
        self.field = field
        self.problem = problem
        location = f"{self.source}: {field}" if field else self.source
        super().__init__(f"{location}: {problem}")


class DataError(NormexpError):
    """A dataset file is missing, truncated or not what it claims to be."""


class StoreError(NormexpError):
    """The results folder cannot be used (not writable, disk full, locked)."""


class StudyBusyError(StoreError):
    """Another process holds the study's lock."""


def one_line_summary(error, limit=300):
    """A library's error message (often several lines, sometimes pages) as one short line."""
    return " ".join(str(error).split())[:limit]


class BackendError(NormexpError):
    """The Keras backend asked for (``KERAS_BACKEND``) is unsupported or not installed."""


class DeviceMemoryError(NormexpError):
    """One run does not fit the device's memory even trained alone."""

    exit_code = 1


def out_of_memory(error):
    """Whether ``error`` is a device running out of memory: XLA's RESOURCE_EXHAUSTED (its
    exception class moves between jax versions) or TensorFlow's ResourceExhaustedError."""
    return ("RESOURCE_EXHAUSTED" in str(error)
            or type(error).__name__ == "ResourceExhaustedError")
