"""The change journal's daily reminder: staff hear, by a link-only text, that changes wait for the EHR.

``remind_changes`` runs once a practice day at IVR_CHANGE_REMINDER_HOUR (practice time) through
RQ's scheduler.  Each run first schedules the next day's (job id ``changes-reminder-<date>``, the
same for every worker, enqueued with RQ's ``unique``), then, while an entry has waited longer than
IVR_CHANGE_REMINDER_HOURS, texts each active staff member with a phone (owners and staff: they
all enter changes) the dashboard's Changes link — no client, no count of what changed — at most
once a day per person (a Redis key per day and person guards a retried run).
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select

from ivr.escalations import notify as notify_mod
from ivr.escalations.models import Role, StaffUser
from ivr.exceptions import SendError
from ivr.jobs.enqueue import Enqueued
from ivr.practice import journal
from workers.runtime import services

log = logging.getLogger(__name__)

SENT_KEY_TTL = 2 * 24 * 3600


def reminder_text(dashboard_url: str) -> str:
    """The whole text: a link, nothing about any client."""
    link = f"{dashboard_url.rstrip('/')}/changes"
    return f"Quietline: changes made by phone are waiting to be entered in the EHR. {link}"


def next_reminder(now: dt.datetime, tz: dt.tzinfo, hour: int) -> tuple[dt.datetime, dt.date]:
    """The next ``hour``:00 practice time after ``now`` and its practice date."""
    local = now.astimezone(tz)
    day = local.date()
    at = dt.datetime.combine(day, dt.time(hour), tz)
    if at <= local:
        day += dt.timedelta(days=1)
        at = dt.datetime.combine(day, dt.time(hour), tz)
    return at.astimezone(dt.UTC), day


def ensure_scheduled(ql: Any) -> Enqueued:
    """Schedule the next reminder unless it is already (for a worker starting up)."""
    at, day = next_reminder(ql.clock(), ql.flows.current().practice.tz, ql.settings.change_reminder_hour)
    return ql.jobs.schedule_change_reminder(at, day)


def remind_changes() -> int:
    """One reminder run (see the module docstring); how many staff members were texted."""
    ql = services()
    now = ql.clock()
    tz = ql.flows.current().practice.tz
    ensure_scheduled(ql)
    age = dt.timedelta(hours=ql.settings.change_reminder_hours)
    with ql.database.sessions() as db:
        waiting = journal.waiting_longer_than(db, now, age)
        people = [] if not waiting else db.execute(select(StaffUser.id, StaffUser.phone).where(
            StaffUser.role.in_([Role.OWNER.value, Role.STAFF.value]), StaffUser.active.is_(True),
            StaffUser.phone.is_not(None)).order_by(StaffUser.id)).all()
    sent = 0
    day = now.astimezone(tz).date().isoformat()
    for user_id, phone in people:
        if not ql.redis.set(f"ql:changes-reminder:{day}:{user_id}", "1", nx=True, ex=SENT_KEY_TTL):
            continue  # this person was told today
        try:
            notify_mod.send_sms(ql.settings, phone, reminder_text(ql.settings.dashboard_url))
        except SendError:
            ql.redis.delete(f"ql:changes-reminder:{day}:{user_id}")
            log.warning("change reminder: the text to staff user %s failed", user_id)
            continue
        sent += 1
    if waiting:
        log.info("change reminder: %s entries waiting, %s staff texted", waiting, sent)
    return sent
