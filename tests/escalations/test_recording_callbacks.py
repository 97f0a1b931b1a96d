"""Issue 13 leftovers: a caller's message reaches staff at once whatever the copy from Twilio does, and Twilio's
callbacks in any order never undo a good copy.

Real Redis and RQ workers (RQ's scheduler on the test clock), the real database, the Twilio stand-in, signed
webhooks as Twilio sends them.
"""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer

from ivr.dev.simulator import FlaskTransport, tone_wav
from tests.escalations.test_promises import (
    ACK,
    ALEX,
    RECORDED,
    RECORDING_STATUS,
    STATUS,
    Holding,
    of_call,
    recording_rows,
    simulator,
    staff_texts_about,
)
from tests.helpers.dashboard import Person, signed_in
from tests.helpers.escalations import DEMO_PASSWORD, texts
from tests.helpers.service import ACCOUNT
from tests.helpers.webhooks import post

NOT_YET = ("The caller left a message, but its audio is not available here yet: we are still copying it from "
           "Twilio, the phone company, and keep trying. Don&#39;t wait for it &mdash; call the client back by ")
LOST = "The caller left a message, but it could not be retrieved from Twilio &mdash; call the number back."


def desk(app, staff):
    return signed_in(app, Person(staff["frontdesk@example.com"], "frontdesk@example.com", DEMO_PASSWORD, "Front"))


def page_of(app, staff, escalation_id: int) -> str:
    return desk(app, staff).get(f"/staff/e/{escalation_id}").get_data(as_text=True)


# --------------------------------------------------------------------------- a copy Twilio keeps refusing

def test_a_message_whose_audio_twilio_refuses_reaches_staff_at_once_and_is_lost_only_after_the_last_retry(
        app, client, database, jobs, standin, staff, redis_conn):
    """No call record (the fallback URL's message, an expired record) and Twilio answers 404: the voicemail
    escalation is in the queue, staff told, after the first try; the card says to call back, not to wait."""
    call_sid, rec = "CA" + "5" * 32, "RE" + "5" * 32
    params = {"CallSid": call_sid, "AccountSid": ACCOUNT, "RecordingSid": rec, "RecordingStatus": "completed",
              "RecordingUrl": f"{standin.url}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{rec}",
              "RecordingDuration": "4"}
    assert post(client, RECORDING_STATUS, params).status_code == 200
    jobs.run()  # the first copy fails (404): the message is handed on at once
    [esc] = of_call(database, call_sid)
    assert (esc.reason, esc.priority, esc.recording_sid, esc.status) == ("voicemail", 2, rec, "open")
    assert recording_rows(database) == [(call_sid, rec, "pending")]
    assert staff_texts_about(standin, esc.id)  # staff already told (link-only)
    page = page_of(app, staff, esc.id)
    assert NOT_YET in page and "as they were promised." in page and "Play voicemail" not in page
    job = Job.fetch(f"recording-{rec}", connection=redis_conn, serializer=JSONSerializer)
    assert job.get_status() == "scheduled"  # the copy goes on behind it

    for seconds in (10, 30, 60, 300, 900):
        jobs.at(jobs.clock.now + dt.timedelta(seconds=seconds))
    [lost] = of_call(database, call_sid)  # still one escalation: raised (a lost message is high), marked lost
    assert (lost.id, lost.reason, lost.priority, lost.timeline[-1]) == (esc.id, "voicemail", 1, "recording_failed")
    assert recording_rows(database) == [(call_sid, rec, "failed")]
    page = page_of(app, staff, esc.id)
    assert LOST in page and NOT_YET not in page


def test_a_message_twilio_is_still_processing_is_handed_on_at_once_and_copied_on_a_retry(
        app, client, database, jobs, standin, staff):
    """Twilio answers 404 at first (still processing), then gives it: one escalation all along, never raised."""
    result = simulator(FlaskTransport(client), standin, keep_recordings=False).call(from_=ALEX,
                                                                                    script="0;noanswer;record:4")
    rec = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.reason, esc.priority, esc.recording_sid) == ("callback_request", 2, rec)
    assert NOT_YET in page_of(app, staff, esc.id)
    standin.add_recording(rec, tone_wav(4), call_sid=result.call_sid, duration=4)  # Twilio has it now
    jobs.at(jobs.clock.now + dt.timedelta(seconds=10))
    assert recording_rows(database) == [(result.call_sid, rec, "fetched")]
    [after] = of_call(database, result.call_sid)
    assert (after.id, after.priority) == (esc.id, 2) and "recording_failed" not in after.timeline
    page = page_of(app, staff, esc.id)
    assert NOT_YET not in page and "Play voicemail" in page
    assert len(staff_texts_about(standin, esc.id)) == len(set(staff_texts_about(standin, esc.id)))


# --------------------------------------------------------------------------- callbacks in any order

EVENTS = {"action": RECORDED, "status": STATUS, "completed": RECORDING_STATUS, "failed": "failed"}
ORDERS = (list(itertools.permutations(("action", "status", "completed", "failed")))
          + list(itertools.permutations(("action", "status", "failed"))))  # the completed callback absent


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_no_order_of_the_callbacks_undoes_a_good_copy(order, app, client, database, jobs, standin, staff):
    """The caller hangs up to finish a message; Twilio has the audio. The <Record> action, the call's status
    callback and the recording-status callbacks (completed, a stray failed, or completed never coming) in
    every order: one escalation at the callback's normal priority, the message copied, never marked lost."""
    transport = Holding(client, hold=(RECORDED, RECORDING_STATUS, STATUS))
    result = simulator(transport, standin).call(from_=ALEX, script="0;noanswer;hangup")
    recording_sid = transport.held[RECORDING_STATUS][1]["RecordingSid"]
    for what in order:
        if what == "failed":
            failed = {**transport.held[RECORDING_STATUS][1], "RecordingStatus": "failed", "ErrorCode": "13617"}
            failed.pop("RecordingUrl", None)
            assert post(client, RECORDING_STATUS, failed).status_code == 200
        else:
            assert transport.deliver(EVENTS[what])[0] == 200
        jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.reason, esc.priority, esc.recording_sid) == ("callback_request", 2, recording_sid)
    assert "recording_failed" not in esc.timeline
    assert recording_rows(database) == [(result.call_sid, recording_sid, "fetched")]
    page = page_of(app, staff, esc.id)
    assert LOST not in page and NOT_YET not in page and "Play voicemail" in page
    told = staff_texts_about(standin, esc.id)
    assert told and len(told) == len(set(told)) and not any("URGENT" in body for _, body in texts(standin))


def test_a_failed_callback_for_a_message_twilio_never_made_is_still_escalated_at_once(client, database, jobs,
                                                                                      standin):
    call_sid, rec = "CA" + "6" * 32, "RE" + "6" * 32
    params = {"CallSid": call_sid, "AccountSid": ACCOUNT, "RecordingSid": rec, "RecordingStatus": "failed",
              "ErrorCode": "13617"}
    assert post(client, RECORDING_STATUS, params).status_code == 200
    jobs.run()
    [esc] = of_call(database, call_sid)
    assert (esc.reason, esc.priority, esc.recording_sid) == ("recording_failed", 1, rec)
    fetches = [r for r in standin.requests() if r["path"].endswith(f"/Recordings/{rec}.wav")]
    assert [r["status"] for r in fetches] == [404]  # asked once: Twilio said it is not there, no retries
    assert post(client, RECORDING_STATUS, params).data.decode() == ACK  # a retried callback: nothing more
    jobs.run()
    assert [e.id for e in of_call(database, call_sid)] == [esc.id]
