"""The state of one call between webhooks, as a plain value that round-trips through JSON."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

HISTORY_LIMIT = 200


class Waiting(str, Enum):
    """What the call is waiting for from Twilio."""

    NOTHING = "nothing"
    INPUT = "input"
    RECORDING = "recording"
    DIAL = "dial"
    ACTION = "action"
    PAYMENT = "payment"


@dataclass
class CallSession:
    call_sid: str
    caller: str | None  # E.164, or None when withheld or invalid
    started_at: str  # ISO 8601, aware
    flow: str = ""
    step: str = ""
    waiting: Waiting = Waiting.NOTHING
    attempts: int = 0
    dial_index: int = 0
    steps_taken: int = 0
    turn: int = 0  # webhooks answered so far; action URLs carry it so retries are recognised
    vars: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    ended: bool = False
    end_reason: str = ""
    # Reasons already handed to staff (each is one escalation) → the priority decided for it:
    # a promise or a voicemail is escalated once, and the reconciliation job checks each has its row.
    escalated: dict[str, str] = field(default_factory=dict)
    # The flow the call started at (the practice's entry flow, or an outbound call's own): its crisis and operator
    # keys hold in every flow the call reaches ("" for a call stored before it was kept: the practice's entry).
    entry: str = ""

    def copy(self) -> CallSession:
        """A deep-enough copy: the engine never mutates its input."""
        return dataclasses.replace(self, vars=dict(self.vars), history=list(self.history),
                                   escalated=dict(self.escalated))

    def note(self, entry: str) -> None:
        """Add to the call's timeline (steps and choices, never what the caller said)."""
        self.history.append(entry)
        if len(self.history) > HISTORY_LIMIT:
            del self.history[: len(self.history) - HISTORY_LIMIT]

    def to_json(self) -> str:
        # Field by field rather than dataclasses.asdict, which deep-copies every variable
        # first: this runs on every webhook, and json.dumps only reads.
        data = {f: getattr(self, f) for f in _FIELDS}
        data["waiting"] = self.waiting.value
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> CallSession:
        data = json.loads(text)
        data["waiting"] = Waiting(data.get("waiting", "nothing"))
        return cls(**{k: v for k, v in data.items() if k in _FIELDS})


_FIELDS = tuple(f.name for f in dataclasses.fields(CallSession))
