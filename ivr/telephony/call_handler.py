"""One webhook's worth of call handling, between the engine and the edges.

``advance`` runs the pure engine and executes the built-in actions it asks for
in-process (feeding their outcomes back); ``CallHandler.handle`` adds what
needs I/O: the session load and compare-and-set save, TwiML rendering, and
the side effects.

Side effects go through the call's **outbox**: the jobs a new state promises (an
escalation, a text) are written into the call's Redis record by the same
compare-and-set that stores the state, then drained (enqueued as RQ jobs with
deterministic, unique ids).  A process that dies between the two leaves them in
the outbox, and the next drain (a replayed request, the status callback, the
reconciliation job) enqueues them; a second drain enqueues nothing twice.

A call that ends while the caller is leaving a message (Twilio's status callback
can come before the ``<Record>`` action and the recording) keeps waiting at the
voicemail step; whichever comes later, the late action or the copied recording,
takes the flow on past the step for what it hands to staff, so every order of
those callbacks ends in the same escalation.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from ivr.actions.registry import ActionContext, ContactHooks, Registry, TouchLookup
from ivr.core import effects as fx
from ivr.core import engine, phone_numbers
from ivr.core.call_state import CallSession, Waiting
from ivr.core.escalation_policy import VOICEMAIL, decide_priority
from ivr.core.events import ActionDone, CallEnded, CallStarted, Event, RecordingFinished
from ivr.core.flow import FlowSet
from ivr.core.priority import Priority
from ivr.exceptions import CallRecordUnreadable
from ivr.flowlang.store import FlowStore
from ivr.jobs.enqueue import Enqueued, Jobs
from ivr.practice.data import PracticeData
from ivr.telephony import twiml
from ivr.telephony.call_store import CallStore

log = logging.getLogger(__name__)
MAX_ACTIONS_PER_REQUEST = 20


def advance(flows: FlowSet, registry: Registry, session: CallSession, event: Event, env: engine.StepEnv,
            practice: PracticeData | None = None,
            touches: TouchLookup | None = None,
            contact: ContactHooks | None = None) -> tuple[CallSession, list[fx.Effect]]:
    """Step the engine, running any built-in actions it invokes, until it waits on the caller."""
    collected: list[fx.Effect] = []
    for _ in range(MAX_ACTIONS_PER_REQUEST):
        session, out = engine.step(flows, session, event, env)
        if not out or not isinstance(out[-1], fx.Invoke):
            return _keep_promises(flows, session, collected + out, env)
        collected += out[:-1]
        invoke = out[-1]
        result = registry.run(invoke.name, ActionContext(session.copy(), flows, env.now, practice, touches, contact),
                              invoke.params)
        session, adopted = engine.adopt(flows, session, result.effects, env)
        collected += adopted
        event = ActionDone(result.outcome, dict(result.updates))
    # Actions calling actions without ever waiting for the caller: a loop in the flow.
    session, out = engine.end_politely(flows, session, env)
    return _keep_promises(flows, session, collected + out, env)


def _keep_promises(flows: FlowSet, session: CallSession, effects: list[fx.Effect],
                   env: engine.StepEnv) -> tuple[CallSession, list[fx.Effect]]:
    """A callback promised during this webhook is escalated in this webhook's outbox; each crisis offer is worded for
    where it plays (``engine.offers_where_heard``)."""
    session, promised = engine.keep_promises(flows, session, env)
    # The crisis offer in the words that work where it is heard, across the actions run in this webhook.
    # No sentence heard twice in a row (engine.heard_once).
    return session, engine.heard_once(engine.offers_where_heard(effects + promised))


def outbox_entries(effects: list[fx.Effect], turn: int) -> dict[str, dict[str, Any]]:
    """The jobs ``effects`` ask for, as outbox entries (id → entry) for ``CallStore.save``.

    Escalations are one per call and reason (``escalate-<reason>``); a text is one per
    turn and position (``text-<turn>-<index>``), its number and body kept in the call's
    record until the text job has sent it.
    """
    entries: dict[str, dict[str, Any]] = {}
    for index, effect in enumerate(effects):
        if isinstance(effect, fx.Escalate):
            entries[f"escalate-{effect.reason}"] = {"kind": "escalate", "reason": effect.reason,
                                                    "priority": Priority.parse(effect.priority).value}
        elif isinstance(effect, fx.SendSms):
            entries[f"text-{turn}-{index}"] = {"kind": "sms", "to": effect.to, "body": effect.body}
    return entries


def _drain_order(item: tuple[str, dict[str, Any]]) -> tuple[int, int]:
    """Urgent escalations first, then the others, then texts."""
    entry = item[1]
    if entry.get("kind") == "escalate":
        return 0, Priority.parse(entry.get("priority")).rank
    return 1, 0


@dataclass(frozen=True)
class CallStart:
    """Where a new call starts other than the entry flow: the flow, and the variables it starts with."""

    flow: str
    vars: dict[str, Any]


@dataclass
class CallHandler:
    """Everything a webhook needs, wired once by create_app."""

    call_store: CallStore
    jobs: Jobs
    flows: FlowStore
    registry: Registry
    url_for: Callable[[str, int | None], str]  # (endpoint name, turn) → absolute URL
    clock: Callable[[], dt.datetime]
    max_steps: int = 200
    max_call_seconds: int = 3600
    practice: PracticeData | None = None  # what the practice actions read and write
    touches: TouchLookup | None = None  # a verified client's recent outbound touch (Services wires ivr.contact's)
    contact: ContactHooks | None = None  # the outbound rules' answers and records (Services wires ivr.contact's)
    # (roster category, now) → numbers on call; None: staff phones from practice.yaml only.
    on_call: Callable[[str, dt.datetime], Sequence[str]] | None = None

    def urls(self, turn: int) -> twiml.CallUrls:
        return twiml.CallUrls(
            gather=self.url_for("input", turn), no_input=self.url_for("timeout", turn),
            recorded=self.url_for("recorded", turn), recording_status=self.url_for("recording_status", None),
            dialed=self.url_for("dialed", turn), paid=self.url_for("paid", turn), audio=self.url_for("audio", None),
            screen=self.url_for("screen", turn),
        )

    def env(self) -> engine.StepEnv:
        now = self.clock()
        return engine.StepEnv(now=now, max_steps=self.max_steps, max_call_seconds=self.max_call_seconds,
                              on_call=self._on_call_at(now))

    def _on_call_at(self, now: dt.datetime) -> Callable[[str], Sequence[str]] | None:
        """The roster lookup for one request: asked at most once per category."""
        if self.on_call is None:
            return None
        lookup, found = self.on_call, {}

        def numbers(category: str) -> Sequence[str]:
            if category not in found:
                found[category] = tuple(lookup(category, now))
            return found[category]

        return numbers

    def handle(self, call_sid: str, from_number: str | None, turn: int, event: Event,
               start: CallStart | None = None) -> str:
        """Answer one voice webhook with TwiML; a retried turn gets the same answer, and no second side effect.

        ``from_number`` is Twilio's raw ``From`` (the far end: an outbound call's ``To``); it is normalised
        only when the call's session starts.  ``start``: the flow and variables a new session starts with
        (an outbound call answered, a pool number called back); the entry flow when None.
        A request for a call that has already ended is answered ``<Response><Hangup/></Response>``.
        """
        session = self.call_store.load(call_sid)
        if session is None:
            # A call we have never seen (or whose session expired): start it from the top.
            caller = phone_numbers.normalise(from_number, self.flows.current().practice.phone_region)
            session = engine.new_session(call_sid, caller, self.clock())
            if start is not None:
                session.vars.update(start.vars)
            expected, answered, event = -1, turn, CallStarted(start.flow if start is not None else "")
        elif isinstance(event, CallStarted) or turn < session.turn:
            cached = self.call_store.answered(call_sid, turn)
            if cached:
                log.info("call %s: replay of turn %s answered from cache", call_sid, turn)
                # The first answer's process may have died before enqueueing its jobs.
                self._drain_quietly(call_sid)
                return cached
            if session.ended:
                return self._after_end(session, event)
            expected, answered = session.turn, session.turn
        elif session.ended:
            return self._after_end(session, event)
        else:
            expected, answered = session.turn, session.turn
        flows = self.flows.current()
        with self._practice_unit() as practice:  # closed before Redis is written
            new, out = advance(flows, self.registry, session, event, self.env(), practice, self.touches,
                                   self.contact)
        new.turn = session.turn + 1 if expected >= 0 else 1
        xml = twiml.render(out, self.urls(new.turn))
        outbox = outbox_entries(out, answered)
        if not self.call_store.save(new, expected, answered, xml, outbox):
            cached = self.call_store.answered(call_sid, answered)
            log.info("call %s: lost a race for turn %s", call_sid, answered)
            return cached or twiml.hangup()
        self._drain_quietly(call_sid, outbox)
        log.info("call %s turn %s: %s → %s.%s", call_sid, answered, type(event).__name__, new.flow, new.step)
        return xml

    def end(self, call_sid: str, status: str) -> None:
        """Twilio's status callback (or the reconciliation job): the call is over.

        Keeps the call's promises (an escalation for each), drains its outbox, and is
        safe to repeat: a retried callback only drains what is left.
        """
        for _ in range(3):
            session = self.call_store.load(call_sid)
            if session is None:
                return
            new, out = engine.step(self.flows.current(), session, CallEnded(status), self.env())
            if session.ended and new == session:
                self._drain_quietly(call_sid)
                return
            new.turn = session.turn + 1
            # The save reads back the whole outbox (this step's entries and any a crash left) in its round trip.
            pending = self.call_store.save_then_outbox(new, session.turn, outbox_entries(out, new.turn))
            if pending is not None:
                log.info("call %s ended: %s after %s steps", call_sid, status, new.steps_taken)
                self._drain_quietly(call_sid, pending, again=True)
                return

    def recording_ready(self, call_sid: str, recording_sid: str) -> None:
        """A recording of the call is copied (or could not be): see that it reaches staff.

        * no record of the call (the fallback URL's voicemail, the apology given while
          Redis was down, or a record that expired or does not decrypt): a ``voicemail`` escalation;
        * the call ended while the caller was leaving it: the flow goes on past the
          voicemail step, as if the late ``<Record>`` action had come;
        * the call ended: it joins the call's escalation, or is a ``voicemail`` one if the call has none;
        * the call goes on: its own webhooks (and its end) hand it on.

        The caller of this (a job) must first check the database: a call that already
        has an escalation row needs only the link.
        """
        try:
            session = self.call_store.load(call_sid)
        except CallRecordUnreadable as exc:
            log.error("%s; the recording is handed on as a voicemail", exc)
            session = None
        if session is None:
            self.escalate_now(call_sid, VOICEMAIL)
            return
        if session.ended:
            self._settle_recording(session, RecordingFinished(recording_sid, 0, hung_up=True))

    def escalate_now(self, call_sid: str, reason: str, requested: Priority | str | None = None) -> Enqueued:
        """Hand a call to staff from the edge, where no session carries it (the apology, a text Twilio
        refused, a message Twilio would not give us), at the priority the core decides."""
        flows = self.flows.last_good
        return self.jobs.escalate(call_sid, reason,
                                  decide_priority(flows.practice if flows is not None else None, reason, requested))

    def drain(self, call_sid: str, entries: dict[str, dict[str, Any]] | None = None, *,
              again: bool | None = None) -> int:
        """Enqueue the jobs waiting in the call's outbox (``entries``, or what Redis holds); returns how many.

        An escalation's entry is deleted once RQ will run its job: in a queue or registry, not merely
        its hash (``Jobs`` looks, and enqueues again a job a half-written enqueue or a lost queue left
        stranded; an error keeps the entry). A text's stays (number and body) until its job has sent it.
        Enqueueing is unique per job id, so draining again is harmless. ``again``: the entries are what Redis
        holds (read with a save), as when None is given.
        """
        if again is None:
            again = entries is None  # what Redis holds: a drain has most likely enqueued it already
        if entries is None:
            entries = self.call_store.outbox(call_sid)
        for entry_id, entry in sorted(entries.items(), key=_drain_order):
            if entry.get("kind") == "escalate":
                self.jobs.escalate(call_sid, str(entry.get("reason")), entry.get("priority"))
                self.call_store.outbox_done(call_sid, entry_id)
            elif entry.get("kind") == "sms":
                # Drained again (the status callback, a replay, reconciliation), a text mostly has its job
                # already; ``Jobs`` still looks where RQ holds it, so one a half-written enqueue stranded
                # is enqueued again (a bare EXISTS would skip it for good).
                self.jobs.send_sms(call_sid, entry_id, again=again)
        return len(entries)

    def _practice_unit(self) -> AbstractContextManager[PracticeData | None]:
        """The practice's data for one webhook (or job): one database session for all its actions, opened only
        if one runs (``PracticeData.unit``)."""
        return self.practice.unit() if self.practice is not None else nullcontext()

    def _drain_quietly(self, call_sid: str, entries: dict[str, dict[str, Any]] | None = None, *,
                       again: bool | None = None) -> None:
        """Drain after the state is stored: a failure here loses nothing (the outbox keeps it), so the
        caller still gets the answer already stored."""
        if entries is not None and not entries:
            return
        try:
            self.drain(call_sid, entries, again=again)
        except Exception:
            log.warning("call %s: outbox kept for the next drain (enqueueing failed)", call_sid, exc_info=True)

    def _after_end(self, session: CallSession, event: Event) -> str:
        """A request after the call ended (a late ``<Record>`` action, a retry): ``<Hangup/>``.

        A late message still counts: it takes the flow on past the voicemail step, or joins the call's escalation.
        """
        if isinstance(event, RecordingFinished):
            late = RecordingFinished(event.recording_sid, event.duration, hung_up=True)
            try:
                self._settle_recording(session, late)
            except Exception:
                # The recording's own callback and the reconciliation job will still find it.
                log.exception("call %s: a late recording could not be handed on now", session.call_sid)
        return twiml.hangup()

    def _settle_recording(self, session: CallSession | None, event: RecordingFinished) -> None:
        """Hand a message that came after the call ended to the flow (or the call's escalation)."""
        for _ in range(3):
            if session is None or not session.ended:
                return
            flows = self.flows.current()
            # The call is over: how long ago it started no longer matters (a recording copied, or a
            # reconciliation run, may come long after); the step cap still stops a looping flow.
            env = dataclasses.replace(self.env(), max_call_seconds=10 ** 9)
            if session.waiting is Waiting.RECORDING:
                # The caller hung up to finish the message: go on from the voicemail step as Twilio's
                # action would have made us, keep what it hands to staff, and end the call again.
                resumed = session.copy()
                resumed.ended = False
                with self._practice_unit() as practice:
                    new, out = advance(flows, self.registry, resumed, event, env, practice, self.touches,
                                           self.contact)
                new, more = engine.step(flows, new, CallEnded(session.end_reason or "completed"), env)
                out = out + more
            else:
                new, out = engine.step(flows, session, event, env)
            if new == session:
                return
            new.turn = session.turn + 1
            entries = outbox_entries(out, new.turn)
            if self.call_store.save(new, session.turn, None, None, entries):
                log.info("call %s: a message left as the caller hung up was handed on", session.call_sid)
                self._drain_quietly(session.call_sid, entries)
                return
            session = self.call_store.load(session.call_sid)
