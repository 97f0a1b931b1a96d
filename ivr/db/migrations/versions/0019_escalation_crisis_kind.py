"""escalations and recordings: the kind of crisis heard (never the words)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 00:00:00

``escalations.crisis_kind``: for a crisis, what kind staff are told of (``ivr.core.crisis_kind.CrisisKind``:
"harm_to_others", "pressed_key", "voicemail_medical_emergency", ...); null for every other escalation and for a
crisis escalated before this release. ``recordings.crisis_kind``: the kind a voicemail's transcript reads as, set
with its crisis grade, so the escalation the message raises or joins names it.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("crisis_kind", sa.String(40), nullable=True))
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("crisis_kind", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("crisis_kind")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("crisis_kind")
