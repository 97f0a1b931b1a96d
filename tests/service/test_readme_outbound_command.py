"""The README's offline outbound command, word for word, against a running `make run` (fix1112-next item 2).

The command is read from README.md (so this test fails when the README changes it) and run from a second
terminal with nothing set but the checkout's instance folder and token, as a newcomer would, while
`python -m ivr.dev.serve` (what `make run` starts, its defaults: no PUBLIC_BASE_URL, no TWILIO_API_URL) runs with
its clock fixed on Monday 23 November 2026, 11:00 New York.  The demo practice it seeds has Taylor Reed 15 minutes
late for a session that began at 10:45 (ivr/practice/demo.py), so the service's workers place the late follow-up
call to Taylor's number at the stand-in on their first pass; the README's command, which names Taylor's number
and date of birth, answers it as Taylor."""
from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ivr.practice.demo import CLIENTS, LATE_CLIENT
from tests.helpers.serve import OPEN_AT, Serve

pytestmark = pytest.mark.wallclock

ROOT = Path(__file__).resolve().parents[2]


def readme_command() -> str:
    """The outbound command as README.md gives it (the one code span with ``call --outbound``)."""
    text = (ROOT / "README.md").read_text()
    [command] = [c for c in re.findall(r"`([^`\n]+)`", text) if "call --outbound" in c]
    return command


def calls_to(serve: Serve, number: str) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{serve.standin_port}/_standin/calls", timeout=5) as r:
        return [c for c in json.loads(r.read()) if c.get("direction") == "outbound-api" and c.get("to") == number]


def test_the_readme_names_the_demo_client_the_late_call_goes_to():
    [taylor] = [c for c in CLIENTS if LATE_CLIENT in c.phones]
    assert readme_command() == (f'.venv/bin/flask --app app call --outbound --to {LATE_CLIENT} --answer client '
                                f'--script "1;{taylor.date_of_birth:%m%d%Y}#"')


def test_the_readme_outbound_command_answers_the_call_the_running_service_placed(serve_tmp):
    argv = shlex.split(readme_command())
    tmp, started = serve_tmp
    serve = Serve(tmp, "--workers", "2", public=False, now=OPEN_AT)
    started.append(serve.start())
    serve.wait_healthy(timeout=400)  # a loaded machine: what matters is that it comes up
    deadline = time.monotonic() + 300
    while not calls_to(serve, LATE_CLIENT):  # the workers' first planning pass places it
        assert time.monotonic() < deadline, "no call to Taylor was placed:\n" + serve.output()
        time.sleep(0.5)
    [placed] = calls_to(serve, LATE_CLIENT)
    assert placed["from"] in ("+15550100190", "+15550100191")

    # The second terminal: the same checkout (its instance folder and token), nothing else set.
    env = {k: v for k, v in serve.env.items() if k != "IVR_TEST_NOW"}
    assert "PUBLIC_BASE_URL" not in env and "TWILIO_API_URL" not in env
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"(answering through the running service at {serve.url}; --url to choose another)"
    assert lines[1] == f"call {placed['sid']} from {placed['from']} answered by human"
    assert lines[2] == "🔊 Hello, this is a call for someone at this number. Is that you? Press 1 for yes or 2 for no."
    assert lines[3].startswith("🔊 To protect your privacy, please enter your date of birth")
    # Verified as Taylor: the late branch, the session's time in Taylor's zone (the practice's here).
    assert lines[4] == "🔊 Thanks, Taylor. We were expecting you today at 10:45 AM. To find another time, press 2.", \
        done.stdout
    assert lines[-1] == "— outbound call ended"
    assert serve.stop_and_wait(signal.SIGTERM, timeout=60) == 0, serve.output()  # a loaded machine: exits, not how fast
    assert serve.leftovers() == []
