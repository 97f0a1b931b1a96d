"""What the engine asks the edges to do, as plain values.

Voice effects become TwiML (``ivr.telephony.twiml``); ``Invoke`` is run by the call
runner in-process and fed back to the engine; the rest become RQ jobs.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Say:
    text: str
    voice: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Play:
    url: str


@dataclass(frozen=True)
class Gather:
    """Wait for keys and/or speech; prompts play inside the gather so callers may barge in."""

    prompts: tuple[Say | Play, ...]
    num_digits: int | None = None
    finish_on_key: str | None = None
    speech: bool = True
    hints: tuple[str, ...] = ()
    timeout: int = 6
    language: str | None = None


@dataclass(frozen=True)
class Record:
    max_length: int


@dataclass(frozen=True)
class Dial:
    numbers: tuple[str, ...]
    timeout: int


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Pay:
    """Collect a card with Twilio <Pay> and tokenise it (charge 0)."""

    connector: str
    description: str
    timeout: int = 10
    max_attempts: int = 2


@dataclass(frozen=True)
class Invoke:
    """Run a built-in action now and step the engine again with its outcome."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendSms:
    to: str
    body: str


@dataclass(frozen=True)
class Escalate:
    """Hand the call to staff.  ``priority`` is ``ivr.core.priority.Priority`` once the engine has decided it
    (a plain word only in what an action asks for; the engine decides before the edge sees it)."""

    reason: str
    priority: str


VoiceEffect = Say | Play | Gather | Record | Dial | Hangup | Pay
Effect = Say | Play | Gather | Record | Dial | Hangup | Pay | Invoke | SendSms | Escalate
VOICE_TYPES = (Say, Play, Gather, Record, Dial, Hangup, Pay)
