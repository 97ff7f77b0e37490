"""TensorBoard event files for every stored run, written from the stored history.

The process that stores a run also writes its events, so training pays nothing
and there is one writer. Each run has one event file under
``<out>/<study>/tensorboard/<condition>/seed_<k>/``, written to a temporary
file, renamed, and then the run's older event file is deleted: a retrained run
replaces its events (no duplicate scalars).
It holds the per-epoch scalars (``accuracy/train``, ``accuracy/validation``,
``loss/...``, ``epoch_seconds``; ``.../test`` once when the test set is held
out) and the HParams plugin's session record (variant, norm, placement, batch
size, optimizer, sweep point, seed), so ``tensorboard --logdir <out>/<study>``
compares every run and its Parallel Coordinates view shows norm × batch size →
accuracy. Only TensorBoard's protobufs are used: no TensorFlow in the driver.
"""

import contextlib
import io
import time

from normexp.errors import StoreError
from normexp.store import atomic, run_store

EVENT_PATTERN = "events.out.tfevents.*"
SCALARS = {"accuracy": "accuracy/train", "val_accuracy": "accuracy/validation",
           "loss": "loss/train", "val_loss": "loss/validation", "seconds": "epoch_seconds",
           "learning_rate": "learning_rate"}   # the last only in runs that record it


def log_root(out, study_name):
    return run_store.study_dir(out, study_name) / "tensorboard"


def log_dir(out, spec):
    """The run's folder names come from the store's one helper."""
    runs = run_store.study_dir(out, spec.study) / "runs"
    return log_root(out, spec.study) / run_store.run_dir(
        out, spec.study, spec.condition, spec.seed).relative_to(runs)


def prepare(out, study_name):
    """Create the log folder or say, before any training, why it cannot be used."""
    root = log_root(out, study_name)
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise StoreError(f"TensorBoard log folder {root} is not writable "
                         f"({error.strerror or error}); fix it, or set report.tensorboard: "
                         f"false in the config") from None
    return root


def write_run(out, spec, history, status="complete", test=None):
    """(Re)write the run's event file from its history; returns its path."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    folder = log_dir(out, spec)
    # A new name each time, then the old files go: a running TensorBoard reads the new file
    # from its start (a file replaced under the same name would be read from the old offset).
    path = folder / f"events.out.tfevents.{time.time_ns()}.normexp"
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    for event in run_events(spec, history, status, test, event_pb2):
        writer.write(event.SerializeToString())
    advice = "the run itself is stored (set report.tensorboard: false to skip events)"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"could not write TensorBoard events {path}: "
                         f"{error.strerror or error}{atomic.disk_hint(error)}; {advice}") from None
    # No 'tfevents' in the temporary name: TensorBoard skips the file until it is renamed.
    atomic.write(path, buffer.getvalue(), temporary_prefix=".events.", advice=advice)
    for older in folder.glob(EVENT_PATTERN):
        if older != path:
            with contextlib.suppress(FileNotFoundError):
                older.unlink()
    return path


def run_events(spec, history, status, test, event_pb2):
    """The file-version event, per-epoch scalars, test scalars, HParams start and end."""
    from tensorboard.compat.proto import summary_pb2

    started = time.time() - sum(value or 0.0 for value in history["seconds"])
    yield event_pb2.Event(wall_time=started, file_version="brain.Event:2")
    yield event_pb2.Event(wall_time=started, step=0, summary=session_start(spec, started))
    clock = started
    for index, epoch in enumerate(history["epoch"]):
        clock += history["seconds"][index] or 0.0
        values = [summary_pb2.Summary.Value(tag=tag, simple_value=as_float(history[key][index]))
                  for key, tag in SCALARS.items() if key in history]
        yield event_pb2.Event(wall_time=clock, step=epoch,
                              summary=summary_pb2.Summary(value=values))
    last = history["epoch"][-1] if history["epoch"] else 0
    if test:
        values = [summary_pb2.Summary.Value(tag=f"{key}/test", simple_value=as_float(test[key]))
                  for key in ("accuracy", "loss")]
        yield event_pb2.Event(wall_time=clock, step=last, summary=summary_pb2.Summary(value=values))
    yield event_pb2.Event(wall_time=clock, step=last, summary=session_end(status, clock))


def as_float(value):
    return float("nan") if value is None else float(value)  # the store writes NaN as null


SHOWN_FIELDS = {"train.batch_size", "train.epochs", "model.family", "model.norm",
                "model.placement", "model.hidden", "model.filters",
                "model.units", "model.width", "model.depth"}  # always shown, by short name


def hparams(spec):
    """What the HParams table and Parallel Coordinates show for one run."""
    settings, model = spec.settings, spec.settings.model
    optimizer = dict(settings.train.optimizer)
    widths = model.width_field()  # hidden (MLP), filters (CNN), units (RNN), width
    width = getattr(model, widths)
    values = {"variant": spec.variant, "family": model.family, "norm": model.norm,
              "placement": model.placement, "batch_size": settings.train.batch_size,
              "optimizer": str(optimizer.get("name")), "epochs": settings.train.epochs,
              widths: "-".join(map(str, width)) if isinstance(width, tuple) else width,
              "seed": spec.seed}
    if hasattr(model, "depth"):
        values["depth"] = model.depth
    rate = optimizer.get("learning_rate")
    if isinstance(rate, (int, float)) and not isinstance(rate, bool):
        values["learning_rate"] = float(rate)
    for key, value in spec.point:  # the rest of the sweep point, under its dotted key
        if key not in SHOWN_FIELDS:
            values[key] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return values


def session_start(spec, started):
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    info = plugin_data_pb2.SessionStartInfo(start_time_secs=started)
    for name, value in hparams(spec).items():
        if isinstance(value, bool):
            info.hparams[name].bool_value = value
        elif isinstance(value, (int, float)):
            info.hparams[name].number_value = value
        else:
            info.hparams[name].string_value = value
    return hparams_summary(metadata.SESSION_START_INFO_TAG,
                           plugin_data_pb2.HParamsPluginData(session_start_info=info))


def session_end(status, ended):
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    code = api_pb2.STATUS_SUCCESS if status == "complete" else api_pb2.STATUS_FAILURE
    info = plugin_data_pb2.SessionEndInfo(status=code, end_time_secs=ended)
    return hparams_summary(metadata.SESSION_END_INFO_TAG,
                           plugin_data_pb2.HParamsPluginData(session_end_info=info))


def hparams_summary(tag, plugin_data):
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import metadata

    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag=tag, metadata=metadata.create_summary_metadata(plugin_data))])


def backfill(out, specs):
    """Write events for stored runs that have none or older ones than their record
    (a study run before TensorBoard was switched on); returns how many were written."""
    written = 0
    for spec in specs:
        record_folder = run_store.run_dir(out, spec.study, spec.condition, spec.seed)
        events = [path.stat().st_mtime_ns for path in log_dir(out, spec).glob(EVENT_PATTERN)]
        try:
            if events and max(events) >= (record_folder / "meta.json").stat().st_mtime_ns:
                continue
        except FileNotFoundError:
            pass  # the record vanished: read_record says so below
        try:
            record = run_store.read_record(record_folder)
        except run_store.CorruptRecord:
            continue
        write_run(out, spec, record["history"], record["meta"]["status"],
                  record["meta"].get("test"))
        written += 1
    return written


def writer_for(out):
    """The ``on_stored(spec, result)`` callback the runners call after each stored run."""
    def on_stored(spec, result):
        write_run(out, spec, result.history, result.status, result.test)
    return on_stored

