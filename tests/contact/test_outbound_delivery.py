"""Delivery failures: a permanent Twilio error code (on the API's refusal, a text's or a call's status callback)
flags the number on that channel (hashed, never in clear), cancels its pending touches there, and the planner
takes the next channel; a transient failure is not flagged.  Real RQ worker, both databases, the stand-in set to
fail with each code."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.contact.models import UndeliverableNumber
from ivr.practice.models import SmsOptOut
from tests.helpers.contact import add_appointment, add_client, deliver, touch_rows

NY = ZoneInfo("America/New_York")
PHONE = "+15551239020"
ACK = (200, '<?xml version="1.0" encoding="UTF-8"?><Response />')
FIRST = dt.datetime(2026, 12, 2, 15, tzinfo=NY).astimezone(dt.UTC)  # the 2-days-before reminder
SECOND = dt.datetime(2026, 12, 4, 13, tzinfo=NY).astimezone(dt.UTC)  # the 2-hours-before reminder


def reminded(ql, database, jobs, phone: str = PHONE, **consent) -> None:
    """Robin's appointment on Friday 4 December at 3 PM; the clock at the 2-days-before reminder, sent."""
    jobs.clock.now = FIRST - dt.timedelta(hours=1)
    add_client(database, "C-9020", "Robin", (phone,), **consent)
    add_appointment(database, "A-9020", "C-9020", dt.datetime(2026, 12, 4, 15, tzinfo=NY).astimezone(dt.UTC))
    ql.jobs.plan_outbound_now()
    jobs.at(FIRST)


def rows(database) -> list[tuple[str, int, str, str, str | None, str | None]]:
    return [(r.rule, r.attempt, r.channel, r.status, r.why_skipped, r.error_code)
            for r in touch_rows(database, "C-9020") if r.kind == "reminder"]


def flags(database) -> list[tuple[str, str, str | None, bool]]:
    with database.sessions() as db:
        return [(f.channel, f.error_code, f.client_id, f.lifted_at is None)
                for f in db.scalars(select(UndeliverableNumber).order_by(UndeliverableNumber.id))]


def stored_hashes(database) -> list[str]:
    with database.sessions() as db:
        return list(db.scalars(select(UndeliverableNumber.number_hash)))


@pytest.mark.parametrize("code", [30004, 30005, 30006])
def test_a_permanent_code_on_a_text_status_flags_the_number_and_the_call_goes_instead(code, ql, client, database,
                                                                                      jobs, standin):
    reminded(ql, database, jobs)
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    assert deliver(client, standin.finish_message(sms["sid"], "undelivered", error_code=code)) == [ACK]
    assert flags(database) == [("text", str(code), "C-9020", True)]
    [digest] = stored_hashes(database)
    assert len(digest) == 64 and PHONE not in digest and PHONE[2:] not in digest  # a keyed hash, never the number
    jobs.settle()  # the planning pass the callback asked for, and the call it planned
    assert rows(database) == [
        ("two_days_before", 1, "text", "undelivered", None, str(code)),
        ("two_hours_before", 1, "text", "cancelled", "undeliverable", None),
        ("two_days_before", 2, "call", "queued", None, None),
    ]
    [call] = [c for c in standin.calls() if c["to"] == PHONE]
    assert call["from"] == sms["from"]
    # Later passes never send that number a text again (the 2-hours-before one stays cancelled).
    jobs.at(SECOND)
    assert len([m for m in standin.messages() if m["to"] == PHONE]) == 1


@pytest.mark.parametrize("code", [21211, 21408, 21612, 21614])
def test_a_permanent_refusal_when_sending_flags_the_number_and_is_never_retried(code, ql, client, database, jobs,
                                                                                standin):
    standin.refuse_sms_to(PHONE, code)
    reminded(ql, database, jobs)
    assert [m for m in standin.messages() if m["to"] == PHONE] == []
    assert flags(database) == [("text", str(code), "C-9020", True)]
    assert rows(database) == [
        ("two_days_before", 1, "text", "failed", None, str(code)),
        ("two_hours_before", 1, "text", "cancelled", "undeliverable", None),
        ("two_days_before", 2, "call", "queued", None, None),
    ]
    create = [r for r in standin.requests() if r["method"] == "POST" and r["path"].endswith("/Messages.json")]
    assert len(create) == 1  # refused for good: not retried


@pytest.mark.parametrize("code", [30008, 30003])  # 30003: the handset is off or out of signal, often temporary
def test_a_transient_failure_is_not_flagged_and_the_next_text_still_goes(code, ql, client, database, jobs, standin):
    reminded(ql, database, jobs)
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    assert deliver(client, standin.finish_message(sms["sid"], "undelivered", error_code=code)) == [ACK]
    jobs.settle()
    assert flags(database) == []
    assert rows(database) == [
        ("two_days_before", 1, "text", "undelivered", None, str(code)),
        ("two_hours_before", 1, "text", "planned", None, None),
        ("two_days_before", 2, "call", "queued", None, None),
    ]
    jobs.at(SECOND)
    assert len([m for m in standin.messages() if m["to"] == PHONE]) == 2


def test_the_carriers_opt_out_21610_is_an_opt_out_not_a_flag(ql, client, database, jobs, standin):
    standin.refuse_sms_to(PHONE, 21610)
    reminded(ql, database, jobs)
    assert flags(database) == []
    with database.sessions() as db:
        assert db.get(SmsOptOut, PHONE).opted_out is True  # START lifts it, as the carrier does
    assert [r[:5] for r in rows(database)][:2] == [("two_days_before", 1, "text", "failed", None),
                                                   ("two_hours_before", 1, "text", "cancelled", "opted_out")]


def test_a_permanent_code_on_a_call_status_flags_the_number_for_calls_only(ql, client, database, jobs, standin):
    reminded(ql, database, jobs, may_text=False)  # no texts: the reminder goes by its fallback, a call
    [call] = [c for c in standin.calls() if c["to"] == PHONE]
    assert deliver(client, standin.finish_call(call["sid"], status="failed", error_code=21214)) == [ACK]
    jobs.settle()
    assert flags(database) == [("call", "21214", "C-9020", True)]
    # The fallback's second try would be another call: the flag closes the number to calls.
    assert rows(database) == [("two_days_before", 1, "call", "failed", None, "21214"),
                              ("two_days_before", 2, "call", "skipped", "undeliverable", None)]  # its true reason
    jobs.at(SECOND)
    assert len([c for c in standin.calls() if c["to"] == PHONE]) == 1


def test_a_call_the_api_refuses_for_good_flags_the_number(ql, client, database, jobs, standin):
    # The stand-in, like Twilio's test numbers, refuses calls to +15005550002 with 21214 and texts with 21612.
    reminded(ql, database, jobs, phone="+15005550002")
    assert sorted(flags(database)) == [("call", "21214", "C-9020", True), ("text", "21612", "C-9020", True)]
    assert rows(database)[:3] == [("two_days_before", 1, "text", "failed", None, "21612"),
                                  ("two_hours_before", 1, "text", "cancelled", "undeliverable", None),
                                  ("two_days_before", 2, "call", "failed", None, "21214")]
    assert standin.calls() == [] and standin.messages() == []
