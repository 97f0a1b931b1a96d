"""The standalone Twilio stand-in (what `make run` starts) owns the demo practice's number, and an operator's
`flask --app app twilio connect` wires it, in real processes."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

from ivr.dev.twilio_standin import DEMO_PRACTICE_NUMBER
from tests.helpers.processes import worker_env
from tests.helpers.serve import free_port
from tests.helpers.service import ACCOUNT, PUBLIC, ROOT, TOKEN


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_standalone_stand_in_has_the_demo_number_and_connect_wires_it(tmp_path):
    port = free_port()
    standin = subprocess.Popen([sys.executable, "-m", "ivr.dev.twilio_standin", "--port", str(port),
                                "--account-sid", ACCOUNT, "--auth-token", TOKEN],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(500):
            try:
                numbers = requests.get(f"{url}/_standin/numbers", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.02)
        assert [n["phone_number"] for n in numbers] == [DEMO_PRACTICE_NUMBER]
        env = worker_env(f"unix://{tmp_path}/no-redis.sock", f"sqlite:///{tmp_path}/q.db", url, ROOT / "flows",
                         tmp_path)

        first = _flask(env, "twilio", "connect", "--number", "(555) 555-0100")
        second = _flask(env, "twilio", "connect", "--number", DEMO_PRACTICE_NUMBER)

        assert first.returncode == 0, first.stderr
        assert f"{DEMO_PRACTICE_NUMBER}: connected to {PUBLIC}" in first.stdout
        assert second.returncode == 0, second.stderr
        assert "nothing changed" in second.stdout
        (number,) = requests.get(f"{url}/_standin/numbers", timeout=5).json()
        assert (number["voice_url"], number["voice_fallback_url"], number["status_callback"], number["sms_url"]) == (
            f"{PUBLIC}/twilio/voice", f"{PUBLIC}/twilio/fallback", f"{PUBLIC}/twilio/status", f"{PUBLIC}/twilio/sms")
        assert list((tmp_path / "instance" / "twilio").iterdir()) == [
            tmp_path / "instance" / "twilio" / f"{number['sid']}.previous.json"]
    finally:
        standin.terminate()
        standin.wait(10)
