"""`make run ARGS="--wallclock ISO"` (break test s25 SHOULD-FIX 3): the service on a moving clock.

The README's command, word for word, starts `python -m ivr.dev.serve` on a wall clock that reads Wednesday
9 December 2026, 11:00 New York, and runs on: the service, gunicorn, the RQ workers and their scheduler and the
stand-in all read it (ivr/dev/wallclock), so the demo is seeded around it and the workers' first planning pass
places the late follow-up call to Taylor at the stand-in, whatever the real time, and the README's outbound
command answers it.  The refusals (IVR_TEST_NOW, a real Twilio, a malformed instant) exit non-zero before
anything starts.
"""
from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from ivr.dev import wallclock
from ivr.practice.demo import LATE_CLIENT
from tests.helpers.serve import Serve

ROOT = Path(__file__).resolve().parents[2]
WEDNESDAY = "2026-12-09T11:00:00-05:00"


def readme_spans(needle: str) -> list[str]:
    return [c for c in re.findall(r"`([^`\n]+)`", (ROOT / "README.md").read_text()) if needle in c]


def readme_wallclock_args() -> list[str]:
    """The ARGS of the README's `make run ARGS="--wallclock <instant>"` (the one with an instant)."""
    [command] = [c for c in readme_spans('make run ARGS="--wallclock ') if "…" not in c]
    [args] = re.findall(r'^make run ARGS="([^"]+)"$', command)
    return shlex.split(args)


def outbound_calls_to(serve: Serve, number: str) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{serve.standin_port}/_standin/calls", timeout=5) as r:
        return [c for c in json.loads(r.read()) if c.get("direction") == "outbound-api" and c.get("to") == number]


def test_the_readme_moves_the_clock_to_a_weekday_inside_calling_hours():
    assert readme_wallclock_args() == ["--wallclock", WEDNESDAY]


def moved_serve(tmp: Path, *args: str, **env: str) -> Serve:
    """A serve with no inherited moved clock (under `pytest --wallclock` this process and its environment are
    moved too: the service must move itself, from its own --wallclock); ``env`` is added last."""
    serve = Serve(tmp, *args, public=False, now=None)
    serve.env.pop(wallclock.ENV, None)
    serve.env.update(env)
    return serve


@pytest.mark.wallclock
def test_on_the_readme_wallclock_the_demo_call_waits_at_the_standin_and_the_readme_command_answers_it(serve_tmp):
    tmp, started = serve_tmp
    serve = moved_serve(tmp, "--workers", "2", *readme_wallclock_args())
    started.append(serve.start())
    serve.wait_healthy(timeout=400)  # a loaded machine: what matters is that it comes up
    out = serve.output()
    assert ("The clock runs from 2026-12-09 11:00 EST (--wallclock), moving on from there:\n"
            "  the service, its workers and RQ's scheduler all read it; Redis's own clock stays real.") in out
    assert "will not be placed" not in out  # seeded at 11:00 on the moved clock, inside calling hours
    deadline = time.monotonic() + 300
    while not outbound_calls_to(serve, LATE_CLIENT):  # RQ's scheduler runs the first planning pass on that clock
        assert time.monotonic() < deadline, "no call to Taylor was placed:\n" + serve.output()
        time.sleep(0.5)
    [placed] = outbound_calls_to(serve, LATE_CLIENT)
    assert placed["from"] in ("+15550100190", "+15550100191")
    # The stand-in is on the moved clock too: the call is dated that Wednesday, whatever the real day.
    assert parsedate_to_datetime(placed["date_created"]).date().isoformat() == "2026-12-09"

    [command] = readme_spans("call --outbound")
    env = dict(serve.env)
    done = subprocess.run(shlex.split(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == f"call {placed['sid']} from {placed['from']} answered by human"
    assert lines[4] == "🔊 Thanks, Taylor. We were expecting you today at 10:45 AM. To find another time, press 2.", \
        done.stdout
    assert serve.stop_and_wait(signal.SIGTERM, timeout=60) == 0, serve.output()
    assert serve.leftovers() == []


def refused(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    done = moved_serve(tmp, "--no-workers", *args, **env).run(timeout=120)
    assert not (tmp / "instance" / "quietline.db").exists()  # refused before anything started
    return done


def test_wallclock_is_refused_together_with_a_fixed_clock(tmp_path):
    done = refused(tmp_path, "--wallclock", WEDNESDAY, IVR_TEST_NOW="2026-11-23T11:00:00-05:00")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "Configuration error: --wallclock and IVR_TEST_NOW cannot be used together: IVR_TEST_NOW fixes the clock, "
        "--wallclock moves it and lets it run. Unset IVR_TEST_NOW (environment or .env)")


@pytest.mark.parametrize("url", ["https://api.twilio.com", "http://10.0.0.5:8010"])
def test_wallclock_is_refused_unless_twilio_is_the_local_standin(tmp_path, url):
    done = refused(tmp_path, "--wallclock", WEDNESDAY, TWILIO_API_URL=url)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "Configuration error: --wallclock is for trying the service out: it is refused unless TWILIO_API_URL "
        f"points at a local Twilio stand-in (127.0.0.1, localhost or ::1), and it is {url}. Unset TWILIO_API_URL "
        "(environment or .env): make run then starts its own stand-in")


@pytest.mark.parametrize("value", ["2026-12-09T11:00:00", "next wednesday", ""])
def test_a_wallclock_without_an_offset_or_not_iso_is_refused(tmp_path, value):
    done = refused(tmp_path, "--wallclock", value)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "Configuration error: --wallclock needs an ISO 8601 instant with its UTC offset, "
        f"e.g. 2026-12-09T11:00:00-05:00 (got {value!r})")


def test_a_python_process_started_with_the_variable_reads_the_moved_clock(tmp_path):
    """Any Python process with ivr/dev/wallclock on PYTHONPATH and the variable set is moved as it starts
    (sitecustomize), before its own code runs."""
    env = {wallclock.ENV: WEDNESDAY, "PYTHONPATH": str(wallclock.DIR)}
    code = "import datetime as dt; print(dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H'))"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout == "2026-12-09 16\n"


def test_a_second_terminal_reads_the_services_clock_from_instance_wallclock_env(tmp_path, monkeypatch):
    """bt1112-s26 NIT 4: `env $(cat instance/wallclock.env) …` (the README's words) puts a command run from
    another terminal on the service's moving clock; without --wallclock the file is gone."""
    from ivr.dev import serve as serve_mod

    monkeypatch.setenv("IVR_INSTANCE_DIR", str(tmp_path / "instance"))
    (tmp_path / "instance").mkdir()
    spec = f"{WEDNESDAY}@{wallclock.real_time()}"
    path = serve_mod.write_wallclock_env({wallclock.ENV: spec, "PYTHONPATH": str(wallclock.DIR)})
    assert path == tmp_path / "instance" / "wallclock.env"
    env = dict(line.split("=", 1) for line in path.read_text().splitlines())
    assert env == {wallclock.ENV: spec, "PYTHONPATH": str(wallclock.DIR)}
    code = "import datetime as dt; print(dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H'))"
    done = subprocess.run(["env", *path.read_text().split(), sys.executable, "-c", code], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "2026-12-09 16\n"
    assert serve_mod.write_wallclock_env({}) is None and not path.exists()
    assert any("env $(cat instance/wallclock.env)" in span for span in readme_spans("wallclock.env"))
