"""Each staff member's own dashboard settings, remembered across sign-ins (``staff_preferences``)."""
from __future__ import annotations

from dataclasses import dataclass

from ivr.escalations.audit import DbLike, session_scope
from ivr.escalations.models import StaffPreference


@dataclass(frozen=True)
class Preferences:
    sound_urgent: bool = False  # play a tone when a new urgent escalation arrives (off until they turn it on)
    shortcuts: bool = True  # single-key shortcuts (j/k, c, r); WCAG 2.1.4 asks that they can be turned off


def get(db: DbLike, user_id: int) -> Preferences:
    """``user_id``'s settings; the defaults when they never changed any."""
    with session_scope(db) as session:
        row = session.get(StaffPreference, user_id)
        return Preferences(row.sound_urgent, row.shortcuts) if row is not None else Preferences()


def save(db: DbLike, user_id: int, prefs: Preferences) -> None:
    with session_scope(db) as session:
        row = session.get(StaffPreference, user_id)
        if row is None:
            session.add(StaffPreference(user_id=user_id, sound_urgent=prefs.sound_urgent, shortcuts=prefs.shortcuts))
        else:
            row.sound_urgent, row.shortcuts = prefs.sound_urgent, prefs.shortcuts
