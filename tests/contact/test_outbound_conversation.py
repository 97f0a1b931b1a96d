"""The outbound conversation (issues 11 and 12): what a person who answers a follow-up or reminder call hears
and can do, and a pool number called back.  Driven as Twilio would: the stand-in places and finishes the call,
its callbacks and the caller's keys are posted signed to the webhooks; exact transcripts, stored rows."""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.practice.models import Appointment, Clinician, PracticeChange, VerificationFailure
from tests.helpers.contact import POOL, add_appointment, add_client, deliver, touch_rows, write_rules
from tests.helpers.webhooks import post

NY = ZoneInfo("America/New_York")
PHONE = "+15551239003"
DOB = "01021980"  # add_client's date of birth
START = dt.datetime(2026, 11, 30, 11, 0, tzinfo=NY).astimezone(dt.UTC)  # Monday 11:00 New York
RULES = """\
caller_id:
  name: Appointments
  numbers: ["+1 555 010 0190", "+1 555 010 0191"]
quiet_hours: {start: "09:00", end: "19:00", days: business_days}
follow_ups:
  late: {attempts: [call, text], spacing: 10 minutes, within: 30 minutes}
  no_show: {attempts: [call, text], spacing: 1 day}
  lapsed: {attempts: [call]}
reminders:
  touches:
    two_days_before: {before: 2 days, by: call}
"""
BUSINESS = ("This is about a business matter; we'll try again later. You can reach us at 5 5 5, 0 1 0, {}. "
            "Goodbye.")


@pytest.fixture
def flows_dir(flows_dir):
    write_rules(flows_dir, RULES)
    return flows_dir


@pytest.fixture
def ql(app):
    return app.extensions["quietline"]


@dataclass
class Line:
    """One phone line's conversation: what was heard (each <Say>), and where the next key goes."""

    client: object
    heard: list[str] = field(default_factory=list)
    action: str | None = None
    redirect: str | None = None
    sid: str = ""
    params: dict = field(default_factory=dict)
    ended: bool = False

    def take(self, body: str) -> list[str]:
        root = ET.fromstring(body)
        said = [(el.text or "").strip() for el in root.iter("Say")]
        self.heard += said
        gather = root.find("Gather")
        self.action = gather.get("action") if gather is not None else None
        redirect = root.find("Redirect")
        self.redirect = redirect.text if redirect is not None else None
        self.ended = root.find("Hangup") is not None
        return said

    def _post(self, url: str, extra: dict) -> list[str]:
        parts = urlsplit(url)
        resp = post(self.client, parts.path + (f"?{parts.query}" if parts.query else ""), {**self.params, **extra})
        assert resp.status_code == 200
        return self.take(resp.get_data(as_text=True))

    def press(self, digits: str) -> list[str]:
        assert self.action, "nothing is waiting for a key"
        return self._post(self.action, {"Digits": digits})

    def silence(self) -> list[str]:
        assert self.redirect, "nothing is waiting"
        return self._post(self.redirect, {})


def clinician(database) -> None:
    with database.sessions() as db, db.begin():
        db.add(Clinician(id="clin-1", name="Maya Chen", session_minutes=50,
                         working_hours={d: ["09:00-13:00"] for d in ("monday", "tuesday", "wednesday", "thursday",
                                                                     "friday")}))


def placed_call(ql, jobs, standin, to: str = PHONE) -> dict:
    ql.jobs.plan_outbound_now()
    jobs.settle()
    [call] = [c for c in standin.calls() if c["to"] == to]
    return call


def answer(client, standin, call: dict, answered_by: str = "human") -> tuple[Line, list]:
    """The far end answers: Twilio fetches the call's Url (async AMD: at once); the other callbacks come later."""
    url_cb, *rest = standin.finish_call(call["sid"], answered_by, duration=40)
    line = Line(client, params=dict(url_cb.params))
    line._post(url_cb.url, {})
    return line, rest


def no_show(database, phone: str = PHONE, cid: str = "C-9003", name: str = "Robin") -> None:
    add_client(database, cid, name, (phone,))
    add_appointment(database, f"A-{cid[2:]}", cid, START, status="no_show")


def test_scratch(ql, client, database, jobs, standin):
    clinician(database)
    no_show(database)
    jobs.clock.now = START + dt.timedelta(minutes=80)
    call = placed_call(ql, jobs, standin)
    print(call["url"])
    line, rest = answer(client, standin, call)
    line.press("1")
    line.press(DOB)
    line.press("1")
    print(deliver(client, rest))
    print(line.heard)
    print([(r.status, r.verified, r.conversation, r.flow_version) for r in touch_rows(database)])
    assert 0
