"""Fixture chain: redis_server → redis_conn → app → client → sim (and the Twilio REST stand-in).

The Redis server is real (started once per test session); the clock is injected
so business hours are deterministic.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pytest
from redis import Redis

from ivr.app import create_app
from ivr.dev.redis_server import EmbeddedRedis
from ivr.dev.simulator import CallSimulator, FlaskTransport
from ivr.dev.twilio_standin import TwilioStandin
from workers.runtime import using

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "a" * 32
PUBLIC = "https://ql.example.org"
# Monday 23 November 2026, 10:00 in New York: the demo practice is open.
OPEN_NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.timezone.utc)
# Monday 23 November 2026, 20:00 in New York: closed.
CLOSED_NOW = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.timezone.utc)
# Thanksgiving 2026, 11:00 in New York.
HOLIDAY_NOW = dt.datetime(2026, 11, 26, 16, 0, tzinfo=dt.timezone.utc)
# Call records in Redis are encrypted with it (ivr.encryption): every app and process the tests start reads it.
DATA_KEY = "dGVzdC1kYXRhLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE="
os.environ["IVR_DATA_KEY"] = DATA_KEY


def stored_state(redis_conn: Redis, call_sid: str) -> dict | None:
    """A call's state as Redis keeps it, decrypted with the tests' data key (None when there is none)."""
    import json

    from ivr.encryption import RecordCipher
    from ivr.telephony.call_store import CallStore

    session = CallStore(redis_conn, 60, RecordCipher.from_setting(DATA_KEY)).load(call_sid)
    return json.loads(session.to_json()) if session is not None else None


def store_state(redis_conn: Redis, state: dict) -> None:
    """Overwrite a call's stored state (same turn), encrypted as the app would."""
    from ivr.core.call_state import CallSession
    from ivr.encryption import RecordCipher
    from ivr.telephony.call_store import CallStore

    session = CallSession.from_json(__import__("json").dumps(state))
    assert CallStore(redis_conn, 14400, RecordCipher.from_setting(DATA_KEY)).save(
        session, session.turn, None, None)


WALLCLOCK_DIR = Path(__file__).resolve().parent / "wallclock"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--wallclock", metavar="ISO_INSTANT", default=None,
                     help="run every Python process of the session as if the wall clock read this instant "
                          "(e.g. 2026-11-26T11:00:00-05:00), running on from there: tests must pass at any moment")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "wallclock: starts processes or RQ machinery that read the real clock; "
                                       ".ci/run runs these again with --wallclock inside business hours")
    instant = config.getoption("--wallclock")
    if not instant or os.environ.get("QUIETLINE_WALLCLOCK"):
        return
    aware = dt.datetime.fromisoformat(instant)
    if aware.utcoffset() is None:
        raise pytest.UsageError("--wallclock needs an instant with its UTC offset, e.g. 2026-11-26T11:00:00-05:00")
    # Anchored to the real clock now, so processes started later agree with this one (tests/wallclock).
    os.environ["QUIETLINE_WALLCLOCK"] = f"{aware.isoformat()}@{time.time()}"
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(WALLCLOCK_DIR), os.environ.get("PYTHONPATH")]))
    import runpy

    runpy.run_path(str(WALLCLOCK_DIR / "sitecustomize.py"))


class Clock:
    """A clock tests can set and advance."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_conn(redis_server):
    conn = Redis.from_url(redis_server.url)
    conn.flushall()
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def standin():
    with TwilioStandin(ACCOUNT, TOKEN) as server:
        yield server


@pytest.fixture
def clock():
    return Clock(OPEN_NOW)


@pytest.fixture(scope="session")
def migrated_db_file(tmp_path_factory):
    """An empty practice database at the newest schema, migrated once and copied per test."""
    from ivr.db.database import Database, upgrade

    path = tmp_path_factory.mktemp("db-template") / "practice.db"
    database = Database.from_url(f"sqlite:///{path}")
    upgrade(database.engine)
    database.dispose()
    return path


@pytest.fixture
def database(tmp_path, migrated_db_file, clock):
    """A real SQLite practice database seeded with the demo practice around the test clock."""
    from zoneinfo import ZoneInfo

    from ivr.db.database import Database
    from ivr.practice.demo import seed_demo

    path = tmp_path / "practice.db"
    shutil.copyfile(migrated_db_file, path)
    db = Database.from_url(f"sqlite:///{path}")
    seed_demo(db.sessions, clock.now, ZoneInfo("America/New_York"))
    yield db
    db.dispose()


@pytest.fixture
def flows_dir(tmp_path):
    """A private copy of the shipped flows, so a test may edit them."""
    target = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", target)
    return target


@pytest.fixture
def settings_overrides(flows_dir, tmp_path, standin):
    return {
        "twilio_auth_token": TOKEN,
        "twilio_account_sid": ACCOUNT,
        "public_base_url": PUBLIC,
        "flows_dir": str(flows_dir),
        "recordings_dir": str(tmp_path / "recordings"),
        "twilio_api_url": standin.url,
        "flows_reload_seconds": 0,
        "secret_key": "test-secret-key-" + "0" * 32,
    }


@pytest.fixture
def app(settings_overrides, redis_conn, clock, standin, database):
    standin.reset()
    application = create_app(settings_overrides, redis=redis_conn, clock=clock, strict_flows=True,
                             database=database)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def client(app):
    return app.test_client()


def twilio_keeps_recordings(standin: TwilioStandin):
    """The simulator's ``on_recording``: Twilio keeps each message it records (a tone for its audio)."""
    from ivr.dev.simulator import tone_wav

    def keep(call_sid: str, recording_sid: str, seconds: int) -> None:
        standin.add_recording(recording_sid, tone_wav(min(seconds, 2)), call_sid=call_sid, duration=seconds)

    return keep


@pytest.fixture
def sim(client, standin):
    """Places calls exactly as Twilio would, against the app in this process (Twilio keeping the messages)."""
    return CallSimulator(FlaskTransport(client), auth_token=TOKEN, public_base_url=PUBLIC, account_sid=ACCOUNT,
                         recording_url_base=standin.url, on_recording=twilio_keeps_recordings(standin))


@pytest.fixture
def run_jobs(app, redis_conn):
    """Run every queued job now, in this process, with a real RQ worker in burst mode."""
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    def run() -> int:
        queues = [Queue(n, connection=redis_conn, serializer=JSONSerializer) for n in ("urgent", "calls")]
        worker = SimpleWorker(queues, connection=redis_conn, serializer=JSONSerializer)
        with using(app.extensions["quietline"]):
            worker.work(burst=True)
        return sum(len(q) for q in queues)

    return run
