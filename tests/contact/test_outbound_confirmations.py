"""Every way a client confirms an appointment counts the same everywhere it is shown (issue 12): a text reply's
word or digit, key 1 on a voice reminder, key 1 on a call back to the pool number.  Each is one
``appointment_confirmed`` entry in the change journal, and the outbound page (per appointment and the weekly
figures) and the client page show it as confirmed.  Real RQ worker, the stand-in, signed webhooks, both databases."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from ivr.practice.models import Clinician, PracticeChange
from tests.helpers.contact import (
    CALLER_ID,
    DOB,
    START,
    Line,
    add_appointment,
    add_client,
    answer,
    deliver,
    text_in,
    write_rules,
)
from tests.helpers.dashboard import STAFF_PASSWORD, add_user, signed_in

PHONE = "+15551239050"
APPOINTMENT = START + dt.timedelta(days=2)
RULES = CALLER_ID + """\
quiet_hours: {start: "09:00", end: "19:00", days: business_days}
reminders:
  touches:
    two_days_before: {before: 2 days, by: %s}
"""
REMINDER = ("Thanks, Robin. This is a reminder of your appointment Wednesday at 11 AM. To confirm, press 1. "
            "To change it, press 2.")


def setup(database, flows_dir, by: str, *, may_voicemail: bool = False) -> None:
    write_rules(flows_dir, RULES % by)
    with database.sessions() as db, db.begin():
        db.add(Clinician(id="clin-1", name="Maya Chen", session_minutes=50, working_hours={}))
    add_client(database, "C-9050", "Robin", (PHONE,), may_voicemail=may_voicemail)
    add_appointment(database, "A-9050", "C-9050", APPOINTMENT, changed_at=START - dt.timedelta(days=9))


def the_reminder(ql, jobs, standin, channel: str) -> dict:
    jobs.clock.now = START
    ql.jobs.plan_outbound_now()
    jobs.settle()
    made = standin.messages() if channel == "text" else standin.calls()
    [one] = [m for m in made if m["to"] == PHONE]
    return one


def by_text(ql, client, jobs, standin, body: str) -> None:
    sms = the_reminder(ql, jobs, standin, "text")
    assert text_in(client, PHONE, sms["from"], body, "SM" + "5" * 32)[0] == 200


def by_key_on_the_call(ql, client, jobs, standin) -> None:
    call = the_reminder(ql, jobs, standin, "call")
    line, rest = answer(client, standin, call)
    line.press("1")
    assert line.press(DOB) == [REMINDER]
    assert line.press("1") == ["Thank you, that is confirmed.", "Thank you. Goodbye."]
    deliver(client, rest)


def by_key_on_a_returned_call(ql, client, jobs, standin) -> None:
    call = the_reminder(ql, jobs, standin, "call")
    _, rest = answer(client, standin, call, "machine_end_beep")  # the neutral voicemail: the reminder reached them
    deliver(client, rest)
    jobs.clock.now = START + dt.timedelta(hours=1)
    params = {"CallSid": "CA" + "5" * 32, "AccountSid": "AC" + "a" * 32, "From": PHONE, "To": call["from"],
              "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
    line = Line(client, params=params)
    line._post("/twilio/voice", {})
    assert line.press(DOB) == [REMINDER]
    assert line.press("1") == ["Thank you, that is confirmed.", "Thank you. Goodbye."]


WAYS = {
    "text 1": ("text", {}, lambda ql, client, jobs, standin: by_text(ql, client, jobs, standin, "1")),
    "text confirm": ("text", {}, lambda ql, client, jobs, standin: by_text(ql, client, jobs, standin, "Confirm")),
    "key 1 on the reminder call": ("call", {}, by_key_on_the_call),
    "key 1 on a returned call": ("call", {"may_voicemail": True}, by_key_on_a_returned_call),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_every_way_of_confirming_counts_the_same_on_every_page(way, app, client, database, flows_dir, jobs,
                                                                 standin):
    by, options, confirm = WAYS[way]
    setup(database, flows_dir, by, **options)
    ql = app.extensions["quietline"]
    confirm(ql, client, jobs, standin)
    with database.sessions() as db:
        entries = [(c.kind, c.client_id, c.appointment_id, c.after["confirmed"])
                   for c in db.scalars(select(PracticeChange))]
    assert entries == [("appointment_confirmed", "C-9050", "A-9050", True)]

    jobs.clock.now = APPOINTMENT + dt.timedelta(hours=2)  # the appointment is in the last 7 days' figures
    staff = signed_in(app, add_user(database, "desk@example.org", "Front Desk", "staff", STAFF_PASSWORD))
    page = staff.get("/staff/outbound").get_data(as_text=True)
    group = page[page.index('id="touches-C-9050-A-9050"'):]
    assert '· <span class="confirmed">confirmed</span>' in group[:group.index("</span>", group.index("line1")) + 60]
    assert ('<p class="figures" id="reminder-figures">Last 7 days: 1 appointments reminded (1 confirmed, 0 no-shows); '
            '0 not reminded (0 no-shows).</p>') in page
    weeks = re.findall(r"<tr><th scope=\"row\">[^<]*</th>((?:<td>\d+</td>)+)</tr>", page)
    assert re.findall(r"\d+", weeks[0]) == ["1", "1", "0", "0", "0"]

    client_page = staff.get("/staff/outbound/clients/C-9050").get_data(as_text=True)
    status = re.search(r'<p class="status" id="client-status">(.*?)</p>', client_page).group(1)
    assert status.endswith(", 1 confirmed.")
    assert '<strong>Appointment A-9050</strong> · <span class="confirmed">confirmed</span>' in client_page
