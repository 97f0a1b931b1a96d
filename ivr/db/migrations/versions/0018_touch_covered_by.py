"""outbound_touches: the touch whose neutral text or call to a shared number also carried this one

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 21:00:00

``outbound_touches.covered_by``: the row id of the touch that went to the same family phone the same day, on the
same channel, in the same neutral words; this one was recorded ``merged`` with it instead of being sent again
(``ivr.contact.sending``: the neutral message to a number is one message).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_touches") as batch:
        batch.add_column(sa.Column("covered_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_touches") as batch:
        batch.drop_column("covered_by")
