"""INSERT … ON CONFLICT DO NOTHING on both backends (SQLite and PostgreSQL)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_duplicates(db: Session, model: Any, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows`` into ``model``'s table, skipping any that conflict with a row already there (one
    statement: no read first, no IntegrityError to catch); returns how many went in."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    key = model.__mapper__.primary_key[0]
    # RETURNING, not rowcount: drivers disagree on rowcount here (psycopg reports -1).
    return len(db.execute(insert(model).values(rows).on_conflict_do_nothing().returning(key)).all())
