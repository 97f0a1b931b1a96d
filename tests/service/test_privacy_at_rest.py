"""No client details at rest where they need not be (issue 8 §2).

* Redis (its memory, its append-only file, an RDB snapshot) never holds a client's name,
  numbers, birth date, clinician or appointment times in clear, after verified calls driven
  by the simulator and every job run by a real RQ worker;
* values are bound to their call and field (associated data), keys rotate without losing
  a call in flight, a wrong or missing key is refused with a clear error;
* everything under ``instance/``, the recordings and ``.env`` are owner-only whatever the umask.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import re
import stat
import subprocess
import sys
import time
import zlib
from pathlib import Path

import phonenumbers
import pytest
from redis import Redis

from ivr.app import create_app
from ivr.dev.redis_server import EmbeddedRedis
from ivr.dev.simulator import CallSimulator, FlaskTransport
from ivr.encryption import RecordCipher, generate_key, key_id, parse_keys
from ivr.exceptions import CallRecordUnreadable, ConfigError
from ivr.practice.demo import CLIENTS, CLINICIANS
from ivr.telephony.call_store import CallStore
from tests.helpers.escalations import escalations, texts
from tests.helpers.service import ACCOUNT, DATA_KEY, PUBLIC, ROOT, TOKEN, twilio_keeps_recordings
from workers.runtime import using

ALEX = next(c for c in CLIENTS if c.first_name == "Alex")
ALEX_PHONE = ALEX.phones[0]
CLINICIAN = next(c for c in CLINICIANS if c.id == ALEX.clinician)
RESCHEDULED = [
    "Thanks, Alex. Your next appointment is tomorrow at 10 AM with Dr. Maya Chen.",
    "You chose tomorrow at 9 AM, in place of your appointment tomorrow at 10 AM. To book it, press 1 or say yes. "
    "To choose again, press 2.",
    "You're all set for tomorrow at 9 AM with Dr. Maya Chen.",
]


# --------------------------------------------------------------------------- what must never be in clear

def _phone_forms(e164: str) -> set[str]:
    number = phonenumbers.parse(e164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = re.sub(r"\D", "", national)
    return {e164, e164.lstrip("+"), national, international, digits, f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
            f"{digits[:3]}.{digits[3:6]}.{digits[6:]}", f"{digits[:3]} {digits[3:6]} {digits[6:]}",
            # As a caller types or a TwiML <Say> reads it: digit by digit.
            " ".join(digits)}


def _birth_date_forms(day) -> set[str]:
    return {day.isoformat(), day.strftime("%m%d%Y"), day.strftime("%m/%d/%Y"), f"{day.month}/{day.day}/{day.year}",
            day.strftime("%Y%m%d"), day.strftime("%B %-d"), day.strftime("%-d %B"), day.strftime("%B %-dth, %Y")}


# Distinctive enough that a random ciphertext will not contain them by chance.
SECRETS = sorted(
    {ALEX.last_name, ALEX.email or "", CLINICIAN.name, CLINICIAN.name.removeprefix("Dr. "),
     # The appointment as spoken, and as texted ("Confirmed: Tue, Nov 24 at 9 AM").
     "at 10 AM", "at 9 AM", "Nov 24", "Confirmed"}
    | _phone_forms(ALEX_PHONE) | _birth_date_forms(ALEX.date_of_birth) - {""})
# A short first name is looked for as a word (a quote, space or punctuation either side), as clear text has it.
FIRST_NAME = re.compile(rb"""[\s"',.:;!?()<>\\]""" + re.escape(ALEX.first_name.encode()) + rb"""[\s"',.:;!?()<>\\]""")


def _expanded(blob: bytes) -> bytes:
    """``blob`` and every zlib stream inside it, decompressed (RQ compresses job data and failures)."""
    parts = [blob]
    for match in re.finditer(rb"\x78[\x01\x5e\x9c\xda]", blob):
        try:
            parts.append(zlib.decompressobj().decompress(blob[match.start():]))
        except zlib.error:
            continue
    return b"\n".join(parts)


def found_secrets(blob: bytes) -> list[str]:
    """The client details present in ``blob`` (or in anything compressed inside it)."""
    text = _expanded(blob)
    hits = [s for s in SECRETS if s.encode() in text]
    if FIRST_NAME.search(text):
        hits.append(ALEX.first_name)
    return hits


def everything_in(conn: Redis) -> bytes:
    """Every key and value Redis holds, whatever its type (RQ job hashes, queues, registries, sessions…)."""
    chunks: list[bytes] = []
    for key in conn.scan_iter(count=1000):
        kind = conn.type(key)
        chunks.append(key)
        if kind == b"string":
            chunks.append(conn.get(key) or b"")
        elif kind == b"hash":
            for name, value in conn.hgetall(key).items():
                chunks += [name, value]
        elif kind == b"list":
            chunks += conn.lrange(key, 0, -1)
        elif kind == b"set":
            chunks += list(conn.smembers(key))
        elif kind == b"zset":
            chunks += [member for member, _ in conn.zrange(key, 0, -1, withscores=True)]
        elif kind == b"stream":
            for _, fields in conn.xrange(key):
                for name, value in fields.items():
                    chunks += [name, value]
        elif kind != b"none":  # expired between SCAN and TYPE
            raise AssertionError(f"a Redis key of type {kind!r} this scan does not read")
    return b"\n".join(chunks)


def test_the_scan_finds_what_it_looks_for():
    """The scan itself: clear, inside a sentence, as JSON, and compressed as RQ stores job data."""
    assert found_secrets(b"<Say>Thanks, Alex. Your next appointment is tomorrow at 10 AM</Say>") == [
        "at 10 AM", "Alex"]
    assert found_secrets(zlib.compress(json.dumps({"to": "+15551230001"}).encode())) == ["+15551230001",
                                                                                        "15551230001",
                                                                                        "5551230001"]
    assert "(555) 123-0001" in found_secrets(b"call (555) 123-0001") and "04151985" in found_secrets(b"04151985#")
    assert found_secrets(b"Alexandra") == []


# --------------------------------------------------------------------------- a real Redis with persistence

@pytest.fixture
def persistent_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture
def redis_conn(persistent_redis):
    """This module's Redis writes an append-only file (as `make run`'s does); every fixture uses it."""
    conn = Redis.from_url(persistent_redis.url)
    yield conn
    conn.close()


def _disk_files(server: EmbeddedRedis, conn: Redis) -> dict[str, bytes]:
    """The append-only file as it is, and an RDB snapshot taken now (uncompressed, so a scan sees its strings)."""
    conn.config_set("rdbcompression", "no")
    before = conn.lastsave()
    conn.bgsave()
    for _ in range(500):
        if conn.lastsave() != before and conn.info("persistence")["rdb_bgsave_in_progress"] == 0:
            break
        time.sleep(0.02)
    files = {p.name: p.read_bytes() for p in sorted(server.directory.rglob("*")) if p.is_file()
             and (p.suffix in (".aof", ".rdb") or ".aof." in p.name)}
    assert any(name.endswith(".aof") or ".aof." in name for name in files) and "dump.rdb" in files, files.keys()
    return files


def test_verified_calls_leave_no_client_details_in_redis_nor_its_files(sim, app, persistent_redis, redis_conn,
                                                                       database, standin, staff, jobs):
    ql = app.extensions["quietline"]
    # 1. Verified: hears the appointment and the clinician, moves it, gets a confirmation text.
    moved = sim.call(from_=ALEX_PHONE, script="1;04151985#;1;1;1")
    assert [line for line in moved.heard if line in RESCHEDULED] == RESCHEDULED
    # The record really holds those details (encrypted), and the text waits in the outbox, so the scans below
    # look at a Redis that has them to hide.
    state = ql.call_store.load(moved.call_sid)
    assert ALEX.first_name in state.to_json() and CLINICIAN.name in state.to_json()
    [(entry_id, pending)] = ql.call_store.outbox(moved.call_sid).items()
    assert (pending["to"], pending["body"]) == (ALEX_PHONE, "Confirmed: Tue, Nov 24 at 9 AM. Reply STOP to opt out.")
    answers = [ql.call_store.answered(moved.call_sid, turn) or "" for turn in range(state.turn)]
    assert sum("Thanks, Alex. Your next appointment is tomorrow at 10 AM" in a for a in answers) == 1
    assert found_secrets(everything_in(redis_conn)) == []

    # 2. Verified, none of the slots suits: an escalation to staff (jobs, notifications, reminders).
    failed = sim.call(from_=ALEX_PHONE, script="1;04151985#;1;4;say:Wednesday;4")
    assert failed.heard[-2].startswith("I'm sorry I couldn't find a time that works.")
    # 3. A withheld number: the number on file typed, the birth date spoken, then a message for a person.
    spoken = sim.call(from_="Anonymous", script="1;5551230001;say:April 15th, 1985;0;noanswer;record:4")
    assert "Thanks, Alex. Your next appointment is tomorrow at 9 AM with Dr. Maya Chen." in spoken.heard  # moved
    assert spoken.heard[-1] == "Thank you. Someone will call you back by today at 12 PM. Goodbye."
    assert found_secrets(everything_in(redis_conn)) == []

    jobs.settle()  # every job, as the workers would run them: the text, escalations, notifications, the recording
    assert (ALEX_PHONE, "Confirmed: Tue, Nov 24 at 9 AM. Reply STOP to opt out.") in texts(standin)
    assert {(e.call_sid, e.recording_sid is not None) for e in escalations(database)} == {
        (failed.call_sid, False), (spoken.call_sid, True)}
    assert ql.call_store.outbox(moved.call_sid) == {}

    assert found_secrets(everything_in(redis_conn)) == []
    for name, content in _disk_files(persistent_redis, redis_conn).items():
        assert ("ql:call:" + moved.call_sid).encode() in content, name  # the files do hold the calls' records
        assert found_secrets(content) == [], name
    # Only the turn, which the compare-and-set compares, is in clear in a call's hash.
    fields = redis_conn.hgetall("ql:call:" + moved.call_sid)
    assert fields[b"turn"].isdigit()
    for name, value in fields.items():
        if name != b"turn":
            assert value[:1] == b"\x01" and value[1:5] == key_id(parse_keys(DATA_KEY)[0]), name


# --------------------------------------------------------------------------- associated data, keys, rotation

def _store(redis_conn: Redis, keys: str) -> CallStore:
    return CallStore(redis_conn, 600, RecordCipher.from_setting(keys))


def test_a_value_moved_to_another_call_field_or_turn_does_not_open(sim, app, redis_conn):
    first = sim.call(from_=ALEX_PHONE, script="1;04151985#;1;1;1")
    second = sim.call(from_=ALEX_PHONE, script="1;hangup")
    store = _store(redis_conn, DATA_KEY)
    a, b = "ql:call:" + first.call_sid, "ql:call:" + second.call_sid
    # Another call's state (with its turn) in this call's record.
    redis_conn.hset(b, mapping={"turn": redis_conn.hget(a, "turn"), "state": redis_conn.hget(a, "state")})
    with pytest.raises(CallRecordUnreadable, match=f"call {second.call_sid} does not open: it was altered, or "
                                                   "copied from another call or field"):
        store.load(second.call_sid)
    # An answer cached for one turn, replayed for another.
    redis_conn.hset(a, "r1", redis_conn.hget(a, "r3"))
    with pytest.raises(CallRecordUnreadable, match="'r1'"):
        store.answered(first.call_sid, 1)
    # An older state put back under the current turn.
    redis_conn.hset(a, "turn", int(redis_conn.hget(a, "turn")) + 1)
    with pytest.raises(CallRecordUnreadable):
        store.load(first.call_sid)
    # Clear text (a record written by a version before encryption, or planted) is not believed.
    redis_conn.hset(a, "state", json.dumps({"call_sid": first.call_sid}))
    with pytest.raises(CallRecordUnreadable, match="is not encrypted with a data key"):
        store.load(first.call_sid)


@pytest.mark.parametrize("setting, message", [
    ("", "IVR_DATA_KEY is not set: call records in Redis are encrypted with it"),
    ("not-a-key", "IVR_DATA_KEY: key 1 of 1 is not 32 bytes in URL-safe base64"),
    (DATA_KEY + ",", "IVR_DATA_KEY: key 2 of 2 is empty"),
    (DATA_KEY + "," + base64.urlsafe_b64encode(b"k" * 16).decode(), "IVR_DATA_KEY: key 2 of 2 is not 32 bytes"),
    (DATA_KEY + "," + DATA_KEY, "IVR_DATA_KEY: key 2 of 2 repeats an earlier key"),
])
def test_a_missing_or_malformed_key_stops_the_app_with_a_clear_error(settings_overrides, redis_conn, setting,
                                                                    message):
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        create_app({**settings_overrides, "data_key": setting}, redis=redis_conn)
    assert not [part for part in setting.split(",") if part and part in str(raised.value)]  # no key shown


def test_the_service_refuses_to_start_without_a_key_outside_development(tmp_path):
    """`python -m ivr.dev.serve` writes a development key only into .env; without .env (a server), no key, no start."""
    env = {k: v for k, v in os.environ.items() if k != "IVR_DATA_KEY"}
    env.update(FLASK_SKIP_DOTENV="1", TWILIO_AUTH_TOKEN=TOKEN, IVR_INSTANCE_DIR=str(tmp_path / "instance"))
    done = subprocess.run(
        [sys.executable, "-m", "ivr.dev.serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Configuration error: IVR_DATA_KEY is not set: call records in Redis are encrypted with it." in done.stderr
    assert not (tmp_path / "instance").exists()  # nothing started, nothing written


def test_make_run_creates_a_development_key_in_env_once(tmp_path):
    from ivr.dev.serve import ensure_dev_data_key

    env_file = tmp_path / ".env"
    env_file.write_text("TWILIO_AUTH_TOKEN=x\n")
    env_file.chmod(0o644)
    environ: dict[str, str] = {}
    assert ensure_dev_data_key(env_file, environ) is True
    key = environ["IVR_DATA_KEY"]
    assert env_file.read_text() == f"TWILIO_AUTH_TOKEN=x\nIVR_DATA_KEY={key}\n"
    assert len(parse_keys(key)) == 1
    assert ensure_dev_data_key(env_file, environ) is False and env_file.read_text().count("IVR_DATA_KEY") == 1
    fresh = tmp_path / "fresh.env"
    old = os.umask(0)
    try:
        assert ensure_dev_data_key(fresh, {}) is True
    finally:
        os.umask(old)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def _app(settings_overrides, redis_conn, clock, database, keys: str):
    return create_app({**settings_overrides, "data_key": keys}, redis=redis_conn, clock=clock, strict_flows=True,
                      database=database)


def test_a_rotated_key_still_reads_the_calls_in_flight(settings_overrides, redis_conn, clock, database, standin):
    """Mid-call, the service restarts with a new key first and the old one after: the call goes on unchanged."""
    new = generate_key()
    before = _app(settings_overrides, redis_conn, clock, database, DATA_KEY)
    after = _app(settings_overrides, redis_conn, clock, database, f"{new},{DATA_KEY}")
    transport = FlaskTransport(before.test_client())
    sim = CallSimulator(transport, auth_token=TOKEN, public_base_url=PUBLIC, account_sid=ACCOUNT,
                        recording_url_base=standin.url, on_recording=twilio_keeps_recordings(standin))
    keys = iter(["1", "1", "1"])
    sealed_before: list[bytes] = []

    def restart_then_press(prompt: str) -> str:
        if not sealed_before:  # verified, the appointment read out: restart with the rotated keys
            [record] = redis_conn.keys("ql:call:*")
            sealed_before.append(redis_conn.hget(record, "state"))
            transport.client = after.test_client()
        return next(keys, "hangup")

    result = sim.call(from_=ALEX_PHONE, script="1;04151985#", interactive=True, input_fn=restart_then_press)
    assert [line for line in result.heard if line in RESCHEDULED] == RESCHEDULED
    assert result.heard[-1] == "Thank you for calling. Goodbye."
    # Written before the restart with the old key, since then with the new one.
    assert sealed_before[0][1:5] == key_id(parse_keys(DATA_KEY)[0])
    assert redis_conn.hget("ql:call:" + result.call_sid, "state")[1:5] == key_id(parse_keys(new)[0])
    # Once the old key is dropped, the new records still open; with only the old key they do not.
    assert _store(redis_conn, new).load(result.call_sid).ended
    with pytest.raises(CallRecordUnreadable, match=r"was encrypted with a data key that is not in IVR_DATA_KEY "
                                                   r"\(key id [0-9a-f]{8}\)\. When rotating, keep the old key"):
        _store(redis_conn, DATA_KEY).load(result.call_sid)


def test_a_wrong_key_is_refused_clearly_and_the_caller_still_reaches_someone(settings_overrides, redis_conn, clock,
                                                                            database, caplog, standin):
    """A key replaced instead of rotated: the call in flight gets the apology (a message, a callback), not a crash,
    and the log says what is wrong without a client detail."""
    from tests.helpers.webhooks import post, start_params

    sid = "CA" + "7" * 32
    first = _app(settings_overrides, redis_conn, clock, database, DATA_KEY).test_client()
    assert post(first, "/twilio/voice", start_params(sid, ALEX_PHONE)).status_code == 200
    wrong = _app(settings_overrides, redis_conn, clock, database, generate_key())
    caplog.set_level(logging.INFO)
    answer = post(wrong.test_client(), "/twilio/voice/input?turn=1", {**start_params(sid, ALEX_PHONE),
                                                                      "Digits": "1"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "<Say" in body and "sorry" in body.lower() and "<Record" in body
    assert (f"field 'state' of call {sid} was encrypted with a data key that is not in IVR_DATA_KEY") in caplog.text
    assert found_secrets(caplog.text.encode()) == []
    from rq import Queue
    from rq.serializers import JSONSerializer

    assert f"escalate-{sid}-system_error" in Queue("calls", connection=redis_conn, serializer=JSONSerializer).job_ids


def test_reconciliation_escalates_a_call_whose_record_no_key_opens(settings_overrides, redis_conn, clock, database,
                                                                   standin, staff, jobs):
    """Its promises cannot be read, so staff call back: one system_error escalation, the number from Twilio."""
    from tests.helpers.webhooks import post, start_params
    from workers.reconcile import reconcile

    sid = "CA" + "8" * 32
    standin.reset()
    standin.add_call(sid, ALEX_PHONE, "+15550100000", status="completed")
    old = _app(settings_overrides, redis_conn, clock, database, generate_key())
    assert post(old.test_client(), "/twilio/voice", start_params(sid, ALEX_PHONE)).status_code == 200
    app = jobs.app  # the tests' key, which never sealed this call
    clock.advance(minutes=5)
    with using(app.extensions["quietline"]):
        assert reconcile() == {"unreadable records escalated": 1}
        assert reconcile() == {}  # once per call
    jobs.settle()
    [escalation] = escalations(database)
    assert (escalation.call_sid, escalation.reason, escalation.caller_number) == (sid, "system_error", ALEX_PHONE)


# --------------------------------------------------------------------------- owner-only files

@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def permissive_umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _loose(root: Path) -> list[str]:
    """Entries under ``root`` that someone other than the owner could read, write or enter."""
    out = []
    for entry in [root, *root.rglob("*")]:
        st = entry.lstat()
        if stat.S_ISSOCK(st.st_mode) or stat.S_ISLNK(st.st_mode):
            continue
        mode = stat.S_IMODE(st.st_mode)
        wanted = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        if mode != wanted:
            out.append(f"{entry.relative_to(root)} {oct(mode)}")
    return out


def test_instance_files_are_created_owner_only_whatever_the_umask(tmp_path, permissive_umask, standin):
    from ivr.config import instance_secret_key, load_settings
    from ivr.db.database import Database, upgrade
    from ivr.dev.simulator import tone_wav
    from ivr.escalations.demo import demo_password
    from ivr.escalations.recording_files import RecordingFiles
    from ivr.telephony import twilio_rest

    instance = tmp_path / "instance"
    # The database, its WAL and shared-memory files.
    database = Database.from_url(f"sqlite:///{instance / 'quietline.db'}")
    upgrade(database.engine)
    with database.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        assert (instance / "quietline.db-wal").exists()
        # Redis's folder, append-only file, snapshot and log.
        server = EmbeddedRedis(instance / "redis", appendonly=True).start()
        try:
            conn_redis = Redis.from_url(server.url)
            conn_redis.set("k", "v")
            conn_redis.save()
        finally:
            server.stop()
        instance_secret_key(instance)
        demo_password(instance, environ={})
        # A voicemail copied from Twilio.
        standin.reset()
        standin.add_recording("RE" + "1" * 32, tone_wav(1), call_sid="CA" + "1" * 32, duration=1)
        settings = load_settings(overrides={"twilio_auth_token": TOKEN, "twilio_account_sid": ACCOUNT,
                                            "twilio_api_url": standin.url})
        recordings = tmp_path / "recordings"
        url = f"{twilio_rest.REAL_API_URL}/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'1' * 32}"
        files = RecordingFiles.from_settings(recordings, generate_key())
        files.write_audio("CA" + "1" * 32, "RE" + "1" * 32, twilio_rest.fetch_recording_bytes(settings, url))
        names = {p.name for p in instance.rglob("*")}
        assert {"quietline.db", "quietline.db-wal", "quietline.db-shm", "redis", "dump.rdb", "redis.log",
                "secret_key", "demo-staff-password"} <= names
        assert any(n.endswith(".aof") or n == "appendonlydir" for n in names)
        assert _loose(instance) == [] and _loose(recordings) == []
    database.dispose()


def test_files_an_older_version_left_readable_are_made_owner_only_at_start(tmp_path, caplog):
    """`python -m ivr.dev.serve` and the embedded Redis tighten what is there (a 0644 database or append-only file)."""
    from ivr.private_files import tighten

    instance = tmp_path / "instance"
    (instance / "redis").mkdir(parents=True, mode=0o755)
    for name in ("quietline.db", "redis/appendonly.aof", "redis/redis.log", "secret_key"):
        (instance / name).write_text("x")
        (instance / name).chmod(0o644)
    (instance / "redis").chmod(0o755)
    instance.chmod(0o755)
    caplog.set_level(logging.INFO)
    assert tighten(instance) == 6
    assert _loose(instance) == []
    assert [r.getMessage() for r in caplog.records] == [
        f"{instance}: 6 file(s) or folder(s) were readable by other users; now owner-only"]
    assert tighten(instance) == 0  # nothing to say the second time


def test_the_whole_service_keeps_instance_and_recordings_owner_only(serve_tmp):
    """`python -m ivr.dev.serve` started with umask 000 over files an older version left readable: after a
    verified call, every file it and its children (Redis, gunicorn, the workers) wrote or found is owner-only."""
    from ivr.dev.simulator import HttpTransport
    from tests.helpers.serve import ACCOUNT as SERVE_ACCOUNT
    from tests.helpers.serve import TOKEN as SERVE_TOKEN
    from tests.helpers.serve import Serve

    tmp, started = serve_tmp
    instance, recordings = tmp / "instance", tmp / "recordings"
    (instance / "redis").mkdir(parents=True)
    recordings.mkdir()
    old_files = [
        instance / "quietline.db",
        instance / "redis" / "redis.log",
        recordings / f"CA{'2' * 32}-RE{'2' * 32}.wav",
    ]
    for path in old_files:
        path.write_bytes(b"")
    for path in (instance, instance / "redis", recordings, *old_files):
        path.chmod(0o777 if path.is_dir() else 0o666)
    serve = Serve(tmp, "--workers", "2")
    old = os.umask(0)
    try:
        started.append(serve.start())
    finally:
        os.umask(old)
    serve.wait_healthy()
    sim = CallSimulator(HttpTransport(), auth_token=SERVE_TOKEN, public_base_url=serve.url, account_sid=SERVE_ACCOUNT,
                        recording_url_base=f"http://127.0.0.1:{serve.standin_port}")
    result = sim.call(from_=ALEX_PHONE, script="1;04151985#;3")
    assert result.heard[2:4] == [
        "To protect your privacy, please enter your date of birth as eight digits, month, day and year, then press "
        "pound. Or say it. If you have a PIN with us, press star, then your PIN, then pound. If you are new to "
        "our practice, press 4 and then pound, or say new client. If you are in crisis, press 9 and then pound, or "
        "say crisis.",
        next(line for line in result.heard if line.startswith("Thanks, Alex. Your next appointment is"))]
    assert _loose(instance) == [] and _loose(recordings) == []
    assert serve.stop_and_wait() == 0
    assert "dump.rdb" in {p.name for p in instance.rglob("*")}  # written at shutdown
    assert _loose(instance) == [] and _loose(recordings) == []
    output = serve.output()
    assert f"{instance}: 4 file(s) or folder(s) were readable by other users; now owner-only" in output
    assert f"{recordings}: 2 file(s) or folder(s) were readable by other users; now owner-only" in output
    assert found_secrets(output.encode()) == []


def test_the_embedded_redis_rewrites_its_append_only_file_at_start(tmp_path):
    """What an older version wrote in clear (or any record since expired) leaves the file at the next start."""
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True).start()
    conn = Redis.from_url(server.url)
    conn.hset("ql:call:CA" + "3" * 32, mapping={"turn": "1", "state": json.dumps({"caller": ALEX_PHONE})})
    conn.delete("ql:call:CA" + "3" * 32)  # expired
    conn.set("kept", "1")
    server.stop()

    def aof() -> bytes:
        return b"".join(p.read_bytes() for p in (tmp_path / "redis").rglob("*") if ".aof" in p.name)

    assert ALEX_PHONE.encode() in aof()
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True).start()
    try:
        conn = Redis.from_url(server.url)
        for _ in range(500):
            info = conn.info("persistence")
            if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
                break
            time.sleep(0.02)
        assert conn.get("kept") == b"1"
        assert ALEX_PHONE.encode() not in aof() and found_secrets(aof()) == []
    finally:
        server.stop()


def test_a_text_whose_entry_no_key_opens_is_escalated_at_once(sim, app, redis_conn, database, standin, staff, jobs):
    """Retrying would not help: the entry leaves Redis and staff get the client what the text promised."""
    result = sim.call(from_=ALEX_PHONE, script="1;04151985#;1;1;1")
    [name] = [f for f in redis_conn.hkeys("ql:call:" + result.call_sid) if f.startswith(b"outbox:text-")]
    other = _store(redis_conn, generate_key())
    redis_conn.hset("ql:call:" + result.call_sid, name,
                    other.cipher.seal(b"{}", other._context(result.call_sid, name.decode())))
    jobs.settle()
    assert all(to != ALEX_PHONE for to, _ in texts(standin))  # staff were texted; the client was not
    assert redis_conn.hget("ql:call:" + result.call_sid, name) is None
    assert [(e.call_sid, e.reason) for e in escalations(database)] == [(result.call_sid, "text_failed")]
