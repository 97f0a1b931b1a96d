"""recordings: how often a transcription and a deletion at Twilio were tried, and why a transcription stopped

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 08:00:00

A job the periodic passes queue again (a speech worker's maintenance pass, the reconciliation job) that keeps
raising is capped by a count kept in the row, durable whatever happens to Redis:

* ``transcribe_attempts``: transcriptions started with a model (``workers.recordings``); past
  ``TRANSCRIBE_ATTEMPTS_MAX`` the message is marked ``failed`` and staff have it without a transcript;
* ``transcript_error``: why the transcription stopped (the error's kind and the count, never what was said);
* ``twilio_delete_attempts``: deletions of Twilio's copy tried (after a checked copy, or at a purge); past
  ``DELETE_ATTEMPTS_MAX`` the reconciliation job stops asking and the dashboard says so.

Existing rows start at 0 (a server default, dropped again: the model sets it).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = ("transcribe_attempts", "twilio_delete_attempts")


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        for name in _COUNTS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("transcript_error", sa.String(200), nullable=True))
    with op.batch_alter_table("recordings") as batch:
        for name in _COUNTS:
            batch.alter_column(name, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("transcript_error")
        for name in reversed(_COUNTS):
            batch.drop_column(name)
