"""The outbound planner (ivr/outbound/planner.py): pure, fixed instants, concrete touches.

The practice (tests/helpers/outbound.py) is open Monday to Friday in New York; Thanksgiving
(Thu 26 Nov 2026) is a holiday and Fri 27 a closure.  Unless a test says otherwise the rules are
the issues' defaults on business days.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ivr.outbound.facts import ClientFacts, CorrectionRequest, Phone, Reply
from ivr.outbound.planner import (
    Chosen,
    SkipReason,
    TouchKind,
    TouchStatus,
    choose_number,
    make_id,
    recheck,
    still_eligible,
)
from tests.helpers.outbound import (
    LA,
    UTC,
    AppointmentStatus,
    Channel,
    Outcome,
    PastTouch,
    appt,
    client,
    done,
    facts,
    ny,
    plan,
    planned,
    rules,
    skipped,
)

RULES = rules()


def of(touches, rule: str):
    """Only the touches of one rule (e.g. "follow_ups.late")."""
    return [t for t in touches if f"/{rule}/" in t.id]


# --------------------------------------------------------------------------- each trigger, once, on time


MONDAY_10 = ny(11, 23, 10)


def test_late_fires_at_fifteen_minutes_and_not_when_checked_in_at_14_59() -> None:
    c = client()
    a = appt("A-1", MONDAY_10)
    before = of(plan(facts(c, appointments=[a]), RULES, ny(11, 23, 10, 14, 59)), "follow_ups.late")
    assert planned(before) == [("C-1/follow_ups.late/A-1/v1/1/call", ny(11, 23, 10, 15))]
    at = of(plan(facts(c, appointments=[a]), RULES, ny(11, 23, 10, 15)), "follow_ups.late")
    assert planned(at) == [("C-1/follow_ups.late/A-1/v1/1/call", ny(11, 23, 10, 15))]
    assert at[0].about_start == MONDAY_10 and at[0].voicemail is True and at[0].to == "+15550100201"

    checked_in = appt("A-1", MONDAY_10, version=2, changed_at=ny(11, 23, 10, 14, 59), checked_in=True)
    assert of(plan(facts(c, appointments=[checked_in]), RULES, ny(11, 23, 10, 15)), "follow_ups.late") == []
    assert still_eligible(before[0], facts(c, appointments=[checked_in]), RULES, ny(11, 23, 10, 15)) == (
        False, SkipReason.CHECKED_IN)
    joined = appt("A-1", MONDAY_10, version=2, changed_at=ny(11, 23, 10, 5), joined=True)
    assert still_eligible(before[0], facts(c, appointments=[joined]), RULES, ny(11, 23, 10, 15)) == (
        False, SkipReason.JOINED)
    assert still_eligible(before[0], facts(c, appointments=[a]), RULES, ny(11, 23, 10, 15)) == (True, None)


def test_late_fires_once_then_the_next_attempt_after_the_spacing() -> None:
    c, a = client(), appt("A-1", MONDAY_10)
    first = of(plan(facts(c, appointments=[a]), RULES, ny(11, 23, 10, 15)), "follow_ups.late")[0]
    in_flight = facts(c, appointments=[a], past_touches=(done(first, ny(11, 23, 10, 15), Outcome.QUEUED),))
    for minute in (15, 16, 30):  # the scheduler runs again and again: nothing while the call is in flight
        assert of(plan(in_flight, RULES, ny(11, 23, 10, minute)), "follow_ups.late") == []
    unanswered = facts(c, appointments=[a], past_touches=(done(first, ny(11, 23, 10, 15), Outcome.NO_ANSWER),))
    second = of(plan(unanswered, RULES, ny(11, 23, 10, 16)), "follow_ups.late")
    assert planned(second) == [("C-1/follow_ups.late/A-1/v1/2/text", ny(11, 23, 10, 25))]
    both = facts(c, appointments=[a], past_touches=(done(first, ny(11, 23, 10, 15), Outcome.NO_ANSWER),
                                                      done(second[0], ny(11, 23, 10, 25), Outcome.SENT)))
    assert of(plan(both, RULES, ny(11, 23, 10, 26)), "follow_ups.late") == []
    answered = facts(c, appointments=[a], past_touches=(done(first, ny(11, 23, 10, 15), Outcome.ANSWERED),))
    assert of(plan(answered, RULES, ny(11, 23, 10, 16)), "follow_ups.late") == []


# (rule, facts builder, instant of the plan, expected id, expected due in New York)
WEDNESDAY_18 = ny(11, 25, 18)  # the eve of Thanksgiving and a closure day, then a weekend
TRIGGERS = [
    ("follow_ups.no_show",
     lambda: facts(client(), appointments=[appt("A-2", ny(11, 23, 13), status=AppointmentStatus.NO_SHOW,
                                                version=2, changed_at=ny(11, 23, 14))]),
     ny(11, 23, 13, 30), "C-1/follow_ups.no_show/A-2/v2/1/call", ny(11, 23, 14, 20)),
    ("follow_ups.unbooked",  # a completed session on Monday 2 Nov, nothing booked: Monday 9 Nov, same time
     lambda: facts(client(), appointments=[appt("A-3", ny(11, 2, 10), status=AppointmentStatus.COMPLETED)]),
     ny(11, 5, 12), "C-1/follow_ups.unbooked/A-3/v1/1/call", ny(11, 9, 10, 50)),
    ("follow_ups.cancelled",  # cancelled Tuesday 10 Nov at 11:00: 3 days later, Friday 13 at 11:00
     lambda: facts(client(), appointments=[appt("A-4", ny(11, 12, 10), status=AppointmentStatus.CANCELLED,
                                                version=3, changed_at=ny(11, 10, 11))]),
     ny(11, 10, 11), "C-1/follow_ups.cancelled/A-4/v3/1/call", ny(11, 13, 11)),
    ("follow_ups.lapsed",  # last heard from on Thursday 1 Oct: 30 days is Saturday 31 Oct, so Monday 9:00
     lambda: facts(client(), last_contact={"C-1": ny(10, 1, 12)}),
     ny(10, 30, 12), f"C-1/follow_ups.lapsed/t:{int(ny(10, 1, 12).timestamp()) // 60}/v-/1/text", ny(11, 2, 9)),
    ("follow_ups.correction",
     lambda: facts(client(), corrections=(CorrectionRequest("7", "C-1", ny(11, 23, 11, 5)),)),
     ny(11, 23, 11, 5), "C-1/follow_ups.correction/c:7/v-/1/call", ny(11, 23, 11, 5)),
]


@pytest.mark.parametrize("rule, build, now, touch_id, due", TRIGGERS, ids=[t[0] for t in TRIGGERS])
def test_each_trigger_fires_once_at_the_right_time(rule, build, now, touch_id, due) -> None:
    touches = of(plan(build(), RULES, now), rule)
    assert planned(touches) == [(touch_id, due)]
    # Planning again (later, or many times) gives the same touch: the I/O layer sends it once by id.
    assert planned(of(plan(build(), RULES, due), rule)) == [(touch_id, due)]
    again = build()
    recorded = type(again)(again.clients, again.appointments, (done(touches[0], due),), again.replies,
                           again.corrections, again.last_contact)
    after = [t for t in of(plan(recorded, RULES, due + dt.timedelta(minutes=1)), rule) if t.attempt == 1]
    assert after == []


def test_no_show_on_the_eve_of_two_closure_days_is_followed_up_on_the_next_business_day_only() -> None:
    a = appt("A-5", WEDNESDAY_18, status=AppointmentStatus.NO_SHOW, version=2, changed_at=ny(11, 25, 19))
    f = facts(client(), appointments=[a])
    expected = [("C-1/follow_ups.no_show/A-5/v2/1/call", ny(11, 30, 9))]
    # Whenever the scheduler runs over the holiday, the closure and the weekend, one touch: Monday 9:00.
    for now in (ny(11, 25, 19, 1), ny(11, 26, 12), ny(11, 27, 12), ny(11, 28, 12), ny(11, 29, 20), ny(11, 30, 8)):
        assert planned(of(plan(f, RULES, now), "follow_ups.no_show")) == expected, now
    first = of(plan(f, RULES, ny(11, 30, 9)), "follow_ups.no_show")[0]
    later = facts(client(), appointments=[a], past_touches=(done(first, ny(11, 30, 9), Outcome.NO_ANSWER),))
    assert planned(of(plan(later, RULES, ny(11, 30, 9, 1)), "follow_ups.no_show")) == [
        ("C-1/follow_ups.no_show/A-5/v2/2/text", ny(12, 1, 9))]


def test_rebooked_or_held_appointments_stop_no_show_cancelled_and_unbooked() -> None:
    next_one = appt("A-9", ny(12, 3, 10))
    cases = [
        ("follow_ups.no_show", appt("A-2", ny(11, 23, 13), status=AppointmentStatus.NO_SHOW), ny(11, 23, 14, 20)),
        ("follow_ups.cancelled", appt("A-4", ny(11, 12, 10), status=AppointmentStatus.CANCELLED,
                                      changed_at=ny(11, 10, 11)), ny(11, 13, 11)),
        ("follow_ups.unbooked", appt("A-3", ny(11, 2, 10), status=AppointmentStatus.COMPLETED), ny(11, 9, 10, 50)),
    ]
    for rule, a, now in cases:
        assert planned(of(plan(facts(client(), appointments=[a]), RULES, now), rule)), rule
        assert of(plan(facts(client(), appointments=[a, next_one]), RULES, now), rule) == [], rule
        touch = of(plan(facts(client(), appointments=[a]), RULES, now), rule)[0]
        assert still_eligible(touch, facts(client(), appointments=[a, next_one]), RULES, now) == (
            False, SkipReason.REBOOKED), rule


# --------------------------------------------------------------------------- time zones and DST


@pytest.mark.parametrize("who", [client(tz="America/Los_Angeles"), client(phone="+13105550100")],
                         ids=["zone in the record", "Los Angeles area code, no zone on record"])
def test_a_client_in_another_time_zone_is_not_contacted_before_nine_their_time(who) -> None:
    # A no-show at 8:00 New York time: the follow-up is due 9:20 New York = 6:20 in Los Angeles.
    a = appt("A-2", ny(11, 23, 8), status=AppointmentStatus.NO_SHOW)
    touches = of(plan(facts(who, appointments=[a]), RULES, ny(11, 23, 9)), "follow_ups.no_show")
    assert planned(touches) == [(touches[0].id, ny(11, 23, 12))]  # 9:00 in Los Angeles
    assert touches[0].due.astimezone(LA).time() == dt.time(9, 0)


def test_a_client_in_new_york_gets_it_at_nine_twenty() -> None:
    a = appt("A-2", ny(11, 23, 8), status=AppointmentStatus.NO_SHOW)
    assert planned(of(plan(facts(client(), appointments=[a]), RULES, ny(11, 23, 9)), "follow_ups.no_show")) == [
        ("C-1/follow_ups.no_show/A-2/v1/1/call", ny(11, 23, 9, 20))]


EVERY_DAY = rules(RULES_YAML_EVERY_DAY := """\
    caller_id: {numbers: ["+1 555 010 0190"]}
    follow_ups: {unbooked: {}}
    reminders:
      touches:
        two_days_before: {before: 2 days}
        two_hours_before: {before: 2 hours}
    """)


@pytest.mark.parametrize("start, rule, due_utc", [
    # Spring forward (Sunday 8 March 2026): "2 days before" Monday 10:00 EDT is Saturday 10:00 EST, not 48 h.
    (ny(3, 9, 10), "reminders.two_days_before", dt.datetime(2026, 3, 7, 15, 0, tzinfo=UTC)),
    # 2 hours before is 8:00 EDT, quiet: 9:00 EDT is nearer than Sunday evening.
    (ny(3, 9, 10), "reminders.two_hours_before", dt.datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
    # On the day itself the window is 9:00–19:00 EDT = 13:00–23:00 UTC.
    (ny(3, 8, 11), "reminders.two_hours_before", dt.datetime(2026, 3, 8, 13, 0, tzinfo=UTC)),
    # Fall back (Sunday 1 November 2026): 9:00 EST = 14:00 UTC.
    (ny(11, 1, 11), "reminders.two_hours_before", dt.datetime(2026, 11, 1, 14, 0, tzinfo=UTC)),
    (ny(11, 2, 10), "reminders.two_days_before", dt.datetime(2026, 10, 31, 14, 0, tzinfo=UTC)),
    (ny(11, 1, 16), "reminders.two_hours_before", dt.datetime(2026, 11, 1, 19, 0, tzinfo=UTC)),
], ids=["spring 2 days", "spring 2 hours", "spring on the day", "fall on the day", "fall 2 days", "fall 14:00"])
def test_reminders_across_dst(start, rule, due_utc) -> None:
    touches = of(
        plan(facts(client(), appointments=[appt("A-1", start)]), EVERY_DAY, start - dt.timedelta(days=3)), rule
    )
    assert [t.due for t in touches if t.status is TouchStatus.PLANNED] == [due_utc]


def test_a_follow_up_seven_days_later_keeps_the_clock_time_across_dst() -> None:
    # A session ending Sunday 1 March 10:50 EST; seven calendar days later is 10:50 EDT (14:50 UTC).
    a = appt("A-3", ny(3, 1, 10), status=AppointmentStatus.COMPLETED)
    touches = of(plan(facts(client(), appointments=[a]), EVERY_DAY, ny(3, 7, 12)), "follow_ups.unbooked")
    assert [t.due for t in touches] == [dt.datetime(2026, 3, 8, 14, 50, tzinfo=UTC)]


# --------------------------------------------------------------------------- reminders: quiet hours


def test_a_reminder_in_quiet_hours_goes_at_the_nearest_allowed_time_before_the_appointment() -> None:
    a = appt("A-1", ny(11, 24, 10))  # Tuesday 10:00
    touches = plan(facts(client(), appointments=[a]), RULES, ny(11, 20, 12))
    assert planned(touches) == [
        ("C-1/reminders.two_days_before/A-1/v1/1/text", ny(11, 23, 9)),  # Sunday 10:00 → Monday 9:00 (nearer)
        ("C-1/reminders.two_hours_before/A-1/v1/1/text", ny(11, 24, 9)),  # 8:00 → 9:00, still 1 h before
    ]
    monday = appt("A-1", ny(11, 23, 15))  # Monday 15:00: 2 days before is Saturday → Friday evening
    # (the last allowed minute is 18:59: planned 30 minutes before it, so a worker a minute late still sends it)
    assert planned(plan(facts(client(), appointments=[monday]), RULES, ny(11, 20, 12))) == [
        ("C-1/reminders.two_days_before/A-1/v1/1/text", ny(11, 20, 18, 29)),
        ("C-1/reminders.two_hours_before/A-1/v1/1/text", ny(11, 23, 13)),
    ]


def test_a_reminder_with_no_allowed_time_before_the_appointment_is_dropped() -> None:
    a = appt("A-1", ny(11, 23, 9))  # Monday 9:00: 2 hours before is 7:00 and nothing is allowed until 9:00
    f = facts(client(), appointments=[a])
    assert planned(of(plan(f, RULES, ny(11, 20, 12)), "reminders.two_hours_before")) == []
    assert skipped(of(plan(f, RULES, ny(11, 23, 7, 30)), "reminders.two_hours_before")) == [
        ("C-1/reminders.two_hours_before/A-1/v1/1/text", "quiet_hours")]


def test_after_downtime_a_touch_inside_its_window_goes_once_and_a_late_one_is_skipped() -> None:
    a = appt("A-1", MONDAY_10)
    f = facts(client(), appointments=[a])
    assert planned(of(plan(f, RULES, ny(11, 23, 10, 40)), "follow_ups.late")) == [
        ("C-1/follow_ups.late/A-1/v1/1/call", ny(11, 23, 10, 40))]  # within 30 minutes: now
    assert skipped(of(plan(f, RULES, ny(11, 23, 10, 46)), "follow_ups.late")) == [
        ("C-1/follow_ups.late/A-1/v1/1/call", "late")]
    b = appt("A-2", ny(11, 24, 15))  # 2 hours before = 13:00; a reminder may be 30 minutes late
    g = facts(client(), appointments=[b])
    assert planned(of(plan(g, RULES, ny(11, 24, 13, 20)), "reminders.two_hours_before")) == [
        ("C-1/reminders.two_hours_before/A-2/v1/1/text", ny(11, 24, 13, 20))]
    assert skipped(of(plan(g, RULES, ny(11, 24, 13, 31)), "reminders.two_hours_before")) == [
        ("C-1/reminders.two_hours_before/A-2/v1/1/text", "late")]


# --------------------------------------------------------------------------- reminders: always current


FRIDAY_NOON = ny(11, 20, 12)


def test_a_moved_or_cancelled_appointment_re_plans_its_pending_reminders() -> None:
    c = client()
    a1 = appt("A-1", ny(11, 23, 15))
    first = plan(facts(c, appointments=[a1]), RULES, FRIDAY_NOON)
    assert [t.id for t in first] == ["C-1/reminders.two_days_before/A-1/v1/1/text",
                                     "C-1/reminders.two_hours_before/A-1/v1/1/text"]
    a2 = appt("A-1", ny(11, 24, 15), version=2, changed_at=ny(11, 20, 12, 10))
    moved = plan(facts(c, appointments=[a2]), RULES, ny(11, 20, 12, 20))
    assert planned(moved) == [("C-1/reminders.two_days_before/A-1/v2/1/text", ny(11, 23, 9)),
                              ("C-1/reminders.two_hours_before/A-1/v2/1/text", ny(11, 24, 13))]
    assert all(t.kind is TouchKind.REMINDER for t in moved)  # nothing was sent yet: no correction
    assert still_eligible(first[0], facts(c, appointments=[a2]), RULES, ny(11, 20, 18, 59)) == (
        False, SkipReason.MOVED)
    a3 = appt("A-1", ny(11, 24, 15), version=3, changed_at=ny(11, 20, 12, 30), status=AppointmentStatus.CANCELLED)
    after_cancel = plan(facts(c, appointments=[a3]), RULES, ny(11, 20, 12, 40))
    assert planned(after_cancel) == [("C-1/follow_ups.cancelled/A-1/v3/1/call", ny(11, 23, 12, 30))]  # no reminder
    assert still_eligible(moved[0], facts(c, appointments=[a3]), RULES, ny(11, 23, 9)) == (
        False, SkipReason.CANCELLED)


def test_a_moved_appointment_whose_reminder_went_out_gets_one_short_correction() -> None:
    c = client()
    a1 = appt("A-1", ny(11, 25, 15))  # Wednesday 15:00
    sent = plan(facts(c, appointments=[a1]), RULES, ny(11, 23, 14))[0]
    assert sent.id == "C-1/reminders.two_days_before/A-1/v1/1/text" and sent.due == ny(11, 23, 15)
    record = (done(sent, ny(11, 23, 15)),)
    a2 = appt("A-1", ny(11, 25, 17), version=2, changed_at=ny(11, 24, 11))  # moved on Tuesday 11:00 to 17:00
    touches = plan(facts(c, appointments=[a2], past_touches=record), RULES, ny(11, 24, 11, 1))
    assert planned(touches) == [("C-1/reminders.moved/A-1/v2/1/text", ny(11, 24, 11, 3)),
                                ("C-1/reminders.two_hours_before/A-1/v2/1/text", ny(11, 25, 15))]
    correction = touches[0]
    assert correction.kind is TouchKind.MOVED and correction.about_start == ny(11, 25, 17)
    # The correction goes once; after it, nothing more is said about the move.
    after = (*record, done(correction, ny(11, 24, 11, 3)))
    assert planned(plan(facts(c, appointments=[a2], past_touches=after), RULES, ny(11, 24, 11, 4))) == [
        ("C-1/reminders.two_hours_before/A-1/v2/1/text", ny(11, 25, 15))]
    # A client who moved it themselves (on the phone) already knows: no correction.
    by_client = appt("A-1", ny(11, 25, 17), version=2, changed_at=ny(11, 24, 11), changed_by_client=True)
    assert [t.kind for t in plan(facts(c, appointments=[by_client], past_touches=record), RULES,
                                 ny(11, 24, 11, 1))] == [TouchKind.REMINDER]


def test_a_move_and_a_move_back_within_three_minutes_sends_nothing() -> None:
    c = client()
    a1 = appt("A-1", ny(11, 25, 15))
    sent = plan(facts(c, appointments=[a1]), RULES, ny(11, 23, 14))[0]
    record = (done(sent, ny(11, 23, 15)),)
    a2 = appt("A-1", ny(11, 25, 17), version=2, changed_at=ny(11, 24, 11))
    correction = plan(facts(c, appointments=[a2], past_touches=record), RULES, ny(11, 24, 11, 1))[0]
    assert correction.due == ny(11, 24, 11, 3)  # it waits out reminders.settle
    a3 = appt("A-1", ny(11, 25, 15), version=3, changed_at=ny(11, 24, 11, 2))  # moved back at 11:02
    back = facts(c, appointments=[a3], past_touches=record)
    assert planned(plan(back, RULES, ny(11, 24, 11, 2))) == [
        ("C-1/reminders.two_hours_before/A-1/v3/1/text", ny(11, 25, 13))]  # the reminder still due; nothing else
    assert still_eligible(correction, back, RULES, ny(11, 24, 11, 3)) == (False, SkipReason.MOVED)
    # Without the settle time the correction would have been due at once, during the 3 minutes.
    no_settle = rules(RULES_NO_SETTLE)
    assert plan(facts(c, appointments=[a2], past_touches=record), no_settle, ny(11, 24, 11, 1))[0].due == ny(
        11, 24, 11, 1)


RULES_NO_SETTLE = """\
caller_id: {numbers: ["+1 555 010 0190"]}
quiet_hours: {days: business_days}
reminders:
  settle: 0 minutes
  touches:
    two_days_before: {before: 2 days}
    two_hours_before: {before: 2 hours}
"""


def test_a_moved_appointment_replaced_by_a_new_one_is_current_too() -> None:
    # Some EHRs move by cancelling (rescheduled) and creating a new appointment that replaces it.
    c = client()
    old = appt("A-1", ny(11, 25, 15), status=AppointmentStatus.RESCHEDULED, version=2, changed_at=ny(11, 24, 11))
    new = appt("A-7", ny(11, 25, 17), changed_at=ny(11, 24, 11), replaces="A-1")
    sent = PastTouch("C-1/reminders.two_days_before/A-1/v1/1/text", "C-1", Channel.TEXT, ny(11, 23, 15),
                     Outcome.DELIVERED, ny(11, 25, 15), "+15550100201")
    touches = plan(facts(c, appointments=[old, new], past_touches=(sent,)), RULES, ny(11, 24, 11, 1))
    assert planned(touches) == [("C-1/reminders.moved/A-7/v1/1/text", ny(11, 24, 11, 3)),
                                ("C-1/reminders.two_hours_before/A-7/v1/1/text", ny(11, 25, 15))]
    back = appt("A-8", ny(11, 25, 15), changed_at=ny(11, 24, 11, 2), replaces="A-7")
    gone = appt("A-7", ny(11, 25, 17), status=AppointmentStatus.RESCHEDULED, version=2, changed_at=ny(11, 24, 11, 2),
                replaces="A-1")
    assert planned(plan(facts(c, appointments=[old, gone, back], past_touches=(sent,)), RULES, ny(11, 24, 11, 2))) \
        == [("C-1/reminders.two_hours_before/A-8/v1/1/text", ny(11, 25, 13))]


def test_an_undelivered_reminder_falls_back_to_a_call_when_the_rules_allow() -> None:
    fallback = rules("""\
        caller_id: {numbers: ["+1 555 010 0190"]}
        reminders:
          touches:
            two_hours_before: {before: 2 hours, by: text, fallback: call}
        """)
    c, a = client(), appt("A-1", ny(11, 24, 15))
    text = plan(facts(c, appointments=[a]), fallback, ny(11, 24, 12))[0]
    assert text.id == "C-1/reminders.two_hours_before/A-1/v1/1/text" and text.due == ny(11, 24, 13)
    f = facts(c, appointments=[a], past_touches=(done(text, ny(11, 24, 13), Outcome.UNDELIVERED),))
    assert planned(plan(f, fallback, ny(11, 24, 13, 2))) == [
        ("C-1/reminders.two_hours_before/A-1/v1/2/call", ny(11, 24, 13, 2))]
    # A client who does not accept texts gets the call straight away.
    no_texts = client(may_text=False)
    assert planned(plan(facts(no_texts, appointments=[a]), fallback, ny(11, 24, 12))) == [
        ("C-1/reminders.two_hours_before/A-1/v1/1/call", ny(11, 24, 13))]


# --------------------------------------------------------------------------- caps across triggers


def test_one_contact_a_day_across_triggers() -> None:
    c = client()
    no_show = appt("A-2", ny(11, 23, 8), status=AppointmentStatus.NO_SHOW)
    request = CorrectionRequest("7", "C-1", ny(11, 23, 10))
    touches = plan(facts(c, appointments=[no_show], corrections=(request,)), RULES, ny(11, 23, 9))
    # A correction staff asked for cannot wait: it takes the day's contact, the no-show call (which can) waits.
    assert planned(touches) == [("C-1/follow_ups.correction/c:7/v-/1/call", ny(11, 23, 10)),
                                ("C-1/follow_ups.no_show/A-2/v1/1/call", ny(11, 24, 9))]
    lapsed = appt("A-1", ny(10, 1, 10), status=AppointmentStatus.COMPLETED)
    both = plan(facts(c, appointments=[lapsed, no_show]), RULES, ny(11, 23, 9))
    assert len([t for t in both if t.status is TouchStatus.PLANNED and t.due and t.due < ny(11, 24)]) == 1


def test_three_contacts_in_any_seven_days() -> None:
    c = client()
    earlier = tuple(PastTouch(make_id("C-1", "follow_ups.lapsed", f"t:{n}", None, 1, Channel.TEXT), "C-1",
                              Channel.TEXT, ny(11, day, 10), Outcome.DELIVERED, None, "+15550100201")
                    for n, day in enumerate((17, 18, 19)))
    no_show = appt("A-2", ny(11, 23, 8), status=AppointmentStatus.NO_SHOW)
    touches = plan(facts(c, appointments=[no_show], past_touches=earlier), RULES, ny(11, 23, 9))
    assert planned(touches) == [("C-1/follow_ups.no_show/A-2/v1/1/call", ny(11, 24, 9))]  # Tue 17 drops out


def test_three_call_attempts_in_24_hours_answered_or_not() -> None:
    c = client()
    calls = tuple(PastTouch(make_id("C-1", "follow_ups.late", "A-9", 1, n, Channel.CALL), "C-1", Channel.CALL,
                            ny(11, 23, 9) + dt.timedelta(minutes=30 * n), Outcome.NO_ANSWER, None, "+15550100201")
                  for n in range(3))
    request = CorrectionRequest("7", "C-1", ny(11, 23, 10, 30))
    touches = plan(facts(c, corrections=(request,), past_touches=calls), RULES, ny(11, 23, 10, 30))
    # The fourth call attempt in 24 hours is held (a correction cannot wait for 9:00 tomorrow): staff call.
    assert planned(touches) == [("C-1/follow_ups.correction/c:7/v-/held-1/staff_task", ny(11, 23, 10, 30))]
    assert skipped(touches) == [("C-1/follow_ups.correction/c:7/v-/1/call", "call_cap")]
    # A lapsed text (not a call) is not held by the call limit.
    lapsed = PastTouch("C-1/follow_ups.late/A-9/v1/held-x/staff_task", "C-1", Channel.STAFF_TASK, ny(11, 23, 9),
                       Outcome.SENT)
    assert lapsed.channel is Channel.STAFF_TASK


def test_a_reminder_sent_and_a_text_and_call_of_one_touch_count_as_one_contact() -> None:
    both = rules("""\
        caller_id: {numbers: ["+1 555 010 0190"]}
        reminders:
          touches:
            two_hours_before: {before: 2 hours, by: both}
        """)
    a = appt("A-1", ny(11, 24, 15))
    touches = plan(facts(client(), appointments=[a]), both, ny(11, 24, 12))
    assert planned(touches) == [("C-1/reminders.two_hours_before/A-1/v1/1/call", ny(11, 24, 13)),
                                ("C-1/reminders.two_hours_before/A-1/v1/1/text", ny(11, 24, 13))]


# --------------------------------------------------------------------------- replies, consent, opt-outs, shared phones


def test_a_reply_or_an_answered_call_cancels_the_other_pending_touches() -> None:
    c = client()
    no_show = appt("A-2", ny(11, 23, 8), status=AppointmentStatus.NO_SHOW)
    first = plan(facts(c, appointments=[no_show]), RULES, ny(11, 23, 9, 20))[0]
    unanswered = (done(first, ny(11, 23, 9, 20), Outcome.NO_ANSWER),)
    replied = facts(c, appointments=[no_show], past_touches=unanswered, replies=(Reply("C-1", ny(11, 23, 9, 40)),))
    assert of(plan(replied, RULES, ny(11, 23, 10)), "follow_ups.no_show") == []  # attempt 2 will not be made
    assert skipped(of(plan(replied, RULES, ny(11, 24, 9, 30)), "follow_ups.no_show")) == [
        ("C-1/follow_ups.no_show/A-2/v1/2/text", "answered")]
    # Without the reply: attempt 2 on Tuesday, then the staff task after the last attempt.
    quiet = facts(c, appointments=[no_show], past_touches=unanswered)
    second = of(plan(quiet, RULES, ny(11, 23, 10)), "follow_ups.no_show")
    assert planned(second) == [("C-1/follow_ups.no_show/A-2/v1/2/text", ny(11, 24, 9, 20))]
    last = facts(c, appointments=[no_show], past_touches=unanswered + (done(second[0], ny(11, 24, 9, 20)),))
    task = of(plan(last, RULES, ny(11, 24, 10)), "follow_ups.no_show")
    assert [(t.id, t.channel, t.due, t.task) for t in task] == [
        ("C-1/follow_ups.no_show/A-2/v1/then/staff_task", Channel.STAFF_TASK, ny(11, 25, 9, 20),
         "Send a closing letter")]
    # A reply also ends the remaining reminders of an appointment that had been reminded.
    a = appt("A-1", ny(11, 25, 15))
    sent = plan(facts(c, appointments=[a]), RULES, ny(11, 23, 14))[0]
    confirmed = facts(c, appointments=[a], past_touches=(done(sent, ny(11, 23, 15)),),
                      replies=(Reply("C-1", ny(11, 23, 15, 5)),))
    assert of(plan(confirmed, RULES, ny(11, 24, 12)), "reminders.two_hours_before") == []
    assert skipped(of(plan(confirmed, RULES, ny(11, 25, 13)), "reminders.two_hours_before")) == [
        ("C-1/reminders.two_hours_before/A-1/v1/1/text", "answered")]


def test_consent_per_channel_and_opt_outs_per_number() -> None:
    no_show = appt("A-2", ny(11, 23, 8), status=AppointmentStatus.NO_SHOW)
    texts_only = client(may_call=False)
    assert planned(of(plan(facts(texts_only, appointments=[no_show]), RULES, ny(11, 23, 9)), "follow_ups.no_show")) == [
        ("C-1/follow_ups.no_show/A-2/v1/1/text", ny(11, 23, 9, 20))]  # the call attempt is left out
    nothing = client(may_call=False, may_text=False)
    touches = of(plan(facts(nothing, appointments=[no_show]), RULES, ny(11, 23, 9, 30)), "follow_ups.no_show")
    assert [(t.id, t.status, t.why_skipped, t.task) for t in touches] == [  # planned first, then skipped
        ("C-1/follow_ups.no_show/A-2/v1/then/staff_task", TouchStatus.PLANNED, None, "Send a closing letter"),
        ("C-1/follow_ups.no_show/A-2/v1/1/call", TouchStatus.SKIPPED, SkipReason.NO_CONSENT, None)]
    a = appt("A-1", ny(11, 24, 15))
    stopped = facts(client(), appointments=[a], text_opt_outs=frozenset({"+15550100201"}))
    assert skipped(plan(stopped, RULES, ny(11, 24, 13, 5))) == [
        ("C-1/reminders.two_days_before/A-1/v1/1/text", "opted_out"),
        ("C-1/reminders.two_hours_before/A-1/v1/1/text", "opted_out")]
    [pending] = [t for t in plan(facts(client(), appointments=[a]), RULES, ny(11, 24, 12))
                 if t.status.value == "planned" and t.channel is Channel.TEXT]
    assert still_eligible(pending, stopped, RULES, ny(11, 24, 13)) == (False, SkipReason.OPTED_OUT)
    no_voicemail = client(may_voicemail=False)
    call = of(plan(facts(no_voicemail, appointments=[no_show]), RULES, ny(11, 23, 9)), "follow_ups.no_show")[0]
    assert call.channel is Channel.CALL and call.voicemail is False


def test_a_shared_number_gets_only_the_neutral_words() -> None:
    dana = client("C-3", "+15550100202", first_name="Dana")
    riley = client("C-4", "+15550100202", first_name="Riley")
    a = appt("A-1", ny(11, 24, 15), cid="C-3")
    touches = plan(facts(dana, riley, appointments=[a]), RULES, ny(11, 24, 12))
    # (2 days before was Monday 9:00, before this plan: skipped as late, recorded as such, and a staff task.)
    assert [(t.id, t.status.value, t.neutral) for t in touches] == [
        ("C-3/reminders.two_days_before/A-1/v1/notsent-late-1/staff_task", "planned", False),
        ("C-3/reminders.two_hours_before/A-1/v1/1/text", "planned", True),
        ("C-3/reminders.two_days_before/A-1/v1/1/text", "skipped", True)]
    flagged = client("C-5", "+15550100203", shared=True)
    b = appt("A-2", ny(11, 24, 15), cid="C-5")
    assert [t.neutral for t in plan(facts(flagged, appointments=[b]), RULES, ny(11, 24, 12))
            if t.channel is Channel.TEXT][0] is True


def test_each_channel_goes_to_the_clients_own_number_first_a_shared_one_only_without_one() -> None:
    family, own, second = "+15550100202", "+15550100108", "+15550100109"
    dana = ClientFacts("C-3", "Dana", (Phone(family), Phone(own)), None, True, False, True)
    riley = client("C-4", family, first_name="Riley")
    a = appt("A-1", ny(11, 24, 15), cid="C-3")
    b = appt("A-2", ny(11, 24, 15), cid="C-4")
    both = facts(dana, riley, appointments=[a, b])
    touches = [(t.client_id, t.to, t.neutral) for t in plan(both, RULES, ny(11, 24, 12))
               if t.status.value == "planned" and t.channel is not Channel.STAFF_TASK]
    assert touches == [("C-3", own, False), ("C-4", family, True)]  # Dana's own number, listed second, has details
    # The own number opted out of texts: the family phone, neutral; the family phone opted out too: nothing.
    stopped = facts(dana, riley, appointments=[a], text_opt_outs=frozenset({own}))
    [t] = [t for t in plan(stopped, RULES, ny(11, 24, 12))
           if t.status.value == "planned" and t.channel is not Channel.STAFF_TASK]
    assert (t.to, t.neutral) == (family, True)
    none_left = facts(dana, riley, appointments=[a], text_opt_outs=frozenset({own, family}))
    assert skipped(plan(none_left, RULES, ny(11, 24, 13, 5))) == [
        ("C-3/reminders.two_days_before/A-1/v1/1/text", "opted_out"),
        ("C-3/reminders.two_hours_before/A-1/v1/1/text", "opted_out")]
    # Per channel: texts stopped on the first of two own numbers go to the second; calls still to the first.
    robin = ClientFacts("C-6", "Robin", (Phone(own), Phone(second)), None, True, False, True)
    channels = {ch: choose_number(robin, ch, frozenset({own}) if ch is Channel.TEXT else frozenset(), {})
                for ch in (Channel.TEXT, Channel.CALL)}
    assert channels == {Channel.TEXT: Chosen(second), Channel.CALL: Chosen(own)}
    assert choose_number(replace(robin, may_call=False), Channel.CALL, frozenset(), {}) == Chosen(
        None, False, SkipReason.NO_CONSENT)
    # Re-checked when sending: the planned number opted out since, the touch goes to the next one.
    pending = next(t for t in plan(facts(robin, appointments=[appt("A-3", ny(11, 24, 15), cid="C-6")]), RULES,
                                   ny(11, 24, 12)) if t.status.value == "planned" and t.channel is Channel.TEXT)
    assert pending.to == own
    now_stopped = facts(robin, appointments=[appt("A-3", ny(11, 24, 15), cid="C-6")], text_opt_outs=frozenset({own}))
    current, why = recheck(pending, now_stopped, RULES, pending.due)
    assert why is None and current is not None and (current.id, current.to) == (pending.id, second)


def test_the_first_text_to_a_number_carries_the_opt_out_notice() -> None:
    a = appt("A-1", ny(11, 25, 15))
    first = plan(facts(client(), appointments=[a]), RULES, ny(11, 23, 14))
    assert [t.opt_out_notice for t in first] == [True, True]
    sent = (done(first[0], ny(11, 23, 15)),)
    again = plan(facts(client(), appointments=[a], past_touches=sent), RULES, ny(11, 23, 16))
    assert [(t.id, t.opt_out_notice) for t in again] == [("C-1/reminders.two_hours_before/A-1/v1/1/text", False)]
    current, why = recheck(first[1], facts(client(), appointments=[a], past_touches=sent), RULES, ny(11, 25, 13))
    assert why is None and current is not None and current.opt_out_notice is False


# --------------------------------------------------------------------------- determinism and ids


def test_planning_is_deterministic_and_ids_are_rq_safe() -> None:
    c = client("C/1 x")  # an EHR id with characters that must not break the id
    a = appt("A 1", ny(11, 25, 15), cid="C/1 x")
    f = facts(c, appointments=[a])
    one, two = plan(f, RULES, ny(11, 23, 14)), plan(f, RULES, ny(11, 23, 14))
    assert one == two
    assert one[0].id == "C%2F1%20x/reminders.two_days_before/A%201/v1/1/text"
    assert one[0].job_id.startswith("touch-") and one[0].job_id.replace("-", "").isalnum()
    sent = facts(c, appointments=[a], past_touches=(done(one[0], ny(11, 23, 15)),))
    assert [t.id for t in plan(sent, RULES, ny(11, 23, 16))] == [
        "C%2F1%20x/reminders.two_hours_before/A%201/v1/1/text"]


def test_still_eligible_refuses_a_touch_already_recorded_or_not_yet_due() -> None:
    a = appt("A-1", ny(11, 25, 15))
    f = facts(client(), appointments=[a])
    touch = plan(f, RULES, ny(11, 23, 14))[0]
    assert still_eligible(touch, f, RULES, ny(11, 23, 14)) == (False, SkipReason.NOT_DUE)
    assert still_eligible(touch, f, RULES, ny(11, 23, 15)) == (True, None)
    recorded = facts(client(), appointments=[a], past_touches=(done(touch, ny(11, 23, 15), Outcome.QUEUED),))
    assert still_eligible(touch, recorded, RULES, ny(11, 23, 15)) == (False, SkipReason.ALREADY_DONE)
    assert still_eligible(touch, facts(appointments=[a]), RULES, ny(11, 23, 15)) == (False, SkipReason.GONE)


def test_naive_datetimes_are_refused() -> None:
    naive = appt("A-1", dt.datetime(2026, 11, 25, 15))
    with pytest.raises(ValueError, match="appointment 'A-1': start, end and changed_at must be aware"):
        plan(facts(client(), appointments=[naive]), RULES, ny(11, 23, 14))
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        plan(facts(client()), RULES, dt.datetime(2026, 11, 23, 14))


def tasks(touches) -> list[tuple[str, dt.datetime, str]]:
    """(id, due in New York, text) of the staff tasks planned."""
    return [(t.id, t.due.astimezone(ny(1, 1).tzinfo), t.task) for t in touches
            if t.channel is Channel.STAFF_TASK and t.status is TouchStatus.PLANNED]


# --------------------------------------------------------------------------- the limits are hard (issues 11/12)


@pytest.mark.parametrize("down_until", [ny(11, 23, 10, 45), ny(11, 23, 19, 5), ny(11, 24, 19, 5)])
def test_after_downtime_a_late_follow_up_whose_window_passed_is_late_whatever_the_limits(down_until) -> None:
    """Break-test s25b #1: down from before the late window (Mon 10:15-10:45) until after it, the first pass
    records the follow-up ``late`` (the daily limit only mattered while it could be made) and raises no task."""
    a = appt("A-1", MONDAY_10)
    reminder = of(plan(facts(client(), appointments=[a]), RULES, ny(11, 23, 8)), "reminders.two_hours_before")[0]
    f = facts(client(), appointments=[a], past_touches=(done(reminder, ny(11, 23, 9)),))
    assert of(plan(f, RULES, ny(11, 23, 9, 7)), "follow_ups.late") == []  # the last pass before the downtime
    touches = of(plan(f, RULES, down_until, history=dt.timedelta(hours=40)), "follow_ups.late")
    assert skipped(touches) == [("C-1/follow_ups.late/A-1/v1/1/call", "late")]
    assert tasks(touches) == []


def test_on_a_day_a_reminder_went_out_a_late_follow_up_is_held_and_goes_to_staff_at_once() -> None:
    # A same-day reminder, then the client is 15 minutes late: "late" is held by the daily limit, a staff task.
    a = appt("A-1", MONDAY_10)
    reminder = of(plan(facts(client(), appointments=[a]), RULES, ny(11, 23, 8)), "reminders.two_hours_before")[0]
    assert reminder.due == ny(11, 23, 9)
    f = facts(client(), appointments=[a], past_touches=(done(reminder, ny(11, 23, 9)),))
    assert of(plan(f, RULES, ny(11, 23, 10, 14)), "follow_ups.late") == []  # not yet late: nothing decided
    touches = of(plan(f, RULES, ny(11, 23, 10, 15)), "follow_ups.late")
    assert skipped(touches) == [("C-1/follow_ups.late/A-1/v1/1/call", "daily_cap")]
    assert tasks(touches) == [("C-1/follow_ups.late/A-1/v1/held-1/staff_task", ny(11, 23, 10, 15),
                               "Not sent automatically (daily_cap): follow_ups.late, appointment A-1. "
                               "Contact the client yourself.")]
    # Checked in by the time the task is handed on: nothing for staff.
    arrived = facts(client(), appointments=[appt("A-1", MONDAY_10, checked_in=True)],
                    past_touches=f.past_touches)
    task = [t for t in touches if t.channel is Channel.STAFF_TASK][0]
    assert recheck(task, arrived, RULES, ny(11, 23, 10, 16)) == (None, SkipReason.CHECKED_IN)
    assert recheck(task, f, RULES, ny(11, 23, 10, 16))[0] == task


def test_a_moved_correction_the_same_day_as_the_reminder_is_held_and_goes_to_staff_once_settled() -> None:
    # Break-test B2: the reminder at 09:00 for 10 AM, then the appointment moved to 11:00 at 09:01.  Nothing is
    # decided before `settle` (3 minutes, s26 SF2): the task comes at 09:04.
    c, a = client(), appt("A-1", MONDAY_10)
    reminder = of(plan(facts(c, appointments=[a]), RULES, ny(11, 23, 8)), "reminders.two_hours_before")[0]
    assert reminder.due == ny(11, 23, 9)
    record = (done(reminder, ny(11, 23, 9)),)
    moved = appt("A-1", ny(11, 23, 11), version=2, changed_at=ny(11, 23, 9, 1))
    for minute in (1, 2, 3):
        early = plan(facts(c, appointments=[moved], past_touches=record), RULES, ny(11, 23, 9, minute))
        assert of(early, "reminders.moved") == [] and tasks(early) == []
    touches = plan(facts(c, appointments=[moved], past_touches=record), RULES, ny(11, 23, 9, 4))
    assert [t for t in of(touches, "reminders.moved") if t.channel is not Channel.STAFF_TASK
            and t.status is TouchStatus.PLANNED] == []  # no automated correction
    assert skipped(touches) == [("C-1/reminders.moved/A-1/v2/1/text", "daily_cap")]
    assert tasks(touches) == [("C-1/reminders.moved/A-1/v2/held-1/staff_task", ny(11, 23, 9, 4),
                               "Not sent automatically (daily_cap): reminders.moved, appointment A-1. "
                               "Contact the client yourself.")]
    task = [t for t in touches if t.channel is Channel.STAFF_TASK][0]
    assert task.about_start == ny(11, 23, 11)
    # Moved back before staff got it: the task is about a time that no longer exists.
    back = appt("A-1", MONDAY_10, version=3, changed_at=ny(11, 23, 9, 2))
    assert recheck(task, facts(c, appointments=[back], past_touches=record), RULES, ny(11, 23, 9, 2)) == (
        None, SkipReason.MOVED)


def test_a_correction_call_the_client_asked_for_is_held_by_the_daily_limit_and_goes_to_staff() -> None:
    # A "can't make it" reply at 14:50, on a day a reminder already went out.
    c, a = client(), appt("A-1", ny(11, 24, 10))
    reminder = of(plan(facts(c, appointments=[a]), RULES, ny(11, 22, 8)), "reminders.two_days_before")[0]
    record = (done(reminder, ny(11, 23, 9)),)
    request = CorrectionRequest("7", "C-1", ny(11, 23, 14, 50), "A-1")
    touches = plan(facts(c, appointments=[a], past_touches=record, corrections=(request,)), RULES, ny(11, 23, 14, 50))
    assert [t for t in of(touches, "follow_ups.correction") if t.channel is Channel.CALL
            and t.status is TouchStatus.PLANNED] == []
    assert skipped(touches) == [("C-1/follow_ups.correction/c:7/v1/1/call", "daily_cap")]
    assert [t[0] for t in tasks(touches)] == ["C-1/follow_ups.correction/c:7/v1/held-1/staff_task"]


@pytest.mark.parametrize("limit", ["weekly", "calls"])
def test_a_correction_held_by_the_weekly_or_the_call_limit_goes_to_staff(limit) -> None:
    c, a = client(), appt("A-1", ny(11, 27, 10))
    request = CorrectionRequest("8", "C-1", ny(11, 25, 11), "A-1")
    if limit == "weekly":  # three contacts in the last seven days (none today)
        made = tuple(PastTouch(f"C-1/follow_ups.lapsed/t:{n}/v-/1/text", "C-1", Channel.TEXT, ny(11, 20 + n, 12),
                               Outcome.SENT) for n in range(3))
        why = "weekly_cap"
    else:  # three call attempts in the last 24 hours, none answered (not contacts)
        made = tuple(PastTouch(f"C-1/follow_ups.lapsed/t:{n}/v-/{n + 1}/call", "C-1", Channel.CALL,
                               ny(11, 24, 15 + n), Outcome.NO_ANSWER) for n in range(3))
        why = "call_cap"
    touches = plan(facts(c, appointments=[a], past_touches=made, corrections=(request,)), RULES, ny(11, 25, 11))
    assert skipped(of(touches, "follow_ups.correction")) == [("C-1/follow_ups.correction/c:8/v1/1/call", why)]
    assert [t[0] for t in tasks(of(touches, "follow_ups.correction"))] == [
        "C-1/follow_ups.correction/c:8/v1/held-1/staff_task"]


def test_a_held_reminder_about_an_appointment_already_begun_gives_staff_nothing() -> None:
    # Three contacts this week: the no-show's own reminder (its window over) is skipped, with no staff task.  First
    # decided after its window closed, it is ``late`` (s25b #1: the window first; a pass that ran during the
    # window recorded ``weekly_cap`` then, and a recorded skip is never rewritten).
    c = client()
    earlier = tuple(PastTouch(make_id("C-1", "follow_ups.lapsed", f"t:{n}", None, 1, Channel.TEXT), "C-1",
                              Channel.TEXT, ny(11, day, 10), Outcome.DELIVERED, None, "+15550100201")
                    for n, day in enumerate((17, 18, 19)))
    no_show = appt("A-2", ny(11, 23, 8), status=AppointmentStatus.NO_SHOW)
    touches = plan(facts(c, appointments=[no_show], past_touches=earlier), RULES, ny(11, 23, 9))
    assert ("C-1/reminders.two_days_before/A-2/v1/1/text", "late") in skipped(touches)
    assert tasks(touches) == []


# --------------------------------------------------------------------------- closures: windows in business days (S10)


def year_end(first: dt.date, last: dt.date):
    """The test practice with one more closure, ``first``..``last`` (both closed)."""
    from tests.helpers.outbound import PRACTICE_YAML, practice
    text = PRACTICE_YAML.replace(
        "closures:\n", f"closures:\n  - {{start: {first.isoformat()}, end: {last.isoformat()}, reason: year end}}\n")
    return rules(settings=practice(text))


@pytest.mark.parametrize("eve, first, last, next_day", [
    # Two closure days across the year boundary (Thu 31 Dec, Fri 1 Jan), then the weekend.
    (ny(12, 30, 18), dt.date(2026, 12, 31), dt.date(2027, 1, 1), ny(1, 4, 9, year=2027)),
    # The break-test's year-end closure: Thu 24 Dec to Fri 1 Jan, longer than the 5-day window.
    (ny(12, 23, 18), dt.date(2026, 12, 24), dt.date(2027, 1, 1), ny(1, 4, 9, year=2027)),
    # Three weeks closed.
    (ny(12, 16, 18), dt.date(2026, 12, 17), dt.date(2027, 1, 6), ny(1, 7, 9, year=2027)),
    # Six and a half weeks closed: longer than any look-back the rules alone give.
    (ny(12, 1, 18), dt.date(2026, 12, 2), dt.date(2027, 1, 15), ny(1, 18, 9, year=2027)),
])
def test_a_no_show_on_the_eve_of_a_closure_is_followed_up_on_the_next_business_day_only(
        eve, first, last, next_day) -> None:
    closed = year_end(first, last)
    a = appt("A-5", eve, status=AppointmentStatus.NO_SHOW, version=2, changed_at=eve + dt.timedelta(hours=1))
    f = facts(client(), appointments=[a])
    expected = [("C-1/follow_ups.no_show/A-5/v2/1/call", next_day)]
    now = eve + dt.timedelta(hours=1, minutes=1)
    while now < next_day:  # whenever the scheduler runs through the closure: one touch, the next business day
        touches = of(plan(f, closed, now), "follow_ups.no_show")
        # Planned once the next business day is inside the 7-day horizon; never skipped before.
        assert planned(touches) == (expected if next_day - now <= dt.timedelta(days=7) else []), now
        assert skipped(touches) == [], now
        now += dt.timedelta(hours=13)
    first_call = of(plan(f, closed, next_day), "follow_ups.no_show")[0]
    assert first_call.window_end is not None and first_call.window_end > next_day
    later = facts(client(), appointments=[a], past_touches=(done(first_call, next_day, Outcome.NO_ANSWER),))
    assert planned(of(plan(later, closed, next_day + dt.timedelta(minutes=1)), "follow_ups.no_show")) == [
        ("C-1/follow_ups.no_show/A-5/v2/2/text", next_day + dt.timedelta(days=1))]
