"""Planning, scheduling and sending follow-ups and reminders through real RQ (worker and scheduler), the
database on both backends and the Twilio stand-in, on the test clock."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tests.helpers.contact import POOL, add_appointment, add_client, deliver, touch_rows

NY = ZoneInfo("America/New_York")
PHONE = "+15551239001"


def ny(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=NY).astimezone(dt.UTC)


def plan_now(ql, jobs) -> None:
    ql.jobs.plan_outbound_now()
    jobs.run()


def mine(standin, to: str = PHONE) -> list[dict]:
    return [m for m in standin.messages() if m["to"] == to]


def test_a_reminder_is_planned_scheduled_sent_once_and_its_delivery_recorded(app, client, ql, database, jobs,
                                                                              standin):
    jobs.clock.now = ny(30, 10, month=11)  # Monday 30 November, 10:00 New York
    add_client(database, "C-9001", "Robin", (PHONE,))
    add_appointment(database, "A-9001", "C-9001", ny(4, 15))  # Friday 4 December, 3 PM
    plan_now(ql, jobs)
    rows = touch_rows(database, "C-9001")
    assert [(r.touch_id, r.channel, r.status, r.due) for r in rows] == [
        ("C-9001/reminders.two_days_before/A-9001/v1/1/text", "text", "planned", ny(2, 15)),
        ("C-9001/reminders.two_hours_before/A-9001/v1/1/text", "text", "planned", ny(4, 13)),
    ]
    scheduled = jobs.scheduled()
    assert (scheduled[rows[0].job_id], scheduled[rows[1].job_id]) == (ny(2, 15), ny(4, 13))
    assert mine(standin) == []

    jobs.at(rows[0].due)
    [sms] = mine(standin)
    assert sms["body"] == ("Hi Robin, a reminder of your appointment Fri, Dec 4 at 3 PM. Reply 1 to confirm or 2 to "
                           "change it. Reply STOP to stop these texts.")  # the first text to a number: how to stop
    assert sms["from"] in POOL and sms["status_callback"].startswith(
        "https://ql.example.org/twilio/outbound/message-status?touch=touch-")
    row = touch_rows(database, "C-9001")[0]
    assert (row.status, row.twilio_sid, row.from_e164, row.to_e164) == ("sent", sms["sid"], sms["from"], PHONE)

    # The carrier's receipt comes back through the signed status callback.
    assert deliver(client, standin.finish_message(sms["sid"], "delivered")) == [(200, "<?xml version=\"1.0\" "
                                                                                 "encoding=\"UTF-8\"?><Response />")]
    assert touch_rows(database, "C-9001")[0].status == "delivered"

    # Planning again, the scheduler and the worker again: nothing is sent twice.
    plan_now(ql, jobs)
    jobs.at(rows[0].due + dt.timedelta(minutes=5))
    assert len(mine(standin)) == 1


def test_no_number_name_or_words_in_redis(app, client, ql, database, jobs, standin, redis_conn):
    """Jobs carry row ids only; Redis holds no client number, name or text."""
    jobs.clock.now = ny(2, 15)
    add_client(database, "C-9011", "Robin", (PHONE,))
    add_appointment(database, "A-9011", "C-9011", ny(4, 15))
    jobs.settle()
    [sms] = mine(standin)
    deliver(client, standin.finish_message(sms["sid"], "delivered"))
    jobs.settle()
    dump = b""
    for key in redis_conn.scan_iter("*"):
        kind = redis_conn.type(key)
        dump += key
        if kind == b"string":
            dump += redis_conn.get(key) or b""
        elif kind == b"hash":
            dump += b"".join(k + v for k, v in redis_conn.hgetall(key).items())
        elif kind == b"list":
            dump += b"".join(redis_conn.lrange(key, 0, -1))
        elif kind in (b"set", b"zset"):
            dump += b"".join(redis_conn.zrange(key, 0, -1) if kind == b"zset" else redis_conn.smembers(key))
    assert b"touch-" in dump  # the jobs are there, under their touch job ids
    for secret in (PHONE, PHONE[2:], "Robin", "C-9011", "reminder of your appointment"):
        assert secret.encode() not in dump, secret
