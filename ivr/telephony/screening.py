"""Screened transfers: a ``<Dial>`` counts as answered only when a person took the call.

A staff phone that goes to its own voicemail *answers* the call as far as the phone
network is concerned, and Twilio reports ``DialCallStatus=completed``: the caller would
be talking to a personal voicemail and nobody would learn of it.  So every transferred
number gets ``<Number url=…>``: Twilio runs that TwiML (``twiml.screen``, the whisper)
on the staff leg before connecting it, and only a key press (``/twilio/voice/screen/accept``)
records an acceptance here, keyed by the caller's CallSid (Twilio's ``ParentCallSid`` on
the staff leg) and the turn of the answer that dialled.  When the ``<Dial>`` ends, a
"completed" without that acceptance is treated as ``no-answer``, so the flow goes on to
voicemail and its escalation.  Twilio's status for a staff leg that hung up during the
whisper is not relied on either way.
"""
from __future__ import annotations

from redis import Redis

KEY_PREFIX = "ql:screen:"
ANSWERED = ("completed", "answered")


def _key(call_sid: str, turn: int) -> str:
    return f"{KEY_PREFIX}{call_sid}:{turn}"


def record_acceptance(redis: Redis, call_sid: str, turn: int, ttl_seconds: int) -> None:
    """A person on a staff phone pressed a key to take the transfer dialled at ``turn`` of ``call_sid``."""
    redis.set(_key(call_sid, turn), "1", ex=ttl_seconds)


def accepted(redis: Redis, call_sid: str, turn: int) -> bool:
    """Whether someone took the transfer dialled at ``turn`` of ``call_sid``."""
    return bool(redis.exists(_key(call_sid, turn)))


def dial_status(redis: Redis, call_sid: str, turn: int, status: str) -> str:
    """Twilio's DialCallStatus as the flow should see it: answered only when the screen was accepted."""
    if status in ANSWERED and not accepted(redis, call_sid, turn):
        return "no-answer"
    return status
