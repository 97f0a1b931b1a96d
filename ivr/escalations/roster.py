"""Who is on call at a moment, at an escalation level.  Pure: rows in, recipients out.

Levels: 1 is told first, 2 is the backup, 3 the owners.  An active owner with no
roster entry at all is level 3 at every hour; an owner with entries is on call
only as those entries say.  Asking for a level nobody covers right now falls
through to the next one up (1 → 2 → 3); past 3 there is nobody left.

A roster entry's window is ``days`` (weekday names; empty = every day) and a
local ``start``-``end`` time range in the practice's time zone, start included,
end excluded, except that an end of ``23:59`` runs to midnight (and equal start
and end mean the whole day).  A range whose
start is after its end (``18:00-09:00``) runs past midnight into the next
morning, and belongs to the day it starts on.

An entry may list ``categories`` (escalation categories; empty or missing = all):
it is then told only about those, so an on-call clinician can be paged for crises
at any hour without hearing of billing questions at night.  For any other
category that entry's level counts as uncovered and the request falls through
to the next level, as it does outside the entry's hours.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TOP_LEVEL = 3
OWNER = "owner"


class EntryLike(Protocol):
    user_id: int
    level: int
    days: Sequence[str]
    start: str
    end: str
    sms: bool
    email: bool


class UserLike(Protocol):
    id: int
    role: str
    active: bool
    phone: str | None
    email: str


@dataclass(frozen=True)
class Recipient:
    """One person to tell, and how (channels already narrowed to what their entries allow)."""

    user_id: int
    level: int  # the level they were found at (after falling through)
    phone: str | None
    email: str | None
    sms: bool
    by_email: bool


def on_call(entries: Iterable[EntryLike], users: Iterable[UserLike], level: int, at: dt.datetime, tz: dt.tzinfo,
            category: str | None = None) -> list[Recipient]:
    """The people to notify at ``level`` (or the first level above it that has anyone) at ``at``."""
    if at.tzinfo is None:
        raise ValueError("on_call needs an aware datetime")
    by_id = {u.id: u for u in users if u.active}
    entries = [e for e in entries if e.user_id in by_id]
    local = at.astimezone(tz)
    rostered = {e.user_id for e in entries}
    for lvl in range(max(level, 1), TOP_LEVEL + 1):
        found: dict[int, Recipient] = {}
        for entry in entries:
            if entry.level != lvl or not covers(entry, local) or not _serves(entry, category):
                continue
            user = by_id[entry.user_id]
            found[user.id] = _merge(found.get(user.id), Recipient(user.id, lvl, user.phone, user.email,
                                                                  bool(entry.sms), bool(entry.email)))
        if lvl == TOP_LEVEL:
            for user in by_id.values():
                if user.role == OWNER and user.id not in rostered and user.id not in found:
                    found[user.id] = Recipient(user.id, lvl, user.phone, user.email, True, True)
        if found:
            return sorted(found.values(), key=lambda r: r.user_id)
    return []


def covers(entry: EntryLike, local: dt.datetime) -> bool:
    """Whether the entry's window contains ``local`` (already in the practice's time zone)."""
    days = {d.lower() for d in (entry.days or ())}
    start, end = _parse(entry.start, dt.time(0, 0)), _parse(entry.end, dt.time(23, 59))
    now = local.time().replace(tzinfo=None)
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    if start == end:  # "00:00-00:00": the whole day
        return not days or today in days
    if start < end:
        inside = start <= now < end or (end == dt.time(23, 59) and now >= end)
        return inside and (not days or today in days)
    # Past midnight: the evening part belongs to today, the morning part to yesterday's window.
    if now >= start:
        return not days or today in days
    if now < end:
        return not days or yesterday in days
    return False


def _serves(entry: Any, category: str | None) -> bool:
    categories = getattr(entry, "categories", None) or ()
    return category is None or not categories or category in categories


def _merge(old: Recipient | None, new: Recipient) -> Recipient:
    if old is None:
        return new
    return Recipient(old.user_id, old.level, old.phone, old.email, old.sms or new.sms, old.by_email or new.by_email)


def _parse(text: str | None, default: dt.time) -> dt.time:
    try:
        hours, minutes = (int(p) for p in (text or "").split(":"))
        return dt.time(hours, minutes)
    except (ValueError, TypeError):
        return default
