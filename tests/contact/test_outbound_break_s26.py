"""Break-test bt1112-s26's findings on a shared number and on `settle`.

SHOULD-FIX 1: a touch with news for one client (a staff correction, a ``moved`` correction, a follow-up) is never
``merged`` into (covered by) another client's message to a family phone: it waits for the number's next allowed day,
or goes, or becomes a staff task when the number's week is full.  Only a reminder's neutral words are carried.

Real Redis, RQ worker and scheduler on the test clock, the Twilio stand-in, signed webhooks, SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ivr.contact.models import CorrectionRequestRow
from ivr.escalations.models import Escalation
from tests.helpers.contact import DOB, add_appointment, add_client, answer, calls_to, deliver, touch_rows

NY = ZoneInfo("America/New_York")
FAMILY = "+15551230002"


def ny(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=NY).astimezone(dt.UTC)


def correction_rows(database, client_id: str) -> list[tuple[str, str, int | None]]:
    return [(r.touch_id.split("/", 1)[1], r.status, r.covered_by) for r in touch_rows(database, client_id)
            if r.rule == "correction"]


def ask_correction(database, client_id: str, appointment_id: str, at: dt.datetime) -> None:
    with database.sessions() as db, db.begin():
        db.add(CorrectionRequestRow(client_id=client_id, appointment_id=appointment_id, raised_by=1, raised_at=at))


def escalations(database, client_id: str) -> list[tuple[str, dict | None]]:
    with database.sessions() as db:
        return [(e.reason, e.details) for e in db.scalars(select(Escalation).where(Escalation.client_id == client_id))]


def test_a_staff_correction_is_never_merged_into_another_clients_answered_call_on_the_family_phone(
        app, client, database, jobs, standin):
    """s26 SF1: Kai's late call to the family phone is answered and Kai verifies; then staff ask for a correction
    call to Dana, whose only number is that phone.  Kai's call cannot carry Dana's correction: it waits for the
    number's next allowed day (Tuesday 9:00, inside its 2-day window) and is placed then, once."""
    jobs.clock.now = ny(7, 8)
    add_client(database, "C-1003", "Dana", (FAMILY,))
    add_client(database, "C-2003", "Kai", (FAMILY,))
    add_appointment(database, "A-2003", "C-1003", ny(11, 11))  # Friday: no reminder before Wednesday
    add_appointment(database, "A-3003", "C-2003", ny(7, 10))
    jobs.run()
    jobs.at(ny(7, 10, 15))  # Kai is late: the late call
    [kais] = calls_to(standin, FAMILY)
    line, rest = answer(client, standin, kais)
    line.press("1")
    line.press(DOB)
    deliver(client, rest)
    jobs.settle()
    [late] = [r for r in touch_rows(database, "C-2003") if r.rule == "late" and r.channel == "call"]
    assert (late.status, late.verified) == ("answered", True)

    jobs.at(ny(7, 11))
    ask_correction(database, "C-1003", "A-2003", ny(7, 11))
    for moment in (ny(7, 11, 1), ny(7, 13), ny(7, 18, 59), ny(8, 8, 59)):
        jobs.at(moment)
    assert len(calls_to(standin, FAMILY)) == 1  # Kai's only
    [(touch, status, covered)] = correction_rows(database, "C-1003")
    assert (status, covered) == ("planned", None)
    [waiting] = [r for r in touch_rows(database, "C-1003") if r.rule == "correction"]
    assert waiting.due == ny(8, 9)
    jobs.at(ny(8, 9))
    assert len(calls_to(standin, FAMILY)) == 2
    [(touch, status, covered)] = correction_rows(database, "C-1003")
    assert (touch, status, covered) == ("follow_ups.correction/c:1/v1/1/call", "queued", None)
    assert all(r.status != "merged" for r in touch_rows(database))


def test_a_follow_up_is_never_merged_into_another_clients_call_of_the_same_day(app, client, database, jobs,
                                                                                standin):
    """The kind: Sam's no-show call (a follow-up for Sam) is not carried by Kai's late call placed to the family
    phone earlier that day, answered or not: it waits for the next day."""
    jobs.clock.now = ny(7, 8)
    add_client(database, "C-2003", "Kai", (FAMILY,))
    add_client(database, "C-1005", "Sam", (FAMILY,))
    add_appointment(database, "A-3003", "C-2003", ny(7, 10))
    add_appointment(database, "A-2010", "C-1005", ny(7, 9), status="no_show")
    jobs.run()
    jobs.at(ny(7, 10, 15))
    assert len(calls_to(standin, FAMILY)) == 1
    jobs.at(ny(7, 11))
    [no_show] = [r for r in touch_rows(database, "C-1005") if r.rule == "no_show"]
    assert (no_show.status, no_show.covered_by, no_show.due) == ("planned", None, ny(8, 9))
