"""The run store: plain JSON files, one folder per run, written atomically.

Layout (folder names come only from ``run_dir``)::

    <out>/<study>/study.json                       what the report needs of the config
    <out>/<study>/runs/<condition>/seed_<k>/config.json   resolved config of the run
                                            history.json  per-epoch metrics
                                            predictions.json  validation examples it got wrong
                                            meta.json     status, fingerprint, versions…

``meta.json`` is written last: a run is complete exactly when its
``meta.json`` and ``history.json`` parse, agree, and the fingerprint matches
the config. Anything else is treated as not done (and retrained).
``predictions.json`` is optional (diverged runs and runs stored before it
existed have none); the report uses it when present.
"""

import base64
import contextlib
import dataclasses
import errno
import fcntl
import json
import math
import os
from pathlib import Path

import numpy as np

from normexp.errors import StoreError, StudyBusyError
from normexp.metrics import HISTORY_KEYS
from normexp.store import atomic

STATUSES = ("complete", "diverged")
PREDICTIONS = "predictions.json"
# The interleaved timing benchmark's record (written by execution.norm_cost, read by
# report.timing_claims): one JSON per benchmark folder, of this format.
TIMING_RECORD, TIMING_FORMAT = "timing.json", 1


def files_below(folder, name):
    """``folder/name`` and the files so named one and two levels below, sorted per level:
    where the claims page finds a store's ``study.json`` or a ``timing.json``."""
    folder = Path(folder)
    return [*sorted(folder.glob(name)), *sorted(folder.glob(f"*/{name}")),
            *sorted(folder.glob(f"*/*/{name}"))]


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
    try:
        handle = open(path, "a+", encoding="utf-8")
    except OSError as error:
        raise StoreError(f"cannot create {path}: {error.strerror}"
                         f"{atomic.disk_hint(error)}") from None
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
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        except OSError as error:  # a full disk: the lock is held all the same
            if error.errno != errno.ENOSPC:
                raise StoreError(f"cannot write {path}: {error.strerror}") from None
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def save_run(out, spec, result, extra_meta):
    """Write one run's record; ``meta.json`` goes last and marks it complete."""
    folder = run_dir(out, spec.study, spec.condition, spec.seed)
    folder.mkdir(parents=True, exist_ok=True)
    for old in ("meta.json", PREDICTIONS):  # the old marker must not vouch for new files,
        with contextlib.suppress(FileNotFoundError):  # nor old predictions for a new run
            (folder / old).unlink()
    write_json_atomic(folder / "config.json", spec.resolved())
    write_json_atomic(folder / "history.json", result.history)
    wrong = getattr(result, "misclassified", None)
    if wrong is not None:
        write_predictions(folder, spec, wrong)
    meta = {key: value for key, value in dataclasses.asdict(result).items()
            if key not in ("history", "misclassified")}
    meta.update(extra_meta, fingerprint=spec.fingerprint(), seed=spec.seed,
                condition=spec.condition, variant=spec.variant)
    write_json_atomic(folder / "meta.json", meta)
    return folder


def validation_key(dataset, validation):
    """Names one validation set (``mnist__test``, ``mnist__0.1``): the runs that share it
    share its images in ``misclassified_images.npz``."""
    return f"{dataset}__{validation}"


def write_predictions(folder, spec, wrong):
    """``predictions.json``: which validation examples the run got wrong, as a bitmask (bit
    i, little-endian bit order, base64) and its label for each, one digit each in index
    order; 1.3 kB plus a byte per error for 10,000 examples, where a JSON list of indices
    took 70 kB for a run that collapses to chance."""
    data = spec.settings.data
    mask = np.zeros(wrong.count, dtype=bool)
    mask[list(wrong.index)] = True
    record = {"split": "validation", "dataset": data.dataset, "validation": data.validation,
              "images": validation_key(data.dataset, data.validation), "count": wrong.count,
              "wrong": base64.b64encode(np.packbits(mask, bitorder="little")).decode("ascii"),
              "predicted": "".join(map(str, wrong.predicted))}
    atomic.write(folder / PREDICTIONS, json.dumps(record, separators=(",", ":")) + "\n",
                 advice="records written before are untouched")


def read_predictions(folder):
    """The run's ``predictions.json`` with ``wrong_index`` and ``wrong_predicted`` as lists,
    or None when absent or malformed: the file is optional, so a bad one costs the report
    its images, not the run its record."""
    try:
        record = json.loads((Path(folder) / PREDICTIONS).read_text(encoding="utf-8"))
        if isinstance(record, dict) and "wrong" in record:
            record.update(decoded_predictions(record))
    except (OSError, ValueError, TypeError):
        return None
    return record if valid_predictions(record) else None


def decoded_predictions(record):
    """``wrong_index`` and ``wrong_predicted`` from the bitmask and the digit string."""
    bits = np.frombuffer(base64.b64decode(record["wrong"], validate=True), dtype=np.uint8)
    mask = np.unpackbits(bits, bitorder="little")
    if mask[record["count"]:].any() or len(mask) < record["count"]:
        raise ValueError("bitmask does not fit the count")
    return {"wrong_index": np.flatnonzero(mask).tolist(),
            "wrong_predicted": [int(digit) for digit in record["predicted"]]}


def valid_predictions(record):
    """What the report relies on: ascending indices below ``count``, one label each."""
    if not isinstance(record, dict) or not isinstance(record.get("images"), str):
        return False
    count, index, predicted = (record.get(key) for key in ("count", "wrong_index",
                                                           "wrong_predicted"))
    if not (type(count) is int and isinstance(index, list) and isinstance(predicted, list)
            and len(index) == len(predicted) <= count):
        return False
    integers = all(type(value) is int and value >= 0 for value in index + predicted)
    return integers and all(earlier < later for earlier, later in zip(index, index[1:])) and (
        not index or index[-1] < count)


class CorruptRecord(Exception):
    """A run folder exists but is not a valid complete record."""


def read_record(folder):
    """``{"config", "history", "meta"}`` of a complete run, plus ``"predictions"`` when it
    has a valid ``predictions.json``; or raise ``CorruptRecord``."""
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
    predictions = read_predictions(folder)
    if predictions is not None:
        record["predictions"] = predictions
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
