"""outbound contact: touches, replies, call opt-outs, correction requests; appointment versions, client zones

Revision ID: 0009
Revises: 0012
Create Date: 2026-12-01 03:00:00

``outbound_touches`` holds one row per touch of the planner (unique ``touch_id``); ``outbound_replies`` the
texts clients send to the pool numbers (words sealed); ``call_opt_outs`` numbers never to call (fax, asked);
``correction_requests`` the correction calls staff asked for.  Appointments get ``version`` (bumped on
every change of time, status or clinician), ``changed_at``, ``checked_in``, ``joined`` and
``changed_by_client``; clients ``may_call`` (default true) and ``time_zone``.  Text opt-outs stay in
``sms_opt_outs`` (0006).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbound_touches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("touch_id", sa.String(400), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("appointment_id", sa.String(64), nullable=True),
        sa.Column("appointment_version", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("rule", sa.String(80), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("why_skipped", sa.String(20), nullable=True),
        sa.Column("due", UTC, nullable=True),
        sa.Column("window_end", UTC, nullable=True),
        sa.Column("about_start", UTC, nullable=True),
        sa.Column("words", sa.String(80), nullable=True),
        sa.Column("task", sa.Text(), nullable=True),
        sa.Column("to_e164", sa.String(20), nullable=True),
        sa.Column("from_e164", sa.String(20), nullable=True),
        sa.Column("neutral", sa.Boolean(), nullable=False),
        sa.Column("twilio_sid", sa.String(40), nullable=True),
        sa.Column("rules_version", sa.String(40), nullable=True),
        sa.Column("words_version", sa.String(40), nullable=True),
        sa.Column("answered_by", sa.String(30), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(20), nullable=True),
        sa.Column("attempted_at", UTC, nullable=True),
        sa.Column("outcome_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_touches")),
        sa.UniqueConstraint("touch_id", name=op.f("uq_outbound_touches_touch_id")),
        sa.UniqueConstraint("job_id", name=op.f("uq_outbound_touches_job_id")),
    )
    op.create_index("ix_outbound_touches_client_status", "outbound_touches", ["client_id", "status"])
    op.create_index("ix_outbound_touches_status_due", "outbound_touches", ["status", "due"])
    op.create_index(op.f("ix_outbound_touches_appointment_id"), "outbound_touches", ["appointment_id"])
    op.create_index(op.f("ix_outbound_touches_twilio_sid"), "outbound_touches", ["twilio_sid"])
    op.create_table(
        "outbound_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_sid", sa.String(40), nullable=False),
        sa.Column("from_e164", sa.String(20), nullable=False),
        sa.Column("to_e164", sa.String(20), nullable=True),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("touch_id", sa.String(400), nullable=True),
        sa.Column("meaning", sa.String(10), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_replies")),
        sa.UniqueConstraint("message_sid", name=op.f("uq_outbound_replies_message_sid")),
    )
    op.create_index("ix_outbound_replies_client_at", "outbound_replies", ["client_id", "received_at"])
    op.create_table(
        "call_opt_outs",
        sa.Column("e164", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("since", UTC, nullable=False),
        sa.PrimaryKeyConstraint("e164", name=op.f("pk_call_opt_outs")),
    )
    op.create_table(
        "correction_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("appointment_id", sa.String(64), nullable=True),
        sa.Column("raised_by", sa.Integer(), nullable=True),
        sa.Column("raised_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correction_requests")),
    )
    op.create_index(op.f("ix_correction_requests_client_id"), "correction_requests", ["client_id"])
    # Existing rows get the defaults through a server default, dropped again: the models set them.
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("changed_at", UTC, nullable=True))
        batch.add_column(sa.Column("checked_in", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("joined", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("changed_by_client", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("may_call", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=True))
    with op.batch_alter_table("appointments") as batch:
        for name in ("version", "checked_in", "joined", "changed_by_client"):
            batch.alter_column(name, server_default=None)
    with op.batch_alter_table("clients") as batch:
        batch.alter_column("may_call", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("may_call")
    with op.batch_alter_table("appointments") as batch:
        for name in ("changed_by_client", "joined", "checked_in", "changed_at", "version"):
            batch.drop_column(name)
    op.drop_index(op.f("ix_correction_requests_client_id"), table_name="correction_requests")
    op.drop_table("correction_requests")
    op.drop_table("call_opt_outs")
    op.drop_index("ix_outbound_replies_client_at", table_name="outbound_replies")
    op.drop_table("outbound_replies")
    for index in ("ix_outbound_touches_twilio_sid", "ix_outbound_touches_appointment_id"):
        op.drop_index(op.f(index), table_name="outbound_touches")
    op.drop_index("ix_outbound_touches_status_due", table_name="outbound_touches")
    op.drop_index("ix_outbound_touches_client_status", table_name="outbound_touches")
    op.drop_table("outbound_touches")
