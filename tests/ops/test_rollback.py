"""`make upgrade ARGS=--rollback` on an install holding data (issue 15's break test, B1), on SQLite and PostgreSQL.

The rollback's own plan is carried out with its `flask --app app backup …` steps run for real (the plan's exact
arguments, through the app's command line, on a real database): it must keep a backup of now (calls since the
upgrade), restore the pre-upgrade archive over a database holding data, switch `current` back, and finish when run
again after failing at any step.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from ivr.db import database as db_mod
from ivr.ops.install import Action, InstallError, Layout, Run, Symlink
from ivr.ops.restore import unpack
from ivr.ops.upgrade import MarkRestored, RecordRollbackBackup, UpgradeExecutor, gather_upgrade_facts, plan_rollback
from ivr.practice.demo import seed_demo
from ivr.practice.models import Client
from tests.helpers.ops import BACKUP_KEY

OLD = "/opt/quietline/releases/0.1.0-aaaaaaaaaaaa"
NEW = "/opt/quietline/releases/0.1.0-bbbbbbbbbbbb"
FLASK = ("-m", "flask", "--app", "app")


class AppCommandExecutor(UpgradeExecutor):
    """The upgrade's executor in a scratch root whose `flask --app app …` steps run through ``app``'s command line
    (every absolute path argument mapped under the root), and that fails once at the step of type ``fail_at``."""

    def __init__(self, layout: Layout, transcript: Path, app, fail_at: type | None = None):
        super().__init__(layout, transcript, system=False, echo=lambda line: None)
        self.app = app
        self.fail_at = fail_at
        self.commands: list[tuple[str, ...]] = []

    def apply(self, action: Action) -> None:
        if self.fail_at is not None and isinstance(action, self.fail_at):
            self.fail_at = None
            raise InstallError(f"planted failure at {action.describe()}")
        if isinstance(action, Run) and action.argv[1:5] == FLASK:
            args = tuple(str(self.layout.at(a)) if a.startswith("/") else a for a in action.argv[5:])
            self.commands.append(action.argv[5:])
            result = self.app.test_cli_runner().invoke(args=list(args))
            if result.exit_code != 0:
                raise InstallError(f"`{' '.join(action.argv[5:7])}` failed (exit {result.exit_code}): "
                                   f"{result.output}")
            return
        super().apply(action)


def clients(database: db_mod.Database) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Client))


@pytest.fixture
def upgraded(db_url, tmp_path, make_app, clock, monkeypatch):
    """A scratch root after `make upgrade` from OLD to NEW, the database holding the demo practice, the pre-upgrade
    archive taken by the real `backup create`, then two clients added after the upgrade: (layout, app, database).
    The operator rolling back gives the backup's private key (the archives are sealed; docs/ops-backup.md)."""
    monkeypatch.setenv("IVR_BACKUP_PRIVATE_KEY", BACKUP_KEY.text())
    root = tmp_path / "root"
    layout = Layout(root=root)
    for folder in ("var/lib/quietline", "var/backups/quietline", OLD[1:], NEW[1:], "etc/quietline"):
        (root / folder).mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (root / "opt/quietline/current").symlink_to(NEW)
    database = db_mod.Database.from_url(db_url)
    if db_url.startswith("postgresql"):
        db_mod.upgrade(database.engine)
        seed_demo(database.sessions, clock.now, ZoneInfo("America/New_York"))
    env_file = root / "etc/quietline/quietline.env"
    env_file.write_text("TWILIO_AUTH_TOKEN=x\n")
    app = make_app(database=database if db_url.startswith("postgresql") else None,
                   backup_dir=str(root / "var/backups/quietline"), env_file=str(env_file))
    database = app.extensions["quietline"].database
    result = app.test_cli_runner().invoke(args=["backup", "create"])
    assert result.exit_code == 0, result.output
    backup = json.loads((root / "var/backups/quietline/status.json").read_text())["last_backup"]
    (root / "var/lib/quietline/upgrade.json").write_text(json.dumps({
        "previous_release": OLD, "release": NEW, "backup": backup, "upgraded_at": "2026-12-01T02:31:00+00:00",
        "rolled_back_at": None}))
    before = clients(database)
    clock.advance(hours=1)  # calls since the upgrade
    with database.sessions() as session:
        session.add_all([Client(id=f"after-upgrade-{n}", first_name=f"New{n}", last_name="Caller",
                                date_of_birth=dt.date(1990, 1, n + 1)) for n in range(2)])
        session.commit()
    assert clients(database) == before + 2
    yield layout, app, database, before
    database.dispose()


def test_a_rollback_over_data_keeps_a_backup_of_now_restores_with_force_then_switches(upgraded, tmp_path):
    layout, app, database, before = upgraded
    root = layout.root
    executor = AppCommandExecutor(layout, tmp_path / "upgrade.log", app)
    executor.run(plan_rollback(gather_upgrade_facts(layout), layout, os.environ))

    backup = json.loads((root / "var/lib/quietline/upgrade.json").read_text())["backup"]
    assert executor.commands == [
        ("backup", "create", "--to", "/var/backups/quietline/rollback-of-0.1.0-bbbbbbbbbbbb"),
        ("backup", "restore", "--force", f"/var/backups/quietline/{backup}"),
    ]
    assert clients(database) == before  # the data as it was before the upgrade
    assert os.readlink(root / "opt/quietline/current") == OLD
    state = json.loads((root / "var/lib/quietline/upgrade.json").read_text())
    assert state["rolled_back_at"] and state["restored_at"]
    kept = root / state["rollback_backup"].lstrip("/")
    assert kept.is_file() and kept.parent.name == "rollback-of-0.1.0-bbbbbbbbbbbb"
    # The backup of now holds the two clients added after the upgrade: restorable by hand, nothing lost.
    manifest = unpack(kept, tmp_path / "unpacked", BACKUP_KEY).manifest
    assert manifest["tables"]["clients"] == before + 2
    with pytest.raises(InstallError, match="no upgrade to roll back"):
        plan_rollback(gather_upgrade_facts(layout), layout, os.environ)


@pytest.mark.parametrize("fail_at", [RecordRollbackBackup, Run, MarkRestored, Symlink])
def test_a_rollback_that_failed_at_any_step_finishes_when_run_again(upgraded, tmp_path, clock, fail_at):
    layout, app, database, before = upgraded
    root = layout.root
    failing = AppCommandExecutor(layout, tmp_path / "upgrade.log", app, fail_at=fail_at)
    with pytest.raises(InstallError, match="planted failure"):
        failing.run(plan_rollback(gather_upgrade_facts(layout), layout, os.environ))

    clock.advance(minutes=5)  # the operator runs it again later (archive names are per second)
    again = AppCommandExecutor(layout, tmp_path / "upgrade.log", app)
    again.run(plan_rollback(gather_upgrade_facts(layout), layout, os.environ))
    assert clients(database) == before
    assert os.readlink(root / "opt/quietline/current") == OLD
    state = json.loads((root / "var/lib/quietline/upgrade.json").read_text())
    assert state["rolled_back_at"]
    kept = root / state["rollback_backup"].lstrip("/")
    assert unpack(kept, tmp_path / "unpacked", BACKUP_KEY).manifest["tables"]["clients"] == before + 2
