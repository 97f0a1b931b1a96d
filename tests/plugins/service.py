"""The service's fixture chain: redis_server → redis_conn → app → client → sim (and the Twilio REST stand-in).

The Redis server is real (started once per test session); the clock is injected so business hours are
deterministic."""
from __future__ import annotations

import shutil

import pytest
from redis import Redis

from ivr.app import create_app
from ivr.dev.redis_server import EmbeddedRedis
from ivr.dev.simulator import CallSimulator, FlaskTransport
from ivr.dev.twilio_standin import TwilioStandin
from tests.helpers.service import ACCOUNT, OPEN_NOW, PUBLIC, ROOT, TOKEN, Clock, twilio_keeps_recordings
from workers.runtime import using


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
    # Without the demo's late arrival (a follow-up call due at once, for make run's newcomer): the tests here count
    # every call and text the workers make.
    seed_demo(db.sessions, clock.now, ZoneInfo("America/New_York"), late_arrival=False)
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
        queues = [Queue(n, connection=redis_conn, serializer=JSONSerializer) for n in ("urgent", "calls", "speech")]
        worker = SimpleWorker(queues, connection=redis_conn, serializer=JSONSerializer)
        with using(app.extensions["quietline"]):
            worker.work(burst=True)
        return sum(len(q) for q in queues)

    return run
