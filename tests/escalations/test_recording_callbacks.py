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
from tests.helpers.escalations import (
    ACK,
    ALEX,
    RECORDED,
    RECORDING_STATUS,
    STATUS,
    Holding,
    front_desk,
    of_call,
    recording_rows,
    simulator,
    staff_texts_about,
    texts,
)
from tests.helpers.service import ACCOUNT
from tests.helpers.webhooks import post

NOT_YET = ("The caller left a message, but its audio is not available here yet: we are still copying it from "
           "Twilio, the phone company, and keep trying. Don't wait for it &mdash; call the client back by ")
LOST = "The caller left a message, but it could not be retrieved from Twilio &mdash; call the number back."
CARD_NOT_YET = "Message audio not available yet: call back without it"


def page_of(app, staff, escalation_id: int) -> str:
    return front_desk(app, staff).get(f"/staff/e/{escalation_id}").get_data(as_text=True)


def queue_card(app, staff, escalation_id: int) -> str:
    page = front_desk(app, staff).get("/staff/").get_data(as_text=True)
    start = page.index(f'<li id="e-{escalation_id}"')
    return page[start:page.index("</li>", start)]


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
    assert CARD_NOT_YET in queue_card(app, staff, esc.id)
    job = Job.fetch(f"recording-{rec}", connection=redis_conn, serializer=JSONSerializer)
    assert job.get_status() == "scheduled"  # the copy goes on behind it

    for seconds in (10, 30, 60, 300, 900):
        jobs.at(jobs.clock.now + dt.timedelta(seconds=seconds))
    [lost] = of_call(database, call_sid)  # still one escalation: raised (a lost message is high), marked lost
    assert (lost.id, lost.reason, lost.priority, lost.timeline[-1]) == (esc.id, "voicemail", 1, "recording_failed")
    assert recording_rows(database) == [(call_sid, rec, "failed")]
    page = page_of(app, staff, esc.id)
    assert LOST in page and NOT_YET not in page
    assert CARD_NOT_YET not in queue_card(app, staff, esc.id)


def test_a_message_twilio_is_still_processing_is_handed_on_at_once_and_copied_on_a_retry(
        app, client, database, jobs, standin, staff):
    """Twilio answers 404 at first (still processing), then gives it: one escalation all along, never raised."""
    result = simulator(FlaskTransport(client), standin, keep_recordings=False).call(from_=ALEX,
                                                                                    script="0;noanswer;record:4")
    rec = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.reason, esc.priority, esc.recording_sid) == ("callback_request", 2, rec)
    assert NOT_YET in page_of(app, staff, esc.id) and CARD_NOT_YET in queue_card(app, staff, esc.id)
    standin.add_recording(rec, tone_wav(4), call_sid=result.call_sid, duration=4)  # Twilio has it now
    jobs.at(jobs.clock.now + dt.timedelta(seconds=10))
    assert recording_rows(database) == [(result.call_sid, rec, "fetched")]
    [after] = of_call(database, result.call_sid)
    assert (after.id, after.priority) == (esc.id, 2) and "recording_failed" not in after.timeline
    page = page_of(app, staff, esc.id)
    assert NOT_YET not in page and "Play voicemail" in page
    assert CARD_NOT_YET not in queue_card(app, staff, esc.id)
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


# --------------------------------------------------------------------------- one escalation for a crisis message

ON_CALL = "+15550100123"  # the demo crisis on-call clinician (ivr/escalations/demo.py)


def words_of(app, call_sid: str, recording_sid: str, words: str) -> None:
    """The transcript the speech worker writes (sealed): English words cannot come from the Korean model the tests
    have (the Korean path is end to end in tests/speech); everything after transcription runs for real."""
    from ivr.escalations.recording_files import StoredTranscript

    app.extensions["quietline"].recording_files.write_transcript(
        call_sid, recording_sid, StoredTranscript(words, 0.9, tuple((w, 0.9) for w in words.split())))


def urgent_pages(standin, escalation_id: int) -> list[tuple[str, str]]:
    return [(to, body) for to, body in texts(standin) if body.startswith(f"URGENT call #{escalation_id}:")]


@pytest.mark.parametrize("order", ["escalated first", "triaged first"])
def test_a_crisis_voicemail_is_one_escalation_raised_to_urgent_and_pages_once(order, app, client, database, jobs,
                                                                              standin, staff, redis_conn):
    """The caller's callback request and the crisis their message reads as: one escalation (a crisis, urgent, due
    in 15 minutes), the crisis on-call paged once, whichever of the escalation and the triage comes first."""
    from workers.recordings import triage
    from workers.runtime import using

    result = simulator(FlaskTransport(client), standin).call(from_=ALEX, script="0;noanswer;record:4")
    rec = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    words = "hi its me i dont want to live anymore please call me"
    words_of(app, result.call_sid, rec, words)
    if order == "triaged first":  # the speech worker got there before the call's own escalation job
        with using(app.extensions["quietline"]):
            app.extensions["quietline"].recordings.note(result.call_sid, rec, jobs.clock.now)
            assert triage(result.call_sid, rec, words).is_crisis
        jobs.run(("urgent",))  # the crisis escalation, and its page
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.reason, esc.category, esc.priority, esc.recording_sid) == ("callback_request", "crisis", 0, rec)
    assert esc.deadline_at == jobs.clock.now + dt.timedelta(minutes=15)
    assert "voicemail_crisis" in esc.timeline
    pages = urgent_pages(standin, esc.id)
    assert [to for to, _ in pages].count(ON_CALL) == 1, pages  # the crisis on-call: paged once
    assert len(pages) == len(set(pages))  # nobody paged twice
    dashboard = app.extensions["quietline"].settings.dashboard_url
    assert (ON_CALL, f"URGENT call #{esc.id}: call back now. {dashboard}/e/{esc.id}") in pages
    # The follow-ups keep to the crisis deadline: the breach check at 15 minutes, on the urgent queue.
    jobs_ = app.extensions["quietline"].jobs
    assert jobs_.scheduled_at(f"escalation-{esc.id}-breach") == esc.deadline_at
    jobs.run()  # a retried escalation job changes nothing
    assert [e.id for e in of_call(database, result.call_sid)] == [esc.id]
    assert urgent_pages(standin, esc.id) == pages


def test_a_crisis_voicemail_on_a_crisis_call_does_not_page_again(app, client, database, jobs, standin, staff):
    """The caller pressed 9 (an urgent crisis escalation, paged), nobody answered, their message reads as a crisis
    too: still one escalation, and the on-call is not paged a second time."""
    result = simulator(FlaskTransport(client), standin).call(from_=ALEX, script="9;noanswer;record:4")
    rec = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    words_of(app, result.call_sid, rec, "i want to kill myself")
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.reason, esc.category, esc.priority) == ("crisis", "crisis", 0)
    assert "raised_to_crisis" not in esc.timeline
    assert [to for to, _ in urgent_pages(standin, esc.id)].count(ON_CALL) == 1


# --------------------------------------------------------------------------- an unsure message comes sooner

@pytest.mark.parametrize(("order", "setting", "within"), [
    ("escalated first", None, dt.timedelta(hours=1)),
    ("triaged first", None, dt.timedelta(hours=1)),
    ("escalated first", "20 minutes", dt.timedelta(minutes=20)),
    ("triaged first", "90 minutes", dt.timedelta(minutes=90)),
])
def test_an_unsure_voicemail_brings_the_deadline_forward_with_its_reminders(order, setting, within, app, client,
                                                                            database, jobs, standin, flows_dir):
    """Raised to high priority because its message may be about a crisis, the escalation is due within the
    practice's ``voicemail: unsure_within`` (by default the first business hour: Monday 10:00 in New York, by
    11:00, not the callback's 12:00), and its reminders and breach check move with the deadline."""
    from ivr.core.escalation_policy import unsure_deadline
    from workers.recordings import triage
    from workers.runtime import using

    practice = flows_dir / "practice.yaml"
    if setting is None:  # the default: the setting left out
        practice.write_text(practice.read_text().replace("  unsure_within: 1 business hour\n", ""))
    else:
        practice.write_text(practice.read_text().replace("unsure_within: 1 business hour", f"unsure_within: {setting}"))
    assert app.extensions["quietline"].flows.maybe_reload()  # the changed file is live
    words = "hi its me im really struggling and falling apart please call me back"
    result = simulator(FlaskTransport(client), standin).call(from_=ALEX, script="0;noanswer;record:4")
    rec = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    ql = app.extensions["quietline"]
    if order == "triaged first":
        with using(ql):
            ql.recordings.note(result.call_sid, rec, jobs.clock.now)
            assert triage(result.call_sid, rec, words).crisis.level.value == "unsure"
    words_of(app, result.call_sid, rec, words)
    jobs.run(("urgent", "calls"))
    [esc] = of_call(database, result.call_sid)
    promised = jobs.clock.now + dt.timedelta(hours=2)  # the callback's two business hours
    if order == "escalated first":
        assert (esc.priority, esc.deadline_at) == (2, promised)
        assert ql.jobs.scheduled_at(f"escalation-{esc.id}-breach") == promised
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    due = unsure_deadline(ql.flows.current().practice, jobs.clock.now)
    assert due == jobs.clock.now + within < promised
    assert (esc.priority, esc.deadline_at) == (1, due)
    assert ql.jobs.scheduled_at(f"escalation-{esc.id}-breach") == due
    lead = min(dt.timedelta(minutes=30), within / 2)  # the reminder lead, never more than half the window
    assert ql.jobs.scheduled_at(f"escalation-{esc.id}-reminder-L2") == due - lead
    assert ql.jobs.scheduled_at(f"escalation-{esc.id}-reminder-L3") == due - lead / 2
    assert not any(e.reason == "voicemail_crisis" for e in of_call(database, result.call_sid))
