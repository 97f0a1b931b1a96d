"""Clinicians' private calendar feeds: their appointments as Quietline knows them, as iCalendar (RFC 5545).

A feed is a secret URL (``/calendar/<token>.ics``) a clinician subscribes to in their calendar app, so
a change made by phone shows there at once.  The token is 256 random bits, shown once when the owner
makes the feed; only its SHA-256 is stored, and a revoked or unknown token gets the same 404.

Events are discreet: the title is "Appointment" (with the client's initials only when the owner
turned them on for that feed), no description, no location, no practice name and nothing about
therapy; a calendar shared with a family or shown on a lock screen gives nothing away.  Built with
the ``icalendar`` library.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.practice.models import ACTIVE, Appointment, AppointmentStatus, CalendarFeed, Client

# Sessions still to come and those held (a clinician looks back at the week too); cancelled, moved and no-show
# ones are not in the calendar.
SHOWN = (ACTIVE, AppointmentStatus.COMPLETED.value)

PAST = dt.timedelta(days=30)
FUTURE = dt.timedelta(days=366)
TITLE = "Appointment"
CALENDAR_NAME = "Appointments"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(db: Session, clinician_id: str, *, show_initials: bool, user_id: int | None,
           now: dt.datetime) -> tuple[CalendarFeed, str]:
    """A new feed for the clinician and its token (shown once; only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(clinician_id=clinician_id, token_hash=token_hash(token), show_initials=show_initials,
                        created_at=now, created_by=user_id)
    db.add(feed)
    db.flush()
    return feed, token


def revoke(db: Session, feed_id: int, now: dt.datetime) -> bool:
    """Revoke a feed; whether it was active."""
    feed = db.get(CalendarFeed, feed_id)
    if feed is None or feed.revoked_at is not None:
        return False
    feed.revoked_at = now
    return True


def active_feeds(db: Session) -> list[CalendarFeed]:
    return list(db.scalars(select(CalendarFeed).where(CalendarFeed.revoked_at.is_(None))
                           .order_by(CalendarFeed.clinician_id, CalendarFeed.id)))


def find(db: Session, token: str) -> CalendarFeed | None:
    """The active feed with this token, or None (unknown and revoked alike)."""
    if not token or len(token) > 100:
        return None
    return db.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(token),
                                                CalendarFeed.revoked_at.is_(None)))


def initials(first_name: str, last_name: str) -> str:
    return "".join(f"{part[:1].upper()}." for part in (first_name.strip(), last_name.strip()) if part)


def render(db: Session, feed: CalendarFeed, now: dt.datetime) -> bytes:
    """The feed's iCalendar text: the clinician's scheduled and completed appointments from 30 days ago to a
    year ahead."""
    calendar = Calendar()
    calendar.add("prodid", "-//Quietline//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", CALENDAR_NAME)
    rows = db.execute(select(Appointment, Client.first_name, Client.last_name)
                      .join(Client, Client.id == Appointment.client_id)
                      .where(Appointment.clinician_id == feed.clinician_id, Appointment.status.in_(SHOWN),
                             Appointment.start >= now - PAST, Appointment.start <= now + FUTURE)
                      .order_by(Appointment.start, Appointment.id)).all()
    for appointment, first_name, last_name in rows:
        event = Event()
        event.add("uid", f"{appointment.id}@quietline")
        event.add("dtstamp", now.astimezone(dt.UTC))
        event.add("dtstart", appointment.start.astimezone(dt.UTC))
        event.add("dtend", appointment.end.astimezone(dt.UTC))
        event.add("last-modified", appointment.updated_at.astimezone(dt.UTC))
        title = f"{TITLE} {initials(first_name, last_name)}" if feed.show_initials else TITLE
        event.add("summary", title)
        event.add("class", "PRIVATE")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
