"""How many wrong answers a caller may give, and what a lock does: the verification policy.

docs/security.md ("Verification policy") says the same in prose.  In short:

* A wrong (or ambiguous) date of birth or PIN is a failure.  It counts against
  the **caller** (the calling number, or one shared ``withheld`` counter for every
  call without a usable number), against **every candidate client** (all clients
  on the calling number, or on the number typed as the number on file) and against
  the **practice**, always: with or without candidates, so the practice's counter
  (and its lock) tells nobody whether a number belongs to a client.
* The work is the same shape whoever the number belongs to: the candidates are
  padded with *decoys* (``with_decoys``: ids no client has, derived from the number,
  up to ``CANDIDATE_SLOTS``) that are looked up, charged and locked exactly as clients
  are, under ``decoy:`` subjects that never alert and never show to staff.  A stranger's
  number and a client's cost the same queries and writes, lock at the same answer,
  and leave the same number of rows.
* A subject with ``limit`` failures within its window is **locked**: for
  ``max_failures`` within ``lock_minutes`` (clients, callers) or
  ``max_failures_per_hour`` within an hour (the practice).  The lock lasts a
  window from the failure that locked it, and each later failure that finds the
  window still full extends it.
* A lock refuses dates of birth: of the locked client, from the locked caller, or
  (practice) from anyone.  A correct PIN still verifies, unless that client has
  ``pin_max_failures`` wrong PINs within 24 hours.  Staff who have confirmed the
  client themselves clear the lock (dashboard, audited).
* Locks are invisible to callers: a refused answer sounds exactly like a wrong
  one, so no answer tells whether a number belongs to a client.
* The failure that starts a client's lock raises one staff alert (that call's
  ``verification_failed`` escalation); the practice's lock raises one
  ``verification_ceiling`` alert.  Failures during a lock raise none.
* A failure is recorded once per call turn: ``(call_sid, turn, subject)`` is
  unique, so a retried or raced webhook for the same answer counts once.

Functions take an open SQLAlchemy session (the caller commits) and plain values.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Row, bindparam, delete, select, update
from sqlalchemy.orm import Session

from ivr.db.inserts import insert_ignoring_duplicates
from ivr.practice.models import VerificationFailure, VerificationLock
from ivr.practice.pins import check_pin, hash_pin

PRACTICE = "practice"
WITHHELD = "withheld"
PRACTICE_WINDOW = dt.timedelta(hours=1)
PIN_WINDOW = dt.timedelta(hours=24)
# Failure rows older than this are deleted (the longest window above is a day).
RETENTION = dt.timedelta(days=30)
# Every PIN answer costs this many scrypt checks, whoever the number belongs to, so the
# time an answer takes does not tell how many clients (with PINs) share the number.
PIN_CHECKS_PER_ANSWER = 3
DATE, PIN = "date", "pin"
# Every answer is checked against this many candidates (real clients first, then decoys), so the
# work does not tell a client's number from a stranger's (a number shared by more clients costs more).
CANDIDATE_SLOTS = 3
# Decoy candidate ids start with this (EHR ids are compared whole, so a real id cannot be mistaken for one
# unless it is this prefix and 24 hex digits); their failures count under "decoy:<id>".
DECOY_PREFIX = "~"
DECOY_SUBJECT = "decoy:"
# Escalation reasons of the staff alerts (ivr.core.escalation_policy maps both to verification_failed).
CLIENT_LOCK_REASON = "verification_failed"
PRACTICE_LOCK_REASON = "verification_ceiling"


@dataclass(frozen=True)
class Limits:
    """The practice's limits (practice.yaml ``verification:``)."""

    max_failures: int = 3  # per client and per caller within ``window``; also the attempts one call gets
    window: dt.timedelta = dt.timedelta(minutes=30)
    pin_max_failures: int = 5  # wrong PINs per client within PIN_WINDOW before the PIN stops working too
    practice_max_per_hour: int = 20

    @classmethod
    def of(cls, practice: Any) -> Limits:
        return cls(int(practice.verification_max_failures),
                   dt.timedelta(minutes=int(practice.verification_lock_minutes)),
                   int(getattr(practice, "verification_pin_max_failures", cls.pin_max_failures)),
                   int(getattr(practice, "verification_max_failures_per_hour", cls.practice_max_per_hour)))

    def for_subject(self, subject: str) -> tuple[int, dt.timedelta]:
        """(limit, window) of a subject."""
        if subject == PRACTICE:
            return self.practice_max_per_hour, PRACTICE_WINDOW
        return self.max_failures, self.window


def caller_subject(caller: str | None) -> str:
    """The caller a failure counts against: the E.164 calling number, or the one withheld counter."""
    return f"caller:{caller or WITHHELD}"


def client_subject(client_id: str) -> str:
    """The subject a candidate's failures count under: ``client:<id>``, or ``decoy:<id>`` for a decoy."""
    if is_decoy(client_id):
        return DECOY_SUBJECT + client_id
    return f"client:{client_id}"


def is_decoy(candidate_id: str) -> bool:
    return candidate_id.startswith(DECOY_PREFIX) and len(candidate_id) == len(DECOY_PREFIX) + 24


def with_decoys(candidate_ids: Sequence[str], number: str | None) -> list[str]:
    """``candidate_ids`` (the clients on ``number``, E.164 or None) padded with decoys to ``CANDIDATE_SLOTS``.

    A decoy's id depends only on the number and its slot, so the same number gets the same decoys on
    every call: their failures add up, and lock, just as a client's on that number would.  Decoys
    already in ``candidate_ids`` are kept.
    """
    ids = list(dict.fromkeys(candidate_ids))
    seed = hashlib.sha256(f"quietline verification decoy\0{number or WITHHELD}".encode()).hexdigest()
    for slot in range(len(ids), CANDIDATE_SLOTS):
        ids.append(f"{DECOY_PREFIX}{seed[:23]}{slot}")
    return ids


@dataclass(frozen=True)
class Standing:
    """What the locks allow for one answer."""

    dates_refused: bool  # the caller or the practice is locked: no date of birth verifies anyone
    locked_clients: frozenset[str]  # client ids whose dates of birth are refused
    pin_locked_clients: frozenset[str]  # client ids whose PIN is refused as well

    def date_allowed(self, client_id: str) -> bool:
        return not self.dates_refused and client_id not in self.locked_clients

    def pin_allowed(self, client_id: str) -> bool:
        return client_id not in self.pin_locked_clients


# Built once (a webhook runs it for every answer); the subjects go in as an expanding parameter.  Core, on the
# session's connection: the three columns ``standing`` reads, not ORM objects (the ORM's loading cost more than the
# query, and nothing is written through them).
_LOCK_TABLE = VerificationLock.__table__
_LOCKS = (select(_LOCK_TABLE.c.subject, _LOCK_TABLE.c.locked_until, _LOCK_TABLE.c.cleared_at)
          .where(_LOCK_TABLE.c.subject.in_(bindparam("subjects", expanding=True))))


def standing(db: Session, caller_key: str, candidates: Sequence[str], now: dt.datetime, limits: Limits,
             *, pins: bool = True) -> Standing:
    """Which locks are in force for an answer from ``caller_key`` about ``candidates`` (client ids).

    ``pins=False`` (the answer is a date of birth, which never consults the PIN locks) skips
    counting wrong PINs: ``pin_locked_clients`` is then empty.
    """
    clients = [client_subject(c) for c in candidates]
    rows = {r.subject: r for r in db.connection().execute(_LOCKS, {"subjects": [caller_key, PRACTICE, *clients]})}
    locked = {s for s, r in rows.items() if r.locked_until is not None and r.locked_until > now}
    pin_since = {s: _since(rows.get(s), now - PIN_WINDOW) for s in clients} if pins else {}
    pins_wrong = _counts(db, pin_since, kind=PIN)
    return Standing(
        dates_refused=caller_key in locked or PRACTICE in locked,
        locked_clients=frozenset(c for c in candidates if client_subject(c) in locked),
        pin_locked_clients=frozenset(
            c for c in candidates if pins_wrong.get(client_subject(c), 0) >= limits.pin_max_failures
        ),
    )


class _PinHolder(Protocol):
    @property
    def pin_hash(self) -> str | None: ...


_Holder = TypeVar("_Holder", bound=_PinHolder)


def pin_matches(pin: str, clients: Iterable[_Holder]) -> list[_Holder]:
    """The clients whose PIN is ``pin``, after the same number of scrypt checks whoever they are."""
    holders = [c for c in clients if c.pin_hash]
    matches = [c for c in holders if check_pin(pin, c.pin_hash)]
    for _ in range(PIN_CHECKS_PER_ANSWER - len(holders)):
        check_pin(pin, _dummy_pin_hash())
    return matches


_DUMMY: list[str] = []


def _dummy_pin_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_pin("not a pin"))
    return _DUMMY[0]


@dataclass(frozen=True)
class Recorded:
    """What recording one failed answer did."""

    new: bool  # False: this call turn's failure was already recorded (a retried or raced webhook)
    started: tuple[str, ...]  # subjects whose lock this answer started (the same on a retry)

    def alerts(self) -> list[str]:
        """Escalation reasons to raise: one for the clients it locked, one if it locked the practice."""
        reasons = []
        if any(s.startswith("client:") for s in self.started):
            reasons.append(CLIENT_LOCK_REASON)
        if PRACTICE in self.started:
            reasons.append(PRACTICE_LOCK_REASON)
        return reasons


def record_failure(db: Session, *, call_sid: str, turn: int, caller_key: str, candidates: Sequence[str],
                   kind: str, now: dt.datetime, limits: Limits) -> Recorded:
    """Charge one failed answer to the caller, each candidate (clients and decoys) and the practice.

    The practice is charged for every failure, with or without candidates.  Idempotent per
    ``(call_sid, turn)``: a second call with the same turn records nothing and reports the
    locks the first one started.
    """
    subjects = [caller_key] + [client_subject(c) for c in dict.fromkeys(candidates)] + [PRACTICE]
    rows = [{"call_sid": call_sid, "turn": turn, "subject": s, "kind": kind, "failed_at": now} for s in subjects]
    inserted = insert_ignoring_duplicates(db, VerificationFailure, rows)
    if not inserted:
        return Recorded(False, started_by(db, call_sid, turn))
    started = []
    for subject in subjects:
        if _lock_if_due(db, subject, call_sid, turn, now, limits):
            started.append(subject)
    db.execute(delete(VerificationFailure).where(VerificationFailure.failed_at < now - RETENTION))
    return Recorded(True, tuple(started))


def started_by(db: Session, call_sid: str, turn: int) -> tuple[str, ...]:
    """The subjects whose current lock was started by this call turn's answer."""
    return tuple(db.scalars(select(VerificationLock.subject).where(
        VerificationLock.call_sid == call_sid, VerificationLock.turn == turn).order_by(VerificationLock.subject)))


def _lock_if_due(db: Session, subject: str, call_sid: str, turn: int, now: dt.datetime, limits: Limits) -> bool:
    """Lock (or extend the lock of) a subject whose window is full; True when this started its lock."""
    limit, window = limits.for_subject(subject)
    row = db.get(VerificationLock, subject, populate_existing=True)
    count = _counts(db, {subject: _since(row, now - window)}).get(subject, 0)
    if count < limit:
        return False
    insert_ignoring_duplicates(db, VerificationLock, [{"subject": subject}])
    until = now + window
    # One conditional UPDATE each: of two answers locking a subject at once, exactly one starts the lock.
    started = db.execute(
        update(VerificationLock)
        .where(VerificationLock.subject == subject,
               (VerificationLock.locked_until.is_(None)) | (VerificationLock.locked_until <= now))
        .values(locked_at=now, locked_until=until, call_sid=call_sid, turn=turn)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not started:
        db.execute(update(VerificationLock)
                   .where(VerificationLock.subject == subject, VerificationLock.locked_until < until)
                   .values(locked_until=until).execution_options(synchronize_session=False))
    db.expire_all()
    return started


def clear(db: Session, subjects: Sequence[str], user_id: int | None, now: dt.datetime) -> list[str]:
    """Staff confirmed who they are dealing with: lift these subjects' locks; failures before ``now``
    no longer count against them.  Returns the subjects that were locked."""
    was_locked = []
    for subject in dict.fromkeys(subjects):
        insert_ignoring_duplicates(db, VerificationLock, [{"subject": subject}])
        row = db.get(VerificationLock, subject, populate_existing=True)
        if row.locked_until is not None and row.locked_until > now:
            was_locked.append(subject)
            row.locked_until = now
        row.cleared_at, row.cleared_by = now, user_id
    db.flush()
    return was_locked


def client_subjects(client_id: str, phones: Iterable[str]) -> list[str]:
    """What clearing a client lifts: the client and the caller counters of its own numbers."""
    return [client_subject(client_id)] + [caller_subject(p) for p in phones]


def locked(db: Session, subject: str, now: dt.datetime) -> bool:
    """Whether ``subject`` is locked at ``now``."""
    row = db.get(VerificationLock, subject, populate_existing=True)
    return row is not None and row.locked_until is not None and row.locked_until > now


# --------------------------------------------------------------------------- helpers

def _since(row: VerificationLock | Row[Any] | None, window_start: dt.datetime) -> dt.datetime:
    """Failures after this count: the window's start, or a later clearing by staff."""
    if row is not None and row.cleared_at is not None and row.cleared_at > window_start:
        return row.cleared_at
    return window_start


def _counts(db: Session, since: dict[str, dt.datetime], kind: str | None = None) -> dict[str, int]:
    """Failures per subject after each subject's own start time."""
    if not since:
        return {}
    query = select(VerificationFailure.subject, VerificationFailure.failed_at).where(
        VerificationFailure.subject.in_(list(since)), VerificationFailure.failed_at > min(since.values()))
    if kind is not None:
        query = query.where(VerificationFailure.kind == kind)
    counts: dict[str, int] = {}
    for subject, at in db.execute(query):
        if at > since[subject]:
            counts[subject] = counts.get(subject, 0) + 1
    return counts
