"""Issue 14: staff see the KIND of crisis on its escalation, from every way a crisis reaches them.

Calls are placed with the simulator (signed webhooks, following the TwiML) against the app with a real Redis;
jobs run in real RQ SimpleWorkers on the test clock; rows are read from the real database; staff texts from the
Twilio stand-in. The kind is stored (``escalations.crisis_kind``), never the caller's words: they appear in no
row, no job payload and no text. Monday 23 November 2026, 10:00 in New York.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from ivr.core.crisis_kind import CrisisKind
from ivr.escalations.models import Escalation, Recording
from ivr.escalations.recording_files import StoredTranscript
from tests.helpers.escalations import ALEX, escalations, of_call, texts

UNKNOWN = "+15550199876"  # no client has this number
ON_CALL = "+15550100123"  # the demo on-call clinician (ivr/escalations/demo.py)

KINDS = [
    ("I want to die", CrisisKind.SUICIDE_SELF_HARM),
    ("I am going to hurt someone", CrisisKind.HARM_TO_OTHERS),
    ("he is trying to kill me", CrisisKind.IN_DANGER),
    ("my chest hurts and I can't breathe", CrisisKind.MEDICAL_EMERGENCY),
    ("this is an emergency", CrisisKind.UNSPECIFIED),
]
# Where the words are said: the main menu, and the date-of-birth question of the identity check (another flow,
# before the caller is known).
PROMPTS = {"main menu": "", "identity check": "1;"}


def crisis_row(database, call_sid: str) -> Escalation:
    found = [e for e in of_call(database, call_sid) if e.category == "crisis"]
    assert len(found) == 1, [(e.reason, e.category) for e in of_call(database, call_sid)]
    return found[0]


def job_payloads(redis_conn) -> str:
    out = []
    for key in redis_conn.scan_iter("rq:job:*"):
        job_id = key.decode().removeprefix("rq:job:")
        if ":" in job_id:
            continue
        job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
        out.append(json.dumps([job.id, job.args, job.kwargs]))
    return "\n".join(out)


@pytest.mark.parametrize("where", list(PROMPTS))
@pytest.mark.parametrize("words, kind", KINDS, ids=[k.value for _, k in KINDS])
def test_a_crisis_said_at_a_prompt_stores_its_kind_and_never_the_words(words, kind, where, sim, database, jobs,
                                                                        staff, standin, redis_conn):
    result = sim.call(from_=ALEX, script=f"{PROMPTS[where]}say:{words};answer")
    assert not result.application_error
    jobs.run()
    esc = crisis_row(database, result.call_sid)
    assert (esc.reason, esc.priority, esc.crisis_kind) == ("crisis", 0, kind.value)
    assert f"crisis_kind:{kind.value}" in esc.timeline
    assert esc.client_id is None  # said before the caller was verified: nobody is named
    # The words are speech: in no row, job payload or staff text.
    assert words not in json.dumps([esc.timeline, esc.details, esc.outcome])
    assert words not in job_payloads(redis_conn)
    # The on-call page stays discreet: the kind is shown behind the sign-in only (docs/security.md).
    paged = [body for to, body in texts(standin) if to == ON_CALL]
    assert paged and all(body.startswith(f"URGENT call #{esc.id}: call back now.") for body in paged)
    assert not any(kind.label in body or "crisis" in body.lower() for _, body in texts(standin))


@pytest.mark.parametrize("script, at", [("9;answer", "main_menu"), ("early:9;answer", "main_menu"),
                                         ("1;9#;answer", "ask_dob"), ("0;9;answer", "ring_front_desk")],
                         ids=["main menu", "during the greeting", "identity check", "while a person is rung"])
def test_the_crisis_key_is_stored_as_pressed(script, at, sim, database, jobs):
    result = sim.call(from_=ALEX, script=script)
    assert not result.application_error
    jobs.run()
    esc = crisis_row(database, result.call_sid)
    assert esc.crisis_kind == CrisisKind.PRESSED_KEY.value
    assert "crisis_kind:pressed_key" in esc.timeline


def test_a_crisis_from_an_unknown_number_names_its_kind(sim, database, jobs):
    result = sim.call(from_=UNKNOWN, script="1;say:I'm going to kill myself tonight;answer")
    jobs.run()
    esc = crisis_row(database, result.call_sid)
    assert (esc.crisis_kind, esc.client_id, esc.caller_masked) == ("suicide_self_harm", None, "+1******9876")


def test_two_kinds_in_one_sentence_keep_the_most_urgent_and_the_timeline_names_both(sim, database, jobs):
    result = sim.call(from_=ALEX, script="say:my husband is going to kill me and I took all my pills;answer")
    jobs.run()
    esc = crisis_row(database, result.call_sid)
    assert esc.crisis_kind == "in_danger"  # before medical emergency in the phrase list's order
    assert "crisis_kind:in_danger+medical_emergency" in esc.timeline


def test_harm_to_others_and_self_harm_in_one_breath_name_both_in_the_timeline(sim, database, jobs):
    result = sim.call(from_=ALEX, script="1;say:I want to kill myself and my husband;answer")
    jobs.run()
    esc = crisis_row(database, result.call_sid)
    assert esc.crisis_kind == "suicide_self_harm"
    assert "crisis_kind:suicide_self_harm+harm_to_others" in esc.timeline


def test_a_crisis_said_then_the_key_pressed_keep_the_kind_said(sim, database, jobs):
    """Words near a crisis first ("If you are in crisis, press 9 now" is offered), then 9: the key says no kind."""
    result = sim.call(from_=ALEX, script="say:I'm really struggling;9;answer")
    jobs.run()
    esc = crisis_row(database, result.call_sid)
    assert esc.crisis_kind == "pressed_key"
    assert "main_menu:crisis-offered" in esc.timeline


@pytest.mark.parametrize("words", ["I'm not suicidal, I need my link", "I'm not going to hurt anyone, I need my link"])
def test_a_denied_crisis_makes_no_crisis_escalation(words, sim, database, jobs):
    result = sim.call(from_=ALEX, script=f"say:{words};0;noanswer;record:3")
    jobs.run()
    assert [(e.category, e.crisis_kind) for e in of_call(database, result.call_sid)] == [("callback_request", None)]


def transcribed_as(app, call_sid: str, recording_sid: str, words: str) -> None:
    """What the speech worker would have heard (the words are given: no English model in the tests)."""
    app.extensions["quietline"].recording_files.write_transcript(
        call_sid, recording_sid, StoredTranscript(words, 0.9, tuple((w, 0.9) for w in words.split())))


def test_a_crisis_voicemail_names_its_kind_as_heard_in_the_message(app, sim, database, jobs, staff, standin,
                                                                    redis_conn):
    words = "hi it's me he is trying to kill me please call me"
    result = sim.call(from_=ALEX, script="0;noanswer;record:4")
    recording_sid = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    transcribed_as(app, result.call_sid, recording_sid, words)
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.reason, esc.category, esc.priority, esc.crisis_kind) == (
        "callback_request", "crisis", 0, "voicemail_in_danger")
    with database.sessions() as db:
        assert db.get(Recording, recording_sid).crisis_kind == "voicemail_in_danger"
    assert words not in job_payloads(redis_conn) and "trying" not in json.dumps(esc.timeline)
    assert not any("danger" in body for _, body in texts(standin))


def test_a_crisis_voicemail_alone_is_its_own_escalation_with_the_kind(app, sim, database, jobs):
    """The message's crisis escalated before the call's own escalation (the speech worker got there first)."""
    from workers.recordings import triage
    from workers.runtime import using

    result = sim.call(from_=ALEX, script="0;noanswer;record:4")
    recording_sid = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    with using(app.extensions["quietline"]):
        app.extensions["quietline"].recordings.note(result.call_sid, recording_sid, jobs.clock.now)
        assert triage(result.call_sid, recording_sid, "I can't breathe please help").is_crisis
    transcribed_as(app, result.call_sid, recording_sid, "I can't breathe please help")
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.category, esc.priority, esc.crisis_kind) == ("crisis", 0, "voicemail_medical_emergency")


def test_a_live_crisis_keeps_its_kind_unless_the_message_says_a_more_urgent_one(app, sim, database, jobs):
    """Pressed 9, then a message in the crisis flow reading as suicide: the message's kind is the more urgent."""
    result = sim.call(from_=ALEX, script="9;noanswer;record:5")
    recording_sid = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    transcribed_as(app, result.call_sid, recording_sid, "I want to die")
    jobs.run()
    esc = crisis_row(database, result.call_sid)
    assert esc.crisis_kind == "voicemail_suicide_self_harm"
    assert "crisis_kind:pressed_key" in esc.timeline  # what was heard on the call stays in its timeline
    # The other way: said on the call, and a message of a less urgent kind keeps what was said.
    second = sim.call(from_=ALEX, script="say:I want to die;noanswer;record:5")
    recording_sid = next(r.params["RecordingSid"] for r in second.requests if r.purpose == "recording-status")
    transcribed_as(app, second.call_sid, recording_sid, "I can't breathe")
    jobs.run()
    assert crisis_row(database, second.call_sid).crisis_kind == "suicide_self_harm"
    assert len(escalations(database)) == 2


def test_an_escalation_that_is_not_a_crisis_has_no_kind(sim, database, jobs):
    result = sim.call(from_=ALEX, script="0;noanswer;record:3")
    jobs.run()
    [esc] = of_call(database, result.call_sid)
    assert (esc.category, esc.crisis_kind) == ("callback_request", None)


def test_the_kind_is_kept_on_postgresql_and_sqlite(any_database):
    """The columns and the kind's folding, on both backends: a message's kind on its recording names the
    crisis escalation made from it, and a more urgent kind heard later replaces a less urgent one, never the
    other way."""
    from ivr.core.escalation_policy import VOICEMAIL_CRISIS
    from ivr.escalations import recordings
    from ivr.escalations.create import create_escalation
    from ivr.practice.settings.checks import load_practice
    from tests.helpers.service import ROOT

    practice = load_practice(ROOT / "flows" / "practice.yaml")
    now = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
    call, rec = "CA" + "7" * 32, "RE" + "7" * 32
    recordings.note(any_database.sessions, call, rec, now)
    recordings.set_crisis_kind(any_database.sessions, rec, "voicemail_medical_emergency")
    recordings.set_triage(any_database.sessions, rec, "callback", "crisis", "voicemail_unspecified")
    eid, created = create_escalation(any_database.sessions, None, call, VOICEMAIL_CRISIS, "urgent", now,
                                     practice)
    assert created
    assert recordings.name_crisis_kind(any_database.sessions, call, "voicemail_unspecified") == []
    assert recordings.name_crisis_kind(any_database.sessions, call, "voicemail_harm_to_others") == [eid]
    with any_database.sessions() as db:
        assert db.scalar(select(Recording.crisis_kind)) == "voicemail_medical_emergency"
        assert db.get(Escalation, eid).crisis_kind == "voicemail_harm_to_others"
