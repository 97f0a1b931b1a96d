"""The change journal: every change Quietline makes to practice data, until the EHR shows it.

Each change (an appointment moved or cancelled by phone, a card updated, a texting
preference changed by STOP/START) is one ``PracticeChange`` row, written in the same
transaction as the change itself: what changed (``before`` → ``after``), when, through
which call or staff member, and its state (``to_enter`` → ``entered`` → ``confirmed``).
Staff enter waiting changes in the EHR (the dashboard's Changes page, or its CSV);
a later import that shows a change confirms it (``ivr.practice.csv.importer``).

The rows hold client data (the database already does); nothing here logs them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, String, bindparam, cast, func, insert, select
from sqlalchemy.orm import Session

from ivr.exceptions import ChangeNotFound, ConflictChoiceFailed
from ivr.practice.data import AppointmentView, clients_on
from ivr.practice.models import (
    ACTIVE,
    PHONE_ID_PREFIX,
    Appointment,
    ChangeKind,
    ChangeState,
    PracticeChange,
)

KIND_LABELS: Mapping[str, str] = {
    ChangeKind.APPOINTMENT_MOVED.value: "Appointment moved",
    ChangeKind.APPOINTMENT_CANCELLED.value: "Appointment cancelled",
    ChangeKind.APPOINTMENT_BOOKED.value: "Appointment booked",
    ChangeKind.CARD_UPDATED.value: "Card updated",
    ChangeKind.TEXTING_PREFERENCE.value: "Texting preference",
    ChangeKind.APPOINTMENT_CONFIRMED.value: "Appointment confirmed",
}

APPOINTMENT_KINDS = frozenset({ChangeKind.APPOINTMENT_MOVED.value, ChangeKind.APPOINTMENT_CANCELLED.value,
                               ChangeKind.APPOINTMENT_BOOKED.value})


def call_source(call_sid: str) -> str:
    return f"call:{call_sid}"


def staff_source(user_id: int) -> str:
    return f"staff:{user_id}"


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def appointment_state(appointment: Appointment | AppointmentView) -> dict[str, Any]:
    """The fields of an appointment the journal compares: ``{"start", "end"}`` (ISO 8601 UTC), status, clinician."""
    return {"start": _iso(appointment.start), "end": _iso(appointment.end), "status": appointment.status,
            "clinician_id": appointment.clinician_id}


def record(db: Session, kind: ChangeKind, *, source: str, now: dt.datetime, client_id: str | None = None,
           appointment_id: str | None = None, before: Mapping[str, Any] | None = None,
           after: Mapping[str, Any] | None = None) -> PracticeChange:
    """Add one entry to ``db``'s transaction (it commits or rolls back with the change it records)."""
    undone = _undone_by(db, kind, appointment_id, after) if kind.value in APPOINTMENT_KINDS else []
    return _add(db, kind, undone, source=source, now=now, client_id=client_id, appointment_id=appointment_id,
                before=before, after=after)


def _add(db: Session, kind: ChangeKind, undone: list[PracticeChange], *, source: str, now: dt.datetime,
         client_id: str | None, appointment_id: str | None, before: Mapping[str, Any] | None,
         after: Mapping[str, Any] | None) -> PracticeChange:
    """The entry, as an ORM object added to ``db``; with the ``undone`` entries it cancels out, all confirmed."""
    entry = PracticeChange(kind=kind.value, client_id=client_id, appointment_id=appointment_id,
                           before=dict(before or {}), after=dict(after or {}), source=source[:80], made_at=now,
                           state=ChangeState.TO_ENTER.value)
    db.add(entry)
    if undone:
        # A move there and back (10 → 9 → 10) before anyone entered it: the EHR already shows the result, so
        # nothing is left to enter; the entries stay, confirmed, each saying why.
        db.flush()
        ids = ", ".join(f"#{e.id}" for e in [*undone, entry])
        for e in [*undone, entry]:
            e.state, e.confirmed_at = ChangeState.CONFIRMED.value, now
            e.after = {**(e.after or {}), "note": f"changes {ids} cancel out: nothing to enter"}
    return entry


# One entry, Core, built once: what ``note`` inserts (the columns ``record``'s entry sets; the rest take their
# defaults, as the ORM's INSERT leaves them).
_INSERT_ENTRY = insert(PracticeChange.__table__)


def note(db: Session, kind: ChangeKind, *, source: str, now: dt.datetime, client_id: str | None = None,
         appointment_id: str | None = None, before: Mapping[str, Any] | None = None,
         after: Mapping[str, Any] | None = None) -> None:
    """``record`` without the ORM entry: one Core INSERT on ``db``'s connection, in its transaction (a webhook's move
    or cancellation; the ORM's flush of the entry cost as much as the rest of the change).  An entry that brings
    earlier ones back to where they started (``_undone_by``) is added as ``record`` adds it, marking them all."""
    undone = _undone_by(db, kind, appointment_id, after) if kind.value in APPOINTMENT_KINDS else []
    if undone:
        _add(db, kind, undone, source=source, now=now, client_id=client_id, appointment_id=appointment_id,
             before=before, after=after)
        return
    db.connection().execute(_INSERT_ENTRY, {
        "kind": kind.value, "client_id": client_id, "appointment_id": appointment_id, "before": dict(before or {}),
        "after": dict(after or {}), "source": source[:80], "made_at": now, "state": ChangeState.TO_ENTER.value})


def _chain_entries_of() -> Select[tuple[int, str, Any, Any]]:
    """``(id, state, conflict, before)`` of the appointment entries of the chain ``appointment`` belongs to (the
    appointments it replaced, back to the first, itself, and those that replaced it in turn), oldest first: what
    ``chain_root`` then ``chain_entries`` give, as one Core statement. Two recursive CTEs over primary keys and the
    indexed ``replaced_by``, one backwards and one forwards (UNION, not UNION ALL, ends a cycle). A chain is a line:
    only a phone move sets ``replaced_by``, to a new appointment's id, and only while the old one is active, so no
    appointment replaces two, and the chain through the root is exactly the ones before and after this one."""
    changes = PracticeChange.__table__
    seed = cast(bindparam("appointment"), String(64)).label("id")  # cast: PostgreSQL would type a bare parameter
    earlier = select(seed).cte("earlier_ids", recursive=True)
    prior = _APPOINTMENTS.alias("prior")
    earlier = earlier.union(select(prior.c.id).where(prior.c.replaced_by == earlier.c.id))
    later_ids = select(seed.element.label("id")).cte("later_ids", recursive=True)
    link, later = _APPOINTMENTS.alias("link"), _APPOINTMENTS.alias("later")
    later_ids = later_ids.union(select(later.c.id).where(link.c.id == later_ids.c.id, later.c.id == link.c.replaced_by))
    chain = select(earlier.c.id).union(select(later_ids.c.id))
    return (select(changes.c.id, changes.c.state, changes.c.conflict, changes.c.before)
            .where(changes.c.appointment_id.in_(chain), changes.c.kind.in_(sorted(APPOINTMENT_KINDS)))
            .order_by(changes.c.made_at, changes.c.id))


# Built once (every phone move and cancellation runs them; values go in as bound parameters), Core, run on the
# session's connection: most moves find no entry at all, and need none of the ORM's work per statement.
_APPOINTMENTS = Appointment.__table__
_CHAIN_ENTRIES_OF = _chain_entries_of()
_REPLACED = select(_APPOINTMENTS.c.id).where(_APPOINTMENTS.c.replaced_by == bindparam("id"))


def _undone_by(db: Session, kind: ChangeKind, appointment_id: str | None,
               after: Mapping[str, Any] | None) -> list[PracticeChange]:
    """The entries still to enter that a new change with ``after`` brings back to where they started (oldest
    first; none when the new change leaves the appointment elsewhere)."""
    if not appointment_id or not after or "start" not in after:
        return []
    db.flush()  # the Core statement sees only what the session has written
    pending: list[Row[tuple[int, str, Any, Any]]] = []
    for row in reversed(db.connection().execute(_CHAIN_ENTRIES_OF, {"appointment": appointment_id}).all()):
        if row.state != ChangeState.TO_ENTER.value or row.conflict:
            break  # staff entered something since: the EHR needs the way back too
        pending.insert(0, row)
    for i, row in enumerate(pending):
        if all((row.before or {}).get(k) == after.get(k) for k in ("start", "end", "status", "clinician_id")):
            return [db.get_one(PracticeChange, r.id) for r in pending[i:]]
    return []


def record_texting_preference(db: Session, e164: str, opted_out: bool, *, source: str, now: dt.datetime) -> int:
    """One entry per client on ``e164`` (a family may share it); how many were recorded (0: nobody's number)."""
    before, after = ("allowed", "stopped") if opted_out else ("stopped", "allowed")
    ids = clients_on(db, e164)
    for client_id in ids:
        record(db, ChangeKind.TEXTING_PREFERENCE, source=source, now=now, client_id=client_id,
               before={"phone": e164, "texting": before}, after={"phone": e164, "texting": after})
    return len(ids)


# -- reading -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """The journal page's counts: waiting to be entered, entered but not yet confirmed, open conflicts."""

    to_enter: int
    entered: int
    conflicts: int


def summary(db: Session) -> Summary:
    counts = dict(db.execute(select(PracticeChange.state, func.count()).group_by(PracticeChange.state)).all())
    conflicts = db.scalar(select(func.count()).select_from(PracticeChange)
                          .where(PracticeChange.conflict.is_not(None))) or 0
    return Summary(counts.get(ChangeState.TO_ENTER.value, 0), counts.get(ChangeState.ENTERED.value, 0), conflicts)


def entries(db: Session, states: Iterable[ChangeState] = (ChangeState.TO_ENTER,), *,
            conflicts: bool = False, limit: int = 500) -> list[PracticeChange]:
    """Entries in ``states`` (or, with ``conflicts``, every entry with an open conflict), oldest first."""
    query = select(PracticeChange)
    if conflicts:
        query = query.where(PracticeChange.conflict.is_not(None))
    else:
        query = query.where(PracticeChange.state.in_([s.value for s in states]))
    return list(db.scalars(query.order_by(PracticeChange.made_at, PracticeChange.id).limit(limit)))


def get(db: Session, entry_id: int) -> PracticeChange:
    entry = db.get(PracticeChange, entry_id)
    if entry is None:
        raise ChangeNotFound(f"no change #{entry_id}")
    return entry


def oldest_waiting(db: Session) -> dt.datetime | None:
    """When the oldest entry still to enter was made (None: nothing waits)."""
    return db.scalar(select(func.min(PracticeChange.made_at))
                     .where(PracticeChange.state == ChangeState.TO_ENTER.value))


def waiting_longer_than(db: Session, now: dt.datetime, age: dt.timedelta) -> int:
    """How many entries still to enter were made more than ``age`` before ``now``."""
    return db.scalar(select(func.count()).select_from(PracticeChange).where(
        PracticeChange.state == ChangeState.TO_ENTER.value, PracticeChange.made_at <= now - age)) or 0


# -- staff actions -------------------------------------------------------------------------------------------

def mark_entered(db: Session, ids: Iterable[int], user_id: int, now: dt.datetime) -> list[int]:
    """Mark entries still to enter as entered by ``user_id``; the ids that changed (others are left alone)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    done = []
    for entry in db.scalars(select(PracticeChange).where(PracticeChange.id.in_(wanted),
                                                         PracticeChange.state == ChangeState.TO_ENTER.value)):
        entry.state, entry.entered_at, entry.entered_by = ChangeState.ENTERED.value, now, user_id
        done.append(entry.id)
    return sorted(done)


def resolve_conflict(db: Session, entry_id: int, choice: str, user_id: int, now: dt.datetime) -> PracticeChange:
    """Settle an import conflict by a staff choice.

    Two kinds: the EHR's row for the entry's own appointment disagrees with the phone's change, or another EHR row
    (``conflict["appointment_id"]`` outside the entry's chain, ``held_by`` set) wants the slot the phone's change
    holds.  ``"phone"`` keeps Quietline's version (the entry stays to enter; the EHR version is remembered in
    ``overridden`` so the same row is not a conflict again).  ``"ehr"`` writes the EHR's version **to the row's
    own appointment**: for the entry's appointment, it becomes what the EHR says and its entries are confirmed;
    for another row, that appointment is created or updated and the entry is left as it was (the EHR still lacks
    the phone's change).

    Raises ChangeNotFound (no such entry or no open conflict), ConflictChoiceFailed (an unknown choice, the EHR's
    time is taken by another active appointment, or the conflict lacks what is needed to write the row).
    """
    entry = get(db, entry_id)
    if not entry.conflict:
        raise ChangeNotFound(f"change #{entry_id} has no open conflict")
    ehr = dict(entry.conflict)
    if choice == "phone":
        entry.overridden = {k: ehr.get(k) for k in _VERSION_KEYS}
        entry.conflict, entry.conflict_at = None, None
        entry.state, entry.confirmed_at = ChangeState.TO_ENTER.value, None
        return entry
    if choice != "ehr":
        raise ConflictChoiceFailed(f"unknown choice '{choice}' (phone or ehr)")
    chain = appointment_chain(db, entry.appointment_id or "")
    own = {a.id for a in chain} | {a.ehr_id for a in chain if a.ehr_id}
    about_entry = not ehr.get("held_by") and ehr.get("appointment_id") in own | {None}
    if about_entry:
        target = chain[-1] if chain else None
        if target is None:
            raise ChangeNotFound(f"the appointment of change #{entry_id} is gone")
    else:
        target = db.get(Appointment, ehr["appointment_id"])
        if target is None and not ehr.get("client_id"):
            raise ConflictChoiceFailed(f"change #{entry_id}'s conflict predates this choice: import the EHR's file "
                                       "again, then choose")
    start, end = dt.datetime.fromisoformat(ehr["start"]), dt.datetime.fromisoformat(ehr["end"])
    if ehr["status"] == ACTIVE:
        query = select(Appointment.id).where(
            Appointment.clinician_id == ehr["clinician_id"], Appointment.start == start,
            Appointment.status == ACTIVE)
        if target is not None:
            query = query.where(Appointment.id != target.id)
        clash = db.scalar(query)
        if clash is not None:
            raise ConflictChoiceFailed(f"the EHR's time is taken by appointment '{clash}' here: "
                                       "move or cancel that one first")
    if target is None:
        db.add(Appointment(id=ehr["appointment_id"], client_id=ehr["client_id"], clinician_id=ehr["clinician_id"],
                           start=start, end=end, status=ehr["status"]))
    else:
        target.start, target.end, target.status = start, end, ehr["status"]
        target.clinician_id = ehr["clinician_id"]
        if ehr["status"] == ACTIVE:
            target.cancel_reason = None
    db.flush()
    entry.conflict, entry.conflict_at = None, None
    if not about_entry:
        return entry  # the phone's change still waits to be entered in the EHR
    for other in chain_entries(db, entry.appointment_id or ""):
        if other.state != ChangeState.CONFIRMED.value:
            other.state, other.confirmed_at = ChangeState.CONFIRMED.value, now
    entry.state, entry.confirmed_at = ChangeState.CONFIRMED.value, now
    return entry


_VERSION_KEYS = ("appointment_id", "start", "end", "status", "clinician_id")


def same_version(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two EHR versions (conflict dicts) show the same row: id, times, status and clinician."""
    return a is not None and b is not None and all(a.get(k) == b.get(k) for k in _VERSION_KEYS)


# -- appointment chains (a moved appointment and the ones that replaced it) ----------------------------------

def appointment_chain(db: Session, appointment_id: str) -> list[Appointment]:
    """``appointment_id`` and every appointment that replaced it in turn (``replaced_by``), oldest first."""
    chain: list[Appointment] = []
    seen: set[str] = set()
    current = db.get(Appointment, appointment_id)
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = db.get(Appointment, current.replaced_by) if current.replaced_by else None
    return chain


def current_appointment_id(db: Session, appointment_id: str) -> str:
    chain = appointment_chain(db, appointment_id)
    return chain[-1].id if chain else appointment_id


def chain_root(db: Session, appointment_id: str) -> str:
    """The first appointment of ``appointment_id``'s chain: the one no other appointment's move replaced."""
    seen = {appointment_id}
    current = appointment_id
    db.flush()  # the lookups below are Core: they see only what the session has written
    connection = db.connection()
    while True:
        previous = connection.execute(_REPLACED, {"id": current}).scalar()
        if previous is None or previous in seen:
            return current
        seen.add(previous)
        current = previous


def ehr_appointment_id(db: Session, appointment_id: str) -> str:
    """The id staff can find ``appointment_id`` by in the EHR: a phone-made appointment's EHR id once an import
    linked it (``ehr_id``), else the EHR's appointment it replaced (the chain's root); Quietline's own id only for
    a phone booking the EHR has never had."""
    seen: set[str] = set()
    current = db.get(Appointment, appointment_id)
    while current is not None and current.id.startswith(PHONE_ID_PREFIX) and current.id not in seen:
        if current.ehr_id:
            return current.ehr_id
        seen.add(current.id)
        previous = db.scalar(select(Appointment).where(Appointment.replaced_by == current.id))
        if previous is None:
            break
        current = previous
    return current.id if current is not None else appointment_id


def chain_entries(db: Session, appointment_id: str) -> list[PracticeChange]:
    """The appointment entries about ``appointment_id`` and its replacements, oldest first."""
    ids = [a.id for a in appointment_chain(db, appointment_id)] or [appointment_id]
    return list(db.scalars(select(PracticeChange).where(
        PracticeChange.appointment_id.in_(ids), PracticeChange.kind.in_(sorted(APPOINTMENT_KINDS)))
        .order_by(PracticeChange.made_at, PracticeChange.id)))


# -- words for people --------------------------------------------------------------------------------------

def describe(values: Mapping[str, Any], tz: dt.tzinfo) -> str:
    """A journal side as one line a person can enter from: ``2026-11-24 09:00–09:50, maya-chen, scheduled``."""
    parts = []
    if "start" in values:
        start = dt.datetime.fromisoformat(values["start"]).astimezone(tz)
        text = start.strftime("%Y-%m-%d %H:%M")
        if "end" in values:
            text += "–" + dt.datetime.fromisoformat(values["end"]).astimezone(tz).strftime("%H:%M")
        parts.append(text)
    for key in ("clinician_id", "status", "cancel_reason", "appointment_id", "brand", "last4", "expiry", "phone",
                "texting", "note"):
        if values.get(key):
            label = {"appointment_id": "new id ", "cancel_reason": "reason: ", "last4": "ending ",
                     "expiry": "expires "}.get(key, "")
            parts.append(f"{label}{values[key]}")
    return ", ".join(parts) or "—"
