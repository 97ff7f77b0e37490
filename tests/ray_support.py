"""A real two-node Ray cluster for tests: separate `ray start --block` processes.

Every node gets its own ports and the cluster its own temp folder, so the tests
never touch another Ray on the machine; teardown kills only the processes these
nodes started (found through /proc, not by name).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).parent / "ray")
HOST = socket.gethostbyname(socket.gethostname())


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for item in sockets:
        item.bind(("", 0))
    ports = [item.getsockname()[1] for item in sockets]
    for item in sockets:
        item.close()
    return ports


def children_of():
    """``{parent pid: [child pids]}`` of every process, from /proc."""
    tree = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid):
    tree, found, queue = children_of(), [], [pid]
    while queue:
        for child in tree.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def command_line(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def cluster_environment():
    """No data folder (workers must not need one) and Ray's token auth explicitly off:
    with the mode unset, a head enables it when ~/.ray/auth_token exists but a joining
    node does not (Ray 2.60), so the outcome would depend on the machine's history."""
    environment = {key: value for key, value in os.environ.items()
                   if key != "NORMEXP_DATA_DIR"}
    environment["RAY_AUTH_MODE"] = "disabled"
    return environment


class Node:
    """One `ray start --block` process; killing its group stops the node."""

    def __init__(self, arguments, log):
        environment = cluster_environment()
        self.log = log
        self.process = subprocess.Popen([RAY, "start", "--block", *arguments],
                                        stdout=open(log, "w"), stderr=subprocess.STDOUT,
                                        env=environment, start_new_session=True)

    def wait_started(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Ray runtime started" in Path(self.log).read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"ray start failed: {Path(self.log).read_text()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError("ray start did not finish in time")

    def running_tasks(self, name):
        return [pid for pid in descendants(self.process.pid)
                if command_line(pid).startswith(f"ray::{name}")]

    def kill(self):
        """SIGKILL the node and every process it started (workers have their own groups)."""
        family = descendants(self.process.pid)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=30)


def node_ports(head):
    ports = free_ports(7)
    arguments = [f"--node-manager-port={ports[0]}", f"--object-manager-port={ports[1]}",
                 f"--dashboard-agent-listen-port={ports[2]}",
                 f"--dashboard-agent-grpc-port={ports[3]}", f"--metrics-export-port={ports[4]}",
                 f"--runtime-env-agent-port={ports[5]}", "--num-cpus=1",
                 "--object-store-memory=150000000", "--disable-usage-stats"]
    if head:
        arguments += [f"--ray-client-server-port={ports[6]}", "--include-dashboard=false"]
    return arguments


class Cluster:
    """A head node and one worker node, 1 CPU each."""

    def __init__(self):
        self.temp = tempfile.mkdtemp(prefix="nxray", dir="/tmp")  # short: socket paths
        port = free_ports(1)[0]
        self.head = Node(["--head", f"--port={port}", f"--temp-dir={self.temp}",
                          *node_ports(head=True)], Path(self.temp) / "head.log")
        self.worker = None
        try:
            self.head.wait_started()
            # The address Ray itself announces (its node IP), as a user would copy it.
            announced = re.search(r"--address='([^']+)'", Path(self.head.log).read_text())
            self.address = announced.group(1) if announced else f"{HOST}:{port}"
            self.worker = Node([f"--address={self.address}", *node_ports(head=False)],
                               Path(self.temp) / "worker.log")
            self.worker.wait_started()
        except BaseException:
            self.stop()
            raise

    def stop(self):
        for node in (self.worker, self.head):
            if node is not None and node.process.poll() is None:
                node.kill()
        shutil.rmtree(self.temp, ignore_errors=True)
