"""Call sessions in Redis: one hash per CallSid, written only if nobody advanced it first.

Any web process may answer any webhook of a call, so nothing about a call lives
in process memory.  Each save is a compare-and-set on the call's turn counter:
when Twilio retries a request (or two arrive at once) exactly one of them
advances the call; the others get the answer the winner stored for that turn.

The same compare-and-set writes the call's **outbox**: the jobs its new state
promises (an escalation, a text), as ``outbox:<id>`` fields of the call's hash.
A process that dies after the save but before enqueueing them loses nothing: the
outbox is drained after the save, again on a replayed request, on the status
callback and by the reconciliation job (``ivr.telephony.call_handler.CallHandler.drain``).  The
fields live in the call's own hash, with its TTL, so whatever protects the call
record (its expiry, its encryption) covers them too; an entry is deleted as soon
as its job has it (an escalation) or has done it (a text).

Every value but the turn is **encrypted** (``ivr.encryption``: AES-256-GCM, keys from
IVR_DATA_KEY) with the hash's key and the field's name as associated data, and the
turn too for the state: the state, the cached answers (``r<turn>``: TwiML that may
read out a first name and an appointment) and the outbox entries (a text's number
and body).  Only the turn, which the compare-and-set compares, is kept in clear.
The hash's fields are thus ``turn`` (clear), ``state``, ``r<turn>`` and
``outbox:<id>`` (sealed); a value that does not open raises CallRecordUnreadable.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from redis import Redis

from ivr.core.call_state import CallSession
from ivr.encryption import RecordCipher
from ivr.exceptions import CallRecordUnreadable

log = logging.getLogger(__name__)

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
# The same compare-and-set, answering with every outbox field/value pair of the hash after it (empty when none)
# behind a leading 1 (0: the race was lost): what a drain after the save reads, without a round trip of its own.
_SAVE_THEN_OUTBOX = _SAVE.replace("return 1\n", """local out = {1}
for _, name in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(name, 1, 7) == 'outbox:' then
    out[#out + 1] = name
    out[#out + 1] = redis.call('HGET', KEYS[1], name)
  end
end
return out
""")


class CallStore:
    """Load and save CallSessions with a TTL, sealed with ``cipher``; explicit connection, no globals."""

    def __init__(self, redis: Redis, ttl_seconds: int, cipher: RecordCipher):
        self.redis = redis
        self.ttl = int(ttl_seconds)
        self.cipher = cipher
        self._save = redis.register_script(_SAVE)
        self._save_then_outbox = redis.register_script(_SAVE_THEN_OUTBOX)

    @staticmethod
    def key(call_sid: str) -> str:
        return KEY_PREFIX + call_sid

    def _context(self, call_sid: str, field: str) -> bytes:
        """The associated data of one field: the value opens only in this call's hash, under this name."""
        return f"{KEY_PREFIX}{call_sid}\x00{field}".encode()

    def _seal(self, call_sid: str, field: str, value: str) -> bytes:
        return self.cipher.seal(value.encode(), self._context(call_sid, field))

    def _open(self, call_sid: str, field: str, sealed: bytes) -> str:
        label = field.split("\x00", 1)[0]  # the state's turn is part of its context, not of its name
        return self.cipher.open(sealed, self._context(call_sid, field), f"field {label!r} of call {call_sid}").decode()

    def load(self, call_sid: str) -> CallSession | None:
        """The call's current session, or None for a call we have not seen.

        Raises CallRecordUnreadable when the stored state does not decrypt (see ``ivr.encryption``).
        """
        turn, raw = self.redis.hmget(self.key(call_sid), ["turn", "state"])
        if not raw:
            return None
        return CallSession.from_json(self._open(call_sid, _state_field(turn), raw))

    def save(self, session: CallSession, expected_turn: int, answered_turn: int | None, response: str | None,
             outbox: Mapping[str, Mapping[str, Any]] | None = None) -> bool:
        """Store ``session``, the TwiML that answered ``answered_turn`` (None: no answer to keep) and the
        ``outbox`` entries (id → JSON-able dict), only if the call is still at ``expected_turn`` (-1 for a
        new call).  False means another request won the race, and nothing was written."""
        return bool(self._save(keys=[self.key(session.call_sid)],
                               args=self._save_args(session, expected_turn, answered_turn, response, outbox)))

    def save_then_outbox(self, session: CallSession, expected_turn: int,
                         outbox: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict[str, Any]] | None:
        """``save`` (with no answer to keep), in the same round trip reading every outbox entry the call then has
        (its older ones too), as ``outbox`` would; None when another request won the race."""
        sid = session.call_sid
        reply = self._save_then_outbox(keys=[self.key(sid)],
                                       args=self._save_args(session, expected_turn, None, None, outbox))
        if not reply:
            return None
        return self._entries(sid, zip(reply[1::2], reply[2::2], strict=True))

    def _save_args(self, session: CallSession, expected_turn: int, answered_turn: int | None, response: str | None,
                   outbox: Mapping[str, Mapping[str, Any]] | None) -> list[Any]:
        """ARGV of the compare-and-set script (see ``_SAVE``): every value sealed."""
        sid = session.call_sid
        field = f"r{answered_turn}" if answered_turn is not None and response else ""
        args: list[Any] = [str(expected_turn), str(session.turn),
                           self._seal(sid, _state_field(session.turn), session.to_json()), field,
                           self._seal(sid, field, response) if field and response else "", self.ttl]
        for entry_id, entry in (outbox or {}).items():
            name = OUTBOX_FIELD + entry_id
            args += [name, self._seal(sid, name, json.dumps(entry, separators=(",", ":")))]
        return args

    def answered(self, call_sid: str, turn: int) -> str | None:
        """The TwiML we already returned for this turn of the call (to answer a retry identically)."""
        field = f"r{turn}"
        raw = self.redis.hget(self.key(call_sid), field)
        return self._open(call_sid, field, raw) if raw else None

    # -- the outbox -------------------------------------------------------------------------------

    def outbox(self, call_sid: str) -> dict[str, dict[str, Any]]:
        """The call's pending outbox entries, id → entry (empty when none, or the call is unknown)."""
        return self._entries(call_sid, self.redis.hscan_iter(self.key(call_sid), match=OUTBOX_FIELD + "*", count=500))

    def _entries(self, call_sid: str, fields: Iterable[tuple[str | bytes, bytes]]) -> dict[str, dict[str, Any]]:
        """Outbox fields (name, sealed value) opened, id → entry; one that does not open is left out, logged."""
        entries: dict[str, dict[str, Any]] = {}
        for name, raw in fields:
            name = name.decode() if isinstance(name, bytes) else name
            try:
                entries[name[len(OUTBOX_FIELD):]] = json.loads(self._open(call_sid, name, raw))
            except ValueError:
                continue
            except CallRecordUnreadable as exc:
                # The others still go out; the reconciliation job escalates a call whose record does not open.
                log.error("%s", exc)
        return entries

    def outbox_entry(self, call_sid: str, entry_id: str) -> dict[str, Any] | None:
        """One outbox entry, or None once it is done (or the call's record expired).

        Raises CallRecordUnreadable when the entry does not decrypt."""
        name = OUTBOX_FIELD + entry_id
        raw = self.redis.hget(self.key(call_sid), name)
        return json.loads(self._open(call_sid, name, raw)) if raw else None

    def outbox_done(self, call_sid: str, entry_id: str) -> None:
        """Forget an entry whose job has it (or has done it)."""
        self.redis.hdel(self.key(call_sid), OUTBOX_FIELD + entry_id)

    def call_sids(self, count: int = 500) -> Iterator[str]:
        """Every call with a record in Redis (SCAN: never blocks the server)."""
        for key in self.redis.scan_iter(match=KEY_PREFIX + "*", count=count):
            yield (key.decode() if isinstance(key, bytes) else key)[len(KEY_PREFIX):]


def _state_field(turn: int | str | bytes | None) -> str:
    """The state's name in its associated data: bound to the turn stored beside it, so an older state
    put back (without its turn) does not open."""
    if isinstance(turn, bytes):
        turn = turn.decode()
    return f"state\x00{turn if turn is not None else ''}"
