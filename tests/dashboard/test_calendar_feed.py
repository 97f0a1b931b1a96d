"""Clinicians' calendar feeds: a secret URL (stored hashed) an owner makes and revokes; the feed, parsed back
with the icalendar library, lists the clinician's appointments as Quietline knows them (a phone reschedule
shows at once), with discreet titles (no names, no practice, nothing about therapy) unless initials are on."""
from __future__ import annotations

import datetime as dt
import hashlib
import re

from icalendar import Calendar
from sqlalchemy import select

from ivr.core.privacy import discretion_problems
from ivr.escalations.models import AuditEntry
from ivr.practice.models import Appointment, CalendarFeed
from tests.helpers.dashboard import signed_in, token

ALEX = "+15551230001"
PRACTICE = "Lakeside Counseling Collective"
URL_RE = re.compile(r'<code class="feed-url">https://ql\.example\.org(/calendar/[^<]+\.ics)</code>')


def make_feed(c, clinician_id: str = "maya-chen", initials: bool = False) -> str:
    data = {"csrf_token": token(c, "/staff/clinicians")}
    if initials:
        data["show_initials"] = "yes"
    page = c.post(f"/staff/clinicians/{clinician_id}/feeds", data=data)
    assert page.status_code == 200
    [path] = URL_RE.findall(page.get_data(as_text=True))
    return path


def events(client, path: str) -> list[tuple[str, str, dt.datetime, dt.datetime]]:
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "no-store"
    calendar = Calendar.from_ical(response.data)
    return [(str(e["uid"]), str(e["summary"]), e.decoded("dtstart"), e.decoded("dtend"))
            for e in calendar.walk("VEVENT")]


def test_feed_lists_the_schedule_discreetly_and_follows_a_phone_reschedule(app, client, sim, database, people):
    owner = signed_in(app, people["owner"])
    path = make_feed(owner)
    feed_token = path.rsplit("/", 1)[1].removesuffix(".ics")
    with database.sessions() as db:
        [feed] = db.scalars(select(CalendarFeed)).all()
        maya = db.scalars(select(Appointment).where(Appointment.clinician_id == "maya-chen",
                                                    Appointment.status.in_(["scheduled", "completed"]))
                          .order_by(Appointment.start, Appointment.id)).all()
        expected = [(f"{a.id}@quietline", "Appointment", a.start, a.end) for a in maya
                    if a.start >= dt.datetime(2026, 10, 24, 15, tzinfo=dt.UTC)]
    assert feed.token_hash == hashlib.sha256(feed_token.encode()).hexdigest()  # only the hash is stored
    got = events(client, path)
    assert got == expected and len(got) >= 3
    assert "A-1901@quietline" in [uid for uid, *_ in got]  # a session already held (completed) stays (finding 12)
    body = client.get(path).get_data(as_text=True)
    assert discretion_problems(body, PRACTICE) == []
    for word in ("Alex", "Rivera", "Maya", "Chen", "video.example.com", "Lakeside"):
        assert word not in body
    # Alex moves Tuesday 10 AM to 9 AM by phone: the feed shows it on the next fetch.
    sim.call(from_=ALEX, script="1;04151985#;1;1;1")
    with database.sessions() as db:
        new = db.get(Appointment, db.get(Appointment, "A-2001").replaced_by)
    after = events(client, path)
    assert "A-2001@quietline" not in [uid for uid, *_ in after]
    assert (f"{new.id}@quietline", "Appointment", dt.datetime(2026, 11, 24, 14, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 24, 14, 50, tzinfo=dt.UTC)) in after


def test_initials_only_when_the_owner_turns_them_on(app, client, database, people):
    owner = signed_in(app, people["owner"])
    path = make_feed(owner, initials=True)
    titles = {summary for _, summary, *_ in events(client, path)}
    assert "Appointment A.R." in titles and all(re.fullmatch(r"Appointment [A-Z]\.[A-Z]\.", t) for t in titles)


def test_a_revoked_or_unknown_link_is_refused_alike(app, client, database, people):
    owner = signed_in(app, people["owner"])
    path = make_feed(owner)
    assert client.get(path).status_code == 200
    with database.sessions() as db:
        feed_id = db.scalar(select(CalendarFeed.id))
    response = owner.post(f"/staff/calendar-feeds/{feed_id}/revoke",
                          data={"csrf_token": token(owner, "/staff/clinicians")})
    assert response.status_code == 303
    revoked, unknown = client.get(path), client.get("/calendar/" + "x" * 43 + ".ics")
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.data == unknown.data
    with database.sessions() as db:
        assert [(a.target, a.detail) for a in db.scalars(select(AuditEntry).where(
            AuditEntry.action == "calendar_feed").order_by(AuditEntry.id))] == [
            ("clinician:maya-chen", f"made feed {feed_id}"), (f"feed:{feed_id}", "revoked")]


def test_staff_cannot_make_feeds(app, people):
    c = signed_in(app, people["sam"])
    assert c.post("/staff/clinicians/maya-chen/feeds",
                  data={"csrf_token": token(c, "/staff/changes")}).status_code == 403
