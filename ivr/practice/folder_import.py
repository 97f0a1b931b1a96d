"""Scheduled imports from a folder: the EHR (or a person) drops its exports there, a job imports them.

Files are ``clients.csv``, ``appointments.csv`` and ``clinicians.csv``, optionally with a stamp after
the kind (``appointments-2026-11-30.csv``, ``clients_20261130T0600.csv``): files with the same stamp
are one **set**.  A run (``run``) takes the newest set, once every file in it has been left alone for
the settle time (an exporter still writing one is waited for), and imports it with ``import_practice``:
the same all-or-nothing checks and the reconciliation with phone changes.  Older sets are superseded
and removed.

The files hold client data: after an import they are deleted; a rejected set is moved aside to
``rejected/<run id>/`` (owner-only) for the owner to look at; a set identical (by SHA-256) to one
imported before is deleted without writing anything.  Each run is an ``ImportRun`` row.  Nothing here
logs a file's content or a problem's text.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.exceptions import ImportRejected
from ivr.practice.csv.importer import import_practice
from ivr.practice.csv.parsing import read_csv_text
from ivr.practice.models import ImportRun
from ivr.private_files import private_dir

KINDS = ("clients", "appointments", "clinicians")
_NAME_RE = re.compile(r"(clients|appointments|clinicians)(?:[-_ .]+(.+?))?\.csv", re.IGNORECASE)
REJECTED_DIR = "rejected"


class RunStatus:
    IMPORTED = "imported"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class FileSet:
    stamp: str  # "" for files named without one
    files: dict[str, Path]  # kind → file


def find_sets(folder: Path) -> list[FileSet]:
    """The sets of import files directly in ``folder``, oldest stamp first (a missing folder has none)."""
    if not folder.is_dir():
        return []
    sets: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = _NAME_RE.fullmatch(path.name)
        if match and path.is_file():
            sets.setdefault(match.group(2) or "", {})[match.group(1).lower()] = path
    return [FileSet(stamp, files) for stamp, files in sorted(sets.items())]


def set_hash(files: dict[str, Path]) -> str:
    digest = hashlib.sha256()
    for kind in KINDS:
        if kind in files:
            digest.update(kind.encode() + b"\0" + hashlib.sha256(files[kind].read_bytes()).digest())
    return digest.hexdigest()


def run(session_factory: sessionmaker[Session], folder: str | Path, *, now: dt.datetime, tz: dt.tzinfo | None,
        region: str = "US", settle: dt.timedelta = dt.timedelta(minutes=1),
        today: dt.date | None = None) -> ImportRun | None:
    """Import the newest complete set in ``folder``; the run's record, or None when there was nothing to do."""
    folder = Path(folder)
    sets = find_sets(folder)
    if not sets:
        return None
    newest = sets[-1]
    if any(dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC) > now - settle for p in newest.files.values()):
        return None  # still being written: the next run takes it
    digest = set_hash(newest.files)
    described = [{"kind": kind, "name": path.name,
                  "sha256": hashlib.sha256(path.read_bytes()).hexdigest()} for kind, path in newest.files.items()]
    superseded = [p for s in sets[:-1] for p in s.files.values()]
    with session_factory() as db:
        seen = db.scalar(select(ImportRun.id).where(ImportRun.set_hash == digest,
                                                    ImportRun.status == RunStatus.IMPORTED).limit(1))
    counts: list[str] = []
    problems: list[str] = []
    if seen is not None:
        status = RunStatus.DUPLICATE
        counts = [f"the same files were imported in run #{seen}: nothing written"]
    else:
        texts = {kind: read_csv_text(path) for kind, path in newest.files.items()}
        try:
            report = import_practice(session_factory, texts.get("clients"), texts.get("appointments"),
                                     texts.get("clinicians"), region, tz=tz, now=now, today=today,
                                     names={kind: path.name for kind, path in newest.files.items()})
        except ImportRejected as rejected:
            status, problems = RunStatus.REJECTED, [str(p) for p in rejected.problems]
        else:
            status, counts = RunStatus.IMPORTED, report.lines()
    if superseded:
        counts.append(f"{len(superseded)} older file(s) superseded by this set: removed unread")
    with session_factory() as db, db.begin():
        record = ImportRun(started_at=now, status=status, set_hash=digest, files=described, counts=counts,
                           problems=problems)
        db.add(record)
        db.flush()
        run_id = record.id
    if status == RunStatus.REJECTED:
        aside = private_dir(folder / REJECTED_DIR / str(run_id))
        for path in newest.files.values():
            shutil.move(str(path), aside / path.name)
    else:
        for path in newest.files.values():
            path.unlink(missing_ok=True)
    for path in superseded:
        path.unlink(missing_ok=True)
    with session_factory() as db:
        return db.get(ImportRun, run_id)


def recent_runs(db: Session, limit: int = 50) -> list[ImportRun]:
    return list(db.scalars(select(ImportRun).order_by(ImportRun.started_at.desc(), ImportRun.id.desc()).limit(limit)))
