"""Escalation jobs: a call the flows could not resolve, handed to staff, and kept from being forgotten.

``escalate`` (enqueued by the webhooks, ids only) creates the escalation once per
call and reason, tells level 1 of the roster now, and schedules with RQ's
scheduler, each under a deterministic job id:

* ``deadline − lead``: re-send to level 2 (the backup) if still unclaimed;
* ``deadline − lead/2``: re-send to level 3 (the owners) if still unclaimed;
* the deadline: ``check_breach`` records ``breached_at`` if unresolved and tells the owners.

(The lead is the category's ``reminder_lead_minutes``, capped at half the time to
the deadline: ``ivr.core.escalation_policy.reminder_schedule``.)  Every job checks the
escalation's state when it runs, so a claim or a resolution turns the rest into
no-ops.  Every step is idempotent, so a retried ``escalate`` that got partway
simply does the rest.
"""
from __future__ import annotations

import logging

from ivr.core import phone_numbers
from ivr.core.escalation_policy import policy_for, reminder_schedule
from ivr.escalations import notify as notify_mod
from ivr.escalations import recordings
from ivr.escalations.create import create_escalation, raised_to_crisis
from ivr.escalations.messages import BREACH, NEW, RAISED, REMINDER
from ivr.jobs.enqueue import breach_job_id, notify_job_id
from ivr.telephony import twilio_rest
from workers.runtime import services

log = logging.getLogger(__name__)


def escalate(call_sid: str, reason: str, priority: str = "normal") -> int:
    """Create (or find) the escalation of a call, notify level 1 and schedule the reminders; returns its id.

    ``priority`` is the one the core decided when the job was enqueued; it is stored as given.
    """
    ql = services()
    db = ql.database.sessions
    practice = ql.flows.current().practice
    now = ql.clock()
    escalation_id, created = create_escalation(db, ql.call_store, call_sid, reason, priority, now, practice,
                                               caller_lookup=lambda: _caller_at_twilio(call_sid))
    # A voicemail copied before this row existed is attached now (the copying job links it otherwise).
    recordings.link(db, call_sid)
    info = notify_mod.escalation_summary(db, escalation_id)
    assert info is not None
    urgent = info["priority"] == 0
    # Also when not created: a retry after a crash half-way must still enqueue what the first run did not.
    ql.jobs.notify(escalation_id, NEW, 1, urgent=urgent)
    if not created and urgent and raised_to_crisis(db, escalation_id):
        # The call's escalation became a crisis (its voicemail reads as one): the crisis on-call is paged, once
        # (one job id per escalation), as for a crisis escalated from the start.
        ql.jobs.notify(escalation_id, RAISED, 1, urgent=True)
    schedule_follow_ups(escalation_id)
    if not created:
        log.info("escalation %s already existed (a retried job, a replayed webhook, or a voicemail folded into it)",
                 escalation_id)
    return escalation_id


def schedule_follow_ups(escalation_id: int) -> int:
    """Schedule the escalation's reminders (levels 2 and 3) and breach check at the times its deadline and
    category give; ones already scheduled for other times (the deadline was brought forward, the priority
    raised) are moved. Returns how many were moved.

    A follow-up that already ran is not run again.
    """
    ql = services()
    info = notify_mod.escalation_summary(ql.database.sessions, escalation_id)
    if info is None:
        return 0
    urgent = info["priority"] == 0
    practice = ql.flows.current().practice
    plan = reminder_schedule(info["created_at"], info["deadline_at"],
                             policy_for(practice, info["category"]).reminder_lead)
    wanted = ((notify_job_id(escalation_id, REMINDER, 2), plan.level2_at,
               lambda: ql.jobs.notify(escalation_id, REMINDER, 2, urgent=urgent, at=plan.level2_at)),
              (notify_job_id(escalation_id, REMINDER, 3), plan.level3_at,
               lambda: ql.jobs.notify(escalation_id, REMINDER, 3, urgent=urgent, at=plan.level3_at)),
              (breach_job_id(escalation_id), plan.breach_at,
               lambda: ql.jobs.check_breach(escalation_id, plan.breach_at, urgent=urgent)))
    moved = 0
    for job_id, at, enqueue in wanted:
        scheduled = ql.jobs.scheduled_at(job_id)
        if scheduled is not None and abs((scheduled - at).total_seconds()) >= 1:
            ql.jobs.cancel(job_id)
            moved += 1
        enqueue()
    if moved:
        log.info("escalation %s: %d reminder(s) or breach check moved to its new deadline", escalation_id, moved)
    return moved


def _caller_at_twilio(call_sid: str) -> str | None:
    """Who made the call, from Twilio's record of it (for a voicemail with no session), in E.164."""
    ql = services()
    found = twilio_rest.call_status(twilio_rest.make_client(ql.settings), call_sid)
    if found is None or not found[1]:
        return None
    return phone_numbers.normalise(found[1], ql.flows.current().practice.phone_region)


def check_breach(escalation_id: int) -> bool:
    """At the deadline: record the breach of an unresolved escalation and tell the owners; True when recorded."""
    ql = services()
    db = ql.database.sessions
    if not notify_mod.record_breach(db, escalation_id, ql.clock()):
        return False
    info = notify_mod.escalation_summary(db, escalation_id)
    log.warning("escalation %s breached its deadline", escalation_id)
    ql.jobs.notify(escalation_id, BREACH, notify_mod.TOP_LEVEL, urgent=bool(info and info["priority"] == 0))
    return True
