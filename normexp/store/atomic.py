"""Atomic file writes, the one home for them: temp file, fsync, rename.

Every file normexp stores (run records, study.json, reports, CSVs, figures,
TensorBoard events) goes through ``write``. A reader therefore sees the old
file or the new one, never half of one, and a full disk leaves the old file in
place and raises one ``StoreError`` line. Files get the permissions the user's
umask gives a new file (``mkstemp`` alone would make them 0600, unreadable to
a colleague or a web server on a shared machine).
"""

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from normexp.errors import StoreError


def write(path, data, *, temporary_prefix=None, advice="files written before are untouched"):
    """Write ``data`` (str or bytes) to ``path`` atomically; ``StoreError`` on failure.

    ``temporary_prefix`` names the temp file (default ``.<name>.``); ``advice`` ends the
    error line.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp",
                                             prefix=temporary_prefix or f".{path.name}.")
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise StoreError(f"could not write {path}: {error.strerror or error}"
                         f"{disk_hint(error)}; {advice}") from None


def disk_hint(error):
    """The words to add when an ``OSError`` means the disk is full."""
    return " (the disk is full: free some space and rerun)" if error.errno == errno.ENOSPC else ""


def current_umask():
    """The process's umask, read without changing it where Linux shows it (changing it,
    the only portable way to read it, would race with threads creating files)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status", encoding="ascii") as status:
            return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
