"""The scheduled folder import: every IVR_IMPORT_SECONDS, the newest complete set of EHR exports in
IVR_IMPORT_DIR is imported (``ivr.practice.folder_import``).

Each run first schedules the next one (job id ``import-folder-<epoch seconds>``, on a grid so every
worker names the same instant, enqueued with RQ's ``unique``); a Redis lock keeps two runs from
reading the same files at once.  A rejected set alerts every active owner with a phone by a
link-only text (the dashboard's import page); nothing about the files is logged.
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
from ivr.practice import folder_import
from workers.reconcile import next_run
from workers.runtime import services

log = logging.getLogger(__name__)

LOCK_KEY = "ql:import-folder:lock"
LOCK_SECONDS = 1800


def alert_text(dashboard_url: str) -> str:
    """The whole text: a link, nothing about the files or the clients in them."""
    return (f"Quietline: a scheduled import was refused and nothing from it was imported. "
            f"{dashboard_url.rstrip('/')}/imports")


def ensure_scheduled(ql: Any) -> Enqueued:
    """Schedule the next run unless it is already (for a worker starting up)."""
    return ql.jobs.schedule_folder_import(next_run(ql.clock(), ql.settings.import_seconds))


def import_folder() -> str | None:
    """One run; its status (imported, rejected, duplicate), or None when there was nothing to import."""
    ql = services()
    now = ql.clock()
    ensure_scheduled(ql)
    if not ql.redis.set(LOCK_KEY, "1", nx=True, ex=LOCK_SECONDS):
        return None  # another run is importing
    try:
        practice = ql.flows.current().practice if ql.flows.loaded else None
        record = folder_import.run(
            ql.database.sessions, ql.settings.import_dir, now=now, tz=practice.tz if practice else None,
            region=practice.phone_region if practice else "US",
            settle=dt.timedelta(seconds=ql.settings.import_settle_seconds),
            today=now.astimezone(practice.tz).date() if practice else now.date())
    finally:
        ql.redis.delete(LOCK_KEY)
    if record is None:
        return None
    log.info("scheduled import run %s: %s", record.id, record.status)
    if record.status == folder_import.RunStatus.REJECTED:
        _alert_owners(ql)
    return record.status


def _alert_owners(ql: Any) -> None:
    with ql.database.sessions() as db:
        owners = db.execute(select(StaffUser.id, StaffUser.phone).where(
            StaffUser.role == Role.OWNER.value, StaffUser.active.is_(True), StaffUser.phone.is_not(None))
            .order_by(StaffUser.id)).all()
    for user_id, phone in owners:
        try:
            notify_mod.send_sms(ql.settings, phone, alert_text(ql.settings.dashboard_url))
        except SendError:
            log.warning("import alert: the text to staff user %s failed", user_id)
