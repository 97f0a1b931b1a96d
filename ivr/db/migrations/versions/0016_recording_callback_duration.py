"""recordings: the length Twilio reported in the recording callback, to check our copy against

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-01 14:00:00

``recordings.twilio_duration_seconds``: the callback's ``RecordingDuration`` (whole seconds), kept so that the
copy check (``workers.recordings.check_copy``) has Twilio's length even when Twilio's metadata cannot be read.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("twilio_duration_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("twilio_duration_seconds")
