"""the change journal (practice_changes), appointments.ehr_id, scheduled import runs (import_runs),
clinicians' calendar feeds (calendar_feeds)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 20:00:00

Changes made before the journal existed are not back-filled: nothing recorded them.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "practice_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("appointment_id", sa.String(64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("made_at", UTC, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("entered_at", UTC, nullable=True),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", UTC, nullable=True),
        sa.Column("conflict", sa.JSON(), nullable=True),
        sa.Column("conflict_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_changes")),
    )
    op.create_index("ix_practice_changes_state_made", "practice_changes", ["state", "made_at"])
    op.create_index(op.f("ix_practice_changes_client_id"), "practice_changes", ["client_id"])
    op.create_index(op.f("ix_practice_changes_appointment_id"), "practice_changes", ["appointment_id"])
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("set_hash", sa.String(64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_index(op.f("ix_import_runs_started_at"), "import_runs", ["started_at"])
    op.create_index(op.f("ix_import_runs_set_hash"), "import_runs", ["set_hash"])
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("clinician_id", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("show_initials", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["clinician_id"], ["clinicians.id"], name=op.f("fk_calendar_feeds_clinician_id_clinicians"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_index(op.f("ix_calendar_feeds_clinician_id"), "calendar_feeds", ["clinician_id"])
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ehr_id", sa.String(64), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointments_ehr_id"), ["ehr_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_ehr_id"))
        batch_op.drop_column("ehr_id")
    op.drop_index(op.f("ix_calendar_feeds_clinician_id"), table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
    op.drop_index(op.f("ix_import_runs_set_hash"), table_name="import_runs")
    op.drop_index(op.f("ix_import_runs_started_at"), table_name="import_runs")
    op.drop_table("import_runs")
    op.drop_index(op.f("ix_practice_changes_appointment_id"), table_name="practice_changes")
    op.drop_index(op.f("ix_practice_changes_client_id"), table_name="practice_changes")
    op.drop_index("ix_practice_changes_state_made", table_name="practice_changes")
    op.drop_table("practice_changes")
