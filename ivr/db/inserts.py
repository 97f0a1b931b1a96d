"""INSERT … ON CONFLICT DO NOTHING on both backends (SQLite and PostgreSQL)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def insert_ignoring_duplicates(db: Session, model: Any, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows`` into ``model``'s table, skipping any that conflict with a row already there (one
    statement: no read first, no IntegrityError to catch); returns how many went in."""
    # Imported here, for the backend in use only: SQLAlchemy's PostgreSQL dialect takes ~0.3 s (more on a busy
    # machine) to import, which every process (web workers, RQ workers) would pay at start.
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    key = model.__mapper__.primary_key[0]
    # RETURNING, not rowcount: drivers disagree on rowcount here (psycopg reports -1).
    return len(db.execute(insert(model).values(rows).on_conflict_do_nothing().returning(key)).all())
