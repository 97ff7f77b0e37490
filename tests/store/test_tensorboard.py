"""TensorBoard event files, read back with TensorBoard's own reader."""

import copy
import json

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata

from normexp import cli
from normexp.store import tensorboard_log
from normexp.config.study import load_study
from tests.conftest import TINY_STUDY, write_config, write_tiny_mnist

TAGS = {"accuracy/train": "accuracy", "accuracy/validation": "val_accuracy",
        "loss/train": "loss", "loss/validation": "val_loss", "epoch_seconds": "seconds",
        "learning_rate": "learning_rate"}


def read_events(folder):
    files = list(folder.glob("*tfevents*"))
    assert len(files) == 1, files
    reader = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    reader.Reload()
    return reader


def session_start(reader):
    content = reader.PluginTagToContent(metadata.PLUGIN_NAME)
    assert metadata.SESSION_END_INFO_TAG in content
    info = metadata.parse_session_start_info_plugin_data(
        content[metadata.SESSION_START_INFO_TAG])
    return {name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
            for name, value in info.hparams.items()}


def assert_events_equal_history(out, spec):
    run = out / spec.study / "runs" / spec.condition / f"seed_{spec.seed}"
    history = json.loads((run / "history.json").read_text())
    reader = read_events(tensorboard_log.log_dir(out, spec))
    for tag, key in TAGS.items():
        events = reader.Scalars(tag)
        assert [event.step for event in events] == history["epoch"]
        # TensorBoard stores scalars as float32: equal after that rounding, exactly.
        assert [event.value for event in events] == [float(np.float32(value))
                                                     for value in history[key]]
    hparams = session_start(reader)
    assert hparams["variant"] == spec.variant and hparams["seed"] == spec.seed
    assert hparams["norm"] == spec.settings.model.norm
    assert hparams["placement"] == spec.settings.model.placement
    assert hparams["batch_size"] == spec.settings.train.batch_size


@pytest.fixture(scope="module")
def trained_without_events(tmp_path_factory):
    """TINY_STUDY trained once with TensorBoard switched off."""
    root = tmp_path_factory.mktemp("tensorboard")
    data = write_tiny_mnist(root / "data")
    study = copy.deepcopy(TINY_STUDY)
    study["report"]["tensorboard"] = False
    off = write_config(root, study, "off.yaml")
    study["report"]["tensorboard"] = True
    on = write_config(root, study, "on.yaml")
    out = root / "out"
    assert cli.main(["--config", str(off), "--out", str(out), "--data-dir", str(data),
                     "--quiet"]) == 0
    assert not (out / "tiny" / "tensorboard").exists()
    return on, out, data


def stored_markers(out):
    return {path: path.stat().st_mtime_ns for path in out.glob("tiny/runs/*/seed_*/meta.json")}


def test_unwritable_log_folder_is_one_line_exit_2_and_keeps_runs(trained_without_events,
                                                                 capsys):
    config, out, data = trained_without_events
    before = stored_markers(out)
    (out / "tiny" / "tensorboard").write_text("a file where the log folder belongs")
    try:
        code = cli.main(["--config", str(config), "--out", str(out), "--data-dir", str(data),
                         "--force"])
    finally:
        (out / "tiny" / "tensorboard").unlink()
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith(f"normexp: error: TensorBoard log folder {out / 'tiny' / 'tensorboard'}"
                          " is not writable") and "report.tensorboard: false" in err
    assert stored_markers(out) == before and len(before) == 4


def test_switching_on_writes_events_for_stored_runs_without_training(trained_without_events):
    config, out, data = trained_without_events
    before = stored_markers(out)
    assert cli.main(["--config", str(config), "--out", str(out), "--data-dir", str(data),
                     "--quiet"]) == 0
    assert stored_markers(out) == before  # nothing retrained
    for spec in load_study(config).runs:
        assert_events_equal_history(out, spec)


def test_trained_runs_get_events_equal_to_their_history(tmp_path, tiny_data_dir):
    study = copy.deepcopy(TINY_STUDY)
    study["seeds"] = [3]
    config = write_config(tmp_path, study)
    assert cli.main(["--config", str(config), "--out", str(tmp_path / "out"),
                     "--data-dir", str(tiny_data_dir), "--quiet", "--jobs", "1"]) == 0
    for spec in load_study(config).runs:
        assert_events_equal_history(tmp_path / "out", spec)


def test_a_rewritten_run_replaces_its_events(tmp_path):
    spec = load_study(write_config(tmp_path, TINY_STUDY)).runs[0]
    first = {"epoch": [1, 2, 3], "loss": [3.0, 2.0, 1.0], "accuracy": [0.1, 0.2, 0.3],
             "val_loss": [3.5, 2.5, 1.5], "val_accuracy": [0.1, 0.2, 0.25],
             "seconds": [1.0, 1.0, 1.0]}
    second = {key: values[:2] for key, values in first.items()}
    second["loss"] = [9.0, None]  # a diverged run: the store writes NaN as null
    tensorboard_log.write_run(tmp_path, spec, first)
    tensorboard_log.write_run(tmp_path, spec, second, "diverged",
                              {"accuracy": 0.5, "loss": 1.25})
    reader = read_events(tensorboard_log.log_dir(tmp_path, spec))
    losses = [event.value for event in reader.Scalars("loss/train")]
    assert losses[0] == 9.0 and np.isnan(losses[1]) and len(losses) == 2
    assert [event.value for event in reader.Scalars("accuracy/test")] == [0.5]


def test_sweep_point_is_an_hparam(tmp_path):
    study = copy.deepcopy(TINY_STUDY)
    study["sweep"] = {"train.batch_size": [16, 64], "model.dropout": [0.0, 0.25]}
    spec = load_study(write_config(tmp_path, study)).runs[-1]
    values = tensorboard_log.hparams(spec)
    assert values["batch_size"] == 64 and "train.batch_size" not in values  # no duplicate
    assert values["model.dropout"] == 0.25 and values["variant"] == "bn_after"


@pytest.mark.parametrize("model, widths", [
    ({"hidden": [16, 8]}, ("hidden", "16-8")),
    ({"family": "cnn", "filters": [4, 8]}, ("filters", "4-8")),
    ({"family": "rnn", "units": [12]}, ("units", "12")),
    ({"family": "transformer", "width": 16, "depth": 3}, ("width", 16))])
def test_every_family_has_its_widths_among_the_hparams(tmp_path, model, widths):
    study = copy.deepcopy(TINY_STUDY)
    study["model"] = model
    study["variants"] = [{"name": "only"}]
    study["report"] = {}
    spec = load_study(write_config(tmp_path, study)).runs[0]
    values = tensorboard_log.hparams(spec)
    assert values[widths[0]] == widths[1]
    assert values["family"] == model.get("family", "mlp")
    assert values.get("depth") == model.get("depth")


def test_runs_stored_before_the_learning_rate_was_recorded_still_get_events(tmp_path):
    spec = load_study(write_config(tmp_path, TINY_STUDY)).runs[0]
    history = {"epoch": [1], "loss": [1.0], "accuracy": [0.5], "val_loss": [1.0],
               "val_accuracy": [0.5], "seconds": [1.0]}
    tensorboard_log.write_run(tmp_path, spec, history)
    reader = read_events(tensorboard_log.log_dir(tmp_path, spec))
    assert "learning_rate" not in reader.Tags()["scalars"]
    assert [event.value for event in reader.Scalars("loss/train")] == [1.0]


def test_switch_must_be_a_boolean(tmp_path, capsys):
    study = copy.deepcopy(TINY_STUDY)
    study["report"]["tensorboard"] = "yes"
    config = write_config(tmp_path, study)
    assert cli.main(["--config", str(config), "--dry-run"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"normexp: error: {config}: report.tensorboard: must be true or false, got str 'yes'")
