"""Outbound contact tests run on an empty practice database, on SQLite and PostgreSQL, with the rules of
tests/helpers/contact.py beside the shipped flows."""
from __future__ import annotations

import pytest

from tests.helpers.contact import write_rules


@pytest.fixture
def database(any_database):
    return any_database


@pytest.fixture
def flows_dir(flows_dir):
    write_rules(flows_dir)
    return flows_dir


@pytest.fixture
def ql(app):
    """The app's services (``app.extensions["quietline"]``)."""
    return app.extensions["quietline"]
