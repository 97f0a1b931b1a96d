"""The registry an installation runs with: the built-in actions and the practice's."""
from __future__ import annotations

from ivr.actions.builtin import builtin_specs
from ivr.actions.follow_up import follow_up_specs
from ivr.actions.practice import practice_specs
from ivr.actions.registry import Registry


def default_registry() -> Registry:
    """Every action an installation has: the built-ins, the practice's and the outbound conversation's."""
    return Registry(builtin_specs() + practice_specs() + follow_up_specs())
