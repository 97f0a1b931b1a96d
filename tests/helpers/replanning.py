"""Robin's appointment for the re-planning tests (tests/contact): Friday 4 December 2026 at 3 PM New York, the
two-days reminder due Wednesday at 3 PM; moving it as staff or the EHR do, and reading what was planned and sent."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ivr.practice.models import Appointment
from tests.helpers.contact import touch_rows

NY = ZoneInfo("America/New_York")
PHONE = "+15551239007"
APPT = dt.datetime(2026, 12, 4, 15, tzinfo=NY).astimezone(dt.UTC)  # Friday 3 PM
TWO_DAYS = dt.datetime(2026, 12, 2, 15, tzinfo=NY).astimezone(dt.UTC)


def move(database, now: dt.datetime, start: dt.datetime | None = None, status: str | None = None) -> None:
    """Staff (or the EHR) change the appointment: through the ORM, as every writer does."""
    with database.sessions() as db, db.begin():
        appt = db.get(Appointment, "A-9007")
        if start is not None:
            appt.start, appt.end = start, start + dt.timedelta(minutes=50)
        if status is not None:
            appt.status = status
        appt.changed_at = now


def rows(database) -> list[tuple[str, str, str | None]]:
    """Robin's (C-9007) touches other than follow-ups: (the touch id after the client, status, why skipped)."""
    return [(r.touch_id.split("/", 1)[1], r.status, r.why_skipped) for r in touch_rows(database, "C-9007")
            if r.kind != "follow_up"]


def texts(standin, to: str = PHONE) -> list[str]:
    """The bodies of the texts the stand-in holds for ``to``, in order."""
    return [m["body"] for m in standin.messages() if m["to"] == to]
