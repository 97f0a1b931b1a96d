"""roster entries may be limited to some escalation categories

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:20:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL (every existing entry) means every category, as before.
    with op.batch_alter_table('roster_entries') as batch:
        batch.add_column(sa.Column('categories', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('roster_entries') as batch:
        batch.drop_column('categories')
