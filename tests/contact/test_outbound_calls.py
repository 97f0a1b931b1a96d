"""Follow-up calls: placed with answering-machine detection from the pool, and what each AMD AnsweredBy leads to."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from ivr.contact.models import CallOptOut
from ivr.dev.cli import call_command
from ivr.escalations.models import Escalation
from ivr.practice.models import Appointment
from tests.helpers.contact import POOL, add_appointment, add_client, calls_to, deliver, touch_rows

NY = ZoneInfo("America/New_York")
PHONE = "+15551239003"
START = dt.datetime(2026, 11, 30, 11, 0, tzinfo=NY).astimezone(dt.UTC)  # Monday 11:00 New York
ACK = '<?xml version="1.0" encoding="UTF-8"?><Response />'
VOICE = 'language="en-US" voice="Polly.Joanna"'  # the demo practice's voice


def late_client(database, *, may_voicemail: bool = True) -> None:
    add_client(database, "C-9003", "Robin", (PHONE,), may_voicemail=may_voicemail)
    add_appointment(database, "A-9003", "C-9003", START)


def plan_and_run(ql, jobs) -> None:
    ql.jobs.plan_outbound_now()
    jobs.settle()


def test_late_at_15_minutes_a_call_from_the_pool_with_amd(ql, database, jobs, standin):
    late_client(database)
    jobs.clock.now = START + dt.timedelta(minutes=14, seconds=59)
    plan_and_run(ql, jobs)
    [row] = touch_rows(database, "C-9003")
    assert (row.touch_id, row.status, row.due) == ("C-9003/follow_ups.late/A-9003/v1/1/call", "planned",
                                                   START + dt.timedelta(minutes=15))
    assert calls_to(standin, PHONE) == []
    jobs.at(START + dt.timedelta(minutes=15))
    [row] = touch_rows(database, "C-9003")
    assert row.status == "queued"
    [call] = calls_to(standin, PHONE)
    assert call["from"] in POOL and call["from"] == row.from_e164 and row.twilio_sid == call["sid"]
    assert (call["machine_detection"], call["async_amd"]) == ("DetectMessageEnd", "true")
    assert call["async_amd_status_callback"] == f"https://ql.example.org/twilio/outbound/amd?touch={row.job_id}"
    assert call["status_callback"] == f"https://ql.example.org/twilio/outbound/call-status?touch={row.job_id}"
    assert call["status_callback_event"] == ["initiated", "ringing", "answered", "completed"]
    # The conversation runs on the voice webhook (flows/follow_up_call.yaml), the touch named by its job id.
    assert call["url"] == f"https://ql.example.org/twilio/voice?touch={row.job_id}"


def test_checked_in_at_14_59_no_call_at_15_minutes(ql, database, jobs, standin):
    late_client(database)
    jobs.clock.now = START + dt.timedelta(minutes=14, seconds=59)
    plan_and_run(ql, jobs)
    with database.sessions() as db, db.begin():
        db.execute(update(Appointment).where(Appointment.id == "A-9003").values(checked_in=True))
    jobs.at(START + dt.timedelta(minutes=15))
    [row] = touch_rows(database, "C-9003")
    # The minute's planning pass (cancelled) or the send job's re-check (skipped), whichever runs first.
    assert row.status in ("cancelled", "skipped") and row.why_skipped == "checked_in"
    assert calls_to(standin, PHONE) == []


# No operator words in the hints: an outbound call inherits its own flow's keys, never the practice line's operator,
# whose person would name the practice to whoever answered (CallSession.entry; bt14-s24 blocker 2's inheritance).
GREETING_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="https://ql.example.org/twilio/voice/input?turn=1" '
    'hints="yes, no, yeah, nope, that\'s right, that\'s not right, correct, crisis, emergency, hurt myself, suicide, '
    'suicidal, kill myself, don\'t call me, do not call me, don\'t call me again, do not call me again, never call me '
    'again, stop calling, stop calling me, quit calling, don\'t call this number, do not call this number, stop '
    'calling this number, no more calls, take me off your list, remove me from your list, remove this number, do '
    'not call list, don\'t ever call" input="dtmf speech" language="en-US" method="POST" numDigits="1" '
    'speechModel="numbers_and_commands" speechTimeout="2" timeout="6"><Say language="en-US" voice="Polly.Joanna">'
    'Hello, this is a call for someone at this number. Is that you? Press 1 for yes or 2 for no.</Say></Gather>'
    '<Redirect method="POST">https://ql.example.org/twilio/voice/timeout?turn=1</Redirect></Response>')


@pytest.mark.parametrize(("answered_by", "voicemail", "state"), [
    # A person who hangs up at the first question was never verified: no answer, so the next attempt goes.
    ("human", True, "no_answer"),
    ("unknown", True, "no_answer"),
    ("machine_end_beep", True, "voicemail"),
    ("machine_end_silence", True, "voicemail"),
    ("machine_end_other", True, "voicemail"),
    ("machine_end_beep", False, "machine"),
    ("fax", True, "fax"),
])
def test_each_answered_by(answered_by, voicemail, state, ql, client, database, jobs, standin):
    late_client(database, may_voicemail=voicemail)
    jobs.clock.now = START + dt.timedelta(minutes=15)
    plan_and_run(ql, jobs)
    [call] = calls_to(standin, PHONE)
    answer, *rest = deliver(client, standin.finish_call(call["sid"], answered_by, duration=21))
    assert rest == [(200, ACK), (200, ACK)]
    digits = "0 1 9 0" if call["from"] == POOL[0] else "0 1 9 1"
    # Before anyone is verified: the first name and the first question only (flows/follow_up_call.yaml).
    assert answer == (200, GREETING_TWIML)
    row = touch_rows(database, "C-9003")[0]
    assert (row.status, row.answered_by, row.duration_seconds) == (state, answered_by, 21)
    after = next(c for c in standin.calls() if c["sid"] == call["sid"])
    if state == "voicemail":
        number = "5 5 5, 0 1 0, " + digits
        assert after["twiml"] == (f'<?xml version="1.0" encoding="UTF-8"?><Response><Say {VOICE}>This is a message '
                                  'for Robin '
                                  f'about an appointment. Please call us back at {number}. Thank you.</Say>'
                                  '<Hangup /></Response>')
    else:
        assert after["twiml"] is None
    with database.sessions() as db:
        assert list(db.scalars(select(CallOptOut.e164))) == ([PHONE] if state == "fax" else [])


@pytest.fixture(params=["shipped", "greeting_by_name"])
def follow_up_flow(request, flows_dir) -> str:
    """The shipped follow_up_call.yaml, or the practice's copy as releases before issue 11 shipped it, whose greeting
    names the client from ``vars.touch.first_name`` (an upgrade keeps the practice's own flow files)."""
    if request.param == "greeting_by_name":
        flow = flows_dir / "follow_up_call.yaml"
        text = flow.read_text()
        neutral = "Hello, this is a call for someone at this number."
        assert neutral in text
        by_name = ("Hello, this is a call for {% if vars.touch.first_name %}{{ vars.touch.first_name }}"
                   "{% else %}someone at this number{% endif %}.")
        flow.write_text(text.replace(neutral, by_name))
    return str(request.param)


@pytest.mark.parametrize("answered_by", ["human", "machine_end_beep"])
def test_the_first_words_before_the_amd_result_are_neutral(follow_up_flow, answered_by, ql, client, database, jobs,
                                                           standin):
    """Issue 11: with asynchronous AMD (``DetectMessageEnd``) Twilio fetches the call's ``Url`` as soon as it
    connects, while detection still listens; whoever or whatever answered (the client, a relative, an answering
    machine recording) hears this first answer's TwiML before any ``AnsweredBy`` arrives. It is the first question
    only: no name, time, clinician, practice or care. With a flow file that still greets by name too: ``vars.touch``
    has no name to give."""
    late_client(database)
    jobs.clock.now = START + dt.timedelta(minutes=15)
    plan_and_run(ql, jobs)
    [call] = calls_to(standin, PHONE)
    first, amd, status = standin.finish_call(call["sid"], answered_by, duration=21)
    assert "AnsweredBy" not in first.params and amd.params["AnsweredBy"] == answered_by
    assert amd.url.startswith("https://ql.example.org/twilio/outbound/amd?")
    assert deliver(client, [first]) == [(200, GREETING_TWIML)]  # the AMD callback has not come yet
    [row] = touch_rows(database, "C-9003")
    assert (row.status, row.answered_by, row.verified) == ("queued", None, None)  # nothing known yet
    for secret in ("Robin", "11", "Lakeside", "Counseling", "appointment", "Maya", "Chen", "Ortiz"):
        assert secret not in GREETING_TWIML
    assert deliver(client, [amd, status]) == [(200, ACK), (200, ACK)]


def test_no_answer_then_the_text_goes_after_the_spacing(ql, client, database, jobs, standin):
    late_client(database)
    add_client(database, "C-9004", "Sam", ("+15551239004",))
    jobs.clock.now = START + dt.timedelta(minutes=15)
    plan_and_run(ql, jobs)
    [call] = calls_to(standin, PHONE)
    assert deliver(client, standin.finish_call(call["sid"], status="no-answer")) == [(200, ACK)]
    jobs.settle()
    rows = touch_rows(database, "C-9003")
    assert [(r.attempt, r.channel, r.status) for r in rows] == [(1, "call", "no_answer"), (2, "text", "planned")]
    assert rows[1].due == START + dt.timedelta(minutes=25)
    jobs.at(START + dt.timedelta(minutes=25))
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    assert sms["from"] == call["from"]  # the client always sees one number
    assert sms["body"].startswith("Hi Robin, we were expecting you at 11 AM.")


@pytest.mark.parametrize(("answer_as", "heard"), [
    ("client", ["Hello, this is a call for someone at this number. Is that you?"]),
    ("someone-else", ["Hello, this is a call for someone at this number. Is that you?",
                      "This is about a business matter"]),
    ("machine", ["Hello, this is a call for someone at this number. Is that you?",
                 "voicemail: This is a message for Robin about an appointment."]),
    ("fax", ["Hello, this is a call for someone at this number. Is that you?"]),
    ("no-answer", []),
])
def test_the_simulator_answers_an_outbound_call(answer_as, heard, app, ql, database, jobs, standin):
    late_client(database)
    jobs.clock.now = START + dt.timedelta(minutes=15)
    plan_and_run(ql, jobs)
    result = app.test_cli_runner().invoke(call_command, ["--outbound", "--to", PHONE, "--answer", answer_as])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(("🔊", "📼"))]
    assert len(lines) == len(heard) and all(h in line for h, line in zip(heard, lines, strict=True)), result.output
    [row] = touch_rows(database, "C-9003")
    # The client who says nothing more is not verified: no answer (the next attempt goes), as for someone else.
    assert row.status == {"client": "no_answer", "someone-else": "no_answer", "machine": "voicemail", "fax": "fax",
                          "no-answer": "no_answer"}[answer_as]
    again = app.test_cli_runner().invoke(call_command, ["--outbound", "--to", PHONE])
    assert again.exit_code == 1 and "No outbound call to" in again.output


def test_after_the_last_attempt_the_then_task_goes_to_staff(ql, client, database, jobs, standin):
    add_client(database, "C-9012", "Robin", ("+15551239012",), may_text=False)  # calls only: one attempt
    add_appointment(database, "A-9012", "C-9012", START, status="no_show")
    jobs.clock.now = START + dt.timedelta(minutes=80)  # 30 minutes after its end
    plan_and_run(ql, jobs)
    [call] = calls_to(standin, "+15551239012")
    assert deliver(client, standin.finish_call(call["sid"], status="busy")) == [(200, ACK)]
    jobs.settle()
    task = touch_rows(database, "C-9012")[1]
    # The last attempt reached nobody: the task is due when the next attempt would have been (spacing: 1 day).
    assert (task.touch_id, task.status, task.due) == ("C-9012/follow_ups.no_show/A-9012/v1/then/staff_task",
                                                      "planned", START + dt.timedelta(days=1, minutes=80))
    jobs.at(task.due)
    rows = touch_rows(database, "C-9012")
    assert [(r.rule, r.channel, r.status) for r in rows] == [("no_show", "call", "busy"),
                                                             ("no_show", "staff_task", "done")]
    with database.sessions() as db:
        [esc] = db.scalars(select(Escalation)).all()
    assert (esc.reason, esc.client_id, esc.category, esc.details) == (
        "follow_up_task", "C-9012", "callback_request", {"task": "Send a closing letter"})
