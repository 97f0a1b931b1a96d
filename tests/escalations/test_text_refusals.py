"""Texts Twilio refuses for good are not retried, and what they were for reaches a person (issue 7 §4).

Twilio's permanent refusals (21610 opted out, 21211 invalid number, 21614 not a
mobile, 21612 unreachable by text, …) come from the stand-in for a chosen number;
real RQ workers on the test clock, the real database.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer
from twilio.base.exceptions import TwilioRestException

from ivr.telephony import twilio_rest
from tests.helpers.escalations import CLIENT_SECRETS, PHONES, escalations, notifications, texts
from tests.helpers.service import ACCOUNT, TOKEN

ALEX = "+15551230001"
PORTAL = "2;04151985#;2"  # links, verify, the portal link: texted to the number on file
PORTAL_TEXT = ("Sign in here: https://portal.example.com/login Use the email address we have on file; "
               "\"Forgot password\" on that page sends a reset link.")
LINK = "https://ql.example.org/staff/e/"


def sms_job(redis_conn, call_sid: str) -> Job:
    ids = [k.decode().removeprefix("rq:job:") for k in redis_conn.keys(f"rq:job:sms-{call_sid}-*")]
    [job_id] = [i for i in ids if ":" not in i]
    return Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)


def message_posts(standin) -> list[int]:
    return [r["status"] for r in standin.requests() if r["method"] == "POST" and r["path"].endswith("/Messages.json")]


def outbox(redis_conn, call_sid: str) -> list[bytes]:
    return [f for f in redis_conn.hkeys("ql:call:" + call_sid) if f.startswith(b"outbox:")]


@pytest.mark.parametrize("code", [21610, 21211, 21614, 21612])
def test_a_client_text_refused_for_good_fails_at_once_and_is_escalated(code, sim, database, redis_conn, jobs, staff,
                                                                      standin):
    standin.refuse_sms_to(ALEX, code)
    result = sim.call(from_=ALEX, script=PORTAL)
    assert "I've texted the link to the number we have on file for you." in result.heard
    jobs.run()
    # One attempt to the client, not six over 22 minutes (the 201s are the staff alerts about it).
    assert message_posts(standin) == [400, 201, 201]
    assert ALEX not in [to for to, _ in texts(standin)]
    job = sms_job(redis_conn, result.call_sid)
    assert job.get_status() == "failed" and job.retries_left == 0
    assert not any(j.startswith("sms-") for j in jobs.scheduled())
    failure = job.latest_result().exc_string
    assert f"refused for good (twilio 400 code {code})" in failure
    assert not any(secret in failure for secret in CLIENT_SECRETS + [PORTAL_TEXT])
    assert outbox(redis_conn, result.call_sid) == []  # the number and the body are gone from Redis
    # What the text was for becomes visible: the client was promised a link.
    [esc] = escalations(database)
    assert (esc.call_sid, esc.reason, esc.category, esc.priority) == (result.call_sid, "text_failed", "other", 1)
    assert esc.client_id == "C-1001" and "links.portal_link" in esc.timeline and "portal_link:sent" in esc.timeline
    assert sorted(texts(standin)) == sorted(
        (PHONES[who], f"New follow-up call #{esc.id}, due by 12 PM. {LINK}{esc.id}")
        for who in ("frontdesk@example.com", "oncall@example.com"))


def test_a_promised_text_to_a_number_that_opted_out_after_the_call_is_escalated(sim, client, database, redis_conn,
                                                                               jobs, staff, standin):
    """The client is promised the portal link, then texts STOP before the job runs: no text, and staff call."""
    from tests.helpers.webhooks import post

    result = sim.call(from_=ALEX, script=PORTAL)
    assert "I've texted the link to the number we have on file for you." in result.heard
    stop = post(client, "/twilio/sms", {"MessageSid": "SM" + "5" * 32, "AccountSid": ACCOUNT, "From": ALEX,
                                        "To": "+15550100000", "Body": "STOP"})
    assert stop.status_code == 200
    jobs.run()
    assert ALEX not in [to for to, _ in texts(standin)]  # the opt-out is honoured ...
    assert message_posts(standin) == [201, 201]  # ... only the staff alerts went out
    assert sms_job(redis_conn, result.call_sid).get_status() == "finished"
    assert outbox(redis_conn, result.call_sid) == []  # number and body gone from Redis
    [esc] = escalations(database)  # ... and the promise reaches a person
    assert (esc.call_sid, esc.reason, esc.category, esc.priority) == (result.call_sid, "text_failed", "other", 1)
    assert esc.client_id == "C-1001" and "portal_link:sent" in esc.timeline
    assert sorted(texts(standin)) == sorted(
        (PHONES[who], f"New follow-up call #{esc.id}, due by 12 PM. {LINK}{esc.id}")
        for who in ("frontdesk@example.com", "oncall@example.com"))


def test_a_text_twilio_refuses_for_now_is_retried_and_sent_once(sim, database, redis_conn, jobs, standin):
    standin.fail_next("/Messages.json", 503)
    result = sim.call(from_=ALEX, script=PORTAL)
    jobs.run()
    assert sms_job(redis_conn, result.call_sid).get_status() == "scheduled"
    jobs.at(jobs.clock.now + dt.timedelta(seconds=10))
    assert message_posts(standin) == [503, 201]
    assert texts(standin) == [(ALEX, PORTAL_TEXT)] and escalations(database) == []


def test_a_text_still_failing_after_every_retry_is_escalated(sim, database, redis_conn, jobs, standin):
    standin.fail_next("/Messages.json", 503, count=6)
    result = sim.call(from_=ALEX, script=PORTAL)
    jobs.run()
    for seconds in (10, 30, 60, 300, 900):
        assert escalations(database) == []
        jobs.at(jobs.clock.now + dt.timedelta(seconds=seconds))
    assert message_posts(standin) == [503] * 6
    assert sms_job(redis_conn, result.call_sid).get_status() == "failed"
    [esc] = escalations(database)
    assert (esc.reason, esc.call_sid) == ("text_failed", result.call_sid)
    assert outbox(redis_conn, result.call_sid) == []


def new_escalation(app, database, clock) -> int:
    from ivr.escalations.create import create_escalation

    ql = app.extensions["quietline"]
    eid, _ = create_escalation(database.sessions, None, "CA" + "7" * 32, "billing", "normal", clock.now,
                               ql.flows.current().practice)
    return eid


def test_a_staff_alert_refused_for_good_goes_to_the_others_at_that_level(app, database, jobs, staff, standin):
    standin.refuse_sms_to(PHONES["frontdesk@example.com"], 21610)
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    rows = {n.user_id: n for n in notifications(database)}
    desk = rows[staff["frontdesk@example.com"]]
    assert (desk.status, desk.attempts, desk.error) == ("failed", 1, "sms: twilio 400 code 21610")
    assert rows[staff["oncall@example.com"]].status == "sent"
    assert [to for to, _ in texts(standin)] == [PHONES["oncall@example.com"]]  # told; the backup is not paged
    assert escalations(database)[0].escalation_level == 1


def test_a_staff_alert_nobody_at_the_level_can_get_goes_to_the_next_level_at_once(app, database, jobs, staff,
                                                                                 standin):
    standin.refuse_sms_to(PHONES["frontdesk@example.com"], 21614)
    standin.refuse_sms_to(PHONES["oncall@example.com"], 21211)
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()  # no retries, no waiting: the backup is paged in the same run
    assert [to for to, _ in texts(standin)] == [PHONES["backup@example.com"]]
    assert sorted((n.status, n.attempts) for n in notifications(database)) == [
        ("failed", 1), ("failed", 1), ("sent", 1)]
    assert escalations(database)[0].escalation_level == 2


def test_the_standin_refuses_texts_to_a_chosen_number_as_twilio_does(standin):
    import requests

    standin.reset()
    client = twilio_rest.make_client(type("S", (), {"twilio_api_url": standin.url, "twilio_account_sid": ACCOUNT,
                                                    "twilio_auth_token": TOKEN})())
    response = requests.post(f"{standin.url}/_standin/refuse_sms_to", json={"number": "+15557654321", "code": 21610})
    assert response.status_code == 204
    with pytest.raises(TwilioRestException) as refused:
        twilio_rest.send_sms(client, to="+15557654321", from_="+15005550006", body="hello")
    assert (refused.value.status, refused.value.code) == (400, 21610)
    assert twilio_rest.refused_for_good(refused.value)
    assert twilio_rest.send_sms(client, to="+15557650000", from_="+15005550006", body="hello").startswith("SM")
    with pytest.raises(ValueError):
        standin.refuse_sms_to("+15557654321", 12345)
    standin.reset()
    assert twilio_rest.send_sms(client, to="+15557654321", from_="+15005550006", body="hello").startswith("SM")


def test_the_standin_knows_inbound_calls_it_is_told_of(standin):
    import requests

    standin.reset()
    client = twilio_rest.make_client(type("S", (), {"twilio_api_url": standin.url, "twilio_account_sid": ACCOUNT,
                                                    "twilio_auth_token": TOKEN})())
    sid = "CA" + "3" * 32
    assert twilio_rest.call_status(client, sid) is None
    put = requests.put(f"{standin.url}/_standin/calls/{sid}", json={"from": "+15551230001", "to": "+15555550100"})
    assert put.status_code == 201 and json.loads(put.text)["direction"] == "inbound"
    assert twilio_rest.call_status(client, sid) == ("completed", "+15551230001")
