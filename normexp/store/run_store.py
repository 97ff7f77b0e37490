"""The run store: plain JSON files, one folder per run, written atomically.

Layout (folder names come only from ``run_dir``)::

    <out>/<study>/study.json                       what the report needs of the config
    <out>/<study>/runs/<condition>/seed_<k>/config.json   resolved config of the run
                                            history.json  per-epoch metrics
                                            meta.json     status, fingerprint, versions…

``meta.json`` is written last: a run is complete exactly when its
``meta.json`` and ``history.json`` parse, agree, and the fingerprint matches
the config. Anything else is treated as not done (and retrained).
"""

import contextlib
import dataclasses
import fcntl
import json
import math
import os
from pathlib import Path

from normexp.errors import StoreError, StudyBusyError
from normexp.metrics import HISTORY_KEYS
from normexp.store import atomic

STATUSES = ("complete", "diverged")


def study_dir(out, study_name):
    return Path(out) / study_name


def run_dir(out, study_name, condition, seed):
    return study_dir(out, study_name) / "runs" / condition / f"seed_{seed}"


def write_json_atomic(path, data):
    """Write JSON atomically; non-finite floats become null."""
    text = json.dumps(finite_only(data), indent=1, sort_keys=True, allow_nan=False)
    atomic.write(path, text + "\n", advice="records written before are untouched")


def finite_only(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite_only(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_only(item) for item in value]
    return value


def prepare(out, study_name):
    """Create the study folder or say why it cannot be used, before any training."""
    folder = study_dir(out, study_name)
    for parent in [*reversed(folder.parents), folder, folder / "runs"]:
        if parent.exists() and not parent.is_dir():
            raise StoreError(f"{parent} is a file, but normexp needs a folder there; "
                             f"move it or choose another --out")
    try:
        (folder / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create {folder}: {error.strerror}; choose a writable "
                         f"--out") from error
    if not os.access(folder, os.W_OK):
        raise StoreError(f"{folder} is not writable; choose a writable --out")
    return folder


def write_study(out, study_record):
    """``study.json``: the runs the report expects; write it while holding the lock."""
    write_json_atomic(study_dir(out, study_record["name"]) / "study.json", study_record)


@contextlib.contextmanager
def lock_study(out, study_name):
    """Hold an exclusive lock on the study; the OS drops it if the process dies."""
    path = study_dir(out, study_name) / ".lock"
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StudyBusyError(f"another normexp process (pid {holder}) is running study "
                             f"{study_name!r} in {Path(out)}; wait for it to finish or stop "
                             f"it (its finished runs are kept), then rerun") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def save_run(out, spec, result, extra_meta):
    """Write one run's record; ``meta.json`` goes last and marks it complete."""
    folder = run_dir(out, spec.study, spec.condition, spec.seed)
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (folder / "meta.json").unlink()  # the old marker must not vouch for new files
    write_json_atomic(folder / "config.json", spec.resolved())
    write_json_atomic(folder / "history.json", result.history)
    meta = {key: value for key, value in dataclasses.asdict(result).items() if key != "history"}
    meta.update(extra_meta, fingerprint=spec.fingerprint(), seed=spec.seed,
                condition=spec.condition, variant=spec.variant)
    write_json_atomic(folder / "meta.json", meta)
    return folder


class CorruptRecord(Exception):
    """A run folder exists but is not a valid complete record."""


def read_record(folder):
    """``{"config", "history", "meta"}`` of a complete run, or raise ``CorruptRecord``."""
    folder = Path(folder)
    if not (folder / "meta.json").exists():
        raise CorruptRecord("unfinished (no meta.json)")
    record = {name: read_json(folder / f"{name}.json") for name in ("meta", "history", "config")}
    meta, history = record["meta"], record["history"]
    if meta.get("status") not in STATUSES or not isinstance(meta.get("fingerprint"), str):
        raise CorruptRecord("meta.json lacks a valid status or fingerprint")
    lengths = {len(history.get(key) or []) if isinstance(history, dict) else -1
               for key in HISTORY_KEYS}
    if len(lengths) != 1 or lengths.pop() < 1:
        raise CorruptRecord("history.json lacks per-epoch lists of equal length")
    return record


def read_json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptRecord(f"{Path(path).name} is missing") from None
    except (OSError, ValueError) as error:
        raise CorruptRecord(f"{Path(path).name} is unreadable ({error})") from None


def run_state(out, spec):
    """``("done", record)``, ``("missing", None)`` or ``("stale"|"corrupt", reason)``."""
    folder = run_dir(out, spec.study, spec.condition, spec.seed)
    if not folder.exists():
        return "missing", None
    try:
        record = read_record(folder)
    except CorruptRecord as reason:
        return "corrupt", str(reason)
    if record["meta"]["fingerprint"] != spec.fingerprint():
        return "stale", "its config differs from the current one"
    return "done", record


def load_expected(out, study_record):
    """Records of the runs ``study.json`` lists: ``(records, missing, broken)``.

    A record whose fingerprint differs (an older config) counts as missing.
    """
    records, missing, broken = [], [], []
    for run in study_record["runs"]:
        folder = run_dir(out, study_record["name"], run["condition"], run["seed"])
        try:
            record = read_record(folder)
        except CorruptRecord as reason:
            (missing if not folder.exists() or "no meta.json" in str(reason) else broken).append(
                (folder, str(reason)))
            continue
        if record["meta"]["fingerprint"] == run["fingerprint"]:
            records.append(record)
        else:
            missing.append((folder, "recorded with a different config"))
    return records, missing, broken
