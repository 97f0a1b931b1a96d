"""The per-webhook statements that touch appointments read them through an index, never a scan of the table.

A scan costs in proportion to the practice's diary (every appointment ever kept): at 12,000 appointments on
SQLite the chain lookup of a move took 3 ms, the busy times of a slot offer 0.35 ms. Checked by the database's
own query plan (SQLite ``EXPLAIN QUERY PLAN``; PostgreSQL ``EXPLAIN`` with sequential scans discouraged, so an
index is chosen whenever one can serve the statement), on a migrated database, not on the models.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy.sql import Executable

from ivr.actions.access import _BUSY
from ivr.db import database as db_mod
from ivr.practice.journal import _CHAIN_ENTRIES_OF, _REPLACED

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def database(any_database: db_mod.Database) -> db_mod.Database:
    """Migrated, on SQLite and on PostgreSQL (tests/plugins/databases.py)."""
    return any_database


def plan(conn: Connection, statement: Executable, **values: Any) -> str:
    """The database's plan for ``statement`` run with ``values`` bound as the app binds them (not inlined)."""
    compiled = statement.params(**values).compile(dialect=conn.dialect)  # type: ignore[attr-defined]
    state = compiled.construct_expanded_state()  # the literal_execute values rendered in, as at execution
    params = {name: state.processors[name](value) if name in state.processors else value
              for name, value in state.parameters.items()}
    if conn.dialect.name == "sqlite":
        positional = tuple(params[name] for name in state.positiontup or ())
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + state.statement, positional).all()
        return " | ".join(row[3] for row in rows)
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return " | ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + state.statement, params).all())


def assert_no_scan_of_appointments(text: str) -> None:
    assert "SCAN appointments" not in text and "Seq Scan on appointments" not in text, text


def test_walking_a_chain_back_finds_the_replaced_appointment_by_index(database: db_mod.Database) -> None:
    with database.engine.begin() as conn:
        text = plan(conn, _REPLACED, id="appt-2")
    assert_no_scan_of_appointments(text)
    assert "ix_appointments_replaced_by" in text


def test_a_moves_journal_walks_its_chain_both_ways_by_index(database: db_mod.Database) -> None:
    """The chain's entries in one statement (perf9f): back through ``replaced_by``'s index, forward by primary key."""
    with database.engine.begin() as conn:
        text = plan(conn, _CHAIN_ENTRIES_OF, appointment="appt-2")
    assert_no_scan_of_appointments(text)
    steps = [step.strip() for step in text.replace("->", "|").split("|")]
    for alias in ("prior", "link", "later"):
        assert not [s for s in steps if s == f"SCAN {alias}" or s.startswith(f"Seq Scan on appointments {alias}")], text
    assert "ix_appointments_replaced_by" in text


def test_a_clinicians_busy_times_are_read_through_the_active_slot_index(database: db_mod.Database) -> None:
    with database.engine.begin() as conn:
        text = plan(conn, _BUSY, clinician_id="c1", now=NOW, horizon=NOW + dt.timedelta(days=14))
    assert_no_scan_of_appointments(text)
    assert "uq_active_slot" in text
