"""The production upgrade and its rollback (ivr/ops/upgrade.py): the steps in order, the record of what was done,
and the switch of ``current`` back and forth in a scratch root."""
from __future__ import annotations

import json
import os

import pytest

from ivr.ops.install import STARTED_UNITS, CopyTree, InstallError, Layout, MakeVenv, Run, Symlink, Systemctl
from ivr.ops.upgrade import (
    MarkRestored,
    MarkRolledBack,
    RecordRollbackBackup,
    RecordUpgrade,
    UpgradeExecutor,
    UpgradeFacts,
    gather_upgrade_facts,
    plan_rollback,
    plan_upgrade,
)

LAYOUT = Layout()
OLD = "/opt/quietline/releases/0.1.0-aaaaaaaaaaaa"
NEW = "/opt/quietline/releases/0.1.0-bbbbbbbbbbbb"
INSTALLED = UpgradeFacts(os_id="debian", os_version="12", current_release=OLD,
                         ready_releases=frozenset({"0.1.0-aaaaaaaaaaaa"}), state=None, systemd_running=True)


def test_an_upgrade_backs_up_first_installs_beside_migrates_switches_and_restarts(tmp_path):
    steps = plan_upgrade(INSTALLED, LAYOUT, "0.1.0-bbbbbbbbbbbb", tmp_path)
    assert steps == [
        Run((f"{OLD}/.venv/bin/python", "-m", "flask", "--app", "app", "backup", "create"), as_user="quietline",
            cwd=OLD, why="a backup first, with the running release"),
        RecordUpgrade("/var/lib/quietline/upgrade.json", OLD, NEW, "/var/backups/quietline"),
        CopyTree(str(tmp_path), NEW, ("app.py", "pyproject.toml", "requirements.txt", "README.md", "ivr", "workers",
                                      "flows", "docs")),
        MakeVenv(NEW, "/usr/bin/python3"),
        Run((f"{NEW}/.venv/bin/python", "-m", "flask", "--app", "app", "db", "upgrade"), as_user="quietline",
            cwd=NEW, why="schema migrations, under the migration lock"),
        Symlink("/opt/quietline/current", NEW),
        Systemctl("restart", STARTED_UNITS),
    ]


def test_upgrading_to_the_current_release_does_nothing(tmp_path):
    assert plan_upgrade(INSTALLED, LAYOUT, "0.1.0-aaaaaaaaaaaa", tmp_path) == []


def test_an_upgrade_needs_an_install_first(tmp_path):
    with pytest.raises(InstallError, match="sudo make install"):
        plan_upgrade(UpgradeFacts("debian", "12", "", frozenset(), None, True), LAYOUT, "0.1.0-b", tmp_path)


def test_a_rollback_stops_backs_up_now_restores_with_force_switches_back_and_starts():
    state = {"previous_release": OLD, "release": NEW, "backup": "quietline-20261201T023000Z.tar",
             "upgraded_at": "2026-12-01T02:31:00+00:00", "rolled_back_at": None}
    facts = UpgradeFacts("debian", "12", NEW, frozenset({"0.1.0-aaaaaaaaaaaa", "0.1.0-bbbbbbbbbbbb"}), state, True)
    record = "/var/lib/quietline/upgrade.json"
    kept = "/var/backups/quietline/rollback-of-0.1.0-bbbbbbbbbbbb"
    restore_step = Run((f"{OLD}/.venv/bin/python", "-m", "flask", "--app", "app", "backup", "restore", "--force",
                        "/var/backups/quietline/quietline-20261201T023000Z.tar"), as_user="quietline", cwd=OLD,
                       why="the data as it was before the upgrade", pass_env=("IVR_BACKUP_PRIVATE_KEY",))
    assert plan_rollback(facts, LAYOUT) == [
        Systemctl("stop", STARTED_UNITS),
        Run((f"{NEW}/.venv/bin/python", "-m", "flask", "--app", "app", "backup", "create", "--to", kept),
            as_user="quietline", cwd=NEW, why="the data as it is now, kept (calls since the upgrade)"),
        RecordRollbackBackup(record, "/var/backups/quietline", kept),
        restore_step,
        MarkRestored(record),
        Symlink("/opt/quietline/current", OLD),
        MarkRolledBack(record),
        Systemctl("start", STARTED_UNITS),
    ]
    # Resumed: the steps recorded as done are not planned again.
    backed_up = {**state, "rollback_backup": f"{kept}/quietline-20261201T090000Z.tar"}
    assert plan_rollback(UpgradeFacts("debian", "12", NEW, facts.ready_releases, backed_up, True), LAYOUT) == [
        Systemctl("stop", STARTED_UNITS), restore_step, MarkRestored(record), Symlink("/opt/quietline/current", OLD),
        MarkRolledBack(record), Systemctl("start", STARTED_UNITS)]
    switched = {**backed_up, "restored_at": "2026-12-01T09:00:01+00:00"}
    assert plan_rollback(UpgradeFacts("debian", "12", OLD, facts.ready_releases, switched, True), LAYOUT) == [
        Systemctl("stop", STARTED_UNITS), MarkRolledBack(record), Systemctl("start", STARTED_UNITS)]
    with pytest.raises(InstallError, match="no upgrade to roll back"):
        plan_rollback(UpgradeFacts("debian", "12", OLD, facts.ready_releases, {**state, "rolled_back_at": "x"},
                                   True), LAYOUT)
    with pytest.raises(InstallError, match="not at the upgraded release"):
        plan_rollback(UpgradeFacts("debian", "12", OLD, facts.ready_releases, state, True), LAYOUT)


def test_upgrade_then_rollback_in_a_scratch_root(tmp_path):
    root = tmp_path / "root"
    layout = Layout(root=root)
    for folder in ("var/lib/quietline", "var/backups/quietline", f"{OLD[1:]}", "etc"):
        (root / folder).mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (root / OLD[1:] / ".quietline-release").write_text("ready\n")
    (root / "opt/quietline/current").symlink_to(OLD)
    # What `flask --app app backup create` leaves (docs/ops-backup.md): the status file with the archive's name.
    (root / "var/backups/quietline/status.json").write_text(json.dumps({
        "last_backup_at": "2026-12-01T02:30:00+00:00", "last_backup": "quietline-20261201T023000Z.tar",
        "last_verified_restore_at": None}))
    source = tmp_path / "checkout"
    (source / "ivr").mkdir(parents=True)
    (source / "app.py").write_text("app = None\n")
    (source / "ivr/__init__.py").write_text("")

    facts = gather_upgrade_facts(layout)
    assert (facts.current_release, facts.ready_releases) == (OLD, frozenset({"0.1.0-aaaaaaaaaaaa"}))
    executor = UpgradeExecutor(layout, tmp_path / "upgrade.log", system=False, echo=lambda line: None)
    executor.run(plan_upgrade(facts, layout, "0.1.0-bbbbbbbbbbbb", source))
    assert os.readlink(root / "opt/quietline/current") == NEW
    assert (root / NEW[1:] / "app.py").read_text() == "app = None\n"
    record = json.loads((root / "var/lib/quietline/upgrade.json").read_text())
    assert {k: record[k] for k in ("previous_release", "release", "backup", "rolled_back_at")} == {
        "previous_release": OLD, "release": NEW, "backup": "quietline-20261201T023000Z.tar", "rolled_back_at": None}
    assert oct((root / "var/lib/quietline/upgrade.json").stat().st_mode & 0o777) == "0o600"

    # What `backup create --to <rollback folder>` leaves (run for real in test_rollback.py; skipped here).
    kept = root / "var/backups/quietline/rollback-of-0.1.0-bbbbbbbbbbbb"
    kept.mkdir()
    (kept / "quietline-20261201T090000Z.tar").write_bytes(b"archive")
    (root / "var/backups/quietline/status.json").write_text(
        json.dumps({"last_backup": "quietline-20261201T090000Z.tar"}))
    executor.run(plan_rollback(gather_upgrade_facts(layout), layout))
    assert os.readlink(root / "opt/quietline/current") == OLD
    assert json.loads((root / "var/lib/quietline/upgrade.json").read_text())["rolled_back_at"]
    assert (root / NEW[1:]).is_dir()  # kept: upgrading again to it needs no new copy
    # And once more: nothing left to roll back.
    with pytest.raises(InstallError, match="no upgrade to roll back"):
        plan_rollback(gather_upgrade_facts(layout), layout)


def test_an_upgrade_whose_backup_left_no_status_stops_before_changing_anything(tmp_path):
    root = tmp_path / "root"
    layout = Layout(root=root)
    (root / "var/lib/quietline").mkdir(parents=True)
    (root / "var/backups/quietline").mkdir(parents=True)
    (root / OLD[1:]).mkdir(parents=True)
    (root / "opt/quietline/current").symlink_to(OLD)
    executor = UpgradeExecutor(layout, tmp_path / "upgrade.log", system=False, echo=lambda line: None)
    with pytest.raises(InstallError, match="left no status"):
        executor.run(plan_upgrade(INSTALLED, layout, "0.1.0-bbbbbbbbbbbb", tmp_path))
    assert os.readlink(root / "opt/quietline/current") == OLD
    assert not (root / NEW[1:]).exists()


def test_a_rollback_to_an_encrypted_archive_needs_its_private_key_and_passes_it_to_the_restore_only():
    state = {"previous_release": OLD, "release": NEW, "backup": "quietline-20261201T023000Z.tar.gz.enc",
             "upgraded_at": "2026-12-01T02:31:00+00:00", "rolled_back_at": None,
             "rollback_backup": "rollback-of-0.1.0-bbbbbbbbbbbb/quietline-20261201T090000Z.tar.gz.enc"}
    facts = UpgradeFacts("debian", "12", NEW, frozenset({"0.1.0-aaaaaaaaaaaa", "0.1.0-bbbbbbbbbbbb"}), state, True)
    with pytest.raises(InstallError, match="is encrypted: run the rollback with its private backup key in "
                                           "IVR_BACKUP_PRIVATE_KEY.*nothing was rolled back"):
        plan_rollback(facts, LAYOUT, {})
    steps = plan_rollback(facts, LAYOUT, {"IVR_BACKUP_PRIVATE_KEY": "quietline-backup-secret-1-x"})
    [restore] = [s for s in steps if isinstance(s, Run)]
    assert restore.pass_env == ("IVR_BACKUP_PRIVATE_KEY",) and "--force" in restore.argv
    assert "quietline-backup-secret" not in restore.describe()
