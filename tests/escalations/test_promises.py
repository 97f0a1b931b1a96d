"""Nothing promised is lost: every voicemail and every spoken promise becomes exactly one escalation.

Issue 7 §1 and §2, and the late request of issue 8 §4.  Calls are placed with the
simulator (signed webhooks, following the TwiML); the callbacks Twilio sends when a
caller hangs up while leaving a message are held back and delivered in every order.
Jobs run in real RQ SimpleWorkers (RQ's scheduler on the test clock), texts and
recordings go through the Twilio stand-in, rows are read from the real database.
Monday 23 November 2026, 10:00 in New York, unless a test moves the clock.
"""
from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from ivr.app import create_app
from ivr.core.priority import Priority
from ivr.dev.simulator import CallSimulator, FlaskTransport
from ivr.health import health
from ivr.telephony.call_handler import CallHandler
from tests.helpers.escalations import (
    ACK,
    ALEX,
    RECORDED,
    RECORDING_STATUS,
    STATUS,
    Holding,
    front_desk,
    of_call,
    reconcile_now,
    recording_rows,
    simulator,
    staff_texts_about,
    texts,
)
from tests.helpers.service import ACCOUNT, PUBLIC, TOKEN, store_state, stored_state, twilio_keeps_recordings

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
HANGUP = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>'


def ny(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=NY)


def state(redis_conn, call_sid: str) -> dict:
    return stored_state(redis_conn, call_sid)


def outbox_fields(redis_conn, call_sid: str) -> list[str]:
    return sorted(f.decode() for f in redis_conn.hkeys("ql:call:" + call_sid) if f.startswith(b"outbox:"))


# --------------------------------------------------------------------------- every order of the three callbacks

# Each way a caller can be left leaving a message, hanging up to finish it: the flow, its
# script, the escalation that results (reason, category, priority rank).
SCENARIOS = {
    # The operator's "leave a message" (callback flow): the voicemail comes first, the escalation after it.
    "callback": ("0;noanswer;hangup", "callback_request", "callback_request", 2),
    # A caller who could not be verified (three wrong answers) is handed to a person, then leaves a message.
    "not verified": ("1;01011990#;5551230001;01011991#;5551230001;01011992#;noanswer;hangup",
                     "callback_request", "callback_request", 2),
    # Crisis: escalated first (urgent), then the message after the on-call clinician did not answer.
    "crisis": ("9;noanswer;hangup", "crisis", "crisis", 0),
    # A call over the step limit: the engine's apology and voicemail.
    "call limit": ("say:gibberish;hangup", "call_limit", "other", 1),
}
ORDERS = list(itertools.permutations(("action", "status", "recording")))
PATHS = {"action": RECORDED, "status": STATUS, "recording": RECORDING_STATUS}


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_order_of_the_callbacks_ends_in_one_escalation_with_the_message(
        scenario, order, app, client, sim, database, redis_conn, jobs, staff, standin, settings_overrides):
    script, reason, category, priority = SCENARIOS[scenario]
    if scenario == "call limit":
        app.extensions["quietline"].calls.max_steps = 4
    transport = Holding(client, hold=(RECORDED, RECORDING_STATUS, STATUS))
    result = simulator(transport, standin).call(from_=ALEX, script=script)
    assert not result.application_error and set(transport.held) == set(PATHS.values())
    recording_sid = transport.held[RECORDING_STATUS][1]["RecordingSid"]

    answers = {}
    for what in order:  # Twilio's callbacks, in this order, with the workers running in between
        answers[what] = transport.deliver(PATHS[what])
        jobs.run()

    # (The unverified caller's three wrong answers also lock the client: that alert carries no message.)
    [esc] = [e for e in of_call(database, result.call_sid) if e.reason == reason]
    assert (esc.reason, esc.category, esc.priority) == (reason, category, priority)
    assert esc.recording_sid == recording_sid
    assert esc.caller_number == ALEX and esc.status == "open"
    assert recording_rows(database)[-1] == (result.call_sid, recording_sid, "fetched")
    assert (Path(settings_overrides["recordings_dir"]) / f"{result.call_sid}-{recording_sid}.wav.sealed").is_file()
    # Each person on call told once about it, never twice.
    told = staff_texts_about(standin, esc.id)
    assert told and len(told) == len(set(told))
    # A <Record> action that comes after the call ended is answered with a hangup, never an empty body.
    status, body = answers["action"]
    if order.index("action") > order.index("status"):
        assert (status, body) == (200, HANGUP)
    else:
        assert status == 200 and body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    assert answers["status"] == answers["recording"] == (200, ACK)
    final = state(redis_conn, result.call_sid)
    assert final["ended"] is True and final["escalated"][reason] == Priority.from_rank(esc.priority).value
    assert set(final["escalated"]) == {reason} | ({"verification_failed"} if scenario == "not verified" else set())
    assert outbox_fields(redis_conn, result.call_sid) == []


def test_a_message_left_before_the_caller_hung_up_is_one_escalation_too(sim, database, jobs, standin):
    """The ordinary order (action, recording, status), for comparison: the same single escalation."""
    result = sim.call(from_=ALEX, script="0;noanswer;record:4")
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    recorded = next(r.params["RecordingSid"] for r in result.requests if "RecordingSid" in r.params)
    assert (esc.reason, esc.recording_sid) == ("callback_request", recorded)


# --------------------------------------------------------------------------- every path that records or promises

def test_a_locked_out_client_handed_to_a_person_leaves_a_message_that_is_escalated(sim, client, database, jobs,
                                                                                  standin):
    # An earlier call locks Alex (three wrong dates); this one is refused, handed to a person, nobody is free.
    sim.call(from_=ALEX, script="1;01011990#;5551230001;01011991#;5551230001;01011992#;hangup")
    jobs.run()
    transport = Holding(client, hold=(RECORDED, RECORDING_STATUS, STATUS))
    result = simulator(transport, standin).call(
        from_=ALEX, script="1;04151985#;5551230001;04151985#;5551230001;04151985#;noanswer;hangup")
    assert "I'm sorry, I can't confirm your identity over the phone right now." in result.heard
    for path in (RECORDING_STATUS, STATUS, RECORDED):
        transport.deliver(path)
        jobs.run()
    [esc] = of_call(database, result.call_sid)  # the lock's alert came with the earlier call, not this one
    assert (esc.reason, esc.priority) == ("callback_request", 2)
    assert "identify.cannot_confirm" in esc.timeline
    assert esc.recording_sid == transport.held[RECORDING_STATUS][1]["RecordingSid"]


def test_a_voicemail_left_through_the_fallback_url_becomes_an_escalation(app, client, database, jobs, standin,
                                                                         redis_conn):
    sim = CallSimulator(FlaskTransport(client), auth_token=TOKEN, public_base_url=PUBLIC, account_sid=ACCOUNT,
                        recording_url_base=standin.url, on_recording=twilio_keeps_recordings(standin),
                        voice_path="/twilio/fallback")
    result = sim.call(from_=ALEX, script="record:8")
    assert result.heard[-1] == "Thank you. We will call you back. Goodbye."
    standin.add_call(result.call_sid, ALEX, "+15555550100")  # Twilio's record of the call says who called
    assert redis_conn.exists("ql:call:" + result.call_sid) == 0  # the fallback keeps no session
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    recorded = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    assert (esc.reason, esc.category, esc.priority) == ("voicemail", "voicemail", 2)
    assert esc.recording_sid == recorded and esc.caller_number == ALEX and esc.caller_masked == "+1******0001"
    assert esc.deadline_at == ny(24, 18).astimezone(UTC)  # one business day
    assert recording_rows(database) == [(result.call_sid, recorded, "fetched")]


def dead_redis_app(settings_overrides, clock, database):
    dead = Redis(unix_socket_path="/nonexistent/redis.sock", socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    app = create_app(settings_overrides, redis=dead, clock=clock, strict_flows=True, database=database)
    app.config.update(TESTING=True)
    return app


@pytest.mark.parametrize("recovery", ["Twilio retries the callback", "the database noted it",
                                      "only Twilio has it"])
def test_a_voicemail_left_while_redis_was_down_is_not_lost(recovery, app, settings_overrides, clock, database,
                                                           jobs, standin, redis_conn):
    down = dead_redis_app(settings_overrides, clock, database)
    drop = (RECORDING_STATUS,) if recovery == "only Twilio has it" else ()
    transport = Holding(down.test_client(), drop=drop)
    result = simulator(transport, standin).call(from_=ALEX, script="record:6")
    assert not result.application_error
    assert "We're sorry, something went wrong on our side." in result.heard  # the apology, with voicemail
    standin.add_call(result.call_sid, ALEX, "+15555550100")
    callbacks = [r for r in result.requests if r.purpose == "recording-status"]
    recorded = next(r.params["RecordingSid"] for r in result.requests if "RecordingSid" in r.params)
    if recovery == "only Twilio has it":
        assert recording_rows(database) == []  # the callback was sent but never arrived
    else:
        # Redis was down: the job could not be enqueued, so Twilio was told to try again (503) ...
        assert [r.status for r in callbacks] == [503]
        # ... but the recording was noted in the database, which was up.
        assert recording_rows(database) == [(result.call_sid, recorded, "pending")]

    # Redis is back.
    if recovery == "Twilio retries the callback":
        url, params = callbacks[0].url, callbacks[0].params
        retried = FlaskTransport(app.test_client()).post(
            url, params, {"X-Twilio-Signature": sim_signature(url, params)})
        assert retried == (200, ACK)
        jobs.run()
    elif recovery == "the database noted it":
        assert reconcile_now(app, jobs) == {"recordings copied again": 1}
        jobs.run()
    else:
        assert reconcile_now(app, jobs) == {"recordings found at Twilio": 1, "recordings copied again": 1}
        jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.reason, esc.recording_sid, esc.caller_number) == ("voicemail", recorded, ALEX)
    assert recording_rows(database) == [(result.call_sid, recorded, "fetched")]


def sim_signature(url: str, params: dict) -> str:
    from twilio.request_validator import RequestValidator

    return RequestValidator(TOKEN).compute_signature(url, params)


# --------------------------------------------------------------------------- a recording that never comes

def test_a_recording_twilio_never_gives_us_is_escalated_and_shown_as_failed(app, client, database, redis_conn, jobs,
                                                                           standin, staff):
    """Twilio answers 404 for the recording, every time: after the last retry, a recording_failed escalation."""
    sim = simulator(FlaskTransport(client), standin, keep_recordings=False)
    result = sim.call(from_=ALEX, script="0;noanswer;record:4")
    recorded = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    jobs.run()
    [callback] = of_call(database, result.call_sid)
    assert callback.recording_sid == recorded
    job_id = f"recording-{recorded}"
    for seconds in (10, 30, 60, 300, 900):  # RQ's retries, on the scheduler, as the clock moves
        assert recording_rows(database) == [(result.call_sid, recorded, "pending")]
        assert Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer).get_status() == "scheduled"
        jobs.at(jobs.clock.now + dt.timedelta(seconds=seconds))
    job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
    assert job.get_status() == "failed" and job.retries_left == 0
    fetches = [r for r in standin.requests() if r["path"].endswith(f"/Recordings/{recorded}.wav")]
    assert [r["status"] for r in fetches] == [404] * 6
    assert recording_rows(database) == [(result.call_sid, recorded, "failed")]
    # Exactly one escalation: the callback request the message was left for, updated (no recording_failed twin).
    [failed] = of_call(database, result.call_sid)
    assert (failed.reason, failed.category, failed.recording_sid) == ("callback_request", "callback_request", recorded)
    assert failed.priority == 1  # raised to a lost message's (high) from the callback's (normal)
    assert failed.timeline[-1] == "recording_failed"
    told = staff_texts_about(standin, failed.id)  # staff are told to call back, once each
    assert told and len(told) == len(set(told))

    # /health: a job failed for good in the last 24 hours.
    _, report = health(redis_conn, dt.datetime.now(UTC))
    assert "failed_jobs" in report["failures"]
    assert report["failed_jobs"]["count"] == 1 and report["failed_jobs"]["job_ids"] == [job_id]
    assert any(p.startswith("1 job(s) failed for good in the last 24 h") for p in report["problems"])

    # The dashboard says so instead of "still being copied" forever.
    from tests.helpers.dashboard import post

    desk = front_desk(app, staff)
    for esc in [failed]:
        page = desk.get(f"/staff/e/{esc.id}").get_data(as_text=True)
        assert ("The caller left a message, but it could not be retrieved from Twilio &mdash; call the number back."
                in page) and "Play voicemail" not in page
    refused = post(desk, f"/staff/e/{failed.id}/voicemail", token_from=f"/staff/e/{failed.id}")
    assert refused.status_code == 404
    assert "The voicemail could not be retrieved from Twilio \u2014 call the number back." in \
        refused.get_data(as_text=True)


def test_a_recording_twilio_failed_before_the_calls_own_escalation_is_still_one_escalation(client, database, jobs,
                                                                                          standin, staff):
    """The other order: Twilio reports the recording failed (escalated at once as recording_failed), then the
    call's status callback keeps its promise (callback_request): that escalation takes the row over."""
    from tests.helpers.webhooks import post

    transport = Holding(client, hold=(RECORDED, RECORDING_STATUS, STATUS))
    result = simulator(transport, standin, keep_recordings=False).call(from_=ALEX, script="0;noanswer;hangup")
    recording_sid = transport.held[RECORDING_STATUS][1]["RecordingSid"]
    failed = {**transport.held[RECORDING_STATUS][1], "RecordingStatus": "failed", "ErrorCode": "13617"}
    assert post(client, RECORDING_STATUS, failed).status_code == 200
    jobs.run()
    [lost] = of_call(database, result.call_sid)
    assert (lost.reason, lost.priority, lost.recording_sid) == ("recording_failed", 1, recording_sid)
    assert transport.deliver(STATUS) == (200, ACK)
    jobs.run()
    assert transport.deliver(RECORDED)[0] == 200
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert esc.id == lost.id and (esc.reason, esc.category, esc.priority) == ("callback_request", "callback_request", 1)
    assert esc.recording_sid == recording_sid and esc.timeline[-1] == "recording_failed"
    assert "callback.record_message" in esc.timeline  # the call's own timeline now
    told = staff_texts_about(standin, esc.id)
    assert told and len(told) == len(set(told))


def test_twilio_reporting_a_failed_recording_escalates_at_once(client, database, jobs):
    from tests.helpers.webhooks import post

    call_sid, rec = "CA" + "9" * 32, "RE" + "9" * 32
    params = {"CallSid": call_sid, "AccountSid": ACCOUNT, "RecordingSid": rec, "RecordingStatus": "failed",
              "ErrorCode": "13617"}
    assert post(client, RECORDING_STATUS, params).status_code == 200
    jobs.run()
    [esc] = of_call(database, call_sid)
    assert (esc.reason, esc.priority, esc.recording_sid) == ("recording_failed", 1, rec)
    assert recording_rows(database) == [(call_sid, rec, "failed")]


# --------------------------------------------------------------------------- the reconciliation job

def test_reconciliation_ends_a_call_whose_callbacks_were_lost_and_hands_on_its_message(client, database, redis_conn,
                                                                                      jobs, standin, app):
    """The caller hung up while leaving a message; the <Record> action and the status callback never came."""
    transport = Holding(client, drop=(RECORDED, STATUS))
    result = simulator(transport, standin).call(from_=ALEX, script="0;noanswer;hangup")
    jobs.run()  # the recording is copied, but the call never ended as far as we know
    assert of_call(database, result.call_sid) == [] and state(redis_conn, result.call_sid)["ended"] is False
    standin.add_call(result.call_sid, ALEX, "+15555550100", status="completed")
    counts = reconcile_now(app, jobs)
    assert counts == {"calls ended": 1, "messages handed on": 1}
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    recorded = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    assert (esc.reason, esc.recording_sid) == ("callback_request", recorded)
    assert "record_message:hung-up" in esc.timeline
    assert reconcile_now(app, jobs) == {}  # nothing left to do; a second pass changes nothing
    jobs.run()
    assert len(of_call(database, result.call_sid)) == 1


def test_reconciliation_waits_for_a_call_twilio_says_is_still_going(client, database, redis_conn, jobs, standin, app):
    transport = Holding(client, drop=(RECORDED, STATUS))
    result = simulator(transport, standin).call(from_=ALEX, script="0;noanswer;hangup")
    standin.add_call(result.call_sid, ALEX, "+15555550100", status="in-progress")
    assert reconcile_now(app, jobs) == {}
    assert state(redis_conn, result.call_sid)["ended"] is False


def test_reconciliation_enqueues_again_an_escalation_whose_job_was_lost(sim, app, database, redis_conn, jobs):
    result = sim.call(from_=ALEX, script="3;04151985#;2;record:5")
    job_id = f"escalate-{result.call_sid}-billing"
    # Lost with Redis (restarted without its append-only file, say): the job and the queue entry are gone.
    Queue("calls", connection=redis_conn, serializer=JSONSerializer).remove(job_id)
    redis_conn.delete(Job.key_for(job_id))
    jobs.run()
    assert of_call(database, result.call_sid) == []
    assert reconcile_now(app, jobs) == {"escalations enqueued again": 1}
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.reason, esc.priority) == ("billing", 2)


def test_reconciliation_keeps_the_promise_of_an_ended_call_that_has_no_escalation(sim, app, database, redis_conn,
                                                                                   jobs):
    """A call left by an older version (no record of what it escalated) whose escalation job was lost."""
    result = sim.call(from_=ALEX, script="0;noanswer;record:4")
    assert result.heard[-1] == "Thank you. Someone will call you back by today at 12 PM. Goodbye."
    job_id = f"escalate-{result.call_sid}-callback_request"
    Queue("calls", connection=redis_conn, serializer=JSONSerializer).remove(job_id)
    redis_conn.delete(Job.key_for(job_id))
    old = state(redis_conn, result.call_sid)
    del old["escalated"]
    store_state(redis_conn, old)
    assert reconcile_now(app, jobs) == {"promises kept": 1}
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.reason, esc.deadline_at) == ("callback_request", ny(23, 12).astimezone(UTC))  # as promised
    assert esc.recording_sid is not None


def test_reconciliation_reschedules_itself_on_a_grid(app, jobs, redis_conn):
    from workers.reconcile import ensure_scheduled

    ql = app.extensions["quietline"]
    assert ensure_scheduled(ql).created and not ensure_scheduled(ql).created  # every worker names the same run
    slot = dt.datetime(2026, 11, 23, 15, 5, tzinfo=UTC)  # the next multiple of 300 s after 15:00:00 UTC
    assert jobs.scheduled() == {f"reconcile-{int(slot.timestamp())}": slot}
    jobs.at(slot)  # it runs, and schedules the next one first
    assert jobs.scheduled() == {f"reconcile-{int(slot.timestamp()) + 300}": slot + dt.timedelta(minutes=5)}
    assert Job.fetch(f"reconcile-{int(slot.timestamp())}", connection=redis_conn,
                     serializer=JSONSerializer).get_status() == "finished"


# --------------------------------------------------------------------------- §2: the outbox

class Crash(BaseException):
    """The process dies here (not an error anything in the app could catch)."""


@pytest.fixture
def crash_after_commit(monkeypatch):
    """The first drain of a call's outbox dies: the state is stored, no job is enqueued."""
    real = CallHandler.drain
    crashes: list[str] = []

    def drain(self, call_sid, entries=None, **options):
        if not crashes:
            crashes.append(call_sid)
            raise Crash("killed between the commit and the drain")
        return real(self, call_sid, entries, **options)

    monkeypatch.setattr(CallHandler, "drain", drain)
    return crashes


@pytest.mark.parametrize("recovery", ["replay", "status callback", "reconciliation"])
def test_a_crash_between_saving_the_call_and_enqueueing_its_crisis_escalation_loses_nothing(
        recovery, app, client, database, redis_conn, jobs, staff, standin, crash_after_commit):
    transport = Holding(client)
    sim = simulator(transport, standin)
    with pytest.raises(Crash):
        sim.call(from_=ALEX, script="9;answer")  # the crisis key: an urgent escalation
    [call_sid] = crash_after_commit
    # Stored with the new state, in the same compare-and-set; nothing in any queue.
    assert outbox_fields(redis_conn, call_sid) == ["outbox:escalate-crisis"]
    assert state(redis_conn, call_sid)["escalated"] == {"crisis": "urgent"}
    urgent = Queue("urgent", connection=redis_conn, serializer=JSONSerializer)
    assert urgent.job_ids == []
    if recovery == "replay":  # Twilio retries the request: the stored answer, and the outbox drained
        status, body = transport.replay_last()
        assert status == 200 and "I am connecting you with our on-call clinician now." in body
    elif recovery == "status callback":
        from tests.helpers.webhooks import post, start_params

        assert post(client, STATUS, {**start_params(call_sid), "CallStatus": "completed"}).status_code == 200
    else:
        assert reconcile_now(app, jobs, after=dt.timedelta(0)) == {"outboxes drained": 1}
    assert urgent.job_ids == [f"escalate-{call_sid}-crisis"]
    assert outbox_fields(redis_conn, call_sid) == []
    jobs.run(queues=("urgent",))
    transport.replay_last()  # and again: nothing twice
    jobs.run()
    [esc] = of_call(database, call_sid)
    assert (esc.reason, esc.priority) == ("crisis", 0)
    told = staff_texts_about(standin, esc.id)
    assert len(told) == 2 and len(set(told)) == 2


def test_a_crash_before_a_text_is_enqueued_loses_nothing_and_keeps_the_body_only_until_sent(
        client, database, redis_conn, jobs, standin, crash_after_commit):
    transport = Holding(client)
    with pytest.raises(Crash):
        simulator(transport, standin).call(from_=ALEX, script="2;04151985#;2")  # the portal link, by text
    [call_sid] = crash_after_commit
    [field] = outbox_fields(redis_conn, call_sid)
    assert field.startswith("outbox:text-")
    assert standin.messages() == []
    transport.replay_last()
    jobs.run()
    transport.replay_last()
    jobs.run()
    assert texts(standin) == [(ALEX, "Sign in here: https://portal.example.com/login Use the email address we have "
                                     "on file; \"Forgot password\" on that page sends a reset link.")]
    assert outbox_fields(redis_conn, call_sid) == []  # sent: the number and the body are gone from Redis


def test_a_text_drained_again_before_it_is_sent_has_one_job_and_goes_out_once(client, database, redis_conn, jobs,
                                                                             standin):
    from tests.helpers.webhooks import post, start_params

    transport = Holding(client)
    call_sid = simulator(transport, standin).call(from_=ALEX, script="2;04151985#;2").call_sid  # the portal link
    # Drained by the webhook that promised it, then by the status callback (the simulator's last request),
    # and again by a retried status callback and a replay: one job, still queued, the text still kept.
    assert post(client, STATUS, {**start_params(call_sid), "CallStatus": "completed"}).status_code == 200
    transport.replay_last()
    [job_key] = redis_conn.keys(f"rq:job:sms-{call_sid}-*")
    [field] = outbox_fields(redis_conn, call_sid)
    assert job_key.decode() == f"rq:job:sms-{call_sid}-{field.removeprefix('outbox:')}"
    assert Queue("calls", connection=redis_conn, serializer=JSONSerializer).job_ids == [job_key.decode()[7:]]
    jobs.run()
    assert texts(standin) == [(ALEX, "Sign in here: https://portal.example.com/login Use the email address we have "
                                     "on file; \"Forgot password\" on that page sends a reset link.")]
    assert outbox_fields(redis_conn, call_sid) == []


def test_enqueueing_that_fails_after_the_commit_keeps_the_answer_and_the_outbox(client, database, redis_conn, jobs,
                                                                               monkeypatch):
    from ivr.jobs.enqueue import Jobs
    from tests.helpers.webhooks import post, start_params

    real = Jobs.escalate
    failures = []

    def flaky(self, *args, **kwargs):
        if not failures:
            failures.append(1)
            raise RedisConnectionError("connection reset")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Jobs, "escalate", flaky)
    sid = "CA" + "4" * 32
    post(client, "/twilio/voice", start_params(sid))
    answer = post(client, "/twilio/voice/input?turn=1", {**start_params(sid), "Digits": "9"})
    assert answer.status_code == 200 and "9 8 8" in answer.get_data(as_text=True)  # the crisis answer, not an apology
    assert outbox_fields(redis_conn, sid) == ["outbox:escalate-crisis"]
    assert post(client, STATUS, {**start_params(sid), "CallStatus": "completed"}).status_code == 200
    assert outbox_fields(redis_conn, sid) == []
    jobs.run()
    assert [(e.reason, e.priority) for e in of_call(database, sid)] == [("crisis", 0)]


# --------------------------------------------------------------------------- issue 8 §4: never an empty body

@pytest.mark.parametrize("path, extra", [
    ("/twilio/voice/input", {"Digits": "1"}),
    ("/twilio/voice/timeout", {}),
    ("/twilio/voice/recorded", {"RecordingSid": "RE" + "5" * 32, "RecordingDuration": "3",
                                "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/"
                                                f"RE{'5' * 32}"}),
    ("/twilio/voice/dialed", {"DialCallStatus": "completed"}),
    ("/twilio/voice/paid", {"Result": "success", "PaymentToken": "tok_1"}),
])
def test_a_late_request_after_the_call_ended_gets_a_hangup(client, redis_conn, path, extra):
    from tests.helpers.webhooks import post, start_params

    sid = "CA" + "5" * 32
    post(client, "/twilio/voice", start_params(sid))  # answered with the main menu, whose requests are turn 1
    assert post(client, STATUS, {**start_params(sid), "CallStatus": "completed"}).status_code == 200
    for _ in range(2):  # and again, as a Twilio retry
        late = post(client, f"{path}?turn=1", {**start_params(sid), **extra})
        assert late.status_code == 200 and late.mimetype == "text/xml"
        assert late.get_data(as_text=True) == HANGUP


def test_a_retried_request_after_the_call_ended_gets_its_first_answer_again(client, redis_conn):
    from tests.helpers.webhooks import post, start_params

    sid = "CA" + "6" * 32
    post(client, "/twilio/voice", start_params(sid))
    first = post(client, "/twilio/voice/input?turn=1", {**start_params(sid), "Digits": "0"})
    assert post(client, STATUS, {**start_params(sid), "CallStatus": "completed"}).status_code == 200
    again = post(client, "/twilio/voice/input?turn=1", {**start_params(sid), "Digits": "0"})
    assert again.get_data(as_text=True) == first.get_data(as_text=True) != ""


@pytest.mark.parametrize("call", ["unknown", "in progress", "ended"])
def test_no_webhook_ever_answers_an_empty_or_invalid_body(client, redis_conn, call):
    import xml.etree.ElementTree as ET

    from ivr.telephony.urls import PATHS as ROUTES
    from tests.helpers.webhooks import post, start_params

    sid = "CA" + "7" * 32
    if call != "unknown":
        post(client, "/twilio/voice", start_params(sid))
    if call == "ended":
        post(client, STATUS, {**start_params(sid), "CallStatus": "completed"})
    for name, path in ROUTES.items():
        if name == "audio":
            continue  # not a webhook: the practice's prompts, fetched by Twilio with GET
        for query in ("", "?turn=1", "?turn=7"):
            response = post(client, path + query, {**start_params(sid), "CallStatus": "in-progress"})
            body = response.get_data(as_text=True)
            assert response.mimetype == "text/xml" and body, (path, query, response.status_code)
            assert ET.fromstring(body).tag == "Response", (path, query, body)
