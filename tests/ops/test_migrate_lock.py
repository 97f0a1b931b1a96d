"""Schema migrations under a lock (ivr/db/migrate_lock.py), on SQLite and PostgreSQL: two migrators at once
→ one runs the migrations, the other finds nothing to do; ``--no-wait`` fails clearly while another runs; a
waiting migrator goes on once the lock is released. And the backup commands through the Flask CLI."""
from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from ivr.app import create_app
from ivr.db import database as db_mod
from ivr.db.migrate_lock import MigrationLockBusy, UpgradeResult, locked_upgrade, migration_lock
from ivr.ops import backup as backup_mod
from tests.helpers.ops import BACKUP_KEY, make_settings
from tests.helpers.service import OPEN_NOW, ROOT


def test_two_migrators_at_once_one_runs_the_migrations(db_url: str) -> None:
    engines = [db_mod.make_engine(db_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[UpgradeResult] = []
    errors: list[BaseException] = []

    def migrate(engine) -> None:
        try:
            barrier.wait()
            results.append(locked_upgrade(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        for e in engines:
            e.dispose()
    assert errors == []
    head = db_mod.head_revision()
    assert sorted(results, key=lambda r: r.ran) == [UpgradeResult(head, head), UpgradeResult(None, head)]


def test_no_wait_fails_clearly_while_another_migrates_and_a_waiter_goes_on_after(db_url: str) -> None:
    holder, other = db_mod.make_engine(db_url), db_mod.make_engine(db_url)
    results: list[UpgradeResult] = []
    try:
        with migration_lock(holder):
            with pytest.raises(MigrationLockBusy, match="another migration is running"):
                locked_upgrade(other, wait=False)
            waiter = threading.Thread(target=lambda: results.append(locked_upgrade(other)))
            waiter.start()
            waiter.join(0.5)
            # Whatever the scheduling, nothing can have been migrated while the lock is held.
            assert db_mod.current_revision(holder) is None and results == []
        waiter.join(120)
        assert results == [UpgradeResult(None, db_mod.head_revision())]
    finally:
        holder.dispose()
        other.dispose()


@pytest.fixture
def cli_app(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/live/quietline.db"
    settings = make_settings(tmp_path / "live", url)
    overrides = {name: getattr(settings, name) for name in ("twilio_auth_token", "database_url", "backup_dir",
                                                            "recordings_dir", "env_file", "twilio_api_url",
                                                            "backup_public_key")}
    overrides["flows_dir"] = str(ROOT / "flows")
    app = create_app(overrides, clock=lambda: OPEN_NOW, strict_flows=True)
    yield app
    app.extensions["quietline"].database.dispose()


def test_the_commands_upgrade_back_up_and_verify(cli_app, tmp_path: Path) -> None:
    runner = cli_app.test_cli_runner()
    first = runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0 and "(migrated from an empty database)" in first.output
    again = runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0 and "(nothing to do)" in again.output
    database = cli_app.extensions["quietline"].database
    with migration_lock(database.engine):
        busy = runner.invoke(args=["db", "upgrade", "--no-wait"])
    assert busy.exit_code == 3 and "another migration is running" in busy.output

    made = runner.invoke(args=["backup", "create", "--to", str(tmp_path / "elsewhere")])
    assert made.exit_code == 0, made.output
    archive = tmp_path / "elsewhere" / "quietline-backup-20261123T150000Z.tar.gz.enc"
    assert made.output.startswith(f"wrote {archive} (")
    verified = runner.invoke(args=["backup", "verify", "--key-file", "-", str(archive)], input=BACKUP_KEY.text())
    assert verified.exit_code == 0, verified.output
    assert "quietline-backup-20261123T150000Z.tar.gz.enc: verified:" in verified.output
    # Both record themselves where IVR_BACKUP_DIR says, whatever --to was (the doctor reads it there).
    assert backup_mod.read_status(tmp_path / "live" / "backups") == {
        "last_backup_at": "2026-11-23T15:00:00Z", "last_backup": archive.name,
        "last_verified_restore_at": "2026-11-23T15:00:00Z"}
    assert not (tmp_path / "elsewhere" / "status.json").exists()

    cli_app.extensions["quietline"].clock = lambda: OPEN_NOW + dt.timedelta(hours=1)
    drill = runner.invoke(args=["backup", "create", "--verify"])
    assert drill.exit_code == 0, drill.output
    assert "quietline-backup-20261123T160000Z.tar.gz.enc: verified:" in drill.output
    assert backup_mod.read_status(tmp_path / "live" / "backups")["last_verified_restore_at"] == "2026-11-23T16:00:00Z"

    broken = tmp_path / "broken.tar.gz.enc"
    broken.write_bytes(archive.read_bytes()[:200])
    failed = runner.invoke(args=["backup", "verify", "--key-file", "-", str(broken)], input=BACKUP_KEY.text())
    assert failed.exit_code == 1 and "verification FAILED (1 problem(s))" in failed.output
    refused = runner.invoke(args=["backup", "restore", "--key-file", "-", str(broken)], input=BACKUP_KEY.text())
    assert refused.exit_code == 1 and "the encrypted archive was altered or cut short" in refused.output


def test_two_flask_db_upgrade_processes_at_once(tmp_path: Path) -> None:
    """The production shape: two processes (an upgrade and a service starting) run `flask db upgrade` together."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "FLASK_SKIP_DOTENV": "1", "TWILIO_AUTH_TOKEN": "x" * 32,
           "DATABASE_URL": f"sqlite:///{tmp_path}/quietline.db", "IVR_FLOWS_DIR": str(ROOT / "flows")}
    flask = [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"]
    procs = [subprocess.Popen(flask, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = sorted(p.communicate(timeout=300)[0] for p in procs)
    assert [p.returncode for p in procs] == [0, 0], outputs
    head = db_mod.head_revision()
    assert [o.strip().rsplit(": ", 1)[1] for o in outputs] == [
        f"at revision {head} (migrated from an empty database)", f"at revision {head} (nothing to do)"]
