"""outbound delivery failures: numbers Twilio can never reach, per channel (hashed, never in clear)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 10:00:00

``undeliverable_numbers`` holds one row per (number, channel) a permanent Twilio error code flagged
(21211, 21214, 21408, 21612, 21614, 30003-30006); ``number_hash`` is a keyed HMAC of the E.164 number
(``ivr.contact.undeliverable``).  Staff lift a flag from the client's outbound page (``lifted_at``/``lifted_by``).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "undeliverable_numbers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number_hash", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("error_code", sa.String(20), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("touch_job_id", sa.String(64), nullable=True),
        sa.Column("flagged_at", UTC, nullable=False),
        sa.Column("lifted_at", UTC, nullable=True),
        sa.Column("lifted_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_undeliverable_numbers")),
        sa.UniqueConstraint("number_hash", "channel", name=op.f("uq_undeliverable_numbers_number_hash_channel")),
    )
    op.create_index("ix_undeliverable_numbers_client_id", "undeliverable_numbers", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_undeliverable_numbers_client_id", table_name="undeliverable_numbers")
    op.drop_table("undeliverable_numbers")
