"""Real processes under test: RQ workers started as the service starts them, waiting on them, their process tree."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis

from ivr.app import create_app
from tests.helpers.service import ACCOUNT, DATA_KEY, PUBLIC, RECORDINGS_KEY, ROOT, TOKEN

# Recovery timing for the worker subprocesses: an abandoned job is noticed within
# monitoring (1) + grace (2) + maintenance (1) seconds instead of 10 + 20 + 30.  The worker
# TTL keeps its production value: RQ would block an idle worker in its dequeue for TTL - 15 s,
# so these tests also show that the dequeue wait is capped at the maintenance interval.
FAST_WORKERS = {
    "IVR_WORKER_MAINTENANCE_SECONDS": "1",
    "IVR_WORKER_JOB_MONITORING_SECONDS": "1",
    "IVR_WORKER_ABANDON_GRACE_SECONDS": "2",
    "IVR_WORKER_TTL_SECONDS": "60",
}


def short_tmpdir(prefix: str) -> Path:
    """A directory with a short path: a unix socket path holds at most 107 bytes."""
    return Path(tempfile.mkdtemp(prefix=prefix))


# Every wait below is a guard against a hang, never a figure under test: it returns as soon as what it waits for
# is true.  On a loaded machine (CI beside other work, load 10+ on 2 cores) a Python process takes many times longer
# to start than on a quiet one: a worker that registers in 2 s here took more than 15 s there.  So a wait lasts up
# to this many times what its caller names, which only makes a real hang take longer to report.
HANG_GUARD_SCALE = 6


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1,
             details: Callable[[], str] = lambda: "") -> object:
    """Poll ``predicate`` every ``interval`` s until it returns something true (returned); fail the test after
    ``timeout`` × ``HANG_GUARD_SCALE`` seconds, naming ``what`` and printing ``details()`` (e.g. the logs)."""
    timeout = timeout * HANG_GUARD_SCALE
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}\n{details()}")
        time.sleep(interval)


def gone(pid: int) -> bool:
    """Exited (or a zombie nobody has reaped yet: it runs no more code either)."""
    fields = _stat_fields(pid)
    return fields is None or fields[0] in ("Z", "X")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, ..."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def children(pid: int) -> list[int]:
    return [c for c in _all_pids() if (f := _stat_fields(c)) and int(f[1]) == pid]


def group_members(pgid: int) -> list[int]:
    return [c for c in _all_pids() if (f := _stat_fields(c)) and int(f[2]) == pgid and f[0] not in ("Z", "X")]


class Workers:
    """``python -m workers.run`` subprocesses, each in its own session (process group)."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        self.others: set[int] = set()  # work horses (own process groups), for cleanup

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "workers.run", *args], cwd=ROOT, env=self.env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                         for p in sorted(self.log_dir.glob("worker-*.log")))

    def kill9(self, proc: subprocess.Popen) -> list[int]:
        """SIGKILL a worker's process group (it and its scheduler), then its work horses' groups.

        The parent goes first, so nobody is left to notice the horse dying: the job is
        abandoned exactly as when a machine or container dies.  Returns the horse pids.
        """
        horses = children(proc.pid)  # before the kill: orphans get a new parent
        self.others.update(horses)
        os.killpg(proc.pid, signal.SIGKILL)
        for pid in horses:
            try:
                os.killpg(pid, signal.SIGKILL)  # a horse calls setpgrp(): its own group
            except ProcessLookupError:
                pass
        proc.wait(5)
        wait_for(lambda: all(gone(p) for p in horses), 5, "the work horses to die")
        return horses

    def stop_all(self) -> None:
        """Kill whatever is left (the test's Redis goes too: nothing to deregister from)."""
        self.others.update(pid for proc in self.procs if proc.poll() is None for pid in children(proc.pid))
        for pgid in [p.pid for p in self.procs] + sorted(self.others):
            if group_members(pgid):  # only groups of ours that still have a live process
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        for proc in self.procs:
            if proc.poll() is None:
                proc.wait(5)


def worker_env(redis_url: str, database_url: str, standin_url: str, flows_dir: Path, tmp: Path,
               **extra: str) -> dict[str, str]:
    """The environment a deployed worker would have, pointing at the test's services."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IVR_", "TWILIO_", "REDIS_", "DATABASE_", "PUBLIC_", "RQ_"))}
    env.update({
        "REDIS_URL": redis_url, "DATABASE_URL": database_url, "TWILIO_API_URL": standin_url,
        "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT, "PUBLIC_BASE_URL": PUBLIC,
        "IVR_DATA_KEY": DATA_KEY, "IVR_RECORDINGS_KEY": RECORDINGS_KEY,
        "IVR_FLOWS_DIR": str(flows_dir), "IVR_RECORDINGS_DIR": str(tmp / "recordings"),
        "IVR_INSTANCE_DIR": str(tmp / "instance"), "LOG_LEVEL": "INFO", "FLASK_SKIP_DOTENV": "1",
        "PYTHONUNBUFFERED": "1", **FAST_WORKERS, **extra,
    })
    return env


def registered_workers(redis: Redis) -> int:
    return len(redis.smembers("rq:workers"))


def app_beside_workers(redis_url: str, standin_url: str, database, flows_dir: Path, tmp: Path, *, clock=None,
                       **settings: object) -> tuple[Flask, Redis]:
    """The app on the same Redis, stand-in, database and flows as the worker processes of ``worker_env``.

    ``settings`` override or add settings (e.g. ``worker_ttl_seconds``); close the returned connection after.
    """
    conn = Redis.from_url(redis_url)
    app = create_app({"twilio_auth_token": TOKEN, "twilio_account_sid": ACCOUNT, "public_base_url": PUBLIC,
                      "flows_dir": str(flows_dir), "recordings_dir": str(tmp / "recordings"),
                      "twilio_api_url": standin_url, "flows_reload_seconds": 0, **settings},
                     redis=conn, clock=clock, strict_flows=True, database=database)
    app.config.update(TESTING=True)
    return app, conn
