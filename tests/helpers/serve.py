"""Running python -m ivr.dev.serve (what `make run` starts) under test, and watching its process tree."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ivr.dev.serve import STARTUP_TIMEOUT
from tests.helpers.service import ROOT

# The supervisor's own bounds on stopping (ivr.dev.serve): 10 s for web and workers before SIGKILL, 5 s for the
# stand-in, up to 10 s for Redis to flush its append-only file.  A loaded machine may use all of them; waiting
# less than their sum would fail a service that stops exactly as designed.
STOP_WAIT = 10 + 5 + 10 + 15

TOKEN = "serve-test-token-0123456789abcdef"
OPEN_AT = "2026-11-23T11:00:00-05:00"
ACCOUNT = "AC" + "5" * 32


# Recovery timing shortened to seconds (production values: workers/run.py).
FAST_WORKERS = {"IVR_WORKER_MAINTENANCE_SECONDS": "2", "IVR_WORKER_JOB_MONITORING_SECONDS": "2",
                "IVR_WORKER_ABANDON_GRACE_SECONDS": "3", "IVR_WORKER_TTL_SECONDS": "10"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every live process below pid, from /proc (children of serve start their own sessions)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent and p not in found]
        found.update(kids)
        frontier.extend(kids)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Serve:
    """One `python -m ivr.dev.serve` with a private instance dir; output goes to a file."""

    def __init__(self, tmp: Path, *args: str, flows_dir: Path | None = None, now: str | None = OPEN_AT,
                 public: bool = True, **env: str):
        self.tmp = tmp
        self.port = free_port()
        self.standin_port = free_port()
        self.instance = tmp / "instance"
        self.log_path = tmp / "serve.log"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("REDIS_URL", "TWILIO_API_URL", "PUBLIC_BASE_URL", "IVR_FLOWS_DIR", "HOST", "PORT")}
        self.env.update(
            FLASK_SKIP_DOTENV="1",
            TWILIO_AUTH_TOKEN=TOKEN,
            TWILIO_ACCOUNT_SID=ACCOUNT,
            IVR_INSTANCE_DIR=str(self.instance),
            IVR_RECORDINGS_DIR=str(tmp / "recordings"),
            **env,
        )
        self.env.pop("IVR_TEST_NOW", None)
        if public:
            self.env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{self.port}"
        if now is not None:
            self.env["IVR_TEST_NOW"] = now
        if flows_dir is not None:
            self.env["IVR_FLOWS_DIR"] = str(flows_dir)
        self.args = [sys.executable, "-m", "ivr.dev.serve", "--host", "127.0.0.1", "--port", str(self.port),
                     "--standin-port", str(self.standin_port), *args]
        self.proc: subprocess.Popen | None = None
        self.seen: set[int] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def redis_socket(self) -> Path:
        return self.instance / "redis" / "redis.sock"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> Serve:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def run(self, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run to completion (for commands that exit by themselves)."""
        return subprocess.run(self.args, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT + 30) -> None:
        # The supervisor itself gives up (and exits, which is seen at once) after its --startup-timeout; waiting
        # less would fail a slow but correct start on a loaded machine.  Without job workers only the web part
        # of /health can be green.
        path = "/health?scope=web" if "--no-workers" in self.args else "/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited with {self.proc.returncode}:\n{self.output()}"
            self.seen |= descendants(self.proc.pid)
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as resp:
                    if resp.status == 200 and "Ctrl-C stops everything" in self.output():
                        self.seen |= descendants(self.proc.pid)
                        return
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"serve did not become healthy in {timeout} s:\n{self.output()}")

    def stop_and_wait(self, sig: int = signal.SIGTERM, timeout: float = STOP_WAIT) -> int:
        self.seen |= descendants(self.proc.pid)
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not exit within {timeout} s after {signal.Signals(sig).name}:\n{self.output()}")

    def leftovers(self, grace: float = 3.0) -> list[str]:
        deadline = time.monotonic() + grace
        while True:
            left = [f"{pid}: {cmdline(pid)}" for pid in sorted(self.seen) if alive(pid)]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def kill_everything(self) -> None:
        """Cleanup after a failed test: nothing may outlive it."""
        if self.proc is not None and self.proc.poll() is None:
            self.seen |= descendants(self.proc.pid)
            self.proc.kill()
            self.proc.wait()
        for pid in self.seen:
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


# Monday 23 November 2026, 11:00 in New York (open), and Saturday 28 November, 03:00 (closed).
