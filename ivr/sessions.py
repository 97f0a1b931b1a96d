"""Call sessions in Redis: one hash per CallSid, written only if nobody advanced it first.

Any web process may answer any webhook of a call, so nothing about a call lives
in process memory.  Each save is a compare-and-set on the call's turn counter:
when Twilio retries a request (or two arrive at once) exactly one of them
advances the call; the others get the answer the winner stored for that turn.
"""
from __future__ import annotations

from redis import Redis

from .callstate import CallSession

KEY_PREFIX = "ql:call:"

# KEYS[1]=hash  ARGV: expected turn, new turn, state json, response field, response, ttl seconds
_SAVE = """
local cur = redis.call('HGET', KEYS[1], 'turn')
if not cur then cur = '-1' end
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'turn', ARGV[2], 'state', ARGV[3], ARGV[4], ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return 1
"""


class SessionStore:
    """Load and save CallSessions with a TTL; explicit connection, no globals."""

    def __init__(self, redis: Redis, ttl_seconds: int):
        self.redis = redis
        self.ttl = int(ttl_seconds)
        self._save = redis.register_script(_SAVE)

    @staticmethod
    def key(call_sid: str) -> str:
        return KEY_PREFIX + call_sid

    def load(self, call_sid: str) -> CallSession | None:
        """The call's current session, or None for a call we have not seen."""
        raw = self.redis.hget(self.key(call_sid), "state")
        return CallSession.from_json(raw) if raw else None

    def save(self, session: CallSession, expected_turn: int, answered_turn: int, response: str) -> bool:
        """Store ``session`` and the TwiML that answered ``answered_turn``, only if the call is still at
        ``expected_turn`` (-1 for a new call).  False means another request won the race."""
        ok = self._save(
            keys=[self.key(session.call_sid)],
            args=[str(expected_turn), str(session.turn), session.to_json(), f"r{answered_turn}", response, self.ttl],
        )
        return bool(ok)

    def answered(self, call_sid: str, turn: int) -> str | None:
        """The TwiML we already returned for this turn of the call (to answer a retry identically)."""
        raw = self.redis.hget(self.key(call_sid), f"r{turn}")
        return raw.decode() if isinstance(raw, bytes) else raw
