"""The actions every installation has: whether the practice is open, whether the caller's number came through,
the part of the day.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr.actions.registry import ActionContext, ActionResult, ActionSpec


def _hours_status(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    status = ctx.flows.status_at(ctx.now)
    outcome = "open" if status.open else ("holiday" if status.reason == "holiday" else "closed")
    return ActionResult(outcome, {"next_open": status.next_open.isoformat() if status.next_open else None})


def _caller_id(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    return ActionResult("present" if ctx.session.caller else "withheld")


def _time_of_day(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    hour = ctx.now.astimezone(ctx.flows.practice.tz).hour
    return ActionResult("morning" if hour < 12 else "afternoon" if hour < 17 else "evening")


def builtin_specs() -> list[ActionSpec]:
    """The actions every installation has."""
    return [
        ActionSpec("hours_status", ("open", "closed", "holiday"), _hours_status,
                   "Is the practice open now? Sets vars.next_open to the next opening time."),
        ActionSpec("caller_id", ("present", "withheld"), _caller_id,
                   "Did the caller's number come through (not blocked, anonymous or invalid)?"),
        ActionSpec("time_of_day", ("morning", "afternoon", "evening"), _time_of_day,
                   "Part of the day at the practice, for greetings."),
    ]
