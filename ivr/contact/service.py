"""``Outbound``: the outbound side of one installation (``Services.outbound``), used by the jobs and webhooks.

* ``plan_pass``: the planner over the database (every minute, and after any appointment change), recorded
  in ``outbound_touches`` and scheduled on RQ, one job per touch under the touch's own job id;
* ``send``: one touch (``ivr.contact.sending``), and a follow-up's staff task handed to staff;
* the callbacks and replies (``ivr.contact.callbacks``, ``ivr.contact.replies``) use ``rules()`` and ``urls``.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.contact import changes, conversation, replies, sending, touches
from ivr.contact.facts import clinician_names, load_facts
from ivr.contact.models import CallOptOut, OutboundTouch, ReplyMeaning, TouchState
from ivr.contact.rules_store import OutboundRulesStore
from ivr.contact.undeliverable import NumberHasher
from ivr.core.call_state import CallSession
from ivr.core.escalation_policy import decide_priority
from ivr.core.spoken_output import written_datetime
from ivr.db.database import Database
from ivr.encryption import RecordCipher
from ivr.escalations.create import build_escalation
from ivr.escalations.models import Escalation
from ivr.flowlang.store import FlowStore
from ivr.jobs.enqueue import Jobs
from ivr.outbound.planner import SkipReason, Touch, is_held_task, not_sent_why, plan, reach_back, recheck
from ivr.outbound.rules import OutboundRules, Trigger
from ivr.outbound.wording import local_time
from ivr.outbound.zones import client_zones, is_allowed
from ivr.practice.models import APPOINTMENTS_CHANGED
from ivr.telephony import twiml
from ivr.telephony.call_handler import CallStart
from ivr.telephony.urls import public_url

log = logging.getLogger(__name__)

PLAN_EVERY_SECONDS = 60
LOCK_KEY = "ql:outbound:plan-lock"
LOCK_SECONDS = 300
LAST_PASS_KEY = "ql:outbound:last-pass"  # epoch seconds of the last pass that finished (no PHI)
MAX_HISTORY = dt.timedelta(days=7)
MIN_HISTORY = dt.timedelta(minutes=1)
# Staff tasks (escalations) outbound work raises; the reasons are category aliases (ivr.core.escalation_policy).
FOLLOW_UP_TASK = "follow_up_task"
HELD_BY_LIMIT = "held_by_limit"  # a touch the per-client limits held back that could not wait
NOT_SENT = "not_sent"  # a reminder that found its window closed, a correction with no channel left
TEXT_REPLY = "text_reply"
CHANGE_REQUEST = changes.CHANGE_REQUEST

# A call that named a touch it does not belong to: no flow, the edge hangs up.
REFUSED = CallStart("", {})

OUTBOUND_PATHS = {
    "message_status": "/twilio/outbound/message-status",
    # The answered call's TwiML comes from the voice webhook, the touch named by its opaque job id
    # (ivr.contact.conversation): the conversation runs on the engine like any call.
    "call_answer": "/twilio/voice",
    "call_status": "/twilio/outbound/call-status",
    "amd_status": "/twilio/outbound/amd",
}


def next_run(now: dt.datetime, every_seconds: int = PLAN_EVERY_SECONDS) -> dt.datetime:
    """The next multiple of ``every_seconds`` after ``now``: the same instant for every worker."""
    every = max(1, int(every_seconds))
    return dt.datetime.fromtimestamp((int(now.timestamp()) // every + 1) * every, dt.UTC)


NUMBER_LOCK_PREFIX = "ql:outbound:number-lock:"
# A shared number's touch that waits for the number's next day (``sending.Sent.DEFERRED``): touch row id → epoch
# seconds of the instant it waits for (ids and times only, no PHI).  Planning passes schedule its job then instead of
# re-sending it every minute; the key outlives any window the planner gives a touch, then Redis drops it.
DEFERRED_PREFIX = "ql:outbound:deferred:"
DEFERRED_KEEP_SECONDS = 8 * 24 * 3600


class Outbound:
    """Follow-ups and reminders for one installation (see the module docstring)."""

    def __init__(self, settings: Settings, database: Database, flows: FlowStore, jobs: Jobs, redis: Any,
                 clock: Callable[[], dt.datetime]):
        self.settings = settings
        self.database = database
        self.flows = flows
        self.jobs = jobs
        self.redis = redis
        self.clock = clock
        self.rules_store = OutboundRulesStore(flows, self._clinician_names)
        self.cipher = RecordCipher.from_setting(settings.data_key) if settings.data_key else None
        self.hasher = NumberHasher.from_setting(settings.data_key)  # undeliverable numbers, never in clear
        base = settings.public_base_url
        self.urls = sending.Urls(**{name: base + path for name, path in OUTBOUND_PATHS.items()})
        # Any commit that changed an appointment re-plans at once (the minute's pass would, within 60 s).
        event.listen(database.sessions, "after_commit", self._after_commit)

    def _clinician_names(self) -> tuple[str, ...]:
        with self.database.sessions() as db:
            return clinician_names(db)

    def rules(self) -> OutboundRules | None:
        """The last good outbound rules (None: no outbound.yaml, nothing is sent)."""
        return self.rules_store.current()

    def _after_commit(self, session: Session) -> None:
        if not session.info.pop(APPOINTMENTS_CHANGED, False):
            return
        try:
            self.jobs.plan_outbound_now()
        except Exception:  # never fail the change itself: the minute's pass re-plans anyway
            log.warning("could not enqueue the outbound planning pass after an appointment change", exc_info=True)

    # ------------------------------------------------------------------ planning

    def ensure_scheduled(self) -> None:
        """Schedule the next minute's pass (a worker starting, and every pass)."""
        self.jobs.schedule_outbound_plan(next_run(self.clock()))

    def plan_pass(self) -> dict[str, int] | None:
        """One planning pass over every client; counts, or None when another pass holds the lock or
        there are no rules.  Planned touches are scheduled at their ``due`` (now when due), touches no
        longer planned cancelled, skipped ones recorded."""
        now = self.clock()
        rules = self.rules()
        if rules is None:
            return None
        if not self.redis.set(LOCK_KEY, "1", nx=True, ex=LOCK_SECONDS):
            return None
        try:
            last = self.redis.get(LAST_PASS_KEY)
            since = now - dt.datetime.fromtimestamp(int(last), dt.UTC) if last else MIN_HISTORY
            history = min(MAX_HISTORY, max(MIN_HISTORY, since))
            with self.database.sessions() as db:
                # Only the appointments a pass can still act on (it plans the same as over all of them).
                facts = load_facts(db, since=reach_back(rules, now, history=history), hasher=self.hasher)
            planned = plan(facts, rules, now, history=history)
            record = touches.record_plan(self.database.sessions, planned, rules.version, now,
                                         why_gone=lambda gone: self._why_gone(gone, rules, now),
                                         waits=lambda row_ids: self._deferred(row_ids, now))
            for job_id in record.cancelled_jobs:
                self.jobs.cancel(job_id)
            waits = self._deferred([row_id for row_id, _, due in record.schedule if due <= now], now)
            for row_id, job_id, due in record.schedule:
                at = max(due, waits.get(row_id, due))
                self.jobs.send_touch(row_id, job_id, None if at <= now else at)
            self.redis.set(LAST_PASS_KEY, int(now.timestamp()))
        finally:
            self.redis.delete(LOCK_KEY)
        self.escalate_unreached_changes(now)
        counts = {"inserted": record.inserted, "skipped": record.skipped, "cancelled": len(record.cancelled_jobs),
                  "moved": record.moved, "scheduled": len(record.schedule)}
        log.info("outbound planning pass: %s", counts)
        return counts

    def _why_gone(self, gone: Sequence[Touch], rules: OutboundRules, now: dt.datetime) -> dict[str, SkipReason | None]:
        """Why each planned touch the pass no longer plans is gone, re-checked on its clients' whole facts (not
        the pass's window: the touch's appointment may be older), read once for all of them."""
        with self.database.sessions() as db:
            facts = load_facts(db, clients={touch.client_id for touch in gone}, hasher=self.hasher)
        return {touch.id: recheck(touch, facts, rules, now)[1] for touch in gone}

    # ------------------------------------------------------------------ sending

    def send(self, row_id: int) -> str:
        """Make one touch (the send job); returns what happened (``sending.Sent``)."""
        result, row = sending.send(self.database.sessions, self.settings, self.rules(), self.urls, row_id,
                                   self.clock(), hasher=self.hasher, number_lock=self.number_lock,
                                   defer=self.defer)
        if result is sending.Sent.FAILED:
            self.plan_soon()  # refused for good: the next attempt or channel may go at once
        if result is sending.Sent.HELD and row is not None:
            # News for one client (a correction, a follow-up) the shared number's week could not take: staff are told.
            about = f"appointment {row.appointment_id}" if row.appointment_id else "no appointment"
            details = {"task": f"Not sent automatically (weekly_cap, shared number): {row.words or row.rule}, {about}. "
                               "Contact the client yourself.", "trigger": row.words or row.rule, "why": "weekly_cap"}
            if row.appointment_id:
                details["appointment_id"] = row.appointment_id
            self.staff_task(row.job_id, HELD_BY_LIMIT, row.client_id, details)
        if result is sending.Sent.STAFF_TASK and row is not None:
            if is_held_task(row.touch_id):
                # Held back by the per-client limits and it could not wait: staff make the contact themselves.
                # Or a reminder whose window closed before its job ran, a correction with no channel left: the
                # same task, its reason the skip's (late, undeliverable, opted_out…).
                why = not_sent_why(row.touch_id)
                details = {"task": row.task or "", "trigger": row.words or row.rule, "why": why or "limits"}
                if row.appointment_id:
                    details["appointment_id"] = row.appointment_id
                self.staff_task(row.job_id, NOT_SENT if why else HELD_BY_LIMIT, row.client_id, details)
            else:
                self.staff_task(row.job_id, FOLLOW_UP_TASK, row.client_id, {"task": row.task or ""})
            with self.database.sessions() as db, db.begin():
                found = db.get(OutboundTouch, row.id)
                if found is not None:
                    found.status, found.outcome_at = TouchState.DONE.value, self.clock()
        return result.value

    def defer(self, row_id: int, until: dt.datetime) -> None:
        """Remember that touch ``row_id`` waits until ``until`` (a shared number's next day): the next planning pass
        schedules its job for then, and the passes after it leave it there.  The row's ``due`` becomes ``until`` (what
        the client page and the dashboard show as its next due), and the passes leave it so (``record_plan``)."""
        self.redis.set(f"{DEFERRED_PREFIX}{row_id}", int(until.timestamp()), ex=DEFERRED_KEEP_SECONDS)
        with self.database.sessions() as db, db.begin():
            db.execute(update(OutboundTouch).where(OutboundTouch.id == row_id,
                                                   OutboundTouch.status == TouchState.PLANNED.value)
                       .values(due=until))

    def _deferred(self, row_ids: Sequence[int], now: dt.datetime) -> dict[int, dt.datetime]:
        """Of ``row_ids`` (touches due now), those waiting for a later instant (``defer``) → that instant, read in
        one round trip; waits that have come are forgotten."""
        if not row_ids:
            return {}
        keys = [f"{DEFERRED_PREFIX}{row_id}" for row_id in row_ids]
        out: dict[int, dt.datetime] = {}
        passed: list[str] = []
        for row_id, key, value in zip(row_ids, keys, self.redis.mget(keys), strict=True):
            if value is None:
                continue
            until = dt.datetime.fromtimestamp(int(value), dt.UTC)
            if until > now:
                out[row_id] = until
            else:
                passed.append(key)
        if passed:
            self.redis.delete(*passed)
        return out

    def number_lock(self, e164: str) -> Any:
        """A Redis lock on one number (keyed by its HMAC, never in clear) while its message is decided and claimed;
        redis-py's LockError after 30 s fails the job and RQ retries it."""
        return self.redis.lock(f"{NUMBER_LOCK_PREFIX}{self.hasher.digest(e164)[:32]}", timeout=60,
                               blocking_timeout=30)

    def staff_task(self, key: str, reason: str, client_id: str | None, details: dict[str, str] | None = None, *,
                   crisis_kind: str | None = None) -> int:
        """An escalation for staff, once per ``key`` (a touch's job id or a MessageSid) and reason, notified as any
        other (the escalate job finds the row and pages the roster).  Returns its id."""
        practice = self.flows.last_good.practice if self.flows.last_good is not None else None
        priority = decide_priority(practice, reason)
        with self.database.sessions() as db, db.begin():
            existing = db.query(Escalation.id).filter_by(call_sid=key, reason=reason).scalar()
            if existing is None:
                # The reason's policy decides the priority (a crisis text is urgent, an unsure one high).
                row = build_escalation(None, key, reason, priority, self.clock(), practice)
                row.client_id, row.details = client_id, details or None
                row.crisis_kind = crisis_kind  # a crisis text's kind ("text_in_danger"), never its words
                db.add(row)
                db.flush()
                existing = row.id
        self.jobs.escalate(key, reason, priority)  # urgent: the urgent queue, the crisis on-call paged
        return int(existing)

    def escalate_unreached_changes(self, now: dt.datetime) -> int:
        """A "change" reply whose correction call could not be placed or reached nobody: one ``change_request``
        task for staff (``ivr.contact.changes``).  Run by every planning pass (each callback about a call
        asks for one).  Returns how many tasks were raised."""
        with self.database.sessions() as db:
            found = changes.unreached(db, now)
        for item in found:
            details = {"reply": "change", "outcome": item.outcome}
            if item.appointment_id:
                details["appointment_id"] = item.appointment_id
            self.staff_task(item.key, CHANGE_REQUEST, item.client_id, details)
            log.info("change request %s: the correction call %s; a task for staff", item.key, item.outcome)
        return len(found)

    def is_pool_number(self, number: str | None) -> bool:
        """Whether ``number`` is one of the outbound numbers (texts to it are replies to follow-ups and reminders)."""
        return bool(number) and number in self.rules_store.numbers()

    def inbound_text(self, message_sid: str, from_: str, to: str | None, body: str | None,
                     opt_out_type: str | None) -> str:
        """A text to a pool number (``ivr.contact.replies``): recorded and acted on; the TwiML to answer with."""
        rules = self.rules()
        correction = rules is not None and Trigger.CORRECTION in rules.follow_ups
        now = self.clock()
        try:
            with self.database.sessions() as db, db.begin():
                handled = replies.handle(db, message_sid=message_sid, from_=from_, to=to, body=body,
                                         opt_out_type=opt_out_type, now=now, cipher=self.cipher,
                                         correction_enabled=correction)
        except IntegrityError:
            return twiml.sms_nothing()  # the same message twice at once: the other request answers it
        if not handled.new:
            return twiml.sms_nothing()
        log.info("reply to a pool number: %s", handled.meaning.value)
        if handled.staff_task:
            details = {"reply": handled.meaning.value}
            if handled.meaning in (ReplyMeaning.CRISIS, ReplyMeaning.UNSURE):
                details["crisis"] = handled.meaning.value  # the marker staff see (never the words)
            if handled.clients:
                details["clients"] = ", ".join(handled.clients)  # a family phone: every client who lists it
            self.staff_task(message_sid[:64], handled.staff_task, handled.client_id, details,
                            crisis_kind=handled.crisis_kind)
        reply = handled.reply
        if handled.correction_request is not None and handled.client_id and rules is not None:
            reply = self._change_in_quiet_hours(handled.correction_request, handled.client_id, rules, now) or reply
        self.plan_soon()
        return twiml.sms_reply(reply) if reply else twiml.sms_nothing()

    def _may_call(self, client_id: str, rules: OutboundRules, now: dt.datetime) -> tuple[bool, Any, str | None]:
        """Whether an automated call may reach ``client_id`` now (their quiet hours in their zone, the practice's
        closures), with the client's facts and first number."""
        with self.database.sessions() as db:
            facts = load_facts(db, clients=[client_id])
        person = next((c for c in facts.clients if c.id == client_id), None)
        practice = rules.practice
        phone = person.phones[0].e164 if person is not None and person.phones else None
        zones = client_zones(person.time_zone if person is not None else None, phone, practice.timezone)
        return is_allowed(now, zones, practice, rules.quiet_hours), person, phone

    def stop_calls(self, number: str, source: str, now: dt.datetime) -> None:
        """Never call ``number`` again (``call_opt_outs``, ``source``: ``voice`` when asked on a call); the pending
        calls to it are cancelled by the planning pass this asks for.  Idempotent: the first opt-out is kept."""
        e164 = number.strip()  # as Twilio gives it (E.164), as the touches' numbers are stored
        try:
            with self.database.sessions() as db, db.begin():
                if db.get(CallOptOut, e164) is None:
                    db.add(CallOptOut(e164=e164, source=source[:20], since=now))
        except IntegrityError:
            pass  # recorded at the same moment by another request
        log.info("a number asked not to be called again (%s)", source)
        self.plan_soon()

    def _change_in_quiet_hours(self, request_id: int, client_id: str, rules: OutboundRules,
                               now: dt.datetime) -> str | None:
        """A change asked for when the client may not be called (their quiet hours, a closure): the correction
        call would wait for the morning, so staff get the ``change_request`` task at once (the key the failed
        call's task would have: never two) and the client is told by when a person will be in touch.  None when
        the call may go now."""
        allowed, person, phone = self._may_call(client_id, rules, now)
        if allowed:
            return None
        practice = rules.practice
        task = self.staff_task(changes.task_key(request_id), changes.CHANGE_REQUEST, client_id,
                               {"reply": "change", "outcome": "quiet_hours"})
        with self.database.sessions() as db:
            deadline = db.get(Escalation, task).deadline_at
        if deadline is None:
            return None
        local, zone = local_time(deadline, person.time_zone if person is not None else None, practice.timezone,
                                 phone)
        when = written_datetime(local) + (f" {zone}" if zone else "")
        return replies.CHANGE_QUIET_REPLY.format(when=when)

    # ------------------------------------------------------------------ conversations

    def call_start(self, *, touch: str | None, call_sid: str, to: str | None, from_: str | None) -> CallStart | None:
        """How a new call's session starts when it is an outbound conversation (``touch``: the job id in an
        answered call's URL) or a call to a pool number (``to``); None: an ordinary inbound call.  An
        answered call whose touch does not match is refused (``CallStart`` of no flow: hang up)."""
        if touch:
            return conversation.for_touch(self, touch, call_sid) or REFUSED
        if self.is_pool_number(to):
            return conversation.for_return(self, str(to), from_)
        return None

    def recent_touch(self, client_id: str, now: dt.datetime) -> dict[str, Any] | None:
        """The verified client's latest touch a returned call may continue (``conversation.recent_of_client``)."""
        return conversation.recent_of_client(self, client_id, now)

    def call_over(self, session: CallSession | None, call_sid: str) -> None:
        """An outbound call ended: its conversation onto the touch row (``ivr.contact.conversation.record``)."""
        conversation.record(self, session, call_sid, self.clock())

    def plan_soon(self) -> None:
        """Re-plan at once (a reply, an outcome: the next attempt or channel may go)."""
        try:
            self.jobs.plan_outbound_now()
        except Exception:
            log.warning("could not enqueue the outbound planning pass", exc_info=True)


def public_outbound_url(settings: Settings, name: str) -> str:
    """Absolute URL of an outbound callback route."""
    return settings.public_base_url + OUTBOUND_PATHS[name]


__all__ = ["Outbound", "public_url", "public_outbound_url"]
