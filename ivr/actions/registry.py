"""The registry of built-in actions a flow's ``action`` step may name.

Flows refer to actions by name only; the names, their declared outcomes and
their code live here.  The loader checks names and outcomes against
:meth:`Registry.outcomes`; the webhook edge runs them through
:meth:`Registry.run` with whatever services the app wired in.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ivr.core import effects as fx
from ivr.core.call_state import CallSession
from ivr.core.flow import FlowSet
from ivr.exceptions import UnknownAction
from ivr.practice.data import PracticeData


@dataclass(frozen=True)
class ActionResult:
    outcome: str
    updates: Mapping[str, Any] = field(default_factory=dict)
    # Side effects (texts, escalations) carried out once the call's new state is stored.
    effects: tuple[fx.Effect, ...] = ()


# The recent outbound touch of a verified client (client id, now) → what ``vars.touch`` holds of it, or None: how a
# returned call from another phone finds the follow-up it continues (``ivr.contact`` provides it; actions cannot
# import that layer).
TouchLookup = Callable[[str, dt.datetime], "dict[str, Any] | None"]


@dataclass(frozen=True)
class ContactHooks:
    """What the outbound conversation's actions ask of ``ivr.contact`` (a layer they cannot import)."""

    # (number, source, now): never call that number again (a person on the line asked: "don't call me again").
    stop_calls: Callable[[str, str, dt.datetime], None]


@dataclass(frozen=True)
class ActionSignature:
    """What the flow checker knows of an action."""

    outcomes: tuple[str, ...]
    discloses: bool = False  # reveals client information: only for verified callers
    verified_outcome: str | None = None  # the outcome that proves the caller is who they say


@dataclass(frozen=True)
class ActionContext:
    """What an action may read: the call, the flows and practice settings, the clock, and the practice's data."""

    session: CallSession  # a copy: actions return updates instead of mutating
    flows: FlowSet
    now: dt.datetime
    # The practice database (ivr.practice.data); None where an installation runs without one.
    practice: PracticeData | None = None
    # The verified client's recent outbound touch (ivr.contact wires it); None where there is none to look up.
    touches: TouchLookup | None = None
    # The outbound rules' answers and records (ivr.contact wires them); None where there are none.
    contact: ContactHooks | None = None


ActionFn = Callable[[ActionContext, Mapping[str, Any]], ActionResult]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    outcomes: tuple[str, ...]
    run: ActionFn
    description: str = ""
    discloses: bool = False
    verified_outcome: str | None = None


class Registry:
    """Names → declared outcomes and code.  Built once per app; never filled from YAML."""

    def __init__(self, specs: list[ActionSpec] | None = None):
        self._specs: dict[str, ActionSpec] = {}
        for spec in specs or []:
            self.register(spec)

    def register(self, spec: ActionSpec) -> None:
        """Add an action; a second action with the same name is a programming error."""
        if spec.name in self._specs:
            raise ValueError(f"action {spec.name!r} registered twice")
        self._specs[spec.name] = spec

    def outcomes(self) -> dict[str, tuple[str, ...]]:
        """Every action name with its declared outcomes."""
        return {name: spec.outcomes for name, spec in self._specs.items()}

    def signatures(self) -> dict[str, ActionSignature]:
        """What the loader checks flows against: outcomes, disclosure and verification."""
        return {name: ActionSignature(spec.outcomes, spec.discloses, spec.verified_outcome)
                for name, spec in self._specs.items()}

    def describe(self) -> dict[str, str]:
        """Action name → one-line description, for docs and ``flows actions``."""
        return {name: spec.description for name, spec in self._specs.items()}

    def run(self, name: str, ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
        """Run an action and check it answered with an outcome it declared."""
        spec = self._specs.get(name)
        if spec is None:
            raise UnknownAction(name)
        result = spec.run(ctx, params)
        if result.outcome not in spec.outcomes:
            raise UnknownAction(f"{name} returned undeclared outcome {result.outcome!r}")
        return result
