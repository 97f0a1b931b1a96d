"""Fixtures of the engine tests: flow sets loaded once per test from inline YAML."""
from __future__ import annotations

import pytest

from ivr.core.flow import FlowSet
from tests.helpers.engine import MENU, ask_flows, flowset


@pytest.fixture(scope="module")
def pin_flows() -> FlowSet:
    return ask_flows("type: digits\nlength: 4")


@pytest.fixture(scope="module")
def menu_flows() -> FlowSet:
    return flowset(MENU)
