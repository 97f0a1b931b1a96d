"""The scheduled folder import, run by a real RQ worker against a real Redis and database: the newest complete
set is imported, recorded and removed; an identical set is not imported twice; a file still being written
waits; a rejected set imports nothing, is moved aside and alerts the owners with a link-only text."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from ivr.practice import folder_import
from ivr.practice.models import Appointment, Client, ImportRun
from tests.helpers.dashboard import OWNER_PASSWORD, add_user, signed_in
from workers.runtime import using

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ehr"
OWNER_PHONE = "+15550109999"


@pytest.fixture
def settings_overrides(settings_overrides, tmp_path):
    return {**settings_overrides, "import_dir": str(tmp_path / "imports")}


@pytest.fixture
def database(tmp_path, migrated_db_file):
    """An empty practice database (the EHR fixture practice is imported into it)."""
    from ivr.db.database import Database

    path = tmp_path / "practice.db"
    shutil.copyfile(migrated_db_file, path)
    db = Database.from_url(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "imports"
    path.mkdir()
    return path


def drop(folder: Path, clock, **files: str) -> None:
    """Copy fixture files into the folder as ``name=fixture``, last written five minutes ago (app clock)."""
    written = (clock.now - dt.timedelta(minutes=5)).timestamp()
    for name, fixture in files.items():
        target = folder / f"{name}.csv"
        shutil.copyfile(FIXTURES / fixture, target)
        os.utime(target, (written, written))


def run_import(app, redis_conn) -> None:
    queue = Queue("calls", connection=redis_conn, serializer=JSONSerializer)
    queue.enqueue("workers.imports.import_folder")
    with using(app.extensions["quietline"]):
        SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)


def runs(database) -> list[tuple[str, list, list]]:
    with database.sessions() as db:
        return [(r.status, [f["name"] for f in r.files], r.counts)
                for r in db.scalars(select(ImportRun).order_by(ImportRun.id))]


def test_a_set_is_imported_recorded_removed_and_not_imported_twice(app, database, redis_conn, clock, folder):
    drop(folder, clock, clients="clients.csv", appointments="appointments.csv", clinicians="clinicians.csv")
    run_import(app, redis_conn)
    [(status, names, counts)] = runs(database)
    assert (status, sorted(names)) == ("imported", ["appointments.csv", "clients.csv", "clinicians.csv"])
    assert counts[2].startswith("appointments: 6 created")
    assert list(folder.iterdir()) == []
    with database.sessions() as db:
        assert db.get(Client, "C-2001").first_name == "Robin"
    scheduled = Queue("calls", connection=redis_conn, serializer=JSONSerializer).scheduled_job_registry
    assert f"import-folder-{int(clock.now.timestamp()) // 900 * 900 + 900}" in scheduled.get_job_ids()
    drop(folder, clock, clients="clients.csv", appointments="appointments.csv", clinicians="clinicians.csv")
    run_import(app, redis_conn)
    assert runs(database)[1][0] == "duplicate" and list(folder.iterdir()) == []


def test_the_newest_complete_set_wins_and_a_file_being_written_waits(app, database, redis_conn, clock, folder):
    drop(folder, clock, **{"clients-2026-11-22": "clients.csv", "clients-2026-11-23": "clients.csv",
                           "appointments-2026-11-23": "appointments.csv"})
    os.utime(folder / "appointments-2026-11-23.csv", (clock.now.timestamp(), clock.now.timestamp()))
    run_import(app, redis_conn)  # the newest set's appointments file was written just now: wait
    assert runs(database) == [] and len(list(folder.iterdir())) == 3
    clock.advance(minutes=2)
    run_import(app, redis_conn)
    [(status, names, counts)] = runs(database)
    assert (status, sorted(names)) == ("imported", ["appointments-2026-11-23.csv", "clients-2026-11-23.csv"])
    assert counts[-1] == "1 older file(s) superseded by a newer file of the same kind: removed unread"
    assert list(folder.iterdir()) == []


def test_a_bad_file_imports_nothing_of_its_set_and_alerts_the_owner(app, database, redis_conn, clock, folder,
                                                                    standin):
    owner = add_user(database, "olive.owner@quietline.test", "Olive Owner", "owner", OWNER_PASSWORD,
                     phone=OWNER_PHONE)
    drop(folder, clock, clients="clients_with_errors.csv", appointments="appointments.csv")
    run_import(app, redis_conn)
    with database.sessions() as db:
        [run] = db.scalars(select(ImportRun)).all()
        assert db.scalar(select(Appointment).where(Appointment.id == "A-9001")) is None
        assert db.get(Client, "C-3001") is None
    assert run.status == "rejected"
    # Review finding 11: where and what, never the cell (a date of birth, a number) in the lasting record.
    assert run.problems[0] == "clients.csv:2: date_of_birth '…' is not a valid date"
    assert not any("1985-13-01" in p for p in run.problems)
    aside = folder / "rejected" / str(run.id)
    assert sorted(p.name for p in aside.iterdir()) == ["appointments.csv", "clients.csv"]
    assert oct(aside.stat().st_mode & 0o777) == "0o700"
    assert {oct(p.stat().st_mode & 0o777) for p in aside.iterdir()} == {"0o600"}
    assert [(m["to"], m["body"]) for m in standin.messages()] == [
        (OWNER_PHONE, "Quietline: a scheduled import was refused and nothing from it was imported. "
                      "https://ql.example.org/staff/imports")]
    page = signed_in(app, owner).get("/staff/imports").get_data(as_text=True)
    assert "Refused: nothing imported" in page and "is not a valid date" in page


def test_files_stamped_each_their_own_way_are_imported_together(app, database, redis_conn, clock, folder):
    """Review finding 3: docs/import.md's own example names, each file with its own stamp: both imported."""
    drop(folder, clock, **{"appointments-2026-11-30": "appointments.csv", "clients_20261130T0600": "clients.csv"})
    run_import(app, redis_conn)
    [(status, names, counts)] = runs(database)
    assert (status, sorted(names)) == ("imported", ["appointments-2026-11-30.csv", "clients_20261130T0600.csv"])
    assert counts[2].startswith("appointments: ") and not counts[2].startswith("appointments: 0 created")
    assert not any("superseded" in line for line in counts)
    assert list(folder.iterdir()) == []
    with database.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Appointment)) > 0


def test_us_stamps_are_ordered_by_date_not_by_text(app, database, redis_conn, clock, folder):
    """Review finding 3: 01-04-2027 is newer than 11-30-2026 (month first in the US): it is the one imported."""
    drop(folder, clock, **{"clients": "clients.csv", "appointments-11-30-2026": "appointments.csv",
                           "appointments-01-04-2027": "appointments.csv"})
    run_import(app, redis_conn)
    [(status, names, counts)] = runs(database)
    assert (status, sorted(names)) == ("imported", ["appointments-01-04-2027.csv", "clients.csv"])
    assert counts[-1] == "1 older file(s) superseded by a newer file of the same kind: removed unread"
    assert list(folder.iterdir()) == []


def test_when_the_newest_file_cannot_be_told_nothing_is_imported_or_deleted(app, database, redis_conn, clock,
                                                                            folder, standin):
    """Review finding 3: an unstamped and a stamped appointments file: ambiguous → refused, kept, owner alerted."""
    add_user(database, "olive.owner@quietline.test", "Olive Owner", "owner", OWNER_PASSWORD, phone=OWNER_PHONE)
    drop(folder, clock, **{"clients": "clients.csv", "appointments": "appointments.csv",
                           "appointments-2026-11-30": "appointments.csv"})
    run_import(app, redis_conn)
    with database.sessions() as db:
        [run] = db.scalars(select(ImportRun)).all()
        assert db.scalar(select(func.count()).select_from(Client)) == 0
    assert run.status == "rejected"
    assert run.problems == [
        "2 appointments files (appointments-2026-11-30.csv, appointments.csv): cannot tell which is the newest; "
        "stamp each with a distinct date and time (2026-11-30 or 20261130T0600) or leave only one"]
    aside = folder / "rejected" / str(run.id)
    assert sorted(p.name for p in aside.iterdir()) == ["appointments-2026-11-30.csv", "appointments.csv",
                                                        "clients.csv"]
    assert [m["to"] for m in standin.messages()] == [OWNER_PHONE]


@pytest.mark.parametrize(("stamp", "region", "moment"), [
    ("2026-11-30", "US", dt.datetime(2026, 11, 30)),
    ("20261130T0600", "US", dt.datetime(2026, 11, 30, 6)),
    ("2026-11-30_06-00-05", "US", dt.datetime(2026, 11, 30, 6, 0, 5)),
    ("11-30-2026", "US", dt.datetime(2026, 11, 30)),
    ("01-04-2027", "US", dt.datetime(2027, 1, 4)),
    ("01-04-2027", "GB", None),  # day or month first? not for sure
    ("30.11.2026", "GB", dt.datetime(2026, 11, 30)),
    ("final", "US", None),
    ("2026-13-01", "US", None),
])
def test_stamps_mean_a_moment(stamp, region, moment):
    assert folder_import.parse_stamp(stamp, region) == moment


def test_refused_files_are_deleted_after_the_retention_period(app, database, redis_conn, clock, folder):
    """Review finding 11: rejected/<run>/ is purged KEEP_REJECTED after its run, not kept forever."""
    drop(folder, clock, clients="clients_with_errors.csv", appointments="appointments.csv")
    run_import(app, redis_conn)
    [(status, _, _)] = runs(database)
    aside = folder / "rejected" / "1"
    assert status == "rejected" and aside.is_dir()
    clock.advance(days=29)
    run_import(app, redis_conn)
    assert aside.is_dir()
    clock.advance(days=1, minutes=1)
    run_import(app, redis_conn)
    assert not aside.exists() and len(runs(database)) == 1
