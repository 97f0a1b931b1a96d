"""Call sessions in Redis: one hash per CallSid, written only if nobody advanced it first.

Any web process may answer any webhook of a call, so nothing about a call lives
in process memory.  Each save is a compare-and-set on the call's turn counter:
when Twilio retries a request (or two arrive at once) exactly one of them
advances the call; the others get the answer the winner stored for that turn.

The same compare-and-set writes the call's **outbox**: the jobs its new state
promises (an escalation, a text), as ``outbox:<id>`` fields of the call's hash.
A process that dies after the save but before enqueueing them loses nothing: the
outbox is drained after the save, again on a replayed request, on the status
callback and by the reconciliation job (``ivr.calls.CallHandler.drain``).  The
fields live in the call's own hash, with its TTL, so whatever protects the call
record (its expiry, its encryption) covers them too; an entry is deleted as soon
as its job has it (an escalation) or has done it (a text).
"""
from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

from redis import Redis

from .callstate import CallSession

KEY_PREFIX = "ql:call:"
OUTBOX_FIELD = "outbox:"

# KEYS[1]=hash  ARGV: expected turn, new turn, state json, response field ('' = none), response, ttl seconds,
# then outbox field/value pairs.
_SAVE = """
local cur = redis.call('HGET', KEYS[1], 'turn')
if not cur then cur = '-1' end
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'turn', ARGV[2], 'state', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], ARGV[4], ARGV[5]) end
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
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

    def save(self, session: CallSession, expected_turn: int, answered_turn: int | None, response: str | None,
             outbox: Mapping[str, Mapping[str, Any]] | None = None) -> bool:
        """Store ``session``, the TwiML that answered ``answered_turn`` (None: no answer to keep) and the
        ``outbox`` entries (id → JSON-able dict), only if the call is still at ``expected_turn`` (-1 for a
        new call).  False means another request won the race, and nothing was written."""
        field = f"r{answered_turn}" if answered_turn is not None and response else ""
        args: list[Any] = [str(expected_turn), str(session.turn), session.to_json(), field, response or "", self.ttl]
        for entry_id, entry in (outbox or {}).items():
            args += [OUTBOX_FIELD + entry_id, json.dumps(entry, separators=(",", ":"))]
        return bool(self._save(keys=[self.key(session.call_sid)], args=args))

    def answered(self, call_sid: str, turn: int) -> str | None:
        """The TwiML we already returned for this turn of the call (to answer a retry identically)."""
        raw = self.redis.hget(self.key(call_sid), f"r{turn}")
        return raw.decode() if isinstance(raw, bytes) else raw

    # -- the outbox -------------------------------------------------------------------------------

    def outbox(self, call_sid: str) -> dict[str, dict[str, Any]]:
        """The call's pending outbox entries, id → entry (empty when none, or the call is unknown)."""
        entries: dict[str, dict[str, Any]] = {}
        for name, raw in self.redis.hscan_iter(self.key(call_sid), match=OUTBOX_FIELD + "*", count=500):
            name = name.decode() if isinstance(name, bytes) else name
            try:
                entries[name[len(OUTBOX_FIELD):]] = json.loads(raw)
            except ValueError:
                continue
        return entries

    def outbox_entry(self, call_sid: str, entry_id: str) -> dict[str, Any] | None:
        """One outbox entry, or None once it is done (or the call's record expired)."""
        raw = self.redis.hget(self.key(call_sid), OUTBOX_FIELD + entry_id)
        return json.loads(raw) if raw else None

    def outbox_done(self, call_sid: str, entry_id: str) -> None:
        """Forget an entry whose job has it (or has done it)."""
        self.redis.hdel(self.key(call_sid), OUTBOX_FIELD + entry_id)

    def call_sids(self, count: int = 500) -> Iterator[str]:
        """Every call with a record in Redis (SCAN: never blocks the server)."""
        for key in self.redis.scan_iter(match=KEY_PREFIX + "*", count=count):
            yield (key.decode() if isinstance(key, bytes) else key)[len(KEY_PREFIX):]
