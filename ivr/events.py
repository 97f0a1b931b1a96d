"""Input events: what happened on the call since the engine last spoke."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Union


@dataclass(frozen=True)
class CallStarted:
    pass


@dataclass(frozen=True)
class Digits:
    digits: str


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


@dataclass(frozen=True)
class DialFinished:
    status: str  # Twilio's DialCallStatus: completed, answered, busy, no-answer, failed, canceled

    @property
    def answered(self) -> bool:
        return self.status in ("completed", "answered")


@dataclass(frozen=True)
class ActionDone:
    outcome: str
    updates: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallEnded:
    status: str = "completed"


Event = Union[CallStarted, Digits, Speech, NoInput, RecordingFinished, DialFinished, ActionDone, CallEnded]
