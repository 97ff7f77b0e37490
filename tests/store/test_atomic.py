"""Every stored file: atomic, one line on a full disk wherever it strikes, and the umask's
permissions (not mkstemp's 0600), so a colleague or a web server can read the results."""

import errno
import os
import stat

import pytest

from normexp import cli
from normexp.config.study import study_record
from normexp.errors import StoreError
from normexp.store import atomic, run_store
from tests.conftest import TINY_STUDY, store_fake_study


@pytest.fixture
def umask():
    def set_mask(mask):
        os.umask(mask)
        return mask

    previous = os.umask(0o022)
    os.umask(previous)
    yield set_mask
    os.umask(previous)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_stored_files_get_the_permissions_the_umask_gives(tmp_path, umask, mask, mode):
    umask(mask)
    atomic.write(tmp_path / "REPORT.md", "text")
    run_store.write_json_atomic(tmp_path / "meta.json", {"status": "complete"})
    for name in ("REPORT.md", "meta.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def full_disk(fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_the_report_is_written_is_one_line_and_loses_nothing(
        tmp_path, monkeypatch, capsys):
    study, out = store_fake_study(tmp_path, TINY_STUDY)
    config = tmp_path / "study.yaml"
    assert cli.main(["--config", str(config), "--out", str(out), "--report-only"]) == 0
    folder = out / study.name
    before = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    assert {"REPORT.md", "curves.png", "summary.csv"} <= set(before)
    monkeypatch.setattr(os, "fsync", full_disk)
    capsys.readouterr()
    assert cli.main(["--config", str(config), "--out", str(out), "--report-only"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "disk is full" in error and "Traceback" not in error
    after = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    assert after == before    # every report file as it was, no temporary file left
    monkeypatch.undo()
    assert run_store.load_expected(out, study_record(study))[1:] == ([], [])  # no run lost


def test_a_full_disk_while_a_figure_is_written_names_the_figure(tmp_path, monkeypatch):
    from normexp.report import plots

    figure, _ = plots.plt.subplots()
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(StoreError, match=r"curves\.png.*disk is full.*--report-only"):
        plots.save(figure, tmp_path / "curves.png")
    assert list(tmp_path.iterdir()) == []
