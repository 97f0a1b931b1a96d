"""escalations.details: what a caller left for staff to call back (a new client's first name and best time)

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-30 20:30:00

Nullable, so existing rows need nothing. Read only on an escalation's own page by signed-in staff;
never in lists, links, texts, e-mails or logs.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("details")
