"""The planning pass reads only the appointments a pass can still act on (``load_facts(since=reach_back(…))``),
and plans exactly what it plans over every appointment: on a practice seeded with appointments inside, at and
outside the window's edge, sessions at every age around each trigger's look-back, a cancellation of an old
appointment, one that began before the window and ends inside it, a moved appointment whose first time is far
back, a correction about an old session, and lapsed clients whose last contact is old (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert

from ivr.contact.facts import load_facts
from ivr.contact.models import CorrectionRequestRow, OutboundReply, OutboundTouch
from ivr.outbound.facts import Channel
from ivr.outbound.planner import make_id, plan, reach_back
from ivr.outbound.rules import Trigger, check_outbound
from ivr.practice.models import Appointment, Client, ClientPhone, Clinician
from ivr.practice.settings.checks import load_practice

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # Monday 10:00 in New York
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
HOUR = dt.timedelta(hours=1)
SESSION = dt.timedelta(minutes=50)
AGES = (1, 2, 3, 5, 8, 10, 14, 20, 25, 29, 30, 31, 33, 35, 37, 38, 40, 44, 45, 46, 50, 52, 53, 55, 60, 90)
NEAR = (-2 * DAY, -DAY, -HOUR, -SECOND, dt.timedelta(0), SECOND, HOUR, DAY, 2 * DAY)


@pytest.fixture(scope="module")
def rules():
    """The shipped rules: every trigger (lapsed 30 days, unbooked, cancelled, no-show, late, correction)."""
    found, problems = check_outbound(ROOT / "flows", load_practice(ROOT / "flows" / "practice.yaml"))
    assert found is not None, problems
    assert {Trigger.LAPSED, Trigger.UNBOOKED, Trigger.CANCELLED, Trigger.NO_SHOW} <= set(found.follow_ups)
    return found


def seed(database, edge: dt.datetime) -> None:
    """Clients whose history sits at every age that matters, and around ``edge`` (the window's first instant)."""
    anchors = sorted({NOW - n * DAY + k * HOUR for n in AGES for k in (0, 7)} | {edge + d for d in NEAR})
    clinicians: list[dict] = []
    clients, phones, appts, touches, replies, corrections = [], [], [], [], [], []
    n = 0

    def client(kind: str) -> str:
        nonlocal n
        n += 1
        cid = f"C-{kind}-{n:03d}"
        clinicians.append(dict(id=f"clin-{cid}", name="Clinician", working_hours={}, session_minutes=50))
        clients.append(dict(id=cid, first_name=f"Client{n}", last_name="Test", clinician_id=f"clin-{cid}",
                            date_of_birth=dt.date(1980, 1, 2), may_text=n % 7 != 0, may_call=True,
                            may_voicemail=n % 2 == 0, time_zone=None))
        phones.append(dict(client_id=cid, e164=f"+1555{n:07d}", position=0))
        return cid

    def appt(aid: str, cid: str, start: dt.datetime, status: str, *, changed: dt.datetime | None = None,
             length: dt.timedelta = SESSION, replaced_by: str | None = None) -> None:
        appts.append(dict(id=aid, client_id=cid, clinician_id=f"clin-{cid}", start=start, end=start + length,
                          status=status, changed_at=changed or min(start - 3 * DAY, NOW - HOUR),
                          checked_in=status == "completed", replaced_by=replaced_by, version=1))

    for i, at in enumerate(anchors):
        at = at.replace(microsecond=0)
        held = client("held")  # a session and nothing booked since: unbooked, then lapsed
        appt(f"A-{i}-held", held, at, "completed")
        booked = client("booked")  # a session, and the next one booked: reminders, not lapsed
        appt(f"A-{i}-booked-0", booked, at, "completed")
        appt(f"A-{i}-booked-1", booked, NOW + (i % 6 + 1) * DAY + (i % 5) * HOUR, "scheduled")
        cancelled = client("cancelled")  # an appointment cancelled at ``at``, ten days before it
        appt(f"A-{i}-cancelled-0", cancelled, at - 20 * DAY, "completed")
        appt(f"A-{i}-cancelled-1", cancelled, at + 10 * DAY, "cancelled", changed=at)
        cleaned = client("cleaned")  # a session marked cancelled at ``at``, 60 days after it (an EHR clean-up)
        appt(f"A-{i}-cleaned-0", cleaned, at - 80 * DAY, "completed")
        appt(f"A-{i}-cleaned-1", cleaned, at - 60 * DAY, "cancelled", changed=at)
        no_show = client("noshow")
        appt(f"A-{i}-noshow", no_show, at, "no_show", changed=at + HOUR)
        long = client("long")  # began well before ``at``, ends at it (a retreat, a multi-day intensive)
        appt(f"A-{i}-long", long, at - 3 * DAY, "completed", length=3 * DAY)
        moved = client("moved")  # first booked at ``at`` and reminded of it, moved to next week an hour ago
        appt(f"A-{i}-moved-0", moved, at, "rescheduled", replaced_by=f"A-{i}-moved-1")
        appt(f"A-{i}-moved-1", moved, NOW + 2 * DAY + (i % 4) * HOUR, "scheduled", changed=NOW - HOUR)
        touch_id = make_id(moved, "reminders.two_days_before", f"A-{i}-moved-0", 1, 1, Channel.TEXT)
        touches.append(dict(touch_id=touch_id, job_id=f"job-{i}-moved", client_id=moved,
                            appointment_id=f"A-{i}-moved-0", appointment_version=1, kind="reminder",
                            rule="two_days_before", attempt=1, channel="text",
                            status="delivered", about_start=at, attempted_at=at - 2 * DAY, to_e164=f"+1555{n:07d}"))
        lapsed = client("lapsed")  # an old session, then a reply at ``at``: the last contact
        appt(f"A-{i}-lapsed", lapsed, at - 40 * DAY, "completed")
        replies.append(dict(message_sid=f"SM{i:032d}", from_e164=f"+1555{n:07d}", client_id=lapsed, meaning="other",
                            received_at=at))
        corrected = client("corrected")  # staff asked for a correction call about an old session
        appt(f"A-{i}-corrected", corrected, at, "completed")
        if i % 9 == 0:
            corrections.append(dict(client_id=corrected, appointment_id=f"A-{i}-corrected",
                                    raised_at=NOW - (i % 3 + 1) * HOUR))
    with database.sessions() as db, db.begin():
        db.execute(insert(Clinician), clinicians)
        db.execute(insert(Client), clients)
        db.execute(insert(ClientPhone), phones)
        db.execute(insert(Appointment), appts)
        db.execute(insert(OutboundTouch), touches)
        db.execute(insert(OutboundReply), replies)
        db.execute(insert(CorrectionRequestRow), corrections)


@pytest.mark.parametrize("history", [dt.timedelta(minutes=1), dt.timedelta(days=7)], ids=["1min", "7days"])
def test_the_windowed_read_plans_exactly_what_the_whole_database_plans(database, rules, history):
    edge = reach_back(rules, NOW, history=history)
    # The lapsed rule's 30 days and its attempts reach furthest, longer by the closed days inside them (windows of
    # days run in business days: planner.reach_back).
    assert NOW - 100 * DAY < edge < NOW - 30 * DAY
    seed(database, edge)
    with database.sessions() as db:
        whole = load_facts(db)
        window = load_facts(db, since=edge)
    assert len(window.appointments) < len(whole.appointments)  # the window left appointments out
    assert window.clients == whole.clients and window.past_touches == whole.past_touches

    planned = plan(whole, rules, NOW, history=history)
    assert plan(window, rules, NOW, history=history) == planned
    assert {a.id for a in window.appointments} >= {"A-0-moved-0"}  # an old lineage, read for the moved one
    # The seeded practice exercises every kind of touch, planned and skipped.
    rules_seen = {t.words or f"follow_ups.{t.name}" for t in planned}
    assert {"follow_ups.lapsed", "follow_ups.unbooked", "follow_ups.cancelled", "follow_ups.no_show",
            "follow_ups.correction", "reminders.moved", "reminders.two_days_before"} <= rules_seen, rules_seen
    assert {t.status.value for t in planned} == {"planned", "skipped"}


def test_each_client_is_read_from_its_first_appointment_that_reaches_into_the_window(database, rules):
    """A cancellation (or a long session) that began before the window but changed (or ends) inside it is
    read, with everything of that client's after it; an appointment wholly before the window is not."""
    edge = reach_back(rules, NOW)
    seed(database, edge)
    with database.sessions() as db:
        window = {a.id for a in load_facts(db, since=edge).appointments}
    with database.sessions() as db:
        whole = load_facts(db)
    reaching = [a for a in whole.appointments if a.start >= edge or a.end >= edge or a.changed_at >= edge]
    assert {a.id for a in reaching} <= window
    assert any(a.start < edge <= a.changed_at for a in reaching)  # an old one cancelled inside the window
    assert any(a.start < edge <= a.end for a in reaching)  # a long one that ends inside it
    left_out = [a for a in whole.appointments if a.id not in window]
    assert left_out and all(a.start < edge and a.end < edge and a.changed_at < edge for a in left_out)
