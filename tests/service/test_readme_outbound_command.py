"""The README's offline outbound command, word for word, against a running `make run` (fix1112-left item 3).

The command is read from README.md (so this test fails when the README changes it), its placeholders filled
with a demo client, and run from a second terminal with nothing set but the checkout's instance folder and
token, as a newcomer would, while `python -m ivr.dev.serve` (what `make run` starts, its defaults: no
PUBLIC_BASE_URL, no TWILIO_API_URL) runs with its clock fixed on Monday 23 November 2026, 11:00 New York.
The service's workers place the outbound calls due then at the stand-in; the README's command answers the
first one as the demo client it is for (docs/import.md: their number and date of birth)."""
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

from tests.helpers.serve import OPEN_AT, Serve

pytestmark = pytest.mark.wallclock

ROOT = Path(__file__).resolve().parents[2]


def readme_command() -> str:
    """The outbound command as README.md gives it (the one code span with ``--outbound``)."""
    text = (ROOT / "README.md").read_text()
    [command] = [c for c in re.findall(r"`([^`\n]+)`", text) if "call --outbound" in c]
    return command


def placed_calls(serve: Serve) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{serve.standin_port}/_standin/calls", timeout=5) as r:
        return [c for c in json.loads(r.read()) if c.get("direction") == "outbound-api"]


def demo_client(number: str):
    from ivr.practice.demo import CLIENTS

    [found] = [c for c in CLIENTS if number in c.phones]
    return found


def test_the_readme_outbound_command_answers_the_call_the_running_service_placed(serve_tmp):
    command = readme_command()
    assert command == ('.venv/bin/flask --app app call --outbound --to <number> --answer client --script '
                       '"1;<date of birth>#"')
    tmp, started = serve_tmp
    serve = Serve(tmp, "--workers", "2", public=False, now=OPEN_AT)
    started.append(serve.start())
    serve.wait_healthy(timeout=400)  # a loaded machine: what matters is that it comes up
    deadline = time.monotonic() + 300
    while not placed_calls(serve):  # the workers' first planning pass places it
        assert time.monotonic() < deadline, "no outbound call was placed:\n" + serve.output()
        time.sleep(0.5)
    placed = placed_calls(serve)[0]
    assert placed["from"] in ("+15550100190", "+15550100191")
    person = demo_client(placed["to"])
    argv = shlex.split(command.replace("<number>", placed["to"]).replace(
        "<date of birth>", person.date_of_birth.strftime("%m%d%Y")))

    # The second terminal: the same checkout (its instance folder and token), nothing else set.
    env = {k: v for k, v in serve.env.items() if k != "IVR_TEST_NOW"}
    assert "PUBLIC_BASE_URL" not in env and "TWILIO_API_URL" not in env
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"(answering through the running service at {serve.url}; --url to choose another)"
    assert lines[1] == f"call {placed['sid']} from {placed['from']} answered by human"
    assert lines[2] == (f"🔊 Hello, this is a call for {person.first_name}. Is that you? Press 1 for yes or 2 for "
                        "no.")
    assert lines[3].startswith("🔊 To protect your privacy, please enter your date of birth")
    # Verified: what the touch is for, by name.
    assert lines[4].startswith("🔊 ") and person.first_name in lines[4], done.stdout
    assert lines[-1] == "— outbound call ended"
    assert serve.stop_and_wait(signal.SIGTERM) == 0, serve.output()
    assert serve.leftovers() == []
