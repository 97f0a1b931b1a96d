"""appointments: an index on replaced_by, so walking a moved appointment's chain back is a lookup, not a scan

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 20:30:00

Every phone move and cancellation asks which appointment a given one replaced (``journal.chain_root``,
``journal.ehr_appointment_id``: ``WHERE replaced_by = ?``).  Without an index that read every appointment
of the practice (3 ms a move at 12,000 appointments on SQLite, growing with the diary).
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_appointments_replaced_by", "appointments", ["replaced_by"])


def downgrade() -> None:
    op.drop_index("ix_appointments_replaced_by", table_name="appointments")
