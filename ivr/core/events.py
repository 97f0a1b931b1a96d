"""Input events: what happened on the call since the engine last spoke."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CallStarted:
    """A call reached us.  ``flow``: the flow it starts in (an outbound call answered, a pool number called
    back); empty for the practice's entry flow."""

    flow: str = ""


# A timeline entry before a step's entry: that key was pressed during the greeting (``Digits.early``).
DURING_GREETING = "keyed-during-greeting"


@dataclass(frozen=True)
class Digits:
    digits: str
    early: bool = False  # pressed while the greeting (the emergency guidance) played, before the prompt after it


@dataclass(frozen=True)
class Speech:
    text: str
    confidence: float


@dataclass(frozen=True)
class NoInput:
    pass


@dataclass(frozen=True)
class RecordingFinished:
    recording_sid: str | None
    duration: int
    # Known only after the call ended: the caller finished the message by hanging up.
    hung_up: bool = False
    # The key that ended the message (Twilio's Digits: "#", or "9"/"0" for the crisis path or a person).
    digits: str = ""


@dataclass(frozen=True)
class DialFinished:
    status: str  # Twilio's DialCallStatus: completed, answered, busy, no-answer, failed, canceled

    @property
    def answered(self) -> bool:
        return self.status in ("completed", "answered")


@dataclass(frozen=True)
class PaymentFinished:
    """Twilio <Pay> is done: a token and the card's public details, or a failure."""

    result: str  # Twilio's Result: success, too-many-failed-attempts, caller-interrupted-with-star, …
    token: str | None = None
    brand: str | None = None
    last4: str | None = None
    expiry: str | None = None  # MMYY

    @property
    def succeeded(self) -> bool:
        return self.result == "success" and bool(self.token)


@dataclass(frozen=True)
class ActionDone:
    outcome: str
    updates: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallEnded:
    status: str = "completed"


Event = (
    CallStarted | Digits | Speech | NoInput | RecordingFinished | DialFinished | PaymentFinished | ActionDone
    | CallEnded
)
# What a caller can answer a menu or an ask with.
Answer = Digits | Speech | NoInput
