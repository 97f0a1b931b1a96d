"""`flask --app app doctor`: a healthy installation passes; each planted fault is named, on real parts.

Real parts: a redis-server started with production's settings (AOF, noeviction, a password), the Twilio
stand-in's IncomingPhoneNumbers, the SQLite database at (or behind) the newest migration, files with
real modes, a recording sealed with the recordings key.  The service clock is fixed; the clock check
compares our clock with the stand-in's Date header (both the machine's), since no NTP daemon answers here.
"""
from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from rq import Queue, Worker
from rq.scheduler import RQScheduler

from ivr.config import load_settings
from ivr.db.database import Database, head_revision, upgrade
from ivr.escalations.recording_files import RecordingFiles
from ivr.jobs.enqueue import SPEECH_QUEUE, URGENT_QUEUE
from ivr.jobs.layout import worker_layout
from ivr.ops import backup_crypto
from ivr.ops import doctor as doctor_mod
from ivr.ops.connect import wanted
from ivr.ops.install import PRIVATE_KEY_FILE, PRIVATE_KEY_LEFT_NOTE
from ivr.private_files import private_dir
from tests.helpers.ops import BACKUP_KEY, NUMBER
from tests.helpers.service import OPEN_NOW, PUBLIC, RECORDINGS_KEY

CALL = "CA" + "1" * 32
RECORDING = "RE" + "2" * 32


@pytest.fixture(autouse=True)
def no_ntp_daemon(monkeypatch):
    """This machine's chrony/timedatectl (if any) must not decide the tests: the stand-in's Date header does."""
    monkeypatch.setattr(doctor_mod, "_run_quietly", lambda argv: None)


@pytest.fixture
def healthy(make_app, standin, production_redis, tmp_path, monkeypatch):
    """Everything as a going-live checklist wants it; returns (app, env file, backup status file)."""
    standin.add_number(NUMBER, **wanted(PUBLIC))
    backups = private_dir(tmp_path / "backups")
    monkeypatch.setenv("IVR_BACKUP_DIR", str(backups))
    status = backups / "status.json"
    _write_status(status, OPEN_NOW - dt.timedelta(hours=2), OPEN_NOW - dt.timedelta(days=3))
    env_file = tmp_path / "quietline.env"
    env_file.write_text("TWILIO_AUTH_TOKEN=…\n")
    env_file.chmod(0o600)
    recordings = tmp_path / "recordings"
    RecordingFiles.from_settings(recordings, RECORDINGS_KEY).write_audio(CALL, RECORDING, b"RIFF....WAVEfmt ")
    private_dir(tmp_path / "instance")
    live_roles(production_redis)
    app = make_app(redis=production_redis, twilio_number=NUMBER, recordings_dir=str(recordings),
                   doctor_min_free_mb=1)
    return app, env_file, status


def live_roles(conn, skip: tuple[str, ...] = (), scheduler: bool = True) -> None:
    """The installation's workers in RQ's registry as a started worker registers itself (its key, with RQ's TTL),
    but those whose queue list is in ``skip``; and the scheduler's locks, taken as RQ's scheduler takes them."""
    for queues in worker_layout():
        if ",".join(queues) not in skip:
            Worker([Queue(q, connection=conn) for q in queues], connection=conn).register_birth()
    if scheduler:
        RQScheduler([URGENT_QUEUE, "calls", SPEECH_QUEUE], connection=conn).acquire_locks()


def _write_status(path, backup_at, verified_at):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"last_backup_at": backup_at.isoformat(), "last_backup": "quietline-backup.tar",
                   "last_verified_restore_at": verified_at.isoformat() if verified_at else None}, out)


def _doctor(app, env_file, *args):
    result = app.test_cli_runner().invoke(args=["doctor", "--json", "--env-file", str(env_file), *args])
    return result, json.loads(result.output) if result.output.startswith("{") else None


def _problems(report):
    return {(p["check"], p["message"]) for p in report["problems"]}


def _checks_failing(report):
    return sorted(c["name"] for c in report["checks"] if not c["ok"])


def test_a_healthy_installation_passes(healthy):
    app, env_file, _ = healthy

    result, report = _doctor(app, env_file)

    assert result.exit_code == 0, result.output
    assert report["ok"] is True
    assert report["problems"] == []
    assert [c["name"] for c in report["checks"]] == [
        "public_base_url", "number", "auth_token", "redis", "roles", "speech", "twilio_copies", "database", "backup",
        "backup_key", "disk", "permissions", "encryption_key", "clock"]
    assert all(c["ok"] for c in report["checks"])
    # The stand-in is not Twilio: said, but not a failure (a rehearsal).
    assert report["warnings"] == [{"check": "twilio_api_url", "message": "TWILIO_API_URL is a local Twilio "
                                   "stand-in: fine for a rehearsal, not for going live"}]


def test_the_text_report_names_each_problem_and_exits_1(healthy, standin):
    app, env_file, status = healthy
    status.unlink()

    result = app.test_cli_runner().invoke(args=["doctor", "--env-file", str(env_file)])

    assert result.exit_code == 1
    assert "PROBLEM [backup]: no backup yet" in result.output
    assert "13 of 14 checks passed; 1 problem(s)" in result.output


def test_an_evicting_redis_is_named(healthy, production_redis):
    app, env_file, _ = healthy
    production_redis.config_set("maxmemory-policy", "allkeys-lru")

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert _checks_failing(report) == ["redis"]
    assert ("redis", "Redis's maxmemory-policy is 'allkeys-lru': a job queue must never be evicted; set "
                     "maxmemory-policy noeviction") in _problems(report)


def test_redis_without_its_append_only_file_is_named(healthy, production_redis):
    app, env_file, _ = healthy
    production_redis.config_set("appendonly", "no")

    result, report = _doctor(app, env_file)

    assert _checks_failing(report) == ["redis"]
    assert any("append-only file is off" in m for _, m in _problems(report))


def test_redis_without_a_password_is_named(healthy, make_app, redis_conn, tmp_path):
    _, env_file, _ = healthy
    # The tests' own Redis: no password, no append-only file (its default policy is noeviction).
    live_roles(redis_conn)
    app = make_app(redis=redis_conn, twilio_number=NUMBER, recordings_dir=str(tmp_path / "recordings"),
                   doctor_min_free_mb=1)

    result, report = _doctor(app, env_file)

    assert _checks_failing(report) == ["redis"]
    messages = [m for _, m in _problems(report)]
    assert "Redis answers without a password: set requirepass (and the password in REDIS_URL)" in messages
    assert any("append-only file is off" in m for m in messages)


def test_a_stale_backup_and_an_old_restore_drill_are_named(healthy):
    app, env_file, status = healthy
    _write_status(status, OPEN_NOW - dt.timedelta(hours=27), OPEN_NOW - dt.timedelta(days=36))

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert _problems(report) == {
        ("backup", "the last backup is 27.0 h old (more than 26 h): is the schedule running?"),
        ("restore", "the last verified restore is 36 days old (more than 35 days): run `flask --app app backup "
                    "verify`"),
    }


def test_a_backup_never_verified_is_named(healthy):
    app, env_file, status = healthy
    _write_status(status, OPEN_NOW - dt.timedelta(hours=1), None)

    _, report = _doctor(app, env_file)

    assert _problems(report) == {("restore", "no verified restore yet: run `flask --app app backup verify`")}


def test_secrets_readable_by_others_are_named(healthy):
    app, env_file, _ = healthy
    env_file.chmod(0o644)

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert _problems(report) == {("permissions", f"secrets file {env_file} is 0644: other users can read it; "
                                                 "make it 0600 (chmod 600)")}


def test_a_readable_recordings_folder_is_named(healthy, tmp_path):
    app, env_file, _ = healthy
    (tmp_path / "recordings").chmod(0o755)

    _, report = _doctor(app, env_file)

    assert _checks_failing(report) == ["permissions"]
    assert "recordings folder" in report["problems"][0]["message"]
    assert "make it 0700" in report["problems"][0]["message"]


def test_a_readable_voicemail_file_is_named(healthy, tmp_path):
    app, env_file, _ = healthy
    (tmp_path / "recordings" / f"{CALL}-{RECORDING}.wav.sealed").chmod(0o644)

    _, report = _doctor(app, env_file)

    assert _problems(report) == {("permissions", f"1 file(s) in {tmp_path / 'recordings'} can be read by other "
                                                 f"users: make them 0600 (chmod -R go= {tmp_path / 'recordings'})")}


def test_the_json_report_s_shape(healthy, production_redis):
    app, env_file, status = healthy
    status.unlink()
    production_redis.config_set("maxmemory-policy", "volatile-lru")

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert set(report) == {"ok", "problems", "warnings", "checks"}
    assert report["ok"] is False
    assert [p["check"] for p in report["problems"]] == ["redis", "backup"]
    assert all(set(p) == {"check", "message"} and isinstance(p["message"], str) for p in report["problems"])
    assert all(set(c) == {"name", "ok"} for c in report["checks"])
    assert {c["name"]: c["ok"] for c in report["checks"]} == {
        "public_base_url": True, "number": True, "auth_token": True, "redis": False, "roles": True, "speech": True,
        "twilio_copies": True, "database": True, "backup": False, "backup_key": True, "disk": True, "permissions": True,
        "encryption_key": True, "clock": True}


def test_a_number_in_a_messaging_service_is_a_warning(healthy, standin):
    app, env_file, _ = healthy
    service = standin.add_messaging_service(NUMBER)

    result, report = _doctor(app, env_file)

    assert result.exit_code == 0, result.output
    assert [w["check"] for w in report["warnings"]] == ["twilio_api_url", "number"]
    assert report["warnings"][1]["message"].startswith(f"the number belongs to Messaging Service {service}")


def test_a_number_pointing_elsewhere_is_named(healthy, standin):
    app, env_file, _ = healthy
    standin.reset()
    standin.add_number(NUMBER, **{**wanted(PUBLIC), "voice_url": "https://old-ivr.example.net/answer"})

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert _problems(report) == {("number", f"{NUMBER}: voice_url do not point at {PUBLIC} (run `flask --app app "
                                            "twilio connect`)")}


def test_the_development_token_is_named(healthy, make_app, production_redis, tmp_path):
    _, env_file, _ = healthy
    app = make_app(redis=production_redis, twilio_number=NUMBER, recordings_dir=str(tmp_path / "recordings"),
                   doctor_min_free_mb=1, twilio_auth_token="dev-" + "0" * 32)

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    # The stand-in refuses it too, as Twilio would refuse a token it never issued.
    assert ("auth_token", "TWILIO_AUTH_TOKEN is the development one `make run` wrote: set your account's auth "
                          "token (Twilio Console, Account info)") in _problems(report)


def test_a_database_behind_the_newest_migration_is_named(healthy, make_app, production_redis, tmp_path, db_url):
    _, env_file, _ = healthy
    old = Database.from_url(db_url)  # SQLite, then PostgreSQL
    upgrade(old.engine, "0013")
    app = make_app(redis=production_redis, database=old, twilio_number=NUMBER,
                   recordings_dir=str(tmp_path / "recordings"), doctor_min_free_mb=1)

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert _problems(report) == {("database", f"the database is at migration 0013, the newest is {head_revision()}: "
                                              "run `flask --app app db upgrade`")}
    upgrade(old.engine)
    assert _doctor(app, env_file)[0].exit_code == 0
    old.dispose()


def test_an_http_public_url_is_named(healthy, make_app, production_redis, tmp_path):
    _, env_file, _ = healthy
    app = make_app(redis=production_redis, twilio_number=NUMBER, recordings_dir=str(tmp_path / "recordings"),
                   doctor_min_free_mb=1, public_base_url="http://ql.example.org")

    _, report = _doctor(app, env_file)

    assert "public_base_url" in _checks_failing(report)


def test_a_recording_the_key_does_not_open_is_named(healthy, tmp_path):
    app, env_file, _ = healthy
    other = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMDE="
    RecordingFiles.from_settings(tmp_path / "recordings", other).write_audio("CA" + "3" * 32, RECORDING, b"RIFF")
    newest = tmp_path / "recordings" / f"{'CA' + '3' * 32}-{RECORDING}.wav.sealed"
    later = (tmp_path / "recordings" / f"{CALL}-{RECORDING}.wav.sealed").stat().st_mtime + 60
    os.utime(newest, (later, later))

    _, report = _doctor(app, env_file)

    assert _checks_failing(report) == ["encryption_key"]
    assert "does not open the newest recording" in report["problems"][0]["message"]


def test_a_clock_off_twilio_s_is_a_problem():
    facts = doctor_mod.Facts(now=OPEN_NOW, public_base_url=PUBLIC, rest_is_standin=False, token="set",
                             clock=doctor_mod.gather_clock("Mon, 23 Nov 2026 15:00:00 GMT",
                                                           OPEN_NOW.timestamp() + 90))
    assert doctor_mod.check_clock(facts, doctor_mod.Limits()) == [
        doctor_mod.Finding("clock", "the clock is +90 s off Twilio's: enable NTP (systemd-timesyncd or chrony)")]
    in_sync = doctor_mod.gather_clock("Mon, 23 Nov 2026 15:00:00 GMT", OPEN_NOW.timestamp() + 0.7)
    assert doctor_mod.check_clock(facts.__class__(**{**facts.__dict__, "clock": in_sync}), doctor_mod.Limits()) == []


def test_an_unsynchronised_ntp_daemon_is_a_problem(monkeypatch):
    monkeypatch.setattr(doctor_mod.shutil, "which", lambda name: "/usr/bin/" + name if name == "timedatectl" else None)
    clock = doctor_mod.gather_clock(None, None, run=lambda argv: "no\n")
    assert clock == doctor_mod.ClockFacts("timedatectl", synchronized=False)
    facts = doctor_mod.Facts(now=OPEN_NOW, public_base_url=PUBLIC, rest_is_standin=False, token="set", clock=clock)
    assert doctor_mod.check_clock(facts, doctor_mod.Limits())[0].message.startswith(
        "the clock is not synchronised (timedatectl)")


def test_low_disk_is_a_problem():
    facts = doctor_mod.Facts(now=OPEN_NOW, public_base_url=PUBLIC, rest_is_standin=False, token="set",
                             free_bytes={"/var/lib/quietline": 200 * 1024 * 1024})
    assert doctor_mod.check_disk(facts, doctor_mod.Limits()) == [
        doctor_mod.Finding("disk", "/var/lib/quietline: only 200 MB free (at least 1024 MB wanted)")]


@pytest.mark.parametrize(("dead", "unit"), [("urgent", "quietline-worker-urgent"), ("urgent,calls", "quietline-worker"),
                                            ("speech", "quietline-worker-speech")])
def test_a_dead_worker_role_is_named(healthy, production_redis, dead, unit):
    app, env_file, _ = healthy
    production_redis.flushall()
    live_roles(production_redis, skip=(dead,))

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert _problems(report) == {("roles", f"no live worker serves the {dead} queue(s): is {unit} running? "
                                           f"(systemctl status {unit}; journalctl -u {unit})")}


def test_a_dead_scheduler_is_named(healthy, production_redis):
    app, env_file, _ = healthy
    production_redis.flushall()
    live_roles(production_redis, scheduler=False)

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert _problems(report) == {("roles", "no scheduler holds the lock of the urgent, calls, speech queue(s): "
                                           "retries and timed jobs wait; is quietline-scheduler running? "
                                           "(systemctl status quietline-scheduler)")}


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


def test_a_private_key_the_installer_left_in_a_root_only_file_is_named(healthy, make_app, production_redis,
                                                                        tmp_path):
    """An install without a terminal (ssh without -t, Ansible, cloud-init) writes the private half to a root-only
    file the doctor, run as the service user, cannot see: the line the installer adds to the environment file
    names it until the owner deletes that line."""
    _, env_file, _ = healthy
    app = make_app(redis=production_redis, twilio_number=NUMBER, recordings_dir=str(tmp_path / "recordings"),
                   doctor_min_free_mb=1)
    env_file.write_text(f"TWILIO_AUTH_TOKEN=…\n{PRIVATE_KEY_LEFT_NOTE}{PRIVATE_KEY_FILE}: move it off, delete it, "
                        "then delete this line (`flask --app app doctor` reports it until then)\n")

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert _checks_failing(report) == ["backup_key"]
    assert [p["message"] for p in report["problems"]] == [
        f"the backup's PRIVATE key is on this machine ({PRIVATE_KEY_FILE}, where the installer wrote it; once it is "
        f"moved off and deleted, delete the line saying so in {env_file}): whoever takes the machine can read every "
        "backup. Keep it elsewhere and remove it here"]

    env_file.write_text("TWILIO_AUTH_TOKEN=…\n")
    assert _doctor(app, env_file)[0].exit_code == 0


def test_a_missing_backup_key_a_plain_archive_and_a_private_key_on_the_machine_are_named(
        healthy, make_app, production_redis, tmp_path, monkeypatch):
    _, env_file, status = healthy
    backups = status.parent
    plain = backups / "quietline-backup-20261201T023000Z.tar.gz"
    plain.write_bytes(b"\x1f\x8b plain")
    (backups / "quietline-backup-20261202T023000Z.tar.gz.enc").write_bytes(backup_crypto.MAGIC + bytes(60))
    app = make_app(redis=production_redis, twilio_number=NUMBER, recordings_dir=str(tmp_path / "recordings"),
                   doctor_min_free_mb=1, backup_public_key="")
    env_file.write_text(f"TWILIO_AUTH_TOKEN=…\nIVR_BACKUP_PRIVATE_KEY={BACKUP_KEY.text()}\n")
    monkeypatch.setenv("IVR_BACKUP_PRIVATE_KEY", BACKUP_KEY.text())

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert _checks_failing(report) == ["backup_key"]
    assert [p["message"] for p in report["problems"]] == [
        "IVR_BACKUP_PUBLIC_KEY is not set: backups cannot be encrypted (`backup create` refuses without "
        "--unencrypted). Make a pair with `flask --app app backup new-key` (docs/ops-backup.md)",
        "1 backup archive(s) are NOT encrypted (the database and every key in clear): "
        "quietline-backup-20261201T023000Z.tar.gz. Delete them once an encrypted backup is verified, and any copy "
        "made of them",
        "the backup's PRIVATE key is on this machine (the environment's IVR_BACKUP_PRIVATE_KEY): whoever takes the "
        "machine can read every backup. Keep it elsewhere and remove it here",
        f"the backup's PRIVATE key is on this machine ({env_file}): whoever takes the machine can read every "
        "backup. Keep it elsewhere and remove it here"]
    assert BACKUP_KEY.text() not in result.output

    unusable = make_app(redis=production_redis, twilio_number=NUMBER, recordings_dir=str(tmp_path / "recordings"),
                        doctor_min_free_mb=1, backup_public_key="quietline-backup-public-1-short")
    env_file.write_text("TWILIO_AUTH_TOKEN=…\n")
    monkeypatch.delenv("IVR_BACKUP_PRIVATE_KEY")
    plain.unlink()
    result, report = _doctor(unusable, env_file)
    assert [p["message"] for p in report["problems"]] == [
        "IVR_BACKUP_PUBLIC_KEY is not a Quietline backup key (32 bytes, base64url, after its prefix)"]


# --- secrets given as files (ivr/secret_files.py) -----------------------------------------------------------------

IN_ENV = ("TWILIO_AUTH_TOKEN", "IVR_DATA_KEY")
WARNING = doctor_mod.Finding(
    "secrets_in_environment",
    "TWILIO_AUTH_TOKEN, IVR_DATA_KEY are in the service's environment, which `docker inspect`, /proc/<pid>/environ "
    "and every child process see: give each as <NAME>_FILE, the path of a file only the service user reads "
    "(docs/deploy.md, \"Where secrets live\")")


def _facts(**changes) -> doctor_mod.Facts:
    return doctor_mod.Facts(now=OPEN_NOW, public_base_url=PUBLIC, rest_is_standin=False, token="set", **changes)


def test_secrets_in_the_environment_are_a_warning_in_production():
    assert WARNING in doctor_mod.warnings_of(_facts(secrets_in_environment=IN_ENV, in_container=True))
    one = doctor_mod.warnings_of(_facts(secrets_in_environment=("SECRET_KEY",), in_container=True))
    assert one[0].message.startswith("SECRET_KEY is in the service's environment")
    # A warning, not a failure: the report stays ok.
    report = doctor_mod.diagnose(_facts(secrets_in_environment=IN_ENV, in_container=True), doctor_mod.Limits())
    assert {"check": WARNING.check, "message": WARNING.message} in report["warnings"]
    assert "secrets_in_environment" not in {c["name"] for c in report["checks"]}


def test_no_warning_when_every_secret_is_a_file_or_in_a_rehearsal():
    assert doctor_mod.warnings_of(_facts(in_container=True)) == []
    rehearsal = doctor_mod.Facts(now=OPEN_NOW, public_base_url=PUBLIC, rest_is_standin=True, token="set",
                                 secrets_in_environment=IN_ENV, in_container=True)
    assert WARNING not in doctor_mod.warnings_of(rehearsal)


def test_no_warning_on_a_native_install_whose_units_read_the_environment_file():
    """systemd's EnvironmentFile= (0600, the service user's): the process environment is readable by that user and
    root only, as the file is, so a healthy native install gets no warning."""
    assert doctor_mod.warnings_of(_facts(secrets_in_environment=IN_ENV, in_container=False)) == []


def test_a_secret_file_made_readable_after_start_is_a_permissions_problem(healthy, tmp_path, monkeypatch):
    app, env_file, _ = healthy
    secret = tmp_path / "smtp_password"
    secret.write_text("smtp-pw\n")
    secret.chmod(0o400)
    monkeypatch.setenv("SMTP_PASSWORD_FILE", str(secret))

    result, report = _doctor(app, env_file)
    assert result.exit_code == 0, result.output

    secret.chmod(0o644)
    result, report = _doctor(app, env_file)
    assert result.exit_code == 1
    assert _problems(report) == {("permissions", f"secret file (SMTP_PASSWORD_FILE) {secret} is 0644: other users "
                                                 "can read it; make it 0600 (chmod 600)")}


def test_a_secret_file_the_settings_refuse_is_named_not_a_traceback(tmp_path):
    loose = tmp_path / "token"
    loose.write_text("t" * 32)
    loose.chmod(0o640)
    assert doctor_mod.settings_findings(lambda: load_settings({"TWILIO_AUTH_TOKEN_FILE": str(loose)})) == [
        doctor_mod.Finding("permissions", f"TWILIO_AUTH_TOKEN_FILE ({loose}) is 0640: its group or other users may "
                                          f"read it; make it 0400 or 0600 (chmod go= {loose})")]
    missing = tmp_path / "nowhere"
    assert doctor_mod.settings_findings(lambda: load_settings({"TWILIO_AUTH_TOKEN_FILE": str(missing)})) == [
        doctor_mod.Finding("config", f"TWILIO_AUTH_TOKEN_FILE ({missing}): no such file")]
    loose.chmod(0o600)
    both = {"TWILIO_AUTH_TOKEN_FILE": str(loose), "TWILIO_AUTH_TOKEN": "x"}
    assert doctor_mod.settings_findings(lambda: load_settings(both))[0].check == "config"


def test_voicemails_left_without_a_model_and_a_late_speech_model_queue_are_named(healthy, production_redis, database):
    """fix13-left5: the doctor says what /health says (``ivr.jobs.speech_backlog``), in counts and ages only: a
    ``no_model`` voicemail while no speech worker with a model runs, and a ``speech-model`` job waiting past its limit
    (10 minutes) at the service's fixed clock."""
    from rq.utils import utcformat

    from ivr.escalations import recordings
    from ivr.escalations.models import TranscriptStatus
    from ivr.jobs.enqueue import SPEECH_MODEL_QUEUE, Jobs

    app, env_file, _ = healthy
    recordings.note(database.sessions, CALL, RECORDING, OPEN_NOW)
    recordings.mark_fetched(database.sessions, RECORDING, OPEN_NOW)
    recordings.set_transcript_status(database.sessions, RECORDING, TranscriptStatus.NO_MODEL.value)
    waiting = ("1 voicemail(s) wait for a speech worker with a speech model and none is running: staff have the "
               "messages, but they are not transcribed or checked for a crisis until one starts (install the model: "
               "flask --app app speech download-model, then restart the speech worker: python -m workers.run "
               "--queues speech)")

    result, report = _doctor(app, env_file)  # the speech worker of live_roles has no model: it serves speech only
    assert result.exit_code == 1
    assert _problems(report) == {("speech", waiting)}
    assert RECORDING not in result.output and CALL not in result.output

    Worker([Queue(q, connection=production_redis) for q in (SPEECH_QUEUE, SPEECH_MODEL_QUEUE)],
           connection=production_redis).register_birth()
    result, report = _doctor(app, env_file)
    assert result.exit_code == 0 and report["problems"] == []

    job_id = Jobs(production_redis).transcribe_with_model(CALL, RECORDING).job_id
    production_redis.hset(f"rq:job:{job_id}", "enqueued_at", utcformat(OPEN_NOW - dt.timedelta(seconds=601)))
    result, report = _doctor(app, env_file)
    assert _problems(report) == {("speech", "the oldest voicemail waiting on the speech-model queue (transcription "
                                            "by a worker with a model) has waited 601 s, longer than 600 s: is the "
                                            "speech worker stuck or far behind?")}
    assert RECORDING not in result.output


def test_voicemail_copies_twilio_refused_to_delete_for_good_are_named(healthy, database):
    """fix13-left5: once Twilio refused DELETE_ATTEMPTS_MAX deletions of a copy nothing asks again, so the doctor
    says how many are left there (a count, never a SID) and what a person must do."""
    from ivr.escalations import recordings

    app, env_file, _ = healthy
    recordings.note(database.sessions, CALL, RECORDING, OPEN_NOW)
    recordings.mark_fetched(database.sessions, RECORDING, OPEN_NOW)
    recordings.mark_verified(database.sessions, RECORDING, 4.0, OPEN_NOW)
    recordings.mark_twilio_kept(database.sessions, RECORDING, "delete failed: twilio 403 code 20403")
    result, report = _doctor(app, env_file)
    assert result.exit_code == 0, result.output  # still being asked: nothing for a person to do yet

    recordings.give_up_deleting(database.sessions, RECORDING, "twilio 403 code 20403")
    result, report = _doctor(app, env_file)
    assert result.exit_code == 1
    assert _problems(report) == {("twilio_copies", "1 voicemail(s) are still kept at Twilio: Twilio refused to "
                                                   "delete them 24 times, so Quietline stopped asking. Check that "
                                                   "the account's key may delete recordings, and delete them in "
                                                   "Twilio's console (Monitor, Recordings); each escalation's page "
                                                   "says which")}
    assert RECORDING not in result.output and CALL not in result.output


def test_the_practices_listed_line_in_the_outbound_pool_is_named(healthy):
    """bt1112-s26 SF3: TWILIO_NUMBER listed among outbound.yaml's neutral numbers."""
    app, env_file, _ = healthy
    flows_dir = app.extensions["quietline"].flows.path
    (flows_dir / "outbound.yaml").write_text(
        'caller_id:\n  name: Appointments\n  numbers: ["+1 555 010 0190", "' + NUMBER + '"]\n')

    result, report = _doctor(app, env_file)

    assert result.exit_code == 1
    assert _checks_failing(report) == ["number"]
    assert _problems(report) == {("number", f"{NUMBER} is the practice's listed line (TWILIO_NUMBER, the number "
                                            "callers dial) and is in outbound.yaml's caller_id.numbers: every "
                                            "follow-up and reminder would show it and its caller name; the outbound "
                                            "rules are refused until it is removed")}
