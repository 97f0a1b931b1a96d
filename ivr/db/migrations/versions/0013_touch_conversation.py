"""outbound_touches: what the answered call's conversation came to

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-01 09:50:00

``verified`` (nullable: no conversation), ``conversation`` (the flow's outcome: booked, confirmed,
someone_else, not_verified, …) and ``flow_version`` (the flows' version the call ran), for staff and the
planner: a call nobody verified on counts as ``no_answer``, so the next attempt still goes.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_touches") as batch:
        batch.add_column(sa.Column("verified", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("conversation", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("flow_version", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_touches") as batch:
        batch.drop_column("flow_version")
        batch.drop_column("conversation")
        batch.drop_column("verified")
