"""The registry an installation runs with: the built-in actions and the practice's."""
from __future__ import annotations

from ivr.actions.builtin import builtin_specs
from ivr.actions.practice import practice_specs
from ivr.actions.registry import Registry


def default_registry() -> Registry:
    """Every action an installation has: the built-ins and the practice's."""
    return Registry(builtin_specs() + practice_specs())
