"""run.py end to end: store, report, resume, and one clear line for every bad input."""

import copy
import json
import os
import re
import subprocess
import sys

import pytest

from normexp import cli
from normexp.store import run_store
from normexp.config.study import load_study
from tests.conftest import ROOT, TINY_STUDY, fake_result, run_cli, write_config


@pytest.fixture
def tiny_config(tmp_path):
    return write_config(tmp_path, TINY_STUDY)


def run_files(out):
    return sorted(out.glob("tiny/runs/*/seed_*/*.json"))


def modification_times(out):
    return {path: path.stat().st_mtime_ns for path in run_files(out)}


@pytest.mark.slow
def test_study_end_to_end_then_nothing_new(tmp_path, tiny_config, tiny_data_dir):
    out = tmp_path / "out"
    first = run_cli("--config", tiny_config, "--out", out, "--jobs", "1", data_dir=tiny_data_dir)
    assert first.returncode == 0, first.stderr
    assert len(run_files(out)) == 4 * 4  # config, history, predictions, meta
    for name in ("REPORT.md", "summary.csv", "per_seed.csv", "curves.png",
                 "final_val_accuracy.png", "study.json", "misclassified_images.npz",
                 "misclassified.png", "disagreements.png"):
        assert (out / "tiny" / name).is_file(), name
    report = (out / "tiny" / "REPORT.md").read_text()
    assert "| bn_after |" in report and "Differences vs `no_norm`" in report
    assert "## Misclassified validation images" in report
    assert "no_norm" in first.stdout and "Report:" in first.stdout
    assert re.search(r"Training 4 runs of tiny \(0 already done\) on (CPU|GPU.*) with 1 worker\.",
                     first.stderr)
    meta = json.loads((out / "tiny/runs/bn_after/seed_1/meta.json").read_text())
    assert meta["status"] == "complete" and meta["versions"]["keras"].startswith("3.")
    assert meta["parameters"]["non_trainable"] == 2 * 16

    before = modification_times(out)
    second = run_cli("--config", tiny_config, "--out", out, data_dir=tiny_data_dir)
    assert second.returncode == 0 and "nothing to train" in second.stderr
    assert modification_times(out) == before

    (out / "tiny" / "REPORT.md").unlink()
    rebuilt = run_cli("--config", tiny_config, "--out", out, "--report-only",
                      data_dir=tmp_path / "no_data_needed")
    assert rebuilt.returncode == 0 and (out / "tiny" / "REPORT.md").read_text().startswith("# Study")
    assert modification_times(out) == before


@pytest.mark.slow
def test_parallel_store_equals_sequential_store(tmp_path, tiny_config, tiny_data_dir):
    stores = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = run_cli("--config", tiny_config, "--out", out, "--jobs", jobs, "--quiet",
                         data_dir=tiny_data_dir)
        assert result.returncode == 0, result.stderr
        stores[jobs] = {path.relative_to(out): json.loads(path.read_text())
                        for path in out.glob("tiny/runs/*/seed_*/history.json")}
    assert stores["1"].keys() == stores["2"].keys() and len(stores["1"]) == 4
    for key, history in stores["1"].items():
        for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert history[metric] == pytest.approx(stores["2"][key][metric], abs=1e-4), key


def test_dry_run_lists_every_run_and_whether_it_is_done(tmp_path, tiny_config, capsys):
    out = tmp_path / "o"
    study = load_study(tiny_config)
    run_store.prepare(out, study.name)
    run_store.save_run(out, study.runs[1], fake_result([0.9, 0.95]), {})  # no_norm, seed 1
    before = sorted(out.rglob("*"))
    assert cli.main(["--config", str(tiny_config), "--out", str(out), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"tiny: 3 to train, 1 done (store: {out})"
    listed = [line.split() for line in lines[1:]]
    assert listed == [["no_norm", "seed", "1", "done"], ["no_norm", "seed", "0", "to", "train"],
                      ["bn_after", "seed", "0", "to", "train"],
                      ["bn_after", "seed", "1", "to", "train"]]
    assert sorted(out.rglob("*")) == before  # nothing written
    assert cli.main(["--config", str(tiny_config), "--out", str(tmp_path / "new"),
                     "--dry-run"]) == 0
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_diverging_variant_is_reported_not_plotted(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data["variants"].append({"name": "exploding", "train": {
        "optimizer": {"name": "sgd", "learning_rate": 1e12}}})
    out = tmp_path / "out"
    result = run_cli("--config", write_config(tmp_path, data), "--out", out, "--jobs", "1",
                     data_dir=tiny_data_dir)
    assert result.returncode == 0, result.stderr
    assert "DIVERGED at epoch 1" in result.stderr
    report = (out / "tiny" / "REPORT.md").read_text()
    assert "0/2 (2 diverged: seed 0 at epoch 1, seed 1 at epoch 1)" in report
    assert (out / "tiny" / "curves.png").is_file()


@pytest.mark.slow
def test_corrupt_record_is_retrained_with_a_warning(tmp_path, tiny_config, tiny_data_dir):
    out = tmp_path / "out"
    assert run_cli("--config", tiny_config, "--out", out, "--jobs", "1", "--only", "no_norm",
                   data_dir=tiny_data_dir).returncode == 0
    history = out / "tiny/runs/no_norm/seed_0/history.json"
    history.write_text(history.read_text()[:30])
    rebuilt = run_cli("--config", tiny_config, "--out", out, "--report-only")
    assert rebuilt.returncode == 0 and "unreadable, ignored" in (out / "tiny/REPORT.md").read_text()
    again = run_cli("--config", tiny_config, "--out", out, "--jobs", "1", "--only", "no_norm",
                    data_dir=tiny_data_dir)
    assert again.returncode == 0
    assert "no_norm/seed_0: history.json is unreadable" in again.stderr
    assert "it will be retrained" in again.stderr
    assert json.loads(history.read_text())["epoch"] == [1, 2]


@pytest.mark.slow
def test_deterministic_option_reproduces_a_run_exactly(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[3], variants=[{"name": "bn_after", "model": {"norm": "batch",
                                                                    "dropout": 0.3}}], report={})
    data["train"]["deterministic"] = True
    config, out = write_config(tmp_path, data), tmp_path / "out"
    histories, written = [], []
    meta = out / "tiny/runs/bn_after/seed_3/meta.json"
    for _ in range(2):
        result = run_cli("--config", config, "--out", out, "--force", "--jobs", "1",
                         data_dir=tiny_data_dir)
        assert result.returncode == 0, result.stderr
        assert "Training 1 runs of tiny" in result.stderr  # --force retrains the stored run
        histories.append(json.loads((out / "tiny/runs/bn_after/seed_3/history.json").read_text()))
        written.append((meta.stat().st_mtime_ns, json.loads(meta.read_text())["seconds"]))
    assert written[0] != written[1]  # the second run really trained again
    for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert histories[0][metric] == histories[1][metric]


@pytest.mark.slow
def test_a_batch_size_sweep_keeps_tensorflow_warnings_out_of_the_console(tmp_path, tiny_data_dir):
    # Six batch sizes are six compiled programs; TensorFlow calls that "retracing".
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0], variants=[{"name": "no_norm"}], report={},
                sweep={"train.batch_size": [2, 4, 8, 16, 32, 64]})
    data["train"]["epochs"] = 1
    result = run_cli("--config", write_config(tmp_path, data), "--out", tmp_path / "out",
                     "--jobs", "1", data_dir=tiny_data_dir)
    assert result.returncode == 0, result.stderr
    assert "[6/6]" in result.stderr
    assert "WARNING" not in result.stderr and "retracing" not in result.stderr, result.stderr


def test_output_into_a_closed_pipe_ends_without_a_traceback(tmp_path, tiny_config):
    # `python run.py ... | head -1`: the reader leaves before normexp writes. The pipe's
    # reading end is closed before normexp starts, so its first write always fails, however
    # fast it starts (with the end closed after starting, a child that got to write first
    # would succeed and exit 0).
    reader, writer = os.pipe()
    os.close(reader)
    try:
        process = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config",
                                    str(tiny_config), "--out", str(tmp_path / "o"), "--dry-run"],
                                   stdout=writer, stderr=subprocess.PIPE, cwd=ROOT)
    finally:
        os.close(writer)
    stderr = process.communicate(timeout=120)[1].decode()
    assert process.returncode == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
