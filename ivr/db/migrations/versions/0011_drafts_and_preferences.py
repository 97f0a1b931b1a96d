"""outcome_drafts and staff_preferences: unsent outcomes survive a sign-out; each person's sound and shortcuts

Revision ID: 0011
Revises: 0012
Create Date: 2026-12-01 03:00:00

Two new tables, nothing existing changes.  A draft may name the client as an outcome may, so it lives in
this database only (never the browser's storage); resolving an escalation deletes its drafts.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outcome_drafts',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('escalation_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('preset', sa.String(length=40), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'],
                                name=op.f('fk_outcome_drafts_escalation_id_escalations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'],
                                name=op.f('fk_outcome_drafts_user_id_staff_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'escalation_id', name=op.f('pk_outcome_drafts')),
    )
    op.create_table(
        'staff_preferences',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('sound_urgent', sa.Boolean(), nullable=False),
        sa.Column('shortcuts', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'],
                                name=op.f('fk_staff_preferences_user_id_staff_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_staff_preferences')),
    )


def downgrade() -> None:
    op.drop_table('staff_preferences')
    op.drop_table('outcome_drafts')
