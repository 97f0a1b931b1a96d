"""Replies to reminders, through the signed SMS webhook: opt-outs at once (CANCEL is one, and never cancels the
appointment), START resumes what is still to come, confirm and change words and digits, anything else to staff."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.contact.models import CallOptOut, CorrectionRequestRow
from ivr.escalations.models import Escalation
from ivr.practice.models import Appointment, PracticeChange, SmsOptOut
from tests.helpers.contact import add_appointment, add_client, replies, text_in, touch_rows

NY = ZoneInfo("America/New_York")
PHONE = "+15551239006"
FIRST = dt.datetime(2026, 12, 2, 15, 0, tzinfo=NY).astimezone(dt.UTC)  # the 2-days-before reminder
QUIET_CHANGE = "Thank you. A person will be in touch by Thu, Dec 3 at 6 PM to find another time."
NOTHING = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def answer(text: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{text}</Message></Response>'


@pytest.fixture
def reminded(app, database, jobs, standin):
    """Robin's 2-days-before reminder went out; the 2-hours-before one is planned."""
    ql = app.extensions["quietline"]
    jobs.clock.now = FIRST - dt.timedelta(hours=1)
    add_client(database, "C-9006", "Robin", (PHONE,))
    add_appointment(database, "A-9006", "C-9006", dt.datetime(2026, 12, 4, 15, tzinfo=NY).astimezone(dt.UTC))
    ql.jobs.plan_outbound_now()
    jobs.at(FIRST)
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    return sms


def statuses(database) -> list[tuple[str, str, str | None]]:
    return [(r.rule, r.status, r.why_skipped) for r in touch_rows(database, "C-9006") if r.kind == "reminder"]


@pytest.mark.parametrize("body", ["1", "yes", "Ok", "Confirm", "confirmed!", "OK thanks"])
def test_confirm_words_and_digits(body, reminded, client, database):
    status, xml = text_in(client, PHONE, reminded["from"], body, "SM" + "1" * 32)
    assert (status, xml) == (200, NOTHING if body == "yes" else answer("Thank you, that is confirmed."))
    [reply] = replies(database)
    assert (reply.meaning, reply.client_id, reply.touch_id) == (
        "confirm", "C-9006", "C-9006/reminders.two_days_before/A-9006/v1/1/text")
    with database.sessions() as db:
        [change] = db.scalars(select(PracticeChange).where(PracticeChange.kind == "appointment_confirmed")).all()
    assert (change.client_id, change.appointment_id, change.after["confirmed"]) == ("C-9006", "A-9006", True)


@pytest.mark.parametrize("body", ["2", "can't make it", "I can’t make it.", "Reschedule", "change it"])
def test_change_words_on_the_reminders_day_go_to_a_person_held_by_the_daily_limit(body, reminded, client, database,
                                                                                   jobs, standin):
    replied_at = jobs.clock.now
    status, xml = text_in(client, PHONE, reminded["from"], body, "SM" + "2" * 32)
    assert (status, xml) == (200, answer("Thank you. We will be in touch to find another time."))
    with database.sessions() as db:
        [req] = db.scalars(select(CorrectionRequestRow)).all()
    assert (req.client_id, req.appointment_id) == ("C-9006", "A-9006")
    jobs.run()  # the planning pass the reply asked for
    # A text went out today: the daily limit is hard, so no automated call; a person has the task at once.
    rows = [(r.channel, r.status, r.why_skipped) for r in touch_rows(database, "C-9006") if r.rule == "correction"]
    assert rows == [("staff_task", "done", None), ("call", "skipped", "daily_cap")]
    with database.sessions() as db:
        held = [(e.reason, e.client_id, e.details["trigger"], e.details["appointment_id"])
                for e in db.scalars(select(Escalation))]
    assert held == [("held_by_limit", "C-9006", "follow_ups.correction", "A-9006")]
    jobs.at(replied_at + dt.timedelta(hours=3))
    assert [c for c in standin.calls() if c["to"] == PHONE] == []


@pytest.mark.parametrize("body", ["STOP", "cancel", "Stop.", "UNSUBSCRIBE"])
def test_stop_and_cancel_are_opt_outs_and_never_cancel_the_appointment(body, reminded, client, database, jobs,
                                                                       standin):
    status, xml = text_in(client, PHONE, reminded["from"], body, "SM" + "3" * 32)
    assert (status, xml) == (200, NOTHING)  # Twilio answers its own keywords
    assert statuses(database) == [("two_days_before", "sent", None), ("two_hours_before", "cancelled", "opted_out")]
    jobs.run()  # the planning pass the reply asked for: no follow-up call to that number either
    assert [r.status for r in touch_rows(database, "C-9006") if r.kind == "follow_up"] in ([], ["skipped"],
                                                                                          ["cancelled"])
    with database.sessions() as db:
        assert db.get(SmsOptOut, PHONE).opted_out is True
        assert db.get(CallOptOut, PHONE).source == "stop"
        assert db.get(Appointment, "A-9006").status == "scheduled"
        # Shown to staff: the change journal's texting preference.
        assert [c.kind for c in db.scalars(select(PracticeChange))] == ["texting_preference"]
    jobs.at(dt.datetime(2026, 12, 4, 13, tzinfo=NY).astimezone(dt.UTC))
    assert len([m for m in standin.messages() if m["to"] == PHONE]) == 1


def test_start_resumes_only_what_is_still_to_come(reminded, client, database, jobs, standin):
    text_in(client, PHONE, reminded["from"], "STOP", "SM" + "4" * 32)
    assert text_in(client, PHONE, reminded["from"], "START", "SM" + "5" * 32) == (200, NOTHING)
    jobs.run()
    assert statuses(database) == [("two_days_before", "sent", None), ("two_hours_before", "planned", None)]
    with database.sessions() as db:
        assert db.get(CallOptOut, PHONE) is None
    jobs.at(dt.datetime(2026, 12, 4, 13, tzinfo=NY).astimezone(dt.UTC))
    texts = [m for m in standin.messages() if m["to"] == PHONE]
    assert len(texts) == 2 and texts[1]["body"] == ("Hi Robin, a reminder of your appointment Fri, Dec 4 at 3 PM. "
                                                    "Reply 1 to confirm or 2 to change it.")


def test_free_text_goes_to_staff_at_once_and_the_client_is_told_a_person_will_answer(reminded, client, database,
                                                                                      jobs):
    words = "Can my partner come along next time?"
    status, xml = text_in(client, PHONE, reminded["from"], words, "SM" + "6" * 32)
    assert (status, xml) == (200, answer("Thank you for your message. A person will answer you soon."))
    with database.sessions() as db:
        [esc] = db.scalars(select(Escalation)).all()
    assert (esc.call_sid, esc.reason, esc.client_id, esc.status) == ("SM" + "6" * 32, "text_reply", "C-9006", "open")
    [reply] = replies(database)
    assert reply.meaning == "other" and words.encode() not in (reply.body_sealed or b"")
    # The same message again (Twilio retried): nothing twice.
    assert text_in(client, PHONE, reminded["from"], words, "SM" + "6" * 32) == (200, NOTHING)
    assert len(replies(database)) == 1


def test_the_same_words_to_the_practice_number_keep_the_auto_reply(reminded, client, database):
    status, xml = text_in(client, PHONE, "+15550100000", "1", "SM" + "7" * 32)
    assert status == 200 and "call it instead" in xml and replies(database) == []


CRISIS_ANSWER = ("If this is an emergency, please call 911 now. You can also call or text 988 at any time, day or "
                 "night. A person from our office will contact you soon.")
UNSURE_ANSWER = ("Thank you for your message. A person will answer you soon. If this is an emergency, please call "
                 "911, or call or text 988 at any time.")


@pytest.mark.parametrize("words", [
    "i dont want to be alive anymore, i want to kill myself",  # the break-test's example (B4)
    "I want to kill myself",
    "can't make it. i want to end my life",  # a change word does not hide a crisis
])
def test_a_crisis_text_pages_the_crisis_on_call_and_gives_the_guidance(words, reminded, client, database, jobs,
                                                                       standin, staff, app):
    status, xml = text_in(client, PHONE, reminded["from"], words, "SM" + "8" * 32)
    assert (status, xml) == (200, answer(CRISIS_ANSWER))
    with database.sessions() as db:
        [esc] = db.scalars(select(Escalation)).all()
        assert db.scalars(select(CorrectionRequestRow)).all() == []  # a person calls, not the planner
    assert (esc.reason, esc.category, esc.priority, esc.client_id, esc.details) == (
        "text_crisis", "crisis", 0, "C-9006", {"reply": "crisis", "crisis": "crisis"})
    assert esc.crisis_kind == "text_suicide_self_harm"  # the kind staff see (issue 14), never the words
    [reply] = replies(database)
    assert reply.meaning == "crisis"  # what the client page shows
    jobs.run()
    # The on-call clinician (the demo roster) is paged at once, link only: no words of the text.
    paged = [(m["to"], m["body"]) for m in standin.messages() if f"#{esc.id}" in m["body"]]
    dashboard = app.extensions["quietline"].settings.dashboard_url
    assert "+15550100123" in {to for to, _ in paged}  # the crisis on-call (level 1 as any urgent item)
    assert {body for _, body in paged} == {f"URGENT call #{esc.id}: call back now. {dashboard}/e/{esc.id}"}
    assert not any(words in m["body"] for m in standin.messages())


@pytest.mark.parametrize("words, kind", [
    ("he is going to kill me", "text_in_danger"),
    ("I can't breathe", "text_medical_emergency"),
    ("I'm going to hurt someone", "text_harm_to_others"),
    ("emergency", "text_unspecified"),
])
def test_a_crisis_texts_kind_is_on_its_escalation(words, kind, reminded, client, database):
    """Issue 14: a crisis text names its kind for staff, like a call's or a voicemail's."""
    status, _ = text_in(client, PHONE, reminded["from"], words, "SM" + "8" * 32)
    with database.sessions() as db:
        [esc] = db.scalars(select(Escalation)).all()
    assert (status, esc.reason, esc.crisis_kind) == (200, "text_crisis", kind)


def test_a_text_that_may_be_a_crisis_is_a_high_priority_task_with_a_marker(reminded, client, database):
    from ivr.core import crisis

    words = "I feel hopeless"
    assert crisis.assess(words).offer_crisis_option  # the same check as calls (whatever its phrase list)
    status, xml = text_in(client, PHONE, reminded["from"], words, "SM" + "9" * 32)
    assert (status, xml) == (200, answer(UNSURE_ANSWER))
    with database.sessions() as db:
        [esc] = db.scalars(select(Escalation)).all()
    assert (esc.reason, esc.priority, esc.details) == ("text_reply_unsure", 1, {"reply": "unsure", "crisis": "unsure"})
    assert replies(database)[0].meaning == "unsure"


def test_the_crisis_answers_say_nothing_else_the_discretion_lint_refuses():
    from ivr.contact.replies import CRISIS_REPLY, PERSON_REPLY, UNSURE_REPLY
    from ivr.outbound.lint import Discretion, text_problems

    # 988 is the one giveaway, on purpose: it goes only to the number that just wrote the crisis words.
    rules = Discretion.for_practice("Lakeside Counseling Collective")
    assert [text_problems(words, rules) for words in (CRISIS_REPLY, UNSURE_REPLY, PERSON_REPLY)] == [
        ["it says '988'"], ["it says '988'"], []]


@pytest.mark.parametrize("body", ["STOP please", "Please stop texting me", "stop texting me thanks",
                                  "Don't text me anymore",
                                  # break-test s25b #3: spaces and hyphens inside, full-width letters, REVOKE
                                  "STOP ALL", "Opt-out", "\uff33\uff34\uff2f\uff30", "S T O P", "opt - out",
                                  "\uff33\uff34\uff2f\uff30 \uff21\uff2c\uff2c", "Revoke", "stop all please",
                                  # break-test s26 NIT 6: a lone stop sign, as "STOP \U0001F6D1" is
                                  "\U0001F6D1", "\U0001F6D1\uFE0F", "\U0001F6D1 \U0001F6D1"])
def test_opt_outs_in_words_stop_everything_like_the_keywords(body, reminded, client, database):
    status, xml = text_in(client, PHONE, reminded["from"], body, "SM" + "a" * 32)
    assert (status, xml) == (200, NOTHING)
    assert statuses(database) == [("two_days_before", "sent", None), ("two_hours_before", "cancelled", "opted_out")]
    with database.sessions() as db:
        assert db.get(SmsOptOut, PHONE).opted_out is True
        assert db.get(Appointment, "A-9006").status == "scheduled"


@pytest.mark.parametrize("body", ["Y?", "ok?", "Confirm?"])
def test_a_question_is_never_a_confirmation(body, reminded, client, database):
    status, xml = text_in(client, PHONE, reminded["from"], body, "SM" + "b" * 32)
    assert (status, xml) == (200, answer("Thank you for your message. A person will answer you soon."))
    with database.sessions() as db:
        assert db.scalars(select(PracticeChange).where(PracticeChange.kind == "appointment_confirmed")).all() == []
        [esc] = db.scalars(select(Escalation)).all()
    assert esc.reason == "text_reply" and replies(database)[0].meaning == "other"


@pytest.mark.parametrize("body", ["Y", "2"])
def test_a_reply_from_a_shared_family_number_confirms_or_changes_nothing(body, reminded, client, database):
    add_client(database, "C-9007", "Sam", (PHONE,))  # the number is now a family phone
    status, xml = text_in(client, PHONE, reminded["from"], body, "SM" + "c" * 32)
    assert (status, xml) == (200, answer("Thank you for your message. A person will answer you soon."))
    with database.sessions() as db:
        assert db.scalars(select(PracticeChange).where(PracticeChange.kind == "appointment_confirmed")).all() == []
        assert db.scalars(select(CorrectionRequestRow)).all() == []
        [esc] = db.scalars(select(Escalation)).all()
    assert esc.reason == "text_reply" and replies(database)[0].meaning == "other"


# -- break-test nits: assent in the words people use --------------------------------------------------------

@pytest.mark.parametrize("body", ["yes I will be there", "yup", "yep", "\U0001F44D", "\U0001F44D\U0001F3FD",
                                  "ok see you then", "sure", "Yes! See you then, thanks", "Yes please"])
def test_assent_words_and_a_thumbs_up_confirm_the_reminded_appointment(body, reminded, client, database):
    status, xml = text_in(client, PHONE, reminded["from"], body, "SM" + "c" * 32)
    assert (status, xml) == (200, answer("Thank you, that is confirmed."))
    [reply] = replies(database)
    assert (reply.meaning, reply.client_id) == ("confirm", "C-9006")
    with database.sessions() as db:
        [change] = db.scalars(select(PracticeChange).where(PracticeChange.kind == "appointment_confirmed")).all()
    assert (change.client_id, change.appointment_id) == ("C-9006", "A-9006")


@pytest.mark.parametrize("body", ["no", "nope", "no I won't be there", "not sure", "yes but I'll be late",
                                  "ok but can we change it", "\U0001F44E"])
def test_no_like_words_are_never_a_confirmation(body, reminded, client, database):
    status, xml = text_in(client, PHONE, reminded["from"], body, "SM" + "d" * 32)
    assert status == 200
    assert xml != answer("Thank you, that is confirmed.")
    with database.sessions() as db:
        assert db.scalars(select(PracticeChange).where(PracticeChange.kind == "appointment_confirmed")).all() == []
    assert replies(database)[0].meaning != "confirm"


def test_assent_to_a_text_that_asked_for_no_confirmation_goes_to_a_person(app, client, database, jobs, standin):
    """A late follow-up's text ("we were expecting you at 3 PM") asks nothing to confirm: "ok" is for staff."""
    ql = app.extensions["quietline"]
    start = dt.datetime(2026, 12, 2, 15, 0, tzinfo=NY).astimezone(dt.UTC)
    add_client(database, "C-9006", "Robin", (PHONE,), may_call=False)
    add_appointment(database, "A-9006", "C-9006", start)
    jobs.clock.now = start + dt.timedelta(minutes=16)
    ql.jobs.plan_outbound_now()
    jobs.settle()
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    assert [(r.kind, r.rule) for r in touch_rows(database, "C-9006") if r.status == "sent"] == [("follow_up", "late")]
    status, xml = text_in(client, PHONE, sms["from"], "ok", "SM" + "e" * 32)
    assert (status, xml) == (200, answer("Thank you for your message. A person will answer you soon."))
    assert replies(database)[0].meaning == "other"
    with database.sessions() as db:
        [esc] = db.scalars(select(Escalation)).all()
    assert esc.reason == "text_reply"


@pytest.mark.parametrize("at", [dt.time(21, 0), dt.time(22, 30)])
def test_a_change_asked_for_in_quiet_hours_is_a_staff_task_at_once_with_the_promise_in_the_reply(
        at, reminded, client, database, jobs, standin):
    """Break-test: "can't make it" at 21:00 waited for the morning's correction call, and staff saw nothing.  By
    text only: a client on the line is offered times at any hour (test_outbound_quiet_change_calls)."""
    jobs.clock.now = dt.datetime.combine(dt.date(2026, 12, 2), at, tzinfo=NY).astimezone(dt.UTC)
    status, xml = text_in(client, PHONE, reminded["from"], "can't make it", "SM" + "f" * 32)
    with database.sessions() as db:
        [req] = db.scalars(select(CorrectionRequestRow)).all()
        [esc] = db.scalars(select(Escalation)).all()
    assert (esc.call_sid, esc.reason, esc.client_id, esc.status) == (f"change-{req.id}", "change_request", "C-9006",
                                                                    "open")
    assert (status, xml) == (200, answer(QUIET_CHANGE))
    jobs.run()  # the correction call still goes in the morning; its failure would raise no second task
    with database.sessions() as db:
        assert len(db.scalars(select(Escalation)).all()) == 1


def test_a_change_asked_for_in_the_day_raises_no_task_before_the_call(reminded, client, database, jobs):
    status, xml = text_in(client, PHONE, reminded["from"], "can't make it", "SM" + "9" * 32)
    assert (status, xml) == (200, answer("Thank you. We will be in touch to find another time."))
    with database.sessions() as db:
        assert db.scalars(select(Escalation)).all() == []


@pytest.mark.parametrize("body", ["don't stop the reminders", "Please don't stop texting me", "Never stop texting me",
                                  "I will stop by after work", "stop by at 3?", "the end of the week works",
                                  "\u270b", "\U0001F6D1 at the corner?"])
def test_words_that_only_contain_an_opt_out_word_stop_nothing(body, reminded, client, database):
    """The other way round (s25b #3): a reply that wants the texts, or uses "stop" as an ordinary word, goes to a
    person and stops nothing."""
    status, xml = text_in(client, PHONE, reminded["from"], body, "SM" + "b" * 32)
    assert (status, xml) == (200, answer("Thank you for your message. A person will answer you soon."))
    assert statuses(database) == [("two_days_before", "sent", None), ("two_hours_before", "planned", None)]
    with database.sessions() as db:
        assert db.get(SmsOptOut, PHONE) is None
        assert db.get(CallOptOut, PHONE) is None
    [reply] = replies(database)
    assert reply.meaning == "other"


def test_the_replies_and_the_lint_read_one_list_of_opt_out_keywords():
    """One list (ivr.core.opt_out_words): what a client's reply is read with, and what outbound words may not offer."""
    from ivr.core import opt_out_words
    from ivr.outbound import lint
    from ivr.practice import opt_outs

    assert opt_outs.OPT_OUT_KEYWORDS == frozenset(opt_out_words.OPT_OUT_KEYWORDS)
    assert lint.OPT_OUT_KEYWORDS == tuple(k.lower() for k in opt_out_words.OPT_OUT_KEYWORDS)
    for word in opt_out_words.OPT_OUT_KEYWORDS:
        assert opt_outs.classify(word.lower()) is opt_outs.Keyword.STOP
        assert lint.opt_out_command_problems(f"Reply {word.lower()} to stop.")
    assert [opt_out_words.keyword_of(w) for w in ("stop all", "Opt-out", "\uff33\uff34\uff2f\uff30", "S-T-O-P!",
                                                  "stopping", "stop by", "")] == [
        "STOPALL", "OPTOUT", "STOP", "STOP", None, None, None]
