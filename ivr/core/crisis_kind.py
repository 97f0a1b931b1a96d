"""The kind of crisis staff are told of: what was heard, never the words it was heard in.

A crisis reaches staff three ways, and each names its kind here:
* words at any prompt, graded by ``ivr.core.crisis.assess``: the phrase list's category ("suicide or
  self-harm", "harm to others", "in danger", "medical emergency"; "crisis" or "emergency" alone, or the
  flow's own crisis words, is ``UNSPECIFIED``);
* the crisis key pressed (or said as a key: "press nine"): ``PRESSED_KEY``;
* a voicemail whose transcript reads as a crisis (``workers.recordings.triage``): ``voicemail_<category>``;
* a text to a pool number that reads as a crisis (``ivr.contact.replies``): ``text_<category>``.

When several are heard in one call (two kinds in one sentence, a crisis said and then left in a message),
the most urgent kind is kept: the order of ``ivr.core.crisis.CrisisCategory`` (suicide or self-harm, harm
to others, in danger, medical emergency, unspecified), then the key. At equal urgency the first heard stays
(what was said on the call before what the message says). Every kind heard is also in the escalation's timeline
(``with_kinds_heard``), so staff see all of them on its page.

Pure: values in, values out. The stored value is the enum's (``escalations.crisis_kind``).
"""
from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from ivr.core.crisis import CrisisCategory


class CrisisKind(str, Enum):
    """What kind of crisis an escalation is about, as stored (``escalations.crisis_kind``)."""

    SUICIDE_SELF_HARM = "suicide_self_harm"
    HARM_TO_OTHERS = "harm_to_others"
    IN_DANGER = "in_danger"
    MEDICAL_EMERGENCY = "medical_emergency"
    UNSPECIFIED = "unspecified"
    PRESSED_KEY = "pressed_key"
    VOICEMAIL_SUICIDE_SELF_HARM = "voicemail_suicide_self_harm"
    VOICEMAIL_HARM_TO_OTHERS = "voicemail_harm_to_others"
    VOICEMAIL_IN_DANGER = "voicemail_in_danger"
    VOICEMAIL_MEDICAL_EMERGENCY = "voicemail_medical_emergency"
    VOICEMAIL_UNSPECIFIED = "voicemail_unspecified"
    TEXT_SUICIDE_SELF_HARM = "text_suicide_self_harm"
    TEXT_HARM_TO_OTHERS = "text_harm_to_others"
    TEXT_IN_DANGER = "text_in_danger"
    TEXT_MEDICAL_EMERGENCY = "text_medical_emergency"
    TEXT_UNSPECIFIED = "text_unspecified"

    @classmethod
    def heard(cls, category: CrisisCategory) -> CrisisKind:
        """The kind of a category heard in the caller's words on the call."""
        return cls(category.value)

    @classmethod
    def in_voicemail(cls, category: CrisisCategory) -> CrisisKind:
        """The kind of a category heard in a voicemail's transcript."""
        return cls(VOICEMAIL_PREFIX + category.value)

    @classmethod
    def in_text(cls, category: CrisisCategory) -> CrisisKind:
        """The kind of a category read in a text to a pool number (``ivr.contact.replies``)."""
        return cls(TEXT_PREFIX + category.value)

    @property
    def from_voicemail(self) -> bool:
        return self.value.startswith(VOICEMAIL_PREFIX)

    @property
    def base(self) -> str:
        """The kind without its source: "voicemail_harm_to_others" → "harm_to_others"."""
        return self.value.removeprefix(VOICEMAIL_PREFIX).removeprefix(TEXT_PREFIX)

    @property
    def label(self) -> str:
        """Plain words for staff: "harm to others", "pressed the crisis key", "voicemail: medical emergency",
        "text: in danger"."""
        words = BASE_LABELS[self.base]
        if self.from_voicemail:
            return f"voicemail: {words}"
        return f"text: {words}" if self.value.startswith(TEXT_PREFIX) else words


VOICEMAIL_PREFIX = "voicemail_"
TEXT_PREFIX = "text_"
# The call's variable holding the most urgent kind heard so far (the engine sets it; the escalation reads it).
SESSION_VAR = "crisis_kind"
# The call's variable listing every kind heard, in order, for the escalation's timeline (``with_kinds_heard``).
HEARD_VAR = "crisis_kinds_heard"
BASE_LABELS = {
    "suicide_self_harm": "suicide or self-harm",
    "harm_to_others": "harm to others",
    "in_danger": "in danger",
    "medical_emergency": "medical emergency",
    "unspecified": "said crisis or emergency, no kind given",
    "pressed_key": "pressed the crisis key",
}
# Most urgent first: the phrase list's order, then the key (which says nothing of the kind).
_URGENCY = [c.value for c in CrisisCategory] + ["pressed_key"]

# The timeline entry of the kinds heard at one moment: "crisis_kind:harm_to_others+suicide_self_harm".
TIMELINE_PREFIX = "crisis_kind:"


def parse(value: str | None) -> CrisisKind | None:
    """A stored value as a kind; None for None, "" or a value this release does not know."""
    try:
        return CrisisKind(value) if value else None
    except ValueError:
        return None


def graver(kept: CrisisKind | str | None, new: CrisisKind | str | None) -> CrisisKind | None:
    """The kind to keep when ``new`` is heard after ``kept``: the more urgent; at equal urgency ``kept``."""
    a, b = parse(kept.value if isinstance(kept, CrisisKind) else kept), \
        parse(new.value if isinstance(new, CrisisKind) else new)
    if a is None or b is None:
        return a or b
    return b if _URGENCY.index(b.base) < _URGENCY.index(a.base) else a


def most_urgent(kinds: Iterable[CrisisKind]) -> CrisisKind | None:
    """The kind kept of several heard in this order (``graver`` applied left to right)."""
    kept: CrisisKind | None = None
    for kind in kinds:
        kept = graver(kept, kind)
    return kept


def timeline_entry(kinds: Iterable[CrisisKind]) -> str:
    """The call's timeline entry naming the kinds heard at one moment (the words themselves never)."""
    return TIMELINE_PREFIX + "+".join(dict.fromkeys(k.value for k in kinds))


def with_kinds_heard(history: list[str], heard: Iterable[str] | None) -> list[str]:
    """A call's timeline with the entry naming the kinds ``heard`` (stored values) right after the first crisis
    step ("main_menu:crisis"), or at the end; ``history`` itself when none was heard."""
    kinds = [k for k in (parse(v) for v in heard or ()) if k is not None]
    if not kinds:
        return list(history)
    at = next((i + 1 for i, e in enumerate(history) if str(e).endswith(":crisis")), len(history))
    return [*history[:at], timeline_entry(kinds), *history[at:]]


def describe_entry(entry: str) -> str | None:
    """A ``timeline_entry`` in words ("Crisis heard: harm to others, suicide or self-harm"); None for other entries."""
    if not entry.startswith(TIMELINE_PREFIX):
        return None
    kinds = [k for k in (parse(v) for v in entry[len(TIMELINE_PREFIX):].split("+")) if k is not None]
    if not kinds:
        return "Crisis heard"
    return "Crisis heard: " + ", ".join(k.label for k in kinds)


def label(value: str | None) -> str:
    """A stored value in words for staff; "" when there is none (an escalation that is not a crisis)."""
    kind = parse(value)
    if kind is not None:
        return kind.label
    return value.replace("_", " ") if value else ""
