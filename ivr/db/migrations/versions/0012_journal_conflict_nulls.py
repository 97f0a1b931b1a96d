"""practice_changes: settled conflicts are SQL NULL, and the EHR version staff overrode is remembered

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30 21:20:00

Before this, settling a conflict stored JSON ``null`` (not SQL NULL) in ``practice_changes.conflict``,
so the entry stayed on the Conflicts tab; existing ``null`` values become SQL NULL.  ``overridden`` (nullable,
JSON) holds the EHR's version a staff member chose the phone's change over, so the same EHR row does not raise
the conflict again at every import.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE practice_changes SET conflict = NULL WHERE CAST(conflict AS TEXT) = 'null'")
    with op.batch_alter_table("practice_changes") as batch:
        batch.add_column(sa.Column("overridden", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("practice_changes") as batch:
        batch.drop_column("overridden")
