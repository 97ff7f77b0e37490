"""Faults: SIGKILL and Ctrl-C lose nothing finished; a second process is refused.

Each fault is sent when the test sees a stored run (or, before training, study.json),
never after a fixed sleep. The study is shaped so that after its first stored run seconds
of training remain, whatever the load: a test that reacts late still interrupts a study
in progress.
"""

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from normexp import cli
from normexp.store import run_store
from normexp.config.study import load_study
from tests.conftest import ROOT, TINY_STUDY, sigint_not_ignored, write_config

# Eight runs of under a second each (150 epochs of 64 steps; two conditions, four seeds):
# once the first run is stored, seconds of training are left even with two workers (three
# more runs each), so a test that reacts a second or two late still interrupts a study in
# progress; short enough to finish in the rerun that every fault test ends with. Fewer or
# shorter runs can all end within half a second of the first stored one, and a test that
# reacts that late under load finds the study finished (exit 0 instead of 130).
SLOW_STUDY = copy.deepcopy(TINY_STUDY)
SLOW_STUDY.update(seeds=[0, 1, 2, 3], report={}, variants=[
    {"name": "bn_after", "model": {"norm": "batch"}}, {"name": "ln_after", "model": {"norm": "layer"}}])
SLOW_STUDY["train"] = {"epochs": 150, "batch_size": 8, "optimizer": "adam"}


def start_study(config, out, data_dir, *extra):
    environment = dict(os.environ, NORMEXP_DATA_DIR=str(data_dir))
    with sigint_not_ignored():
        return subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                                 "--out", str(out), *extra], env=environment, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)


def stored_runs(out):
    return len(list(out.glob("*/runs/*/seed_*/meta.json")))


def wait_until(condition, process, what, timeout=180):
    """Poll ``condition()`` until true; fail if the study ends first or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"study ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s")
        time.sleep(0.02)


def wait_for_finished_runs(out, count, process, timeout=180):
    wait_until(lambda: stored_runs(out) >= count, process, f"{count} stored runs", timeout)


def check_store(out, config):
    """Every run with a completion marker is a valid record of the current config."""
    study = load_study(config)
    states = {(spec.condition, spec.seed): run_store.run_state(out, spec)[0] for spec in study.runs}
    assert set(states.values()) <= {"done", "missing", "corrupt"}
    for folder in out.glob("*/runs/*/seed_*"):
        if (folder / "meta.json").exists():
            run_store.read_record(folder)
    return states


def finish(config, out, data_dir):
    """Rerun the study to the end (in one process: no workers to start)."""
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                             "--out", str(out), "--quiet", "--jobs", "1"], env=dict(
        os.environ, NORMEXP_DATA_DIR=str(data_dir)), cwd=ROOT, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr
    assert set(check_store(out, config).values()) == {"done"}


@pytest.mark.slow
def test_sigkill_mid_study_loses_nothing_and_rerun_finishes(tmp_path, tiny_data_dir):
    config, out = write_config(tmp_path, SLOW_STUDY), tmp_path / "out"
    process = start_study(config, out, tiny_data_dir, "--jobs", "1")
    wait_for_finished_runs(out, 2, process)
    process.kill()
    process.wait()
    states = check_store(out, config)
    done_before = {key for key, state in states.items() if state == "done"}
    assert 2 <= len(done_before) < len(states)
    kept = {path: path.stat().st_mtime_ns for path in out.glob("*/runs/*/seed_*/meta.json")}
    finish(config, out, tiny_data_dir)
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in kept.items())


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_cleanly_with_exit_130_and_resumes(tmp_path, tiny_data_dir, jobs):
    config, out = write_config(tmp_path, SLOW_STUDY), tmp_path / "out"
    process = start_study(config, out, tiny_data_dir, "--jobs", jobs)
    wait_for_finished_runs(out, 1, process)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Interrupted:" in stderr and "Resume with:" in stderr and "Traceback" not in stderr
    check_store(out, config)
    finish(config, out, tiny_data_dir)


HOLD_LOCK = """
import sys, time
sys.path.insert(0, sys.argv[1])
from normexp.store import run_store
with run_store.lock_study(sys.argv[2], "tiny"):
    print("locked", flush=True)
    time.sleep(300)
"""


def test_second_process_on_the_same_study_is_refused(tmp_path, capsys):
    config, out = write_config(tmp_path, TINY_STUDY), tmp_path / "out"
    run_store.prepare(out, "tiny")
    (out / "tiny" / "study.json").write_text('{"written by": "the first process"}')
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(ROOT), str(out)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code = cli.main(["--config", str(config), "--out", str(out)])
        message = capsys.readouterr().err.strip()
        assert code == 2
        assert message.startswith(f"normexp: error: another normexp process (pid {holder.pid}) ")
        assert "\n" not in message
        assert "the first process" in (out / "tiny" / "study.json").read_text()
    finally:
        holder.kill()
        holder.wait()
    with run_store.lock_study(out, "tiny"):  # the OS released the killed holder's lock
        pass


@pytest.mark.slow
def test_sigterm_stops_cleanly_like_ctrl_c(tmp_path, tiny_data_dir):
    config, out = write_config(tmp_path, SLOW_STUDY), tmp_path / "out"
    process = start_study(config, out, tiny_data_dir, "--jobs", "2")
    wait_until(lambda: len(worker_processes(process.pid)) == 2, process, "2 workers")
    workers = worker_processes(process.pid)
    wait_for_finished_runs(out, 1, process)
    process.terminate()  # SIGTERM to the main process only, as `kill` or a scheduler sends
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Interrupted:" in stderr and "Resume with:" in stderr and "Traceback" not in stderr
    # The workers got no signal: the main process stopped them before it exited.
    assert not [pid for pid in workers if alive(pid)]
    check_store(out, config)


def test_ctrl_c_before_training_loses_nothing(tmp_path, tiny_data_dir):
    config, out = write_config(tmp_path, SLOW_STUDY), tmp_path / "out"
    process = start_study(config, out, tiny_data_dir, "--jobs", "1")
    # study.json is written just before the data is loaded, TensorFlow is imported and every
    # model is built and tried once: seconds in which nothing trains yet.
    wait_until((out / "tiny" / "study.json").exists, process, "study.json", timeout=120)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Interrupted before training started; nothing was lost." in stderr, stderr
    assert "Traceback" not in stderr
    assert not list(out.glob("*/runs/*/seed_*"))


def alive(pid):
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def worker_processes(parent):
    """Pids of live multiprocessing workers whose parent is ``parent`` (Linux /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                          if ":\t" in line)
            command = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if (fields.get("PPid", "").strip() == str(parent) and b"spawn_main" in command
                and fields.get("State", "").split()[0] not in ("Z", "X")):
            found.append(int(status.parent.name))
    return found


@pytest.mark.slow
def test_a_dead_worker_ends_the_study_with_one_line_and_rerun_finishes(tmp_path, tiny_data_dir):
    config, out = write_config(tmp_path, SLOW_STUDY), tmp_path / "out"
    process = start_study(config, out, tiny_data_dir, "--jobs", "2")
    wait_until(lambda: len(worker_processes(process.pid)) == 2, process, "2 workers")
    workers = worker_processes(process.pid)  # listed now: the kill below is one call
    wait_for_finished_runs(out, 1, process)
    os.kill(workers[0], signal.SIGKILL)  # what the kernel's OOM killer does
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("normexp: error: a training worker process died") and "rerun" in last
    assert "Traceback" not in stderr
    check_store(out, config)
    finish(config, out, tiny_data_dir)
