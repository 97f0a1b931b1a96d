"""The change journal as CSV, for entering changes in the EHR in bulk (cells formula-safe: ``safe``)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.practice.csv import safe as csvsafe
from ivr.practice.journal import KIND_LABELS, describe, ehr_appointment_id
from ivr.practice.models import Client, PracticeChange

CSV_COLUMNS = ("change_id", "made_at", "change", "client_id", "client_name", "appointment_id", "before", "after",
               "source", "state")


def write_csv(out: IO[str], rows: Sequence[PracticeChange], db: Session, tz: dt.tzinfo) -> int:
    """The entries as CSV (``CSV_COLUMNS``, formula-safe cells, times in ``tz``); how many rows were written."""
    client_ids = {r.client_id for r in rows if r.client_id}
    names = {c.id: f"{c.first_name} {c.last_name}" for c in db.scalars(select(Client).where(
        Client.id.in_(sorted(client_ids))))} if client_ids else {}
    # Staff look appointments up in the EHR: name the EHR's id, not the ql-… one Quietline gave a moved one.
    ehr_ids = {a: ehr_appointment_id(db, a) for a in {r.appointment_id for r in rows if r.appointment_id}}
    writer = csvsafe.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([r.id, r.made_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), KIND_LABELS.get(r.kind, r.kind),
                         r.client_id or "", names.get(r.client_id or "", ""), ehr_ids.get(r.appointment_id or "", ""),
                         describe(r.before, tz), describe(r.after, tz), r.source, r.state])
    return len(rows)
