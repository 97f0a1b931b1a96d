"""Outbound contact under test: a practice's clients and appointments in the database, rules beside the flows,
Twilio's callbacks delivered signed, and the rows the service recorded."""
from __future__ import annotations

import datetime as dt
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ivr.contact.models import OutboundReply, OutboundTouch
from ivr.dev.twilio_standin import Callback
from ivr.practice.models import Appointment, Client, ClientPhone, Clinician
from tests.helpers.webhooks import post

POOL = ("+15550100190", "+15550100191")

# Robin (C-9003), whom the outbound call tests ring: their date of birth as keyed, the Monday the tests start on,
# and how a call to them opens.  Each test module picks Robin's phone number.
NY = ZoneInfo("America/New_York")
DOB = "01021980"  # add_client's date of birth
START = dt.datetime(2026, 11, 30, 11, 0, tzinfo=NY).astimezone(dt.UTC)  # Monday 11:00 New York
# Never a name before verification (issue 11).
GREETING = "Hello, this is a call for someone at this number. Is that you? Press 1 for yes or 2 for no."

# The head of every test's outbound.yaml: the pool numbers calls and texts come from.
CALLER_ID = """\
caller_id:
  name: Appointments
  numbers: ["+1 555 010 0190", "+1 555 010 0191"]
"""
RULES = CALLER_ID + """\
quiet_hours: {start: "09:00", end: "19:00", days: business_days}
follow_ups:
  late: {attempts: [call, text], spacing: 10 minutes, within: 30 minutes}
  no_show: {then: Send a closing letter}
  correction: {attempts: [call], spacing: 2 hours}
reminders:
  touches:
    two_days_before: {before: 2 days, by: text, fallback: call}
    two_hours_before: {before: 2 hours, by: text}
"""


def write_rules(flows_dir: Path, text: str = RULES) -> None:
    (flows_dir / "outbound.yaml").write_text(textwrap.dedent(text))


def add_client(database, client_id: str, first_name: str, phones: tuple[str, ...], *, may_text: bool = True,
               may_call: bool = True, may_voicemail: bool = False, time_zone: str | None = None) -> None:
    with database.sessions() as db, db.begin():
        if db.get(Clinician, "clin-1") is None:
            db.add(Clinician(id="clin-1", name="Maya Chen", working_hours={}, session_minutes=50))
        client = Client(id=client_id, first_name=first_name, last_name="Test", date_of_birth=dt.date(1980, 1, 2),
                        clinician_id="clin-1", may_text=may_text, may_call=may_call, may_voicemail=may_voicemail,
                        time_zone=time_zone)
        client.phones = [ClientPhone(e164=e, position=i) for i, e in enumerate(phones)]
        db.add(client)


def add_appointment(database, appt_id: str, client_id: str, start: dt.datetime, *, minutes: int = 50,
                    status: str = "scheduled", changed_at: dt.datetime | None = None) -> None:
    with database.sessions() as db, db.begin():
        db.add(Appointment(id=appt_id, client_id=client_id, clinician_id="clin-1", start=start,
                           end=start + dt.timedelta(minutes=minutes), status=status,
                           changed_at=changed_at or start - dt.timedelta(days=30)))


def touch_rows(database, client_id: str | None = None) -> list[OutboundTouch]:
    with database.sessions() as db:
        query = select(OutboundTouch).order_by(OutboundTouch.id)
        if client_id is not None:
            query = query.where(OutboundTouch.client_id == client_id)
        return list(db.scalars(query))


def replies(database) -> list[OutboundReply]:
    with database.sessions() as db:
        return list(db.scalars(select(OutboundReply).order_by(OutboundReply.id)))


def deliver(client, callbacks: list[Callback]) -> list[tuple[int, str]]:
    """Post Twilio's callbacks to the app as Twilio would (signed against the public URL); (status, body) each."""
    out = []
    for cb in callbacks:
        parts = urlsplit(cb.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        resp = post(client, path, cb.params)
        out.append((resp.status_code, resp.get_data(as_text=True)))
    return out


def text_in(client, from_: str, to: str, body: str, sid: str) -> tuple[int, str]:
    """A text arriving at ``to`` (a pool number) from ``from_``, as Twilio posts it."""
    resp = post(client, "/twilio/sms", {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "a" * 32,
                                        "From": from_, "To": to, "Body": body, "NumMedia": "0"})
    return resp.status_code, resp.get_data(as_text=True)


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

    def say(self, words: str, confidence: float = 0.9) -> list[str]:
        """Words said at the waiting <Gather>, as Twilio posts a speech result."""
        assert self.action, "nothing is waiting for an answer"
        return self._post(self.action, {"SpeechResult": words, "Confidence": str(confidence)})

    def silence(self) -> list[str]:
        assert self.redirect, "nothing is waiting"
        return self._post(self.redirect, {})


def answer(client, standin, call: dict, answered_by: str = "human") -> tuple[Line, list]:
    """The far end answers: Twilio fetches the call's Url (async AMD: at once); the other callbacks come later."""
    url_cb, *rest = standin.finish_call(call["sid"], answered_by, duration=40)
    line = Line(client, params=dict(url_cb.params))
    line._post(url_cb.url, {})
    return line, rest


# --------------------------------------------------------------------------- set-ups shared by the outbound call tests

def add_clinician(database, hours: str = "09:00-13:00") -> None:
    """Maya Chen (``clin-1``), 50-minute sessions, working ``hours`` (practice time) Monday to Friday.  Call it before
    ``add_client``, which otherwise adds her with no working hours."""
    with database.sessions() as db, db.begin():
        db.add(Clinician(id="clin-1", name="Maya Chen", session_minutes=50,
                         working_hours={d: [hours] for d in ("monday", "tuesday", "wednesday", "thursday",
                                                             "friday")}))


def calls_to(standin, to: str) -> list[dict]:
    """The calls the stand-in was asked to place to ``to`` (E.164), oldest first."""
    return [c for c in standin.calls() if c["to"] == to]


def placed_call(ql, jobs, standin, to: str) -> dict:
    """Outbound contact planned now and its jobs run: the one call placed to ``to`` (ValueError unless exactly one)."""
    ql.jobs.plan_outbound_now()
    jobs.settle()
    [call] = calls_to(standin, to)
    return call


def call_back(client, pool: str, caller: str, sid: str = "CA" + "5" * 32) -> Line:
    """``caller`` rings ``pool`` (a number of ours), as Twilio posts an inbound call; the Line has heard the answer."""
    params = {"CallSid": sid, "AccountSid": "AC" + "a" * 32, "From": caller, "To": pool,
              "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
    line = Line(client, params=params)
    line._post("/twilio/voice", {})
    return line
