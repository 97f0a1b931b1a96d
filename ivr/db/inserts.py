"""INSERT … ON CONFLICT DO NOTHING on both backends (SQLite and PostgreSQL)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

# One row's statement per (backend, table), built once: building an INSERT and its cache key costs about as much
# as running it on SQLite, and the webhooks insert one row at a time (a recording's note, a verification lock).
_ONE_ROW: dict[tuple[str, Table], Insert] = {}


def _dialect_insert(dialect: str) -> Any:
    # Imported here, for the backend in use only: SQLAlchemy's PostgreSQL dialect takes ~0.3 s (more on a busy
    # machine) to import, which every process (web workers, RQ workers) would pay at start.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def insert_ignoring_duplicates(db: Session, model: Any, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows`` into ``model``'s table, skipping any that conflict with a row already there (one
    statement: no read first, no IntegrityError to catch); returns how many went in."""
    dialect = db.get_bind().dialect.name
    key = model.__mapper__.primary_key[0]
    if len(rows) == 1:
        table = model.__table__
        statement = _ONE_ROW.get((dialect, table))
        if statement is None:
            # Values bound at execution (the same columns every time), the row's defaults filled in by Core.
            statement = _dialect_insert(dialect)(table).on_conflict_do_nothing().returning(table.c[key.name])
            _ONE_ROW[(dialect, table)] = statement
        return len(db.execute(statement, rows[0]).all())
    # RETURNING, not rowcount: drivers disagree on rowcount here (psycopg reports -1).
    return len(db.execute(_dialect_insert(dialect)(model).values(rows).on_conflict_do_nothing().returning(key)).all())
