"""A worker killed (SIGKILL, its whole process group) while a reminder's text, or a late follow-up's call, is
on the wire to Twilio: RQ's abandoned-job handling retries the send job in another worker, which finds the
text or call at Twilio and records it: exactly one text or call, one row with its SID."""
from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer

from ivr.dev.twilio_standin import TwilioStandin
from tests.helpers.contact import POOL, add_appointment, add_client, touch_rows
from tests.helpers.processes import Workers, app_beside_workers, registered_workers, wait_for, worker_env
from tests.helpers.service import ACCOUNT, TOKEN, Clock

pytestmark = pytest.mark.wallclock

NY = ZoneInfo("America/New_York")
PHONE = "+15551239002"
DUE = dt.datetime(2026, 12, 2, 15, 0, tzinfo=NY).astimezone(dt.UTC)  # Wednesday, 2 days before Friday 3 PM


@pytest.fixture
def own_standin():
    standin = TwilioStandin(ACCOUNT, TOKEN).start()
    standin.arrived = threading.Event()
    inner = standin.app.wsgi_app

    def observed(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith(("/Messages.json", "/Calls.json")):
            standin.arrived.set()
        return inner(environ, start_response)

    standin.app.wsgi_app = observed
    yield standin
    standin.stop()


@pytest.mark.parametrize("channel", ["text", "call"])
def test_a_worker_killed_mid_send_makes_one_text_or_call(channel, aof_redis, own_standin, database, flows_dir,
                                                         tmp_path):
    # A reminder text due now; or a late follow-up call (Monday's 11:00 appointment, now 11:15).
    late_start = dt.datetime(2026, 11, 30, 11, tzinfo=NY).astimezone(dt.UTC)
    now = DUE if channel == "text" else late_start + dt.timedelta(minutes=15)
    app, redis = app_beside_workers(aof_redis.url, own_standin.url, database, flows_dir, tmp_path, clock=Clock(now))
    ql = app.extensions["quietline"]
    add_client(database, "C-9002", "Robin", (PHONE,))
    add_appointment(database, "A-9002", "C-9002",
                    dt.datetime(2026, 12, 4, 15, tzinfo=NY).astimezone(dt.UTC) if channel == "text" else late_start)
    on_the_wire = threading.Event()
    own_standin.delay_next("/Messages.json" if channel == "text" else "/Calls.json", 120, count=1,
                           release=on_the_wire)
    assert ql.outbound.plan_pass()["scheduled"] >= 1
    [row] = [r for r in touch_rows(database, "C-9002") if r.due == now and r.channel == channel]
    assert row.status == "planned"

    workers = Workers(worker_env(aof_redis.url, database.engine.url.render_as_string(hide_password=False),
                                 own_standin.url, flows_dir, tmp_path, IVR_TEST_NOW=now.isoformat()), tmp_path)
    try:
        victim = workers.start("--queues", "urgent,calls", "--no-scheduler")
        wait_for(own_standin.arrived.is_set, 30, "the request to reach Twilio", details=workers.logs)
        assert next(r for r in touch_rows(database, "C-9002") if r.id == row.id).status == "queued"  # claimed first
        workers.start("--queues", "urgent,calls")
        wait_for(lambda: registered_workers(redis) == 2, 15, "the second worker", details=workers.logs)
        assert len(workers.kill9(victim)) == 1
        on_the_wire.set()  # the dead worker's request still arrives at Twilio
        wait_for(lambda: Job.fetch(row.job_id, connection=redis, serializer=JSONSerializer).get_status() == "finished",
                 60, "the abandoned send job to be retried", details=workers.logs)
    finally:
        workers.stop_all()
    made = [m for m in (own_standin.messages() if channel == "text" else own_standin.calls()) if m["to"] == PHONE]
    assert len(made) == 1 and made[0]["from"] in POOL
    after = next(r for r in touch_rows(database, "C-9002") if r.id == row.id)
    assert (after.status, after.twilio_sid) == ("sent" if channel == "text" else "queued", made[0]["sid"])
    assert Job.fetch(row.job_id, connection=redis, serializer=JSONSerializer).return_value() == "recovered"
    redis.close()
