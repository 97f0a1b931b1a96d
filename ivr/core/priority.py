"""Priority of an escalation: the one value the web, the queues and the workers share."""
from __future__ import annotations

from enum import Enum


class Priority(str, Enum):
    """How soon staff must act on an escalation: the one value the web, the queues and the workers share.

    Decided once, by the core (``ivr.core.escalation_policy.decide_priority``): the more
    urgent of what the flow step says and what the reason's policy says.
    """

    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 urgent, 1 high, 2 normal: how escalation rows store and sort it."""
        return _PRIORITY_RANKS[self]

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        """The priority stored as ``rank`` (out-of-range ranks are clamped)."""
        return _PRIORITY_BY_RANK[min(max(int(rank), 0), 2)]

    @classmethod
    def parse(cls, value: Priority | str | int | None) -> Priority:
        """A priority from its name, rank or itself; None or an unknown name is NORMAL."""
        if isinstance(value, Priority):
            return value
        if isinstance(value, int):
            return cls.from_rank(value)
        try:
            return cls(str(value or "").strip().lower())
        except ValueError:
            return cls.NORMAL

    @classmethod
    def most_urgent(cls, *values: Priority | str | int | None) -> Priority:
        """The most urgent of ``values`` (NORMAL when there are none)."""
        return cls.from_rank(min((cls.parse(v).rank for v in values), default=2))


_PRIORITY_RANKS = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}
_PRIORITY_BY_RANK = {rank: p for p, rank in _PRIORITY_RANKS.items()}
