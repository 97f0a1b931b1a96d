"""recordings: kept like a clinical record (checked copy, deleted at Twilio, transcribed, triaged, purged)

Revision ID: 0008
Revises: 0012
Create Date: 2026-12-01 03:00:00

Columns on ``recordings``, all nullable (rows from before have none of them; the reconciliation job asks
Twilio to delete the copies of rows copied before this, once checked):

* ``verified_at``: our sealed copy was read back, decrypted and decoded as audio;
* ``twilio_deleted_at`` / ``twilio_delete_error``: Twilio's copy is gone (or why it is not yet);
* ``duration_seconds``: the audio's length;
* ``transcript_status``: ``done``, ``no_model`` or ``failed``;
* ``triage_category`` (reschedule, cancel, billing, link_portal, callback, other) and ``crisis``
  (``crisis``, ``unsure`` or ``none``);
* ``purged_at``: the audio and transcript were deleted under the practice's retention.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("verified_at", sa.DateTime(timezone=True)),
    ("twilio_deleted_at", sa.DateTime(timezone=True)),
    ("twilio_delete_error", sa.String(length=200)),
    ("duration_seconds", sa.Float()),
    ("transcript_status", sa.String(length=12)),
    ("triage_category", sa.String(length=20)),
    ("crisis", sa.String(length=10)),
    ("purged_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        for name, _type in reversed(_COLUMNS):
            batch_op.drop_column(name)
