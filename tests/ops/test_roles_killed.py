"""Each production role killed with ``kill -9`` inside a PID namespace comes back, under a supervisor honouring the
shipped units' ``Restart=always`` (no systemd as PID 1 here: tests/helpers/unit_supervisor.py runs the units'
``ExecStart=`` with their ``EnvironmentFile=`` and ``WorkingDirectory=`` as PID 1 of ``unshare --pid --fork``), and a
job enqueued before its worker was killed completes exactly once.

What this covers: the units' commands, environment and restart policy, the roles' recovery (RQ's abandoned-job
retry, the scheduler role) and the 10 s bound of issue 15 for the restart. What it does not: systemd itself (its
``User=`` and sandboxing, checked by ``systemd-analyze`` in test_install.py), and Debian's Redis (the embedded
append-only Redis of the other reliability tests stands in).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from ivr.ops.install import PROJECT_ROOT, Layout, Options, render_units
from tests.helpers.processes import children, registered_workers, wait_for, worker_env

pytestmark = [
    pytest.mark.wallclock,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="a PID namespace needs root"),
]
ROLES = ("quietline-worker.service", "quietline-web.service", "quietline-worker-urgent.service",
         "quietline-scheduler.service")
RESTART_BOUND = 10  # seconds: issue 15's bound for a killed role to be running again


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Supervised:
    """The supervisor in its PID namespace, and what it has started (its events file)."""

    def __init__(self, tmp: Path, unit_paths: list[Path]):
        self.events = tmp / "events"
        self.events.touch()
        self.outer = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m", "tests.helpers.unit_supervisor",
             str(self.events), *map(str, unit_paths)], cwd=PROJECT_ROOT, start_new_session=True,
            stdout=(tmp / "supervisor.log").open("w"), stderr=subprocess.STDOUT)
        self.log = tmp / "supervisor.log"
        self.pid = int(wait_for(lambda: (children(self.outer.pid) or [0])[0], 10, "the supervisor"))  # type: ignore

    def starts(self, unit: str) -> list[int]:
        """The namespace pids ``unit`` was started with, in order."""
        return [int(line.split()[2]) for line in self.events.read_text().splitlines()
                if line.startswith(f"start {unit} ")]

    def host_pid(self, ns_pid: int) -> int:
        """The pid, as this test sees it, of the process ``ns_pid`` in the supervisor's namespace."""
        namespace = os.readlink(f"/proc/{self.pid}/ns/pid")
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "ns/pid") != namespace:
                    continue
                nspid = next(line for line in (entry / "status").read_text().splitlines()
                             if line.startswith("NSpid:")).split()
            except (OSError, StopIteration):
                continue
            if int(nspid[-1]) == ns_pid:
                return int(entry.name)
        raise LookupError(ns_pid)

    def details(self) -> str:
        return self.events.read_text() + self.log.read_text()[-4000:]

    def stop(self) -> None:
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.outer.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.outer.pid, signal.SIGKILL)  # the namespace's PID 1 gone: the kernel kills the rest
            self.outer.wait(10)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # degraded (503) is an answer: the web role is up
    except OSError:
        return False


def test_each_role_killed_comes_back_and_a_job_enqueued_before_completes_once(aof_redis, standin, database,
                                                                               flows_dir, tmp_path):
    app_dir, etc_dir = tmp_path / "opt", tmp_path / "etc"
    app_dir.mkdir()
    etc_dir.mkdir()
    (app_dir / "current").symlink_to(PROJECT_ROOT)  # the checkout's .venv stands for the release's
    port = free_port()
    layout = Layout(app_dir=str(app_dir), etc_dir=str(etc_dir), data_dir=str(tmp_path), log_dir=str(tmp_path))
    env = worker_env(aof_redis.url, str(database.engine.url), standin.url, flows_dir, tmp_path,
                     SECRET_KEY="s" * 64)
    service_keys = ("IVR_", "TWILIO_", "REDIS_", "DATABASE_", "PUBLIC_", "SECRET_", "LOG_", "FLASK_", "PYTHON")
    (etc_dir / "quietline.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()
                                                   if k.startswith(service_keys)))
    units = render_units(layout, Options(web_workers=1, web_port=port))
    paths = []
    for name in ROLES:
        (tmp_path / name).write_text(units[name])
        paths.append(tmp_path / name)
    redis = Redis.from_url(aof_redis.url)
    health = f"http://127.0.0.1:{port}/health"

    supervised = Supervised(tmp_path, paths)
    try:
        wait_for(lambda: registered_workers(redis) == 2 and answers(health), 90, "the roles to start",
                 details=supervised.details)
        marks, gate = tmp_path / "marks", tmp_path / "gate"
        job = Queue("calls", connection=redis, serializer=JSONSerializer).enqueue(
            "tests.helpers.unit_jobs.mark_when_gate_opens", str(marks), str(gate), retry=Retry(max=2),
            job_timeout=300)
        wait_for(lambda: marks.exists() and marks.read_text() == "started\n", 30, "the job to start",
                 details=supervised.details)

        for role in ROLES:
            (before,) = supervised.starts(role)
            os.kill(supervised.host_pid(before), signal.SIGKILL)
            wait_for(lambda role=role: len(supervised.starts(role)) == 2, RESTART_BOUND,
                     f"{role} to be running again", details=supervised.details)
            if role == "quietline-worker.service":
                # The restarted worker's maintenance finds the job abandoned and retries it; then it may finish.
                wait_for(lambda: marks.read_text() == "started\nstarted\n", 60, "the job to run again",
                         details=supervised.details)
                gate.touch()
                wait_for(lambda: Job.fetch(job.id, connection=redis, serializer=JSONSerializer).get_status() ==
                         "finished", 60, "the job to finish", details=supervised.details)
        wait_for(lambda: registered_workers(redis) >= 2 and answers(health), 60, "the roles to serve again",
                 details=supervised.details)
        assert marks.read_text() == "started\nstarted\ndone\n"  # completed exactly once
        assert Queue("calls", connection=redis, serializer=JSONSerializer).count == 0
    finally:
        supervised.stop()
