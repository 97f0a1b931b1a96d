"""Backup, verify and restore times (ivr/ops) for the demo practice and for a practice of 5,000 clients with
200 voicemails.

For each practice: a database (SQLite by default; ``--database-url`` for a PostgreSQL database, which
must be empty: the script migrates and seeds it) and a recordings folder of sealed voicemails
(``--seconds`` of 8 kHz 16-bit audio each: Twilio's recordings), then the wall time of
``backup create``, ``backup verify`` (scratch restore, counts, hashes, every recording opened) and
``backup restore`` into an empty SQLite file (or, for PostgreSQL, a new database on the same server),
the archive's size, each step's peak RSS (the process's, sampled every 10 ms) and the load average (the machine
may be shared). The archive is encrypted (a new backup key pair each run). A script, not a test.

    .venv/bin/python bench/backup.py
    .venv/bin/python bench/backup.py --clients 5000 --appointments 20000 --recordings 200 --seconds 30
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.outbound_io import load_average, seed  # noqa: E402
from ivr.config import load_settings  # noqa: E402
from ivr.db.database import Database  # noqa: E402
from ivr.db.migrate_lock import locked_upgrade  # noqa: E402
from ivr.encryption import generate_key  # noqa: E402
from ivr.escalations.recording_files import RecordingFiles  # noqa: E402
from ivr.ops import backup, restore  # noqa: E402
from ivr.ops.backup_crypto import generate_backup_keypair  # noqa: E402
from ivr.practice.demo import seed_demo  # noqa: E402

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def rss_mb() -> float:
    """This process's resident set size now, in MB (Linux: /proc/self/status's VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


PEAKS: dict[str, float] = {}


def timed(what, *args, **kwargs):
    """``what(*args, **kwargs)``: (its result, wall seconds); its peak RSS (sampled every 10 ms) in PEAKS."""
    peak = [rss_mb()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        result = what(*args, **kwargs)
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    PEAKS[getattr(what, "__name__", str(what))] = max(peak[0], rss_mb())
    return result, elapsed


def run(name: str, base: Path, url: str, clients: int, appointments: int, recordings: int, seconds: int) -> None:
    key = generate_key()
    public, private = generate_backup_keypair()  # the archive is sealed; verify and restore get the private half
    settings = load_settings({}, {"twilio_auth_token": "bench-token", "data_key": generate_key(),
                                  "recordings_key": key, "database_url": url, "backup_public_key": public.text(),
                                  "backup_dir": str(base / "backups"), "recordings_dir": str(base / "recordings"),
                                  "env_file": str(base / "env")})
    database = Database.from_url(url)
    locked_upgrade(database.engine)
    if clients:
        seed(database, clients, appointments)
    else:
        seed_demo(database.sessions, NOW, ZoneInfo("America/New_York"))
    files = RecordingFiles.from_settings(settings.recordings_dir, key)
    files.directory.mkdir(parents=True)
    audio = os.urandom(8000 * 2 * seconds)  # noise: compresses as little as speech does once sealed
    for n in range(recordings):
        files.write_audio(f"CA{n:032d}", f"RE{n:032d}", audio)
    result, made = timed(backup.create_backup, settings, database.engine)
    report, verified = timed(restore.verify_backup, settings, database.engine, result.path, key=private)
    assert report.ok, report.problems
    if database.is_sqlite:
        target_url = f"sqlite:///{base}/restored/quietline.db"
        cleanup = None
    else:
        scratch = f"bench_restore_{uuid.uuid4().hex[:8]}"
        with database.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{scratch}"'))
        target_url = database.engine.url.set(database=scratch).render_as_string(hide_password=False)
        cleanup = scratch
    target = Database.from_url(target_url)
    target_settings = load_settings({}, {**{f: getattr(settings, f) for f in ("twilio_auth_token", "data_key",
                                                                                "recordings_key")},
                                         "database_url": target_url, "backup_dir": str(base / "backups2"),
                                         "recordings_dir": str(base / "restored" / "recordings"),
                                         "flows_dir": str(base / "restored-flows"), "env_file": str(base / "env2")})
    Path(target_settings.flows_dir).mkdir()
    done, restored = timed(restore.restore_backup, target_settings, target.engine, result.path, key=private)
    assert not done.problems, done.problems
    target.dispose()
    if cleanup:
        with database.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'DROP DATABASE "{cleanup}" WITH (FORCE)'))
    rows = sum(result.manifest["tables"].values())
    size = result.path.stat().st_size
    print(f"{name:<28} {database.engine.dialect.name:<10} rows {rows:>7}  recordings {recordings:>4}  "
          f"archive {size / 1e6:7.1f} MB  create {made:6.2f} s  verify {verified:6.2f} s  "
          f"restore {restored:6.2f} s  (load {load_average()})", flush=True)
    print(f"{'':<28} peak RSS: create {PEAKS['create_backup']:.0f} MB, verify {PEAKS['verify_backup']:.0f} MB, "
          f"restore {PEAKS['restore_backup']:.0f} MB", flush=True)
    database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--appointments", type=int, default=20000)
    parser.add_argument("--recordings", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30, help="length of each voicemail (8 kHz, 16-bit)")
    parser.add_argument("--database-url", default=None,
                        help="an empty PostgreSQL database (twice: the demo, then the large practice, each in a "
                             "new database made beside it)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ql-bench-backup-"))
    try:
        for name, clients, appointments, recordings in (
                ("demo practice", 0, 0, 2),
                (f"{args.clients} clients", args.clients, args.appointments, args.recordings)):
            folder = base / name.replace(" ", "-")
            folder.mkdir()
            url = f"sqlite:///{folder}/quietline.db"
            if args.database_url:
                admin = Database.from_url(args.database_url)
                fresh = f"bench_{uuid.uuid4().hex[:8]}"
                with admin.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{fresh}"'))
                url = admin.engine.url.set(database=fresh).render_as_string(hide_password=False)
                admin.dispose()
            run(name, folder, url, clients, appointments, recordings, args.seconds)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
