"""Follow-ups and reminders (``ivr.contact``): the planning pass and the send job, ids only in payloads.

``plan_touches`` runs every minute through RQ's scheduler (each run schedules the next, job id
``outbound-plan-<epoch seconds>`` on a grid so every worker names the same instant) and at once after
any appointment change or reply (``outbound-plan-now-<n>``).  It schedules ``send_touch(row id)`` for
each planned touch under the touch's own job id (``Touch.job_id``), at its due time.

``send_touch`` re-checks, claims and sends (``ivr.contact.sending``); a ``SendError`` (Twilio away, or a
dead worker's request that may still arrive) makes RQ retry it with backoff (``ivr.jobs.enqueue.TOUCH_RETRY``).
"""
from __future__ import annotations

import logging

from ivr.contact import callbacks
from workers.runtime import services

log = logging.getLogger(__name__)


def ensure_scheduled(ql) -> None:
    """Schedule the next minute's pass unless it is already (for a worker starting up)."""
    ql.outbound.ensure_scheduled()


def plan_touches() -> dict[str, int] | None:
    """One planning pass (and the next one scheduled); counts, None when there was nothing to do."""
    ql = services()
    ql.outbound.ensure_scheduled()
    # Calls whose status callback never came: their outcome from Twilio first, so this pass plans on it.
    callbacks.sweep_stale_calls(ql, ql.clock())
    return ql.outbound.plan_pass()


def send_touch(row_id: int) -> str:
    """Make the touch of ``outbound_touches`` row ``row_id`` if it may still go; what happened."""
    return services().outbound.send(row_id)
