"""Notification jobs: who to tell (``notify``) and telling one of them (``send_notification``).

Arguments are ids, kinds and levels only.  The rules (rows keyed per person and
channel, the ``sending`` record committed before the provider is called, one
message per row, a text a dead worker left ``sending`` looked up at Twilio before
anything is sent again, failing over to the next level) are in
``ivr.escalations.notify``; these functions wire them to the app's services and
to RQ (retries, the urgent queue).
"""
from __future__ import annotations

import datetime as dt
import logging

from rq import get_current_job
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.escalations import notify as notify_mod
from ivr.escalations.mail import mail_config
from ivr.exceptions import SendFailed
from workers.runtime import services

log = logging.getLogger(__name__)


def notify(escalation_id: int, kind: str, level: int) -> list[int]:
    """Create the notifications of one kind at one roster level and enqueue sending each; returns their ids.

    A no-op once the escalation is claimed or resolved (a breach notice: once
    resolved).  When nobody on call can be reached at all, the next level is paged.
    """
    ql = services()
    db = ql.database.sessions
    practice = ql.flows.current().practice
    plan = notify_mod.plan(db, escalation_id, kind, level, ql.clock(), practice.tz,
                           email_enabled=mail_config(ql.settings) is not None)
    if plan.skipped:
        if plan.skipped in ("nobody on call", "no level left"):
            log.error("escalation %s: %s at level %s or above; nobody was told (%s)",
                      escalation_id, plan.skipped, level, kind)
        else:
            log.info("escalation %s: %s notification at level %s skipped (%s)", escalation_id, kind, level,
                     plan.skipped)
        return []
    for notification_id in plan.pending:
        ql.jobs.send_notification(notification_id, urgent=plan.urgent)
    if plan.rows == 0:
        # People are on call but none has a channel we can use: do not wait for failures that cannot come.
        log.warning("escalation %s: nobody at level %s has a usable channel", escalation_id, plan.level)
        _fail_over(escalation_id, kind, plan.level, plan.urgent)
    return list(plan.pending)


def send_notification(notification_id: int) -> str:
    """Send one notification once (see ``ivr.escalations.notify``); returns its outcome."""
    ql = services()
    db = ql.database.sessions
    now = ql.clock()
    out = notify_mod.claim(db, notification_id, now)
    if out is None:
        # Sent already, failed, or an e-mail a dead worker may have handed over: never send again.
        return "not pending"
    tz = ql.flows.current().practice.tz
    if out.recovering:
        recovered = _recover(db, out, ql.settings, now, tz)
        if recovered is not None:
            return recovered
    try:
        provider_id = notify_mod.deliver(out, ql.settings, mail_config(ql.settings), now, tz)
    except notify_mod.SendError as exc:
        error = str(exc)
        if exc.retryable and _retries_left() > 0:
            notify_mod.mark_retry(db, notification_id, error)
            log.warning("notification %s (%s) failed, will retry: %s", notification_id, out.channel, error)
            raise SendFailed(f"notification {notification_id} ({out.channel}): {error}") from None
        notify_mod.mark_failed(db, notification_id, error)
        log.error("notification %s (%s) failed: %s", notification_id, out.channel, error)
        failed_level = notify_mod.level_failed(db, notification_id)
        if failed_level is not None:
            escalation_id, kind, level = failed_level
            _fail_over(escalation_id, kind, level, out.priority == 0)
        return f"failed: {error}"
    notify_mod.mark_sent(db, notification_id, provider_id, ql.clock())
    return "sent"


def _fail_over(escalation_id: int, kind: str, level: int, urgent: bool) -> None:
    if level >= notify_mod.TOP_LEVEL:
        log.error("escalation %s: every %s notification up to level %s failed", escalation_id, kind, level)
        return
    log.warning("escalation %s: level %s could not be reached; paging level %s", escalation_id, level, level + 1)
    services().jobs.notify(escalation_id, kind, level + 1, urgent=urgent, failover=True)


def _recover(db: sessionmaker[Session], out: notify_mod.Outgoing, settings: Settings, now: dt.datetime,
             tz: dt.tzinfo) -> str | None:
    """A worker died while sending this text: find it at Twilio, wait for it, or (None) send it again."""
    try:
        outcome, sid = notify_mod.recover_sms(out, settings, now, tz)
    except notify_mod.SendError as exc:
        outcome, sid = notify_mod.Recovery.IN_FLIGHT, None
        log.warning("notification %s: could not ask Twilio about it: %s", out.notification_id, exc)
    if outcome is notify_mod.Recovery.FOUND:
        notify_mod.mark_sent(db, out.notification_id, sid, now)
        log.info("notification %s: a worker died after Twilio took it; recorded as sent", out.notification_id)
        return "sent before the worker died"
    if outcome is notify_mod.Recovery.IN_FLIGHT:
        if _retries_left() > 0:
            raise SendFailed(f"notification {out.notification_id}: the last attempt may still reach Twilio")
        log.error("notification %s: left unsent; it may still have reached Twilio", out.notification_id)
        return "not pending"
    notify_mod.reclaim(db, out.notification_id, now)
    log.warning("notification %s: a worker died before Twilio took it; sending it again", out.notification_id)
    return None


def _retries_left() -> int:
    """How many more times RQ will run this job (0 on the last try, or when called outside RQ)."""
    job = get_current_job()
    return int(job.retries_left or 0) if job is not None else 0
