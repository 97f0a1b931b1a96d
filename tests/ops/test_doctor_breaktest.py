"""Issue 15's break test on the doctor (S1, S2): refused settings are findings, not a traceback; the env file the
service reads and Redis's settings file are the ones whose modes are checked."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ivr.config import PROJECT_ROOT
from ivr.encryption import generate_key
from ivr.ops import doctor as doctor_mod

GOOD_TOKEN = "f" * 32


def doctor_process(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`flask --app app doctor` as docs/deploy.md runs it: a process whose environment is the service's."""
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "IVR_INSTANCE_DIR": str(tmp_path / "instance"),
            "IVR_ENV_FILE": str(tmp_path / "quietline.env"), "DATABASE_URL": f"sqlite:///{tmp_path}/q.db",
            "REDIS_URL": "redis://127.0.0.1:1/0", "PUBLIC_BASE_URL": "https://phone.example-practice.org",
            "IVR_DATA_KEY": generate_key(), "IVR_RECORDINGS_KEY": generate_key(), "TWILIO_AUTH_TOKEN": GOOD_TOKEN}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", "doctor", *args], cwd=PROJECT_ROOT,
                          env={**base, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("setting", "value", "check", "words"), [
    ("TWILIO_AUTH_TOKEN", "", "config", "TWILIO_AUTH_TOKEN is not set"),
    ("IVR_RECORDINGS_KEY", "not-a-key", "encryption_key", "IVR_RECORDINGS_KEY"),
    ("IVR_DATA_KEY", "", "data_key", "IVR_DATA_KEY"),
])
def test_a_setting_the_service_refuses_is_a_finding_not_a_traceback(tmp_path, setting, value, check, words):
    done = doctor_process(tmp_path, "--json", **{setting: value})
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert [p["check"] for p in report["problems"]] == [check]
    assert words in report["problems"][0]["message"]
    assert {"name": check, "ok": False} in report["checks"]

    text = doctor_process(tmp_path, **{setting: value})
    assert text.returncode == 1 and "Traceback" not in text.stderr + text.stdout
    assert f"PROBLEM [{check}]: " in text.stdout and "problem(s)" in text.stdout


def test_config_findings_are_empty_for_usable_settings(tmp_path):
    from ivr.config import load_settings
    settings = load_settings({}, {"twilio_auth_token": GOOD_TOKEN, "data_key": generate_key(),
                                  "recordings_key": generate_key()})
    assert doctor_mod.config_findings(settings) == []
