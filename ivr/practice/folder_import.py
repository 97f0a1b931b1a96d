"""Scheduled imports from a folder: the EHR (or a person) drops its exports there, a job imports them.

Files are ``clients.csv``, ``appointments.csv`` and ``clinicians.csv``, optionally with a stamp after
the kind (``appointments-2026-11-30.csv``, ``clients_20261130T0600.csv``, ``appointments-11-30-2026.csv``).
A run (``run``) takes the newest file of each kind, ordered by the date and time its stamp **means** (not its
text), once every file in the folder has been left alone for the settle time (an exporter still writing one is
waited for), and imports them together with ``import_practice``: the same all-or-nothing checks and the
reconciliation with phone changes.  Only a file older than another file **of the same kind** is superseded
and removed unread.  When the newest of a kind cannot be told (a stamp that is not a date, two files with the
same moment, a file without a stamp beside stamped ones), nothing is imported: the run is refused, its files
are kept aside and the owner is alerted.

The files hold client data: after an import they are deleted; a refused run's files are moved aside to
``rejected/<run id>/`` (owner-only) for the owner to look at, and deleted ``KEEP_REJECTED`` after the run;
a set identical (by SHA-256) to one imported before is deleted without writing anything.  Each run is an
``ImportRun`` row; its problems mask the cells they quote.  Nothing here logs a file's content or a
problem's text.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
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
from ivr.private_files import FILE_MODE, private_dir

KINDS = ("clients", "appointments", "clinicians")
_NAME_RE = re.compile(r"(clients|appointments|clinicians)(?:[-_ .]+(.+?))?\.csv", re.IGNORECASE)
_TIME = r"(?:[T _-]?(\d{2})[-_.:h]?(\d{2})(?:[-_.:]?(\d{2}))?)?"
_YEAR_FIRST_RE = re.compile(r"(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})" + _TIME + r"Z?", re.IGNORECASE)
_YEAR_LAST_RE = re.compile(r"(\d{1,2})[-_.](\d{1,2})[-_.](\d{4})" + _TIME + r"Z?", re.IGNORECASE)
_MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW"})  # where 11-30-2026 and 01-04-2027 are month first
REJECTED_DIR = "rejected"
KEEP_REJECTED = dt.timedelta(days=30)  # a refused run's files are deleted this long after the run
_QUOTED_RE = re.compile(r"'[^']*'")


class RunStatus:
    IMPORTED = "imported"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ImportFile:
    kind: str  # clients, appointments or clinicians
    path: Path
    stamp: str  # "" for a file named without one


def parse_stamp(stamp: str, region: str = "US") -> dt.datetime | None:
    """The moment a file name's stamp means (naive: only compared with stamps of the same exporter), or None.

    Year first (``2026-11-30``, ``20261130T0600``, ``2026-11-30_06-00-05``) or year last (``11-30-2026``: month
    first in the US and the other ``_MONTH_FIRST_REGIONS``, else day first; a day over 12 settles it either way),
    with an optional time.  None: not a date, or not one date for sure.
    """
    match = _YEAR_FIRST_RE.fullmatch(stamp)
    if match:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    else:
        match = _YEAR_LAST_RE.fullmatch(stamp)
        if not match:
            return None
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        if first > 12 or second > 12:
            day, month = max(first, second), min(first, second)
        elif first == second or region.upper() in _MONTH_FIRST_REGIONS:
            month, day = first, second
        else:
            return None  # 01-04-2027 outside the month-first regions: which is it?
    try:
        return dt.datetime(year, month, day, int(match[4] or 0), int(match[5] or 0), int(match[6] or 0))
    except ValueError:
        return None


def find_files(folder: Path) -> list[ImportFile]:
    """The import files directly in ``folder``, by name (a missing folder has none)."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        match = _NAME_RE.fullmatch(path.name)
        if match and path.is_file():
            found.append(ImportFile(match.group(1).lower(), path, match.group(2) or ""))
    return found


def choose(files: list[ImportFile], region: str = "US") -> tuple[dict[str, Path], list[Path], list[str]]:
    """The newest file of each kind, the older ones they supersede, and why the newest cannot be told (if so).

    A kind with one file takes it whatever its stamp; with several, every stamp must be a date
    (``parse_stamp``) and no two the same moment, else that kind is a problem (the run imports nothing).
    """
    chosen: dict[str, Path] = {}
    superseded: list[Path] = []
    problems: list[str] = []
    for kind in KINDS:
        mine = [f for f in files if f.kind == kind]
        if len(mine) == 1:
            chosen[kind] = mine[0].path
        if len(mine) <= 1:
            continue
        moments = [(parse_stamp(f.stamp, region), f) for f in mine]
        names = ", ".join(f.path.name for f in mine)
        if any(m is None for m, _ in moments) or len({m for m, _ in moments}) < len(moments):
            problems.append(f"{len(mine)} {kind} files ({names}): cannot tell which is the newest; stamp each "
                            "with a distinct date and time (2026-11-30 or 20261130T0600) or leave only one")
            continue
        ordered = sorted(moments, key=lambda pair: pair[0])  # type: ignore[arg-type, return-value]
        chosen[kind] = ordered[-1][1].path
        superseded += [f.path for _, f in ordered[:-1]]
    return chosen, superseded, problems


def set_hash(files: dict[str, Path]) -> str:
    digest = hashlib.sha256()
    for kind in KINDS:
        if kind in files:
            digest.update(kind.encode() + b"\0" + hashlib.sha256(files[kind].read_bytes()).digest())
    return digest.hexdigest()


def run(session_factory: sessionmaker[Session], folder: str | Path, *, now: dt.datetime, tz: dt.tzinfo | None,
        region: str = "US", settle: dt.timedelta = dt.timedelta(minutes=1),
        today: dt.date | None = None) -> ImportRun | None:
    """Import the newest file of each kind in ``folder``; the run's record, or None when there was nothing to do."""
    folder = Path(folder)
    purge_rejected(session_factory, folder, now)
    files = find_files(folder)
    if not files:
        return None
    if any(dt.datetime.fromtimestamp(f.path.stat().st_mtime, dt.UTC) > now - settle for f in files):
        return None  # one is still being written (perhaps a newer one): the next run takes them
    chosen, superseded, problems = choose(files, region)
    described = [{"kind": f.kind, "name": f.path.name,
                  "sha256": hashlib.sha256(f.path.read_bytes()).hexdigest()}
                 for f in files if f.path in chosen.values() or problems]
    digest = set_hash(chosen)
    counts: list[str] = []
    if problems:
        status = RunStatus.REJECTED
    else:
        with session_factory() as db:
            seen = db.scalar(select(ImportRun.id).where(ImportRun.set_hash == digest,
                                                        ImportRun.status == RunStatus.IMPORTED).limit(1))
        if seen is not None:
            status = RunStatus.DUPLICATE
            counts = [f"the same files were imported in run #{seen}: nothing written"]
        else:
            texts = {kind: read_csv_text(path) for kind, path in chosen.items()}
            try:
                report = import_practice(session_factory, texts.get("clients"), texts.get("appointments"),
                                         texts.get("clinicians"), region, tz=tz, now=now, today=today,
                                         names={kind: path.name for kind, path in chosen.items()})
            except ImportRejected as rejected:
                # Where and what kind, never the cells: the record outlives the files (a DOB, a number).
                status, problems = RunStatus.REJECTED, [mask(str(p)) for p in rejected.problems]
            else:
                status, counts = RunStatus.IMPORTED, report.lines()
        if superseded and status != RunStatus.REJECTED:
            counts.append(f"{len(superseded)} older file(s) superseded by a newer file of the same kind: "
                          "removed unread")
    with session_factory() as db, db.begin():
        record = ImportRun(started_at=now, status=status, set_hash=digest, files=described, counts=counts,
                           problems=problems)
        db.add(record)
        db.flush()
        run_id = record.id
    if status == RunStatus.REJECTED:
        # Kept for the owner, older files too: nothing was imported, so nothing supersedes them.
        aside = private_dir(folder / REJECTED_DIR / str(run_id))
        for f in files:
            shutil.move(str(f.path), aside / f.path.name)
            os.chmod(aside / f.path.name, FILE_MODE)  # moved files keep their mode: make them owner-only
    else:
        for path in [*chosen.values(), *superseded]:
            path.unlink(missing_ok=True)
    with session_factory() as db:
        return db.get(ImportRun, run_id)


def mask(problem: str) -> str:
    """A problem without the cell values it quotes: ``clients.csv:2: date_of_birth '…' is not a valid date``."""
    return _QUOTED_RE.sub("'…'", problem)


def purge_rejected(session_factory: sessionmaker[Session], folder: Path, now: dt.datetime,
                   keep: dt.timedelta = KEEP_REJECTED) -> int:
    """Delete ``rejected/<run id>/`` folders of runs started more than ``keep`` before ``now``; how many."""
    aside = folder / REJECTED_DIR
    if not aside.is_dir():
        return 0
    ids = {int(p.name): p for p in aside.iterdir() if p.is_dir() and p.name.isdigit()}
    if not ids:
        return 0
    with session_factory() as db:
        old = set(db.scalars(select(ImportRun.id).where(ImportRun.id.in_(sorted(ids)),
                                                        ImportRun.started_at < now - keep)))
    for run_id in old:
        shutil.rmtree(ids[run_id], ignore_errors=True)
    return len(old)


def recent_runs(db: Session, limit: int = 50) -> list[ImportRun]:
    return list(db.scalars(select(ImportRun).order_by(ImportRun.started_at.desc(), ImportRun.id.desc()).limit(limit)))
