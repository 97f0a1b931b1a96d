"""`python -m ivr.serve` (what `make run` starts) as a newcomer gets it: real processes, real HTTP.

Each test runs the service in a subprocess with its own instance directory and
ports, a token set explicitly (so the checkout's .env is neither read nor
written), and checks that stopping it leaves nothing behind.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ivr.serve import ensure_dev_credentials
from ivr.simulator import CallSimulator, HttpTransport

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "serve-test-token-0123456789abcdef"
ACCOUNT = "AC" + "5" * 32
CALLER = "+15551230001"

GREETING = ("Thank you for calling Lakeside Counseling Collective. If you are in danger or this is a medical "
            "emergency, hang up and dial 9 1 1. If you are in crisis, call or text 9 8 8 to reach the Suicide and "
            "Crisis Lifeline, any time. For urgent support right now, press 9 at any time.")
MENU = ("To reschedule or cancel an appointment, press 1 or say appointment. For your video appointment link or "
        "the client portal, press 2 or say link. For billing or to update your card, press 3 or say billing. "
        "To speak with someone, press 0. For urgent support, press 9.")
VOICEMAIL = ("Please leave your name, the best number to reach you, and a short message after the tone. "
             "Press the pound key when you are done.")
GOODBYE = re.compile(r"Thank you\. Someone will call you back by .+ at \d{1,2}(:\d\d)? [AP]M\. Goodbye\.")


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
    """One `python -m ivr.serve` with a private instance dir; output goes to a file."""

    def __init__(self, tmp: Path, *args: str, flows_dir: Path | None = None):
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
            PUBLIC_BASE_URL=f"http://127.0.0.1:{self.port}",
            IVR_INSTANCE_DIR=str(self.instance),
            IVR_RECORDINGS_DIR=str(tmp / "recordings"),
        )
        if flows_dir is not None:
            self.env["IVR_FLOWS_DIR"] = str(flows_dir)
        self.args = [sys.executable, "-m", "ivr.serve", "--host", "127.0.0.1", "--port", str(self.port),
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

    def start(self) -> "Serve":
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def run(self, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run to completion (for commands that exit by themselves)."""
        return subprocess.run(self.args, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)

    def wait_healthy(self, timeout: float = 90) -> None:
        # Without job workers only the web part of /health can be green.
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

    def stop_and_wait(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
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


@pytest.fixture
def serve_tmp():
    # Short path: the redis unix socket lives under it (sun_path holds 107 bytes).
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="qls-"))
    started: list[Serve] = []
    yield path, started
    for s in started:
        s.kill_everything()
    shutil.rmtree(path, ignore_errors=True)


def test_a_call_over_http_then_sigterm_stops_everything(serve_tmp):
    tmp, started = serve_tmp
    serve = Serve(tmp, "--workers", "2")
    started.append(serve.start())
    serve.wait_healthy()

    banner = serve.output()
    assert f"A call comes in        Webhook, HTTP POST  {serve.url}/twilio/voice" in banner
    assert f"{serve.url}/twilio/status" in banner and f"{serve.url}/twilio/fallback" in banner
    assert f".venv/bin/flask --app app call --url {serve.url}" in banner
    assert f"http://127.0.0.1:{serve.standin_port}/_standin/messages" in banner

    sim = CallSimulator(HttpTransport(), auth_token=TOKEN, public_base_url=serve.url, account_sid=ACCOUNT,
                        recording_url_base=f"http://127.0.0.1:{serve.standin_port}")
    result = sim.call(from_=CALLER, script="0;noanswer;record:3")

    assert not result.application_error, result.transcript
    assert result.ended_by == "hangup-verb"
    heard = result.heard
    assert heard[0] == GREETING
    # Business hours follow the real clock: the operator path rings the desk when open,
    # and goes straight to voicemail when closed.
    if heard[1] == MENU:
        assert heard[2:] == ["One moment while I connect you.", "Everyone is helping other callers right now.",
                             VOICEMAIL]
        assert GOODBYE.fullmatch(heard[-1]), heard[-1]
        assert ("dial-status", "no-answer") in result.transcript
    else:
        assert heard[1].startswith("Our office is closed"), heard
        assert heard[2:-1] == [MENU, VOICEMAIL]
        assert GOODBYE.fullmatch(heard[-1]), heard[-1]

    # The demo practice was migrated and seeded: the demo client verifies and hears their appointment.
    known = sim.call(from_=CALLER, script="1;04151985#;3")
    assert not known.application_error, known.transcript
    assert any(h.startswith("Thanks, Alex. Your next appointment is ") and h.endswith(" with Dr. Maya Chen.")
               for h in known.heard), known.heard
    assert known.heard[-2:] == ["Okay, your appointment stays as it is.", "Thank you for calling. Goodbye."]
    assert all(200 <= r.status < 300 for r in result.requests), [(r.purpose, r.status) for r in result.requests]

    # The escalation went through Redis to an RQ worker, which recorded it in the practice database.
    import sqlite3

    database = serve.instance / "quietline.db"
    deadline = time.monotonic() + 30
    while True:
        conn = sqlite3.connect(database)
        try:
            row = conn.execute("SELECT reason, caller_masked FROM escalations WHERE call_sid = ?",
                               (result.call_sid,)).fetchone()
        finally:
            conn.close()
        if row is not None:
            break
        assert time.monotonic() < deadline, f"no worker handled the escalation:\n{serve.output()}"
        time.sleep(0.2)
    assert row == ("callback_request", "+1******0001")

    with urllib.request.urlopen(f"http://127.0.0.1:{serve.standin_port}/_standin/messages", timeout=5) as resp:
        assert isinstance(json.loads(resp.read()), list)

    names = " ".join(cmdline(pid) for pid in serve.seen)
    for expected in ("gunicorn", "--queues urgent ", "--queues urgent,calls", "ivr.twilio_standin",
                     "redis-server"):
        assert expected in names, names

    assert serve.stop_and_wait(signal.SIGTERM) == 0, serve.output()
    assert serve.leftovers() == []
    assert not serve.redis_socket.exists()
    assert (serve.instance / "appendonly.aof").exists() or any(serve.instance.rglob("appendonly.aof"))
    out = serve.output()
    assert TOKEN not in out
    assert CALLER.lstrip("+") not in out


def test_a_child_that_dies_stops_the_whole_service(serve_tmp):
    tmp, started = serve_tmp
    serve = Serve(tmp, "--workers", "2", "--no-workers")
    started.append(serve.start())
    serve.wait_healthy()
    standin = [pid for pid in serve.seen if "ivr.twilio_standin" in cmdline(pid)]
    assert len(standin) == 1
    os.kill(standin[0], signal.SIGKILL)
    try:
        code = serve.proc.wait(20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve kept running without its stand-in:\n{serve.output()}")
    assert code == 1
    assert "Twilio stand-in" in serve.output() and "unexpectedly" in serve.output()
    assert serve.leftovers() == []
    assert not serve.redis_socket.exists()


@pytest.mark.parametrize("check_only", [True, False])
def test_broken_flows_refuse_to_start(serve_tmp, check_only):
    tmp, _ = serve_tmp
    flows = tmp / "flows"
    shutil.copytree(ROOT / "flows", flows)
    operator = flows / "operator.yaml"
    lines = operator.read_text().splitlines(keepends=True)
    broken = next(i for i, line in enumerate(lines) if line.strip() == "next: take_message")
    lines[broken] = lines[broken].replace("take_message", "no_such_step")
    operator.write_text("".join(lines))

    serve = Serve(tmp, *(["--check-only"] if check_only else []), flows_dir=flows)
    done = serve.run()
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(rf"operator\.yaml:{broken + 1}\b.*no_such_step", done.stderr), done.stderr
    assert "not starting" in done.stderr
    assert not serve.instance.exists()  # nothing was started


def test_check_only_passes_on_the_shipped_flows(serve_tmp):
    tmp, _ = serve_tmp
    done = Serve(tmp, "--check-only").run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Flows OK" in done.stdout


def test_a_checkout_without_a_token_gets_a_development_one(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PUBLIC_BASE_URL=https://example.org\n")
    environ: dict[str, str] = {}
    assert ensure_dev_credentials(env_file, environ) is True
    text = env_file.read_text()
    assert "PUBLIC_BASE_URL=https://example.org\n" in text
    assert re.search(r"^TWILIO_AUTH_TOKEN=[0-9a-f]{32}$", text, re.M)
    assert re.search(r"^TWILIO_ACCOUNT_SID=AC[0-9a-f]{32}$", text, re.M)
    assert environ["TWILIO_AUTH_TOKEN"] in text
    # Once there is a token, nothing is touched again.
    assert ensure_dev_credentials(env_file, environ) is False
    assert env_file.read_text() == text

    fresh = tmp_path / "fresh.env"
    assert ensure_dev_credentials(fresh, {"TWILIO_ACCOUNT_SID": ACCOUNT}) is True
    assert oct(fresh.stat().st_mode & 0o777) == "0o600"
    assert "TWILIO_ACCOUNT_SID" not in fresh.read_text()
