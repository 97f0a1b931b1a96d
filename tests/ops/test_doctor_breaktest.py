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
from tests.ops.test_doctor import _doctor, _problems, healthy, no_ntp_daemon  # noqa: F401 (fixtures)

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


def test_the_env_file_checked_by_default_is_ivr_env_file(healthy, make_app, production_redis, tmp_path):
    app, env_file, _ = healthy
    service_env = tmp_path / "etc-quietline.env"
    service_env.write_text("TWILIO_AUTH_TOKEN=…\n")
    service_env.chmod(0o644)
    app = make_app(redis=production_redis, twilio_number=app.extensions["quietline"].settings.twilio_number,
                   recordings_dir=app.extensions["quietline"].settings.recordings_dir, doctor_min_free_mb=1,
                   env_file=str(service_env))
    result = app.test_cli_runner().invoke(args=["doctor", "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 1
    assert _problems(report) == {("permissions", f"secrets file {service_env} is 0644: other users can read it; "
                                                 "make it 0600 (chmod 600)")}


def test_redis_settings_readable_by_others_are_named(healthy, tmp_path):
    app, env_file, _ = healthy
    conf = tmp_path / "redis-quietline.conf"
    conf.write_text("requirepass secret\n")
    conf.chmod(0o640)  # as the install writes it (redis:redis; the service user is in the group)
    result, report = _doctor(app, env_file, "--redis-conf", str(conf))
    assert result.exit_code == 0, result.output
    conf.chmod(0o644)
    result, report = _doctor(app, env_file, "--redis-conf", str(conf))
    assert result.exit_code == 1
    assert _problems(report) == {("permissions", f"Redis settings (its password) {conf} is 0644: other users can "
                                                 "read it; make it 0640 (chmod 640)")}
