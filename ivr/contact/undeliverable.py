"""Numbers Twilio can never reach on a channel: flagged on a permanent error code, lifted by staff.

A permanent code on a touch (the API's refusal when sending, or a message or call status callback)
flags the number for that channel (``undeliverable_numbers``), cancels the number's pending touches on
that channel (``why_skipped`` ``undeliverable``), and from then on the planner sees the number as closed
on that channel (``ivr.contact.facts.load_facts``), so a reminder with a fallback goes by the other
channel.  Transient failures are not flagged: they are retried as before.

Twilio's meaning of each code (twilio.com/docs/api/errors):

* 21211 the 'To' number is not a valid phone number;
* 21214 the 'To' number cannot be reached (a call);
* 21408 sending to the number's region is not enabled on the account (lifted by staff once it is);
* 21612 the 'To' number is not currently reachable by SMS (no route);
* 21614 the 'To' number is not a mobile number (cannot take texts);
* 30004 message blocked (by the recipient or their carrier);
* 30005 unknown destination handset (the number does not exist);
* 30006 landline or unreachable carrier.

30003 (unreachable destination handset) is not a flag: Twilio describes it as often temporary (the phone
is off or out of signal), so it is retried like any transient failure.

21610 (the recipient texted STOP) is a flag too in Twilio's list, but here it is the number's text opt-out
(``ivr.practice.opt_outs``): START lifts it, as the carrier does, which a staff-lifted flag would not.

Numbers are stored as a keyed HMAC-SHA256 (the key derived from ``IVR_DATA_KEY``), never in clear; every
configured key is tried when looking a number up, so rotating the data key keeps the flags.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.contact.models import UndeliverableNumber
from ivr.contact.touches import cancel_pending
from ivr.encryption import parse_keys
from ivr.outbound.facts import Channel

PERMANENT_CODES: dict[str, str] = {
    "21211": "not a valid phone number",
    "21214": "cannot be reached by a call",
    "21408": "its region is not enabled on the Twilio account",
    "21612": "not reachable by text",
    "21614": "not a mobile number",
    "30004": "messages blocked",
    "30005": "unknown number",
    "30006": "landline or unreachable carrier",
}
WHY = "undeliverable"  # outbound_touches.why_skipped of the touches a flag cancelled
_CONTEXT = b"quietline undeliverable number\x00"


def is_permanent(code: str | int | None) -> bool:
    """Whether Twilio's error ``code`` means the number will never take this channel."""
    return code is not None and str(code).strip() in PERMANENT_CODES


class NumberHasher:
    """Keyed digests of E.164 numbers: ``digest`` (the first data key) to store, ``digests`` (every key) to look up."""

    def __init__(self, keys: Sequence[bytes]):
        # One keyed HMAC state per key, copied per number (a planning pass digests every client's numbers).
        self._macs = [hmac.new(hmac.new(key, _CONTEXT, hashlib.sha256).digest(), digestmod=hashlib.sha256)
                      for key in keys]

    @classmethod
    def from_setting(cls, data_key: str) -> NumberHasher:
        """From an ``IVR_DATA_KEY`` value (ConfigError when it is missing or malformed)."""
        return cls(parse_keys(data_key))

    def digests(self, e164: str) -> list[str]:
        out = []
        for mac in self._macs:
            one = mac.copy()
            one.update(e164.encode())
            out.append(one.hexdigest())
        return out

    def digest(self, e164: str) -> str:
        return self.digests(e164)[0]


def flag(db: Session, hasher: NumberHasher, e164: str, channel: Channel, code: str, now: dt.datetime, *,
         client_id: str | None, touch_job_id: str | None) -> list[str]:
    """Flag ``e164`` on ``channel`` (again, if staff had lifted it) and cancel its pending touches there.
    Returns the job ids of the touches cancelled (the caller cancels their RQ jobs after the commit)."""
    row = db.scalar(select(UndeliverableNumber).where(UndeliverableNumber.number_hash.in_(hasher.digests(e164)),
                                                      UndeliverableNumber.channel == channel.value))
    if row is None:
        db.add(UndeliverableNumber(number_hash=hasher.digest(e164), channel=channel.value, error_code=str(code)[:20],
                                   client_id=client_id, touch_job_id=touch_job_id, flagged_at=now))
    elif row.lifted_at is not None:
        row.error_code, row.client_id, row.touch_job_id = str(code)[:20], client_id, touch_job_id
        row.flagged_at, row.lifted_at, row.lifted_by = now, None, None
    return cancel_pending(db, to=e164, channel=channel, why=WHY, now=now)


def flagged(db: Session, hasher: NumberHasher, numbers: Iterable[str]) -> dict[str, set[str]]:
    """Channel → the numbers of ``numbers`` flagged (not lifted) on it."""
    by_digest: dict[str, str] = {}
    for number in set(numbers):
        for digest in hasher.digests(number):
            by_digest[digest] = number
    out: dict[str, set[str]] = {Channel.TEXT.value: set(), Channel.CALL.value: set()}
    digests = sorted(by_digest)
    for i in range(0, len(digests), 500):
        for digest, channel in db.execute(select(UndeliverableNumber.number_hash, UndeliverableNumber.channel).where(
                UndeliverableNumber.number_hash.in_(digests[i:i + 500]), UndeliverableNumber.lifted_at.is_(None))):
            out.setdefault(channel, set()).add(by_digest[digest])
    return out


@dataclass(frozen=True)
class Flag:
    """A flag as staff see it: which of the client's numbers (1 = primary), the channel, why, since when."""

    id: int
    position: int
    channel: str
    error_code: str
    meaning: str
    flagged_at: dt.datetime
    lifted_at: dt.datetime | None


def flags_of(db: Session, hasher: NumberHasher, numbers: Sequence[str]) -> list[Flag]:
    """The flags (lifted ones too) on ``numbers`` (a client's numbers in order), for the client page."""
    position: dict[str, int] = {}
    for i, number in enumerate(numbers, 1):
        for digest in hasher.digests(number):
            position.setdefault(digest, i)
    if not position:
        return []
    rows = db.scalars(select(UndeliverableNumber).where(UndeliverableNumber.number_hash.in_(list(position)))
                      .order_by(UndeliverableNumber.flagged_at, UndeliverableNumber.id))
    return [Flag(r.id, position[r.number_hash], r.channel, r.error_code, PERMANENT_CODES.get(r.error_code, ""),
                 r.flagged_at, r.lifted_at) for r in rows]


def lift(db: Session, flag_id: int, numbers: Sequence[str], hasher: NumberHasher, user_id: int,
         now: dt.datetime) -> UndeliverableNumber | None:
    """Lift flag ``flag_id`` if it is on one of ``numbers`` and not lifted yet; the row, or None."""
    row = db.get(UndeliverableNumber, flag_id)
    if row is None or row.lifted_at is not None:
        return None
    if not any(row.number_hash in hasher.digests(n) for n in numbers):
        return None
    row.lifted_at, row.lifted_by = now, user_id
    return row
