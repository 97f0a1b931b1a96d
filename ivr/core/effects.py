"""What the engine asks the edges to do, as plain values.

Voice effects become TwiML (``ivr.telephony.twiml``); ``Invoke`` is run by the call
runner in-process and fed back to the engine; the rest become RQ jobs.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Say:
    text: str
    voice: str | None = None
    language: str | None = None
    # Heard to the end whatever the caller says: before a <Gather> it plays in a keypad-only one (Twilio's
    # bargeIn stops the prompts on speech only where speech is listened for), so a key still acts at once.
    # Set for the emergency guidance (``engine.step``), which speech must never cut off.
    keys_only: bool = False


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
    # Twilio's speechModel (None: Twilio's default) and enhanced (its premium phone_call model),
    # chosen per kind of answer by ivr.core.spoken_values.gather_hints.
    speech_model: str | None = None
    enhanced: bool = False
    # A prompt before a verb that takes no keys itself (a <Record>): with no key pressed, Twilio goes on to
    # the next verb (actionOnEmptyResult unset); a key posts to the gather action.  See ``prompt_keys``.
    falls_through: bool = False
    # The keypad-only gather the emergency guidance plays in (the greeting, ``_keys_first``): a key pressed
    # there is posted with ``early=1``, so staff read "during the greeting" (bt14-s25 nit 6).
    early: bool = False


def prompt_keys() -> Gather:
    """The ``<Gather>`` a prompt before a ``Record`` plays in, so the keys it promises (crisis, a person)
    work before the beep: one key, keypad only, a short wait, and every key (``#`` too) posted as pressed."""
    return Gather((), num_digits=1, finish_on_key="", speech=False, timeout=1, falls_through=True)


@dataclass(frozen=True)
class Record:
    max_length: int
    # Keys that end the message (Twilio's finishOnKey); the key pressed comes back as RecordingFinished.digits.
    finish_on_key: str = "#"


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


def barge_in(effects: list[Effect]) -> list[Effect]:
    """Move what is said just before a ``Gather`` inside it, so the caller can answer (press 9) while hearing it.

    The greeting promises "press 9 at any time": outside the ``<Gather>`` Twilio would ignore the key.
    Effects that are not heard (``Invoke``, ``SendSms``, ``Escalate``) do not break the run and keep
    their places; anything else heard (a ``Record``, a ``Dial``) ends it.  A ``falls_through`` gather
    (:func:`prompt_keys`) left with nothing to play is dropped: there is no prompt to interrupt.
    Prompts up to the last ``keys_only`` one play in a keypad-only gather first (:func:`_keys_first`).
    """
    out: list[Effect] = []
    pending: list[int] = []  # indexes in ``out`` of the prompts waiting for a Gather
    for effect in effects:
        if isinstance(effect, (Say, Play)):
            pending.append(len(out))
            out.append(effect)
        elif isinstance(effect, Gather):
            prompts = tuple(e for i in pending if isinstance(e := out[i], (Say, Play)))
            out = [e for i, e in enumerate(out) if i not in set(pending)]
            gather = replace(effect, prompts=prompts + effect.prompts)
            out += [g for g in _keys_first(gather) if g.prompts or not g.falls_through]
            pending = []
        elif isinstance(effect, (Invoke, SendSms, Escalate)):
            out.append(effect)
        else:
            pending = []
            out.append(effect)
    return out


def _keys_first(gather: Gather) -> list[Gather]:
    """``gather`` split so that speech never cuts off a ``keys_only`` prompt: the prompts up to the last such one
    play in a keypad-only gather that takes the same keys (posted to the same action, so a key acts as it would
    at the prompt after it) and, with nothing pressed, falls through to ``gather`` with the rest.

    Twilio's ``bargeIn`` (default true) stops the prompts of a gather that listens for speech as soon as the
    caller speaks; a ``<Gather input="dtmf">`` is stopped by a key only.  With no input and no
    ``actionOnEmptyResult``, Twilio goes on to the next verb: the second gather, which takes speech too.
    """
    last = max((i for i, p in enumerate(gather.prompts) if isinstance(p, Say) and p.keys_only), default=-1)
    if last < 0 or not gather.speech:
        return [gather]
    # One key acts at once (timeout 1 s: a short pause before the rest); typed values keep their own timeout,
    # which Twilio also waits between keys.
    timeout = 1 if gather.num_digits == 1 else gather.timeout
    first = Gather(gather.prompts[:last + 1], num_digits=gather.num_digits, finish_on_key=gather.finish_on_key,
                   speech=False, timeout=timeout, falls_through=True, early=True)
    return [first, replace(gather, prompts=gather.prompts[last + 1:])]
