"""Telling staff about escalations: one notification per person, channel, kind and level, never sent twice.

The flow (jobs in ``workers/notifications.py`` call these):

1. ``plan`` picks who is on call at the level (``roster.on_call``, falling
   through to the next level when nobody is) and creates one ``notifications``
   row per recipient and channel, keyed ``escalation:kind:level:user:channel``.
   The unique key makes a re-run of the job (RQ retry, a duplicate) find the
   same rows instead of making more.
2. ``claim`` moves one row from ``pending`` to ``sending`` with a conditional
   UPDATE and **commits before the provider is called**.  That commit is the
   idempotency record: a job that finds the row ``sent`` does not send, and one
   that finds it ``sending`` (a worker died mid-send) does not send blindly.
   For a text it asks Twilio's message list (``recover_sms``): if Twilio has the
   text the row becomes ``sent`` (exactly once); if not, and the dead worker's
   request can no longer be on its way (``IN_FLIGHT_SECONDS``), it is sent now;
   until then the job retries later.  An e-mail left ``sending`` is never re-sent
   (SMTP cannot be asked: at most once); the reminder chain (backup, then owner)
   is the safety net there.
3. ``deliver`` sends it.  A refusal that proves nothing was sent and may pass
   (Twilio 5xx/429, SMTP 4xx, no connection) puts the row back to ``pending`` and
   the job raises so RQ retries it with backoff; on its last retry, or at once
   for a permanent refusal (no phone number, an invalid number, SMTP 5xx) or an
   unknown outcome (a timeout after the hand-over), the row is ``failed``.
4. When every row of a level has failed, ``level_failed`` says so and the job
   pages the next level (``failover``).

Nothing here puts a name, number or reason text into a message: see ``messages``.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any

import requests
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.escalations import messages, roster
from ivr.escalations.mail import MailConfig, MailError, send_mail
from ivr.escalations.models import (
    Channel,
    Escalation,
    EscalationStatus,
    Notification,
    NotificationStatus,
    RosterEntry,
    StaffUser,
)
from ivr.exceptions import SendError
from ivr.telephony import twilio_rest

log = logging.getLogger(__name__)
TOP_LEVEL = roster.TOP_LEVEL
ERROR_MAX = 200
# A text claimed this long ago cannot still be travelling to Twilio (the client gives up after
# its timeout), so Twilio's message list is final about whether it arrived.
IN_FLIGHT_SECONDS = twilio_rest.DEFAULT_TIMEOUT + 5


class Recovery(str, Enum):
    """What Twilio's message list says about a text a dead worker had claimed."""

    FOUND = "found"  # Twilio has it: record it as sent
    IN_FLIGHT = "in_flight"  # not there yet, and the dead worker's request may still arrive: ask later
    LOST = "lost"  # not there, and it can no longer arrive: send it now


@dataclass(frozen=True)
class Plan:
    """What ``plan`` decided: rows to send, the level actually used, or why nothing happens."""

    escalation_id: int
    kind: str
    level: int  # the level recipients were found at (≥ the one asked for)
    urgent: bool
    pending: tuple[int, ...] = ()  # notification ids still to send
    rows: int = 0  # rows of this kind and level, whatever their status
    skipped: str | None = None  # "claimed", "resolved", "nobody on call", …


@dataclass(frozen=True)
class Outgoing:
    """One claimed notification, with what ``deliver`` needs (loaded inside the claim)."""

    notification_id: int
    key: str
    channel: str
    kind: str
    level: int
    to: str | None
    escalation_id: int
    category: str
    priority: int
    deadline: dt.datetime
    claimed_at: dt.datetime | None = None
    recovering: bool = False  # a dead worker left it ``sending``: see recover_sms


def key_for(escalation_id: int, kind: str, level: int, user_id: int, channel: str) -> str:
    return f"{escalation_id}:{kind}:{level}:{user_id}:{channel}"


def _level_prefix(escalation_id: int, kind: str, level: int) -> str:
    return f"{escalation_id}:{kind}:{level}:"


def _level_of(key: str) -> int:
    return int(key.split(":")[2])


# --------------------------------------------------------------------------- planning

def plan(db_sessions: sessionmaker[Session], escalation_id: int, kind: str, level: int, now: dt.datetime,
         tz: dt.tzinfo, email_enabled: bool) -> Plan:
    """Create the notification rows for ``kind`` at ``level`` (idempotent); see the module docstring."""
    for attempt in (1, 2):
        try:
            return _plan(db_sessions, escalation_id, kind, level, now, tz, email_enabled)
        except IntegrityError:
            # A concurrent run inserted the same keys first: the second pass finds them.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _plan(db_sessions: sessionmaker[Session], escalation_id: int, kind: str, level: int, now: dt.datetime,
          tz: dt.tzinfo, email_enabled: bool) -> Plan:
    with db_sessions() as db, db.begin():
        esc = db.get(Escalation, escalation_id)
        if esc is None:
            return Plan(escalation_id, kind, level, False, skipped="no such escalation")
        urgent = esc.priority == 0
        if kind in (messages.BREACH, messages.RAISED):
            # A breach is told while unresolved; so is a crisis found after someone claimed the callback.
            if esc.status == EscalationStatus.RESOLVED.value:
                return Plan(escalation_id, kind, level, urgent, skipped="resolved")
        elif esc.status != EscalationStatus.OPEN.value:
            return Plan(escalation_id, kind, level, urgent, skipped=esc.status)
        if level > TOP_LEVEL:
            return Plan(escalation_id, kind, level, urgent, skipped="no level left")
        entries = db.scalars(select(RosterEntry)).all()
        users = db.scalars(select(StaffUser).where(StaffUser.active.is_(True))).all()
        recipients = roster.on_call(entries, users, level, now, tz, esc.category)
        if not recipients:
            return Plan(escalation_id, kind, level, urgent, skipped="nobody on call")
        found = recipients[0].level
        if kind != messages.BREACH and found > esc.escalation_level:
            esc.escalation_level = found
        existing = {n.key: n for n in db.scalars(select(Notification).where(
            Notification.escalation_id == escalation_id,
            Notification.key.startswith(_level_prefix(escalation_id, kind, found), autoescape=True)))}
        for r in recipients:
            channels = [Channel.SMS.value] if r.sms else []
            if r.by_email and email_enabled:
                channels.append(Channel.EMAIL.value)
            for channel in channels:
                key = key_for(escalation_id, kind, found, r.user_id, channel)
                if key not in existing:
                    row = Notification(key=key, escalation_id=escalation_id, user_id=r.user_id, channel=channel,
                                       kind=kind, status=NotificationStatus.PENDING.value, attempts=0, created_at=now)
                    db.add(row)
                    existing[key] = row
        db.flush()
        pending = tuple(sorted(n.id for n in existing.values() if n.status == NotificationStatus.PENDING.value))
        return Plan(escalation_id, kind, found, urgent, pending, len(existing))


# --------------------------------------------------------------------------- sending

def claim(db_sessions: sessionmaker[Session], notification_id: int, now: dt.datetime) -> Outgoing | None:
    """Move a ``pending`` row to ``sending`` and commit.

    A text a dead worker left ``sending`` comes back with ``recovering`` set (ask
    ``recover_sms`` before anything is sent); None for anything else not pending
    (sent, failed, or an e-mail left ``sending``).
    """
    with db_sessions() as db, db.begin():
        moved = db.execute(update(Notification)
                           .where(Notification.id == notification_id,
                                  Notification.status == NotificationStatus.PENDING.value)
                           .values(status=NotificationStatus.SENDING.value, attempts=Notification.attempts + 1,
                                   claimed_at=now)
                           .execution_options(synchronize_session=False))
        n = db.get(Notification, notification_id)
        if moved.rowcount == 1:
            return _outgoing(db, n)
        if (n is not None and n.status == NotificationStatus.SENDING.value and n.channel == Channel.SMS.value
                and n.claimed_at is not None):
            return _outgoing(db, n, recovering=True)
        return None


def _outgoing(db: Session, n: Notification, *, recovering: bool = False) -> Outgoing:
    esc = db.get(Escalation, n.escalation_id)
    user = db.get(StaffUser, n.user_id)
    to = (user.phone if n.channel == Channel.SMS.value else user.email) if user is not None else None
    return Outgoing(n.id, n.key, n.channel, n.kind, _level_of(n.key), to, esc.id, esc.category, esc.priority,
                    esc.deadline_at, n.claimed_at, recovering)


def recover_sms(out: Outgoing, settings: Settings, now: dt.datetime, tz: dt.tzinfo) -> tuple[Recovery, str | None]:
    """Did the text a dead worker was sending reach Twilio?  (Recovery, its SID when found.)  Raises SendError.

    Looks for the exact text it would have sent (rendered as at its claim) to that
    number from our number.  The text names the escalation and the kind of notice,
    so no other text matches; no date filter, so clock skew with Twilio cannot hide it.
    """
    from twilio.base.exceptions import TwilioException

    if out.claimed_at is None or not out.to:
        return Recovery.LOST, None  # deliver says why it cannot be sent
    body = _sms_body(out, settings, out.claimed_at, tz)
    try:
        sid = twilio_rest.find_sms(twilio_rest.make_client(settings), to=out.to, from_=settings.sms_from, body=body)
    except (requests.RequestException, TwilioException) as exc:
        raise SendError(f"sms lookup: {type(exc).__name__}") from None
    if sid is not None:
        return Recovery.FOUND, sid
    if now - out.claimed_at < dt.timedelta(seconds=IN_FLIGHT_SECONDS):
        return Recovery.IN_FLIGHT, None
    return Recovery.LOST, None


def reclaim(db_sessions: sessionmaker[Session], notification_id: int, now: dt.datetime) -> None:
    """A lost text is about to be sent again: count the attempt and restart its clock."""
    with db_sessions() as db, db.begin():
        db.execute(update(Notification)
                   .where(Notification.id == notification_id, Notification.status == NotificationStatus.SENDING.value)
                   .values(attempts=Notification.attempts + 1, claimed_at=now)
                   .execution_options(synchronize_session=False))


def _message_args(out: Outgoing, settings: Settings, now: dt.datetime, tz: dt.tzinfo) -> tuple:
    """What ``messages.sms_text`` and ``messages.email`` say about this notification."""
    link = messages.escalation_link(settings.dashboard_url or settings.public_base_url + "/staff", out.escalation_id)
    return (out.kind, out.escalation_id, out.category, out.priority, out.deadline, now, tz, link)


def _sms_body(out: Outgoing, settings: Settings, now: dt.datetime, tz: dt.tzinfo) -> str:
    return messages.sms_text(*_message_args(out, settings, now, tz))


def deliver(out: Outgoing, settings: Settings, mail: MailConfig | None, now: dt.datetime, tz: dt.tzinfo) -> str:
    """Send one claimed notification; returns the provider's id.  Raises SendError."""
    if out.channel == Channel.SMS.value:
        if not out.to:
            raise SendError("no phone number", permanent=True)
        return _send_sms(settings, out.to, _sms_body(out, settings, now, tz))
    if out.channel == Channel.EMAIL.value:
        if mail is None:
            raise SendError("email is not configured (SMTP_HOST)", permanent=True)
        if not out.to:
            raise SendError("no email address", permanent=True)
        mail_msg = messages.email(*_message_args(out, settings, now, tz))
        try:
            return send_mail(mail, out.to, mail_msg.subject, mail_msg.body, _message_id(out, mail))
        except MailError as exc:
            raise SendError(f"email: {exc}", permanent=exc.permanent, unknown=exc.unknown) from None
    raise SendError(f"unknown channel {out.channel!r}", permanent=True)


def send_sms(settings: Settings, to: str, body: str) -> str:
    """Text a staff member ``body`` (link-only words); the provider's id.  Raises SendError."""
    return _send_sms(settings, to, body)


def _send_sms(settings: Settings, to: str, body: str) -> str:
    from twilio.base.exceptions import TwilioException, TwilioRestException

    try:
        return twilio_rest.send_sms(twilio_rest.make_client(settings), to=to, from_=settings.sms_from, body=body)
    except TwilioRestException as exc:
        # Twilio answered, so it did not queue the message.  4xx other than 429 will not pass by waiting.
        permanent = 400 <= exc.status < 500 and exc.status != 429
        raise SendError(f"sms: twilio {exc.status} code {exc.code}", permanent=permanent) from None
    except requests.ConnectionError as exc:
        # Refused or unreachable: nothing was sent.  Dropped after the request went out: unknown.
        raise SendError(f"sms: {type(exc).__name__}", unknown=not _never_connected(exc)) from None
    except (requests.Timeout, TwilioException) as exc:
        raise SendError(f"sms: {type(exc).__name__}", unknown=True) from None


def _never_connected(exc: requests.ConnectionError) -> bool:
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (NewConnectionError, ConnectionRefusedError))


def _message_id(out: Outgoing, mail: MailConfig) -> str:
    """Stable per notification, so a mail system that sees it twice can drop the copy."""
    domain = mail.sender.rsplit("@", 1)[-1].strip(" >") if "@" in mail.sender else "quietline.invalid"
    return f"<quietline.{out.key.replace(':', '.')}@{domain}>"


def mark_sent(db_sessions: sessionmaker[Session], notification_id: int, provider_id: str, now: dt.datetime) -> None:
    with db_sessions() as db, db.begin():
        db.execute(update(Notification).where(Notification.id == notification_id)
                   .values(status=NotificationStatus.SENT.value, provider_id=provider_id[:80], sent_at=now,
                           error=None).execution_options(synchronize_session=False))


def mark_retry(db_sessions: sessionmaker[Session], notification_id: int, error: str) -> None:
    """Back to ``pending`` so the retried job may claim it again (only for a send that surely failed)."""
    with db_sessions() as db, db.begin():
        db.execute(update(Notification)
                   .where(Notification.id == notification_id, Notification.status == NotificationStatus.SENDING.value)
                   .values(status=NotificationStatus.PENDING.value, error=error[:ERROR_MAX])
                   .execution_options(synchronize_session=False))


def mark_failed(db_sessions: sessionmaker[Session], notification_id: int, error: str) -> None:
    with db_sessions() as db, db.begin():
        db.execute(update(Notification).where(Notification.id == notification_id)
                   .values(status=NotificationStatus.FAILED.value, error=error[:ERROR_MAX])
                   .execution_options(synchronize_session=False))


def level_failed(db_sessions: sessionmaker[Session], notification_id: int) -> tuple[int, str, int] | None:
    """(escalation id, kind, level) when every notification of this one's level has failed, else None."""
    with db_sessions() as db:
        n = db.get(Notification, notification_id)
        if n is None:
            return None
        level = _level_of(n.key)
        statuses = db.scalars(select(Notification.status).where(
            Notification.escalation_id == n.escalation_id,
            Notification.key.startswith(_level_prefix(n.escalation_id, n.kind, level), autoescape=True))).all()
        if statuses and all(s == NotificationStatus.FAILED.value for s in statuses):
            return n.escalation_id, n.kind, level
        return None


# --------------------------------------------------------------------------- deadlines

def still_open(db_sessions: sessionmaker[Session], escalation_id: int) -> bool:
    with db_sessions() as db:
        esc = db.get(Escalation, escalation_id)
        return esc is not None and esc.status == EscalationStatus.OPEN.value


def record_breach(db_sessions: sessionmaker[Session], escalation_id: int, now: dt.datetime) -> bool:
    """Set ``breached_at`` if the deadline has passed and the escalation is not resolved; True when newly set.

    Claimed but unresolved counts as breached too: the caller was promised a
    callback, not a claim.
    """
    with db_sessions() as db, db.begin():
        esc = db.get(Escalation, escalation_id)
        if esc is None or esc.breached_at is not None or esc.status == EscalationStatus.RESOLVED.value:
            return False
        if now < esc.deadline_at:
            log.warning("breach check for escalation %s ran before its deadline; nothing recorded", escalation_id)
            return False
        moved = db.execute(update(Escalation)
                           .where(Escalation.id == escalation_id, Escalation.breached_at.is_(None),
                                  Escalation.status != EscalationStatus.RESOLVED.value)
                           .values(breached_at=now).execution_options(synchronize_session=False))
        return moved.rowcount == 1


def escalation_summary(db_sessions: sessionmaker[Session], escalation_id: int) -> dict[str, Any] | None:
    """Ids and times only (what the jobs need to schedule reminders)."""
    with db_sessions() as db:
        esc = db.get(Escalation, escalation_id)
        if esc is None:
            return None
        return {"id": esc.id, "priority": esc.priority, "category": esc.category, "status": esc.status,
                "created_at": esc.created_at, "deadline_at": esc.deadline_at}
