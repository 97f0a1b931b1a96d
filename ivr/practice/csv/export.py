"""``export_practice``: clients, appointments and clinicians as CSV (the columns ``practice import`` reads)."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from ivr.practice.csv import safe as csvsafe
from ivr.practice.csv.cells import format_working_hours, slugify
from ivr.practice.csv.columns import APPOINTMENT_COLUMNS, CLIENT_COLUMNS, CLINICIAN_COLUMNS
from ivr.practice.models import Appointment, Client, Clinician


@dataclass
class ExportReport:
    clients: int = 0
    appointments: int = 0
    clinicians: int = 0

def export_practice(session_factory: sessionmaker[Session], clients_path: str | os.PathLike[str],
                    appointments_path: str | os.PathLike[str],
                    clinicians_path: str | os.PathLike[str] | None = None,
                    tz: dt.tzinfo | None = None) -> ExportReport:
    """Write the canonical columns (what ``import_practice`` reads back); times in ``tz`` (default UTC).

    The files hold clients' details: they are created readable by their owner only.
    """
    tz = tz or dt.UTC
    report = ExportReport()
    with session_factory() as session:
        clinicians = list(session.scalars(select(Clinician).order_by(Clinician.id)))
        # Clinicians are written by name (readable in a spreadsheet), by id where a name is ambiguous.
        name_counts = Counter(slugify(c.name) for c in clinicians)
        ids = {c.id for c in clinicians}
        refer = {c.id: c.name if name_counts[slugify(c.name)] == 1 and slugify(c.name) not in ids - {c.id}
                 else c.id for c in clinicians}
        clients = session.scalars(select(Client).options(selectinload(Client.phones)).order_by(Client.id))
        client_rows = [[c.id, c.first_name, c.last_name, c.date_of_birth.isoformat(),
                        ";".join(p.e164 for p in c.phones), c.email or "",
                        refer.get(c.clinician_id, "") if c.clinician_id else "",
                        _yes_no(c.may_voicemail), _yes_no(c.may_text), _yes_no(c.may_call), c.time_zone or ""]
                       for c in clients]
        appointments = session.scalars(select(Appointment).order_by(Appointment.start, Appointment.id))
        appointment_rows = [[a.id, a.client_id, refer.get(a.clinician_id, a.clinician_id),
                             a.start.astimezone(tz).isoformat(), a.end.astimezone(tz).isoformat(), a.status,
                             a.telehealth_url or ""] for a in appointments]
        clinician_rows = [[c.id, c.name, str(c.session_minutes), format_working_hours(c.working_hours)]
                          for c in clinicians]
    _write_csv(clients_path, CLIENT_COLUMNS, client_rows)
    _write_csv(appointments_path, APPOINTMENT_COLUMNS, appointment_rows)
    report.clients, report.appointments = len(client_rows), len(appointment_rows)
    if clinicians_path is not None:
        _write_csv(clinicians_path, CLINICIAN_COLUMNS, clinician_rows)
        report.clinicians = len(clinician_rows)
    return report

def _yes_no(value: bool) -> str:
    return "yes" if value else "no"

def _write_csv(path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write atomically (no half-written export if something fails), mode 0600, formulas neutralised."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            writer = csvsafe.writer(out)  # formulas neutralised: the file is opened in spreadsheets
            writer.writerow(header)
            writer.writerows(rows)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
