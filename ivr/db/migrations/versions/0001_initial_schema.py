"""Initial schema: clinicians, clients and their phones, appointments, cards, follow-ups, verification failures.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain types here, never the app's: a migration must mean the same thing after the models change.
# (UTCDateTime in the models is a TypeDecorator over DateTime(timezone=True).)
UTC = sa.DateTime(timezone=True)
ACTIVE_ONLY = sa.text("status = 'scheduled'")


def upgrade() -> None:
    op.create_table(
        "clinicians",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("working_hours", sa.JSON(), nullable=False),
        sa.Column("session_minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinicians")),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("pin_hash", sa.String(200), nullable=True),
        sa.Column("clinician_id", sa.String(64), nullable=True),
        sa.Column("may_voicemail", sa.Boolean(), nullable=False),
        sa.Column("may_text", sa.Boolean(), nullable=False),
        sa.Column("discreet", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["clinician_id"], ["clinicians.id"],
                                name=op.f("fk_clients_clinician_id_clinicians")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    op.create_table(
        "client_phones",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("e164", sa.String(20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                name=op.f("fk_client_phones_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_phones")),
        sa.UniqueConstraint("client_id", "e164", name=op.f("uq_client_phones_client_id_e164")),
    )
    op.create_index(op.f("ix_client_phones_e164"), "client_phones", ["e164"])

    op.create_table(
        "appointments",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("clinician_id", sa.String(64), nullable=False),
        sa.Column("start", UTC, nullable=False),
        sa.Column("end", UTC, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("telehealth_url", sa.String(500), nullable=True),
        sa.Column("cancel_reason", sa.String(100), nullable=True),
        sa.Column("replaced_by", sa.String(64), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_appointments_client_id_clients")),
        sa.ForeignKeyConstraint(["clinician_id"], ["clinicians.id"],
                                name=op.f("fk_appointments_clinician_id_clinicians")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    op.create_index("ix_appointments_client_start", "appointments", ["client_id", "start"])
    # One active appointment per clinician and start; cancelled/moved ones free the slot.
    op.create_index("uq_active_slot", "appointments", ["clinician_id", "start"], unique=True,
                    sqlite_where=ACTIVE_ONLY, postgresql_where=ACTIVE_ONLY)

    op.create_table(
        "cards_on_file",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("token_ref", sa.String(200), nullable=False),
        sa.Column("brand", sa.String(40), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("expiry", sa.String(4), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_cards_on_file_client_id_clients")),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_cards_on_file")),
    )
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("appointment_id", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("done_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_follow_ups_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    op.create_index(op.f("ix_follow_ups_client_id"), "follow_ups", ["client_id"])

    op.create_table(
        "verification_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("phone_key", sa.String(80), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("call_sid", sa.String(64), nullable=False),
        sa.Column("failed_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_failures")),
    )
    op.create_index("ix_verification_phone_time", "verification_failures", ["phone_key", "failed_at"])


def downgrade() -> None:
    op.drop_table("verification_failures")
    op.drop_table("follow_ups")
    op.drop_table("cards_on_file")
    op.drop_table("appointments")
    op.drop_table("client_phones")
    op.drop_table("clients")
    op.drop_table("clinicians")
