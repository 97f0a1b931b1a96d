"""verification failures charged per subject and turn, verification locks, SMS opt-outs

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:00:00

``verification_failures`` changes shape: one row per subject a failed answer counts
against (the caller, each candidate client, the practice), unique per call turn.
Existing rows are carried over (a caller row each, plus a client row where one was
blamed) so a lock in force during the upgrade stays in force.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


_OLD = sa.table("verification_failures", sa.column("id", sa.Integer()), sa.column("phone_key", sa.String()),
                sa.column("client_id", sa.String()), sa.column("call_sid", sa.String()),
                sa.column("failed_at", UTC))
_NEW = sa.table("verification_failures", sa.column("call_sid", sa.String()), sa.column("turn", sa.Integer()),
                sa.column("subject", sa.String()), sa.column("kind", sa.String()), sa.column("failed_at", UTC))


def upgrade() -> None:
    # Read, drop, recreate, write back: renaming the table would keep its constraint names
    # (PostgreSQL names the primary key's index after them) and clash with the new table's.
    old = op.get_bind().execute(sa.select(_OLD)).all()
    op.drop_index("ix_verification_phone_time", table_name="verification_failures")
    op.drop_table("verification_failures")
    op.create_table(
        "verification_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_sid", sa.String(64), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("failed_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_failures")),
        sa.UniqueConstraint("call_sid", "turn", "subject",
                            name=op.f("uq_verification_failures_call_sid_turn_subject")),
    )
    op.create_index("ix_verification_subject_time", "verification_failures", ["subject", "failed_at"])
    op.create_index("ix_verification_failed_at", "verification_failures", ["failed_at"])
    # Old rows had no turn: their id, negated, stands in (unique, and never a real turn).
    rows = []
    for row in old:
        caller = "withheld" if row.phone_key.startswith("anonymous:") else row.phone_key
        rows.append({"call_sid": row.call_sid, "turn": -row.id, "subject": f"caller:{caller}", "kind": "date",
                     "failed_at": row.failed_at})
        if row.client_id:
            rows.append({"call_sid": row.call_sid, "turn": -row.id, "subject": f"client:{row.client_id}",
                         "kind": "date", "failed_at": row.failed_at})
    if rows:
        op.get_bind().execute(sa.insert(_NEW), rows)

    op.create_table(
        "verification_locks",
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("locked_at", UTC, nullable=True),
        sa.Column("locked_until", UTC, nullable=True),
        sa.Column("call_sid", sa.String(64), nullable=True),
        sa.Column("turn", sa.Integer(), nullable=True),
        sa.Column("cleared_at", UTC, nullable=True),
        sa.Column("cleared_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_verification_locks")),
    )
    op.create_index(op.f("ix_verification_locks_call_sid"), "verification_locks", ["call_sid"])

    op.create_table(
        "sms_opt_outs",
        sa.Column("e164", sa.String(20), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("keyword", sa.String(20), nullable=False),
        sa.Column("changed_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("e164", name=op.f("pk_sms_opt_outs")),
    )


def downgrade() -> None:
    op.drop_table("sms_opt_outs")
    op.drop_index(op.f("ix_verification_locks_call_sid"), table_name="verification_locks")
    op.drop_table("verification_locks")
    # Each caller row becomes an old-style row; the per-client charges have no place there.
    new = op.get_bind().execute(sa.select(_NEW).where(_NEW.c.subject.like("caller:%"))).all()
    op.drop_index("ix_verification_subject_time", table_name="verification_failures")
    op.drop_index("ix_verification_failed_at", table_name="verification_failures")
    op.drop_table("verification_failures")
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
    rows = [{"phone_key": f"anonymous:{r.call_sid}" if r.subject == "caller:withheld" else r.subject[7:],
             "client_id": None, "call_sid": r.call_sid, "failed_at": r.failed_at} for r in new]
    if rows:
        old = sa.table("verification_failures", sa.column("phone_key", sa.String()),
                       sa.column("client_id", sa.String()), sa.column("call_sid", sa.String()),
                       sa.column("failed_at", UTC))
        op.get_bind().execute(sa.insert(old), rows)
