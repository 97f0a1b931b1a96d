"""How long a re-import takes when many appointments carry phone history (issue 10 review finding 6).

A script, not a test: it prints figures, asserts nothing.  For each N it makes a fresh migrated SQLite
database (or ``--database-url``'s, which it empties first) with N clients, each with one appointment moved
by phone (the old one rescheduled, a ``ql-`` replacement, a journal entry), then imports the EHR's unchanged
export (old rows only) and the file Quietline's own export would write (both rows per client),
and prints the seconds each import took (the EHR's first: every row kept; then the own export, confirming).

    .venv/bin/python bench/reimport.py                 # N = 250, 1000
    .venv/bin/python bench/reimport.py --sizes 250 --profile
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.db import database as db_mod  # noqa: E402
from ivr.practice import journal  # noqa: E402
from ivr.practice.csv.importer import import_practice  # noqa: E402
from ivr.practice.models import Appointment, ChangeKind, Client, Clinician  # noqa: E402

NOW = dt.datetime(2026, 11, 23, 15, tzinfo=dt.UTC)


def seed(database: db_mod.Database, n: int) -> tuple[str, str]:
    """N clients with one phone-moved appointment each; (own export text, EHR's unchanged export text)."""
    own = ["appointment_id,client_id,clinician,start,end,status"]
    ehr = ["appointment_id,client_id,clinician,start,end,status"]
    with database.sessions() as db, db.begin():
        db.add(Clinician(id="maya-chen", name="Dr. Maya Chen", working_hours={}, session_minutes=50))
        for i in range(n):
            cid = f"C-{i:05d}"
            db.add(Client(id=cid, first_name="Client", last_name=f"N{i}", date_of_birth=dt.date(1980, 1, 1),
                          clinician_id="maya-chen"))
        db.flush()
        for i in range(n):
            cid = f"C-{i:05d}"
            start = NOW + dt.timedelta(days=1 + i // 8, hours=i % 8)
            old = Appointment(id=f"A-{i:05d}", client_id=cid, clinician_id="maya-chen", start=start,
                              end=start + dt.timedelta(minutes=50), status="scheduled")
            db.add(old)
            db.flush()
            before = journal.appointment_state(old)
            new_start = start + dt.timedelta(minutes=30)
            new = Appointment(id=f"ql-{i:012d}", client_id=cid, clinician_id="maya-chen", start=new_start,
                              end=new_start + dt.timedelta(minutes=50), status="scheduled")
            old.status, old.replaced_by = "rescheduled", new.id
            db.flush()
            db.add(new)
            db.flush()
            journal.record(db, ChangeKind.APPOINTMENT_MOVED, source="call:CAbench", now=NOW, client_id=cid,
                           appointment_id=old.id, before=before,
                           after={**journal.appointment_state(new), "appointment_id": new.id})
            iso = lambda t: t.isoformat()  # noqa: E731
            ehr.append(f"{old.id},{cid},Dr. Maya Chen,{iso(start)},{iso(old.end)},scheduled")
            own.append(f"{old.id},{cid},Dr. Maya Chen,{iso(start)},{iso(old.end)},rescheduled")
            own.append(f"{new.id},{cid},Dr. Maya Chen,{iso(new_start)},{iso(new.end)},scheduled")
    return "\n".join(own) + "\n", "\n".join(ehr) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="250,1000")
    parser.add_argument("--profile", action="store_true", help="print the top functions of each import")
    args = parser.parse_args()
    print(f"{'N':>6} {'EHR export (s)':>15} {'own export (s)':>15}  summary")
    for n in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            db_mod.upgrade(url)
            database = db_mod.Database.from_url(url)
            own, ehr = seed(database, n)
            figures = []
            for text in (ehr, own):  # the unchanged EHR export first: every row kept
                profiler = cProfile.Profile() if args.profile else None
                started = time.perf_counter()
                if profiler:
                    profiler.enable()
                report = import_practice(database.sessions, appointments_text=text, now=NOW)
                if profiler:
                    profiler.disable()
                figures.append((time.perf_counter() - started, report.appointments))
                if profiler:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(12)
            database.dispose()
        print(f"{n:>6} {figures[0][0]:>15.2f} {figures[1][0]:>15.2f}  EHR: {figures[0][1]}; own: {figures[1][1]}")


if __name__ == "__main__":
    main()
