"""One webhook's worth of call handling, between the engine and the edges.

``advance`` runs the pure engine and executes the built-in actions it asks for
in-process (feeding their outcomes back); ``CallHandler.handle`` adds what
needs I/O: the session load and compare-and-set save, TwiML rendering, and
enqueueing the side effects once the new state is stored.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from . import effects as fx
from . import callers, engine, twiml
from .builtin_actions import ActionContext, Registry
from .callstate import CallSession
from .events import ActionDone, CallEnded, CallStarted, Event
from .flow import FlowSet
from .flowstore import FlowStore
from .jobs import JobQueue
from .sessions import SessionStore

log = logging.getLogger(__name__)
MAX_ACTIONS_PER_REQUEST = 20


def advance(flows: FlowSet, registry: Registry, session: CallSession, event: Event, env: engine.StepEnv,
            services: Mapping[str, Any] | None = None) -> tuple[CallSession, list[fx.Effect]]:
    """Step the engine, running any built-in actions it invokes, until it waits on the caller."""
    collected: list[fx.Effect] = []
    for _ in range(MAX_ACTIONS_PER_REQUEST):
        session, out = engine.step(flows, session, event, env)
        if not out or not isinstance(out[-1], fx.Invoke):
            return session, collected + out
        collected += out[:-1]
        invoke = out[-1]
        result = registry.run(invoke.name, ActionContext(session.copy(), flows, env.now, services or {}),
                              invoke.params)
        collected += list(result.effects)
        event = ActionDone(result.outcome, dict(result.updates))
    # Actions calling actions without ever waiting for the caller: a loop in the flow.
    session, out = engine.end_politely(flows, session, env)
    return session, collected + out


@dataclass
class CallHandler:
    """Everything a webhook needs, wired once by create_app."""

    sessions: SessionStore
    jobs: JobQueue
    flows: FlowStore
    registry: Registry
    url_for: Callable[[str, int | None], str]  # (endpoint name, turn) → absolute URL
    clock: Callable[[], dt.datetime]
    max_steps: int = 200
    max_call_seconds: int = 3600
    action_services: dict[str, Any] = field(default_factory=dict)
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

    def handle(self, call_sid: str, from_number: str | None, turn: int, event: Event) -> str:
        """Answer one voice webhook with TwiML; a retried turn gets the same answer, and no second side effect.

        ``from_number`` is Twilio's raw ``From``; it is normalised only when the call's session starts.
        """
        session = self.sessions.load(call_sid)
        if session is None:
            # A call we have never seen (or whose session expired): start it from the top.
            caller = callers.normalise(from_number, self.flows.current().practice.phone_region)
            session = engine.new_session(call_sid, caller, self.clock())
            expected, answered, event = -1, turn, CallStarted()
        elif isinstance(event, CallStarted) or turn < session.turn:
            cached = self.sessions.answered(call_sid, turn)
            if cached is not None:
                log.info("call %s: replay of turn %s answered from cache", call_sid, turn)
                return cached
            expected, answered = session.turn, session.turn
        else:
            expected, answered = session.turn, session.turn
        flows = self.flows.current()
        new, out = advance(flows, self.registry, session, event, self.env(), self.action_services)
        new.turn = session.turn + 1 if expected >= 0 else 1
        xml = twiml.render(out, self.urls(new.turn))
        if not self.sessions.save(new, expected, answered, xml):
            cached = self.sessions.answered(call_sid, answered)
            log.info("call %s: lost a race for turn %s", call_sid, answered)
            return cached if cached is not None else twiml.hangup()
        self._side_effects(new, answered, out)
        log.info("call %s turn %s: %s → %s.%s", call_sid, answered, type(event).__name__, new.flow, new.step)
        return xml

    def end(self, call_sid: str, status: str) -> None:
        """Twilio's status callback: the call is over."""
        for _ in range(3):
            session = self.sessions.load(call_sid)
            if session is None or session.ended:
                return
            new, _ = engine.step(self.flows.current(), session, CallEnded(status), self.env())
            new.turn = session.turn + 1
            if self.sessions.save(new, session.turn, session.turn, ""):
                log.info("call %s ended: %s after %s steps", call_sid, status, new.steps_taken)
                return

    def _side_effects(self, session: CallSession, turn: int, out: list[fx.Effect]) -> None:
        for index, effect in enumerate(out):
            if isinstance(effect, fx.Escalate):
                self.jobs.escalate(session.call_sid, effect.reason, effect.priority)
            elif isinstance(effect, fx.SendSms):
                self.jobs.send_sms(f"{session.call_sid}-{turn}-{index}", effect.to, effect.body)
