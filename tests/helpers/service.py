"""What the service under test is set up with: credentials, instants of the test clock, call records in Redis."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from redis import Redis

from ivr.dev.twilio_standin import TwilioStandin

ROOT = Path(__file__).resolve().parents[2]


TOKEN = "test-auth-token-0123456789abcdef"


ACCOUNT = "AC" + "a" * 32


PUBLIC = "https://ql.example.org"


# Monday 23 November 2026, 10:00 in New York: the demo practice is open.
OPEN_NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


# Monday 23 November 2026, 20:00 in New York: closed.
CLOSED_NOW = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)


# Thanksgiving 2026, 11:00 in New York.
HOLIDAY_NOW = dt.datetime(2026, 11, 26, 16, 0, tzinfo=dt.UTC)


# Call records in Redis are encrypted with it (ivr.encryption): every app and process the tests start reads it.
DATA_KEY = "dGVzdC1kYXRhLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE="
# Seals voicemails and transcripts (IVR_RECORDINGS_KEY).
RECORDINGS_KEY = "dGVzdC1yZWNvcmRpbmdzLWtleS0wMTIzNDU2Nzg5YWI="


# The demo practice's Alex Rivera (born April 15, 1985), and the emergency guidance the crisis path says first.
ALEX = "+15551230001"
CRISIS_GUIDANCE = (
    "If you are in danger or this is a medical emergency, hang up and dial 9 1 1 now. If you are thinking "
    "about suicide or are in crisis, you can call or text 9 8 8, the Suicide and Crisis Lifeline, at any time, "
    "day or night.")


def stored_state(redis_conn: Redis, call_sid: str) -> dict | None:
    """A call's state as Redis keeps it, decrypted with the tests' data key (None when there is none)."""
    import json

    from ivr.encryption import RecordCipher
    from ivr.telephony.call_store import CallStore

    session = CallStore(redis_conn, 60, RecordCipher.from_setting(DATA_KEY)).load(call_sid)
    return json.loads(session.to_json()) if session is not None else None


def store_state(redis_conn: Redis, state: dict) -> None:
    """Overwrite a call's stored state (same turn), encrypted as the app would."""
    from ivr.core.call_state import CallSession
    from ivr.encryption import RecordCipher
    from ivr.telephony.call_store import CallStore

    session = CallSession.from_json(__import__("json").dumps(state))
    assert CallStore(redis_conn, 14400, RecordCipher.from_setting(DATA_KEY)).save(
        session, session.turn, None, None)


class Clock:
    """A clock tests can set and advance."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def twilio_keeps_recordings(standin: TwilioStandin):
    """The simulator's ``on_recording``: Twilio keeps each message it records (a tone for its audio)."""
    from ivr.dev.simulator import tone_wav

    def keep(call_sid: str, recording_sid: str, seconds: int) -> None:
        # As long as Twilio says it is: the worker checks its copy's length against Twilio's.
        seconds = min(max(seconds, 1), 30)
        standin.add_recording(recording_sid, tone_wav(seconds), call_sid=call_sid, duration=seconds)

    return keep
