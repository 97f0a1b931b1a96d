"""What staff see of follow-ups and reminders (per appointment, ids only), and the correction-call button."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ivr.contact.models import CorrectionRequestRow
from tests.helpers.contact import add_appointment, add_client, deliver, text_in, touch_rows
from tests.helpers.dashboard import STAFF_PASSWORD, add_user, audit_rows, post, signed_in

NY = ZoneInfo("America/New_York")
PHONE = "+15551239010"


def test_per_appointment_touches_and_a_correction_call(app, client, database, jobs, standin):
    jobs.clock.now = dt.datetime(2026, 12, 2, 15, tzinfo=NY).astimezone(dt.UTC)
    add_client(database, "C-9010", "Robin", (PHONE,))
    add_appointment(database, "A-9010", "C-9010", dt.datetime(2026, 12, 4, 15, tzinfo=NY).astimezone(dt.UTC))
    jobs.settle()
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    deliver(client, standin.finish_message(sms["sid"], "delivered"))
    person = add_user(database, "desk@example.org", "Front Desk", "staff", STAFF_PASSWORD)
    staff = signed_in(app, person)
    page = staff.get("/staff/outbound").get_data(as_text=True)
    group = page[page.index('id="touches-C-9010-A-9010"'):]
    group = group[:group.index("</li>")]
    cells = ["|".join(c.strip() for c in re.sub(r"<[^>]+>", "|", row).split("|") if c.strip())
             for row in re.findall(r'<tr class="status-[a-z_]+">(.*?)</tr>', group, re.S)]
    assert cells == ["Reminder: two_days_before|1|text|today 15:00|delivered",
                     "Reminder: two_hours_before|1|text|Fri 4 Dec 13:00|planned"]
    assert PHONE not in page and "Robin" not in page  # ids only

    response = post(staff, "/staff/outbound/correction", {"client_id": "C-9010", "appointment_id": "A-9010"},
                    token_from="/staff/outbound")
    assert response.status_code in (302, 303)
    with database.sessions() as db:
        [req] = db.scalars(select(CorrectionRequestRow)).all()
    assert (req.client_id, req.appointment_id, req.raised_by) == ("C-9010", "A-9010", person.id)
    assert [a.target for a in audit_rows(database, "correction_call")] == ["C-9010"]
    jobs.run()
    # The day's reminder used the daily limit, which is hard: no automated call; a person has the task at once.
    assert [(r.channel, r.status, r.why_skipped) for r in touch_rows(database, "C-9010") if r.rule == "correction"] \
        == [("staff_task", "done", None), ("call", "skipped", "daily_cap")]


def test_the_weeks_figures_reminded_against_not_reminded(app, client, database, jobs, standin):
    jobs.clock.now = dt.datetime(2026, 11, 30, 10, tzinfo=NY).astimezone(dt.UTC)
    add_client(database, "C-9013", "Robin", (PHONE,))
    add_appointment(database, "A-9013", "C-9013", dt.datetime(2026, 12, 4, 15, tzinfo=NY).astimezone(dt.UTC))
    add_client(database, "C-9014", "Sam", ("+15551239014",), may_text=False, may_call=False)
    add_appointment(database, "A-9014", "C-9014", dt.datetime(2026, 12, 3, 10, tzinfo=NY).astimezone(dt.UTC),
                    status="no_show")
    jobs.at(dt.datetime(2026, 12, 2, 15, tzinfo=NY).astimezone(dt.UTC))
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    text_in(client, PHONE, sms["from"], "1", "SM" + "9" * 32)
    jobs.clock.now = dt.datetime(2026, 12, 5, 10, tzinfo=NY).astimezone(dt.UTC)
    staff = signed_in(app, add_user(database, "desk@example.org", "Front Desk", "staff", STAFF_PASSWORD))
    page = staff.get("/staff/outbound").get_data(as_text=True)
    assert ('<p class="figures" id="reminder-figures">Last 7 days: 1 appointments reminded (1 confirmed, 0 no-shows); '
            '1 not reminded (1 no-shows).</p>') in page
