"""--executor ray on a real two-node Ray cluster (separate processes, torn down after).

The nodes start without NORMEXP_DATA_DIR: the data reaches them through Ray's
object store. Order matters: the node-kill test runs last, as it removes the
worker node.
"""

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from normexp import cli
from tests.conftest import ROOT, require_real_data, sigint_not_ignored, write_config
from tests.ray_support import Cluster, free_ports, cluster_environment

STUDY = {
    "name": "ray_small", "seeds": [0, 1],
    "train": {"epochs": 3, "batch_size": 32, "deterministic": True},
    "model": {"hidden": [32]},
    "variants": [{"name": "no_norm", "model": {"norm": "none"}},
                 {"name": "bn_after", "model": {"norm": "batch"}}],
    "report": {"baseline": "no_norm"},
}


@pytest.fixture(scope="module")
def cluster():
    nodes = Cluster()
    try:
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture(scope="module")
def mnist_slice(tmp_path_factory):
    """The first 3000 training and 1000 test images of the real MNIST."""
    with np.load(require_real_data() / "mnist.npz") as full:
        folder = tmp_path_factory.mktemp("mnist_slice")
        np.savez(folder / "mnist.npz", x_train=full["x_train"][:3000],
                 y_train=full["y_train"][:3000], x_test=full["x_test"][:1000],
                 y_test=full["y_test"][:1000])
    return folder


def start(config, out, data, *extra):
    environment = cluster_environment()
    with sigint_not_ignored():
        return subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                                 "--out", str(out), "--data-dir", str(data), *extra],
                                cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(process, timeout=240):
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return process.returncode, stdout, stderr


def records(out):
    """``{condition/seed: (history without wall times, meta, config)}`` of every stored run."""
    found = {}
    for meta_path in sorted(out.glob("*/runs/*/seed_*/meta.json")):
        folder = meta_path.parent
        history = json.loads((folder / "history.json").read_text())
        for timing in [key for key in history if key == "seconds" or key.endswith("_seconds")
                       or "_seconds_" in key]:
            history.pop(timing)  # wall times differ from run to run
        found[f"{folder.parent.name}/{folder.name}"] = (
            history, json.loads(meta_path.read_text()),
            json.loads((folder / "config.json").read_text()))
    return found


def wait_for_stored(out, count, process, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(list(out.glob("*/runs/*/seed_*/meta.json"))) >= count:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    pytest.fail("no run was stored in time")


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.real_data
def test_driver_killed_then_rerun_gives_the_local_store_bit_for_bit(cluster, mnist_slice,
                                                                    tmp_path):
    config, out = write_config(tmp_path, STUDY), tmp_path / "ray"
    driver = start(config, out, mnist_slice, "--executor", "ray", "--address", cluster.address)
    try:
        wait_for_stored(out, 1, driver)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    kept = {path: path.stat().st_mtime_ns for path in out.glob("*/runs/*/seed_*/meta.json")}
    assert 1 <= len(kept) < 4
    code, _, stderr = finish(start(config, out, mnist_slice, "--backend", "ray",
                                   "--address", cluster.address))
    assert code == 0, stderr
    assert (f"Training {4 - len(kept)} runs of ray_small ({len(kept)} already done) as Ray "
            f"tasks on the Ray cluster at {cluster.address} (2 CPUs, 0 GPUs).") in stderr
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in kept.items())
    code, _, stderr = finish(start(config, tmp_path / "local", mnist_slice, "--jobs", "2"))
    assert code == 0, stderr
    assert_same_runs(records(out), records(tmp_path / "local"))
    for run in records(out):
        assert (out / "ray_small" / "tensorboard" / run).is_dir()


def assert_same_runs(on_ray, local):
    assert sorted(on_ray) == sorted(local) and len(on_ray) == 4
    # The local workers run 1 TensorFlow thread each when the machine has 2-3 cores (as in
    # CI), like the Ray tasks; evaluation sums differ in the last bit with other counts.
    same_threads = (os.cpu_count() or 1) // 2 == 1
    for run, (history, meta, resolved) in on_ray.items():
        local_history, local_meta, local_resolved = local[run]
        assert resolved == local_resolved
        assert meta["executor"] == "ray" and meta["versions"] == local_meta["versions"]
        for key in ("status", "updates", "parameters", "fingerprint", "test"):
            assert meta[key] == local_meta[key], (run, key)
        for key, values in history.items():
            if same_threads or key in ("epoch", "loss", "accuracy"):
                assert values == local_history[key], (run, key)
            else:
                assert values == pytest.approx(local_history[key], rel=1e-6), (run, key)


@pytest.mark.slow
@pytest.mark.ray
def test_ctrl_c_on_a_local_ray_runtime_exits_130_and_keeps_runs(mnist_slice, tmp_path):
    study = copy.deepcopy(STUDY)
    study["train"]["epochs"] = 30
    config, out = write_config(tmp_path, study), tmp_path / "out"
    driver = start(config, out, mnist_slice, "--executor", "ray", "--jobs", "1")
    wait_for_stored(out, 1, driver)
    os.killpg(driver.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    code, _, stderr = finish(driver, timeout=60)
    assert code == 130, stderr
    assert "Interrupted:" in stderr and "Resume with:" in stderr and "Traceback" not in stderr
    assert 1 <= len(records(out)) < 4


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.real_data
def test_killed_worker_node_its_runs_are_retried_and_stored_once(cluster, mnist_slice,
                                                                 tmp_path):
    study = copy.deepcopy(STUDY)
    study["train"]["epochs"] = 2
    config, out = write_config(tmp_path, study), tmp_path / "out"
    driver = start(config, out, mnist_slice, "--executor", "ray", "--address", cluster.address)
    deadline = time.monotonic() + 120
    while not cluster.worker.running_tasks("train_task"):
        assert time.monotonic() < deadline and driver.poll() is None, "no task on the node"
        time.sleep(0.05)
    cluster.worker.kill()
    code, stdout, stderr = finish(driver)
    assert code == 0, stderr
    stored = records(out)
    assert len(stored) == 4 and {meta["status"] for _, meta, _ in stored.values()} == {"complete"}
    announced = [line for line in stderr.splitlines() if line.startswith("[")
                 and "/4]" in line]
    assert len(announced) == 4  # one "stored" line per run: none stored twice
    # Ray's own notice (on stdout) that the kill hit a running run, which it retried.
    assert "so the task will be retried" in stdout


@pytest.mark.parametrize("address, words", [
    ("nonsense", "expected HOST:PORT"),
    ("10.0.0.1:99999", "expected HOST:PORT"),
    ("127.0.0.1:{closed}", "no Ray head node answers"),
])
def test_bad_address_is_one_line_exit_2(tmp_path, capsys, address, words):
    config = write_config(tmp_path, STUDY)
    code = cli.main(["--config", str(config), "--out", str(tmp_path / "o"), "--backend", "ray",
                     "--address", address.format(closed=free_ports(1)[0])])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith("normexp: error: --address") and words in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.ray
def test_address_that_is_not_a_ray_head_gives_up_in_bounded_time(tmp_path, tiny_data_dir):
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, but speaks no Ray
    listener.listen(8)
    config = write_config(tmp_path, STUDY)
    environment = dict(os.environ, NORMEXP_RAY_CONNECT_SECONDS="3")
    try:
        result = subprocess.run(
            [sys.executable, str(ROOT / "run.py"), "--config", str(config), "--out",
             str(tmp_path / "o"), "--data-dir", str(tiny_data_dir), "--backend", "ray",
             "--address", f"127.0.0.1:{listener.getsockname()[1]}"],
            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    finally:
        listener.close()
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("normexp: error: --address 127.0.0.1:")
    assert "no Ray cluster answered within 3 s" in lines[0]
    assert not list((tmp_path / "o").glob("*/runs/*/*"))


def test_unknown_backend_is_one_line_exit_2(tmp_path, capsys):
    code = cli.main(["--config", str(write_config(tmp_path, STUDY)), "--out",
                     str(tmp_path / "o"), "--backend", "spark"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == ("normexp: error: --executor: unknown executor 'spark'; "
                                 "valid: local, ray")
    assert not (tmp_path / "o").exists()


def test_ray_not_installed_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    code = cli.main(["--config", str(write_config(tmp_path, STUDY)), "--out",
                     str(tmp_path / "o"), "--backend", "ray"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith("normexp: error: --executor ray needs the 'ray' package")
    assert not (tmp_path / "o").exists()
