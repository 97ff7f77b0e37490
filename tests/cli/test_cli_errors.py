"""Every bad input: one line naming the file and field, exit code 2, no traceback."""

import copy

import numpy as np
import pytest

from normexp import arguments, cli
from tests.conftest import TINY_STUDY, run_cli, store_fake_study, write_config


def one_line_error(capsys, argv):
    code = cli.main([str(arg) for arg in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("normexp: error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("text, words", [
    ("name: [x\n", "line 2, column 1: not valid YAML"),
    ("", "the file is empty"),
    ("[1, 2]\n", "top level must be a mapping"),
    ("variants: [{name: a, model: {norm: btach}}]\n", "variants[0](a).model.norm: unknown norm"),
    ("variants: [{name: a}]\ntrain: {epochs: -3}\n", "train.epochs: must be > 0, got -3"),
])
def test_config_problems(tmp_path, capsys, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    err = one_line_error(capsys, ["--config", path, "--out", tmp_path / "o"])
    assert str(path) in err and words in err


def test_missing_config_file(tmp_path, capsys):
    err = one_line_error(capsys, ["--config", tmp_path / "nope.yaml"])
    assert "nope.yaml: file not found" in err


def test_unknown_only_variant(tmp_path, capsys):
    config = write_config(tmp_path, TINY_STUDY)
    err = one_line_error(capsys, ["--config", config, "--only", "bn_afer", "--dry-run"])
    assert "--only: names no variant: 'bn_afer'" in err


def test_keras_rejects_norm_args_before_training(tmp_path, capsys, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data["variants"][1]["model"]["norm_args"] = {"momentun": 0.9}
    err = one_line_error(capsys, ["--config", write_config(tmp_path, data), "--out",
                                  tmp_path / "o", "--data-dir", tiny_data_dir])
    assert "variant bn_after" in err and "momentun" in err
    assert not list((tmp_path / "o").glob("*/runs/*/*"))


def test_keras_rejects_initializer_arguments_before_training(tmp_path, capsys, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data["sweep"] = {"model.kernel_initializer.stddev": [0.1]}  # glorot_uniform has no stddev
    err = one_line_error(capsys, ["--config", write_config(tmp_path, data), "--out",
                                  tmp_path / "o", "--data-dir", tiny_data_dir])
    assert "kernel_initializer" in err and "stddev" in err
    assert not list((tmp_path / "o").glob("*/runs/*/*"))


@pytest.mark.parametrize("make_folder, words", [
    (lambda root: root / "missing", "does not exist"),
    (lambda root: root, "no mnist.npz or mnist IDX .gz files"),
])
def test_data_folder_problems(tmp_path, capsys, make_folder, words):
    config = write_config(tmp_path, TINY_STUDY)
    folder = make_folder(tmp_path / "data")
    (tmp_path / "data").mkdir()
    err = one_line_error(capsys, ["--config", config, "--out", tmp_path / "o",
                                  "--data-dir", folder])
    assert words in err and "NORMEXP_DATA_DIR" in err


def test_corrupt_data_file(tmp_path, capsys):
    config = write_config(tmp_path, TINY_STUDY)
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "mnist.npz", x_train=np.zeros((4, 28, 28), np.uint8),
             y_train=np.array([0, 1, 2, 12], np.uint8), x_test=np.zeros((1, 28, 28), np.uint8),
             y_test=np.zeros(1, np.uint8))
    err = one_line_error(capsys, ["--config", config, "--out", tmp_path / "o",
                                  "--data-dir", tmp_path / "data"])
    assert "mnist.npz: train labels outside 0-9" in err


def test_output_folder_blocked_by_a_file(tmp_path, capsys):
    config = write_config(tmp_path, TINY_STUDY)
    (tmp_path / "o").write_text("not a folder")
    err = one_line_error(capsys, ["--config", config, "--out", tmp_path / "o"])
    assert "is a file" in err


def test_report_only_without_a_store(tmp_path, capsys):
    config = write_config(tmp_path, TINY_STUDY)
    err = one_line_error(capsys, ["--config", config, "--out", tmp_path / "o", "--report-only"])
    assert "no readable study.json" in err and "run the study first" in err


@pytest.mark.parametrize("flag, value", [("--seeds", "0,x"), ("--seeds", "1,1"),
                                         ("--seeds", "5-2"), ("--seeds", "0-3,2"),
                                         ("--seeds", "-1"), ("--epochs", "0"),
                                         ("--jobs", "-2")])
def test_bad_command_line_values(tmp_path, capsys, flag, value):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--config", "quick", flag, value])
    assert stop.value.code == 2
    assert flag in capsys.readouterr().err


def test_seeds_take_ranges():
    assert arguments.seed_list("0-4,10") == [0, 1, 2, 3, 4, 10]
    assert arguments.seed_list("0-99") == list(range(100))


def test_subprocess_shows_no_traceback_unless_debug(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("variants: [{name: a}]\nmodel: {dropout: 1.5}\n")
    plain = run_cli("--config", path)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert plain.stderr.strip().splitlines() == [
        f"normexp: error: {path}: model.dropout: must be in [0, 1), got 1.5"]
    debug = run_cli("--config", path, "--debug")
    assert debug.returncode == 2 and "Traceback" in debug.stderr


@pytest.mark.parametrize("optimizer, words", [
    ({"name": "sgd", "momentun": 0.9}, "momentun"),             # the constructor refuses it
    ({"name": "adam", "beta_1": "high"}, "Cast string to float"),  # only a step refuses it
])
def test_keras_rejects_optimizer_options_before_training(tmp_path, capsys, tiny_data_dir,
                                                         optimizer, words):
    data = copy.deepcopy(TINY_STUDY)
    data["train"]["optimizer"] = optimizer
    err = one_line_error(capsys, ["--config", write_config(tmp_path, data), "--out",
                                  tmp_path / "o", "--data-dir", tiny_data_dir])
    assert "variant no_norm" in err and "Keras rejected it" in err and words in err
    assert not list((tmp_path / "o").glob("*/runs/*/*"))


def test_data_folder_precedence(tmp_path, capsys, monkeypatch):
    # --data-dir beats data.dir in the config, which beats $NORMEXP_DATA_DIR; each of
    # these folders is missing, so the error names the one that was used.
    folders = {name: tmp_path / f"{name}_folder" for name in ("flag", "config", "environment")}
    data = copy.deepcopy(TINY_STUDY)
    data["data"] = {"dir": str(folders["config"])}
    config = write_config(tmp_path, data)
    without_dir = write_config(tmp_path, TINY_STUDY, "no_dir.yaml")
    monkeypatch.setenv("NORMEXP_DATA_DIR", str(folders["environment"]))
    cases = [([config, "--data-dir", folders["flag"]], "flag"), ([config], "config"),
             ([without_dir], "environment")]
    for arguments, expected in cases:
        err = one_line_error(capsys, ["--config", *arguments, "--out", tmp_path / "o"])
        assert f"data folder {folders[expected]} does not exist" in err, (expected, err)


def test_control_characters_in_a_key_keep_the_error_on_one_line(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("variants: [{name: a}]\n? \"hid\\nden\\t\"\n: 3\n")  # found by the fuzzer
    err = one_line_error(capsys, ["--config", path])
    assert "'hid\\nden\\t': unknown key" in err


@pytest.mark.parametrize("given", [["--report-only"], []])
def test_ctrl_c_while_the_report_is_written_says_so_and_how_to_write_it(tmp_path, capsys,
                                                                         monkeypatch, given):
    data = {**TINY_STUDY, "report": {"tensorboard": False}}
    _, out = store_fake_study(tmp_path, data)
    config = write_config(tmp_path, data)

    def interrupted(out, name):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.study_report, "build_report", interrupted)
    arguments_given = ["--config", str(config), "--out", str(out), *given]
    assert cli.main(arguments_given) == 130   # without --report-only: every run is stored
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-2:] == ["Interrupted while writing the report; every finished run is stored. "
                          "Write the report with:",
                          f"  python run.py {' '.join(arguments_given[:4])} --report-only"]
    assert len(list(out.glob("tiny/runs/*/seed_*/meta.json"))) == len(TINY_STUDY["seeds"]) * len(
        TINY_STUDY["variants"])
