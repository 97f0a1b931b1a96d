"""The production upgrade: ``sudo make upgrade`` (``python -m ivr.ops.upgrade``), and ``--rollback``.

From a checkout of the new release, on a machine ``make install`` set up:

1. a backup first, with the running release (``flask --app app backup create``, docs/ops-backup.md);
2. the new release beside the old one (``/opt/quietline/releases/<version>``, its own virtualenv): the old one is
   untouched and keeps serving meanwhile;
3. the schema migrations with the new release (``flask --app app db upgrade``, which takes a lock: one migrator);
4. ``current`` switched to the new release in one step (a symlink replaced atomically);
5. the roles restarted (``quietline.target``).

What it did is kept in ``/var/lib/quietline/upgrade.json`` (the previous release, the new one, the backup taken
first), so ``--rollback`` stops the roles, backs up the data as it is now (kept apart, named for the release rolled
back: calls since the upgrade are not lost), restores the pre-upgrade backup with ``--force`` using the previous
release (the database as it was before its migrations), switches ``current`` back and starts the roles again; each
step is recorded, so a re-run after a failure finishes the rollback. Same two halves as the
install (``ivr.ops.install``): pure planning from facts, then the executor and its transcript.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.ops.install import (
    PROJECT_ROOT,
    RELEASE_STAMP,
    RELEASE_TOP,
    STARTED_UNITS,
    Action,
    CopyTree,
    Executor,
    InstallError,
    Layout,
    MakeVenv,
    Run,
    Symlink,
    Systemctl,
    carry_out,
    parse_env,
    python_packages,
    release_version,
)

STATE_NAME = "upgrade.json"


@dataclass(frozen=True)
class UpgradeFacts:
    """What the machine looks like, for an upgrade or a rollback."""

    os_id: str
    os_version: str
    current_release: str  # where ``current`` points ('' when nothing is installed)
    ready_releases: frozenset[str]  # release folders that are complete (their stamp is there)
    state: Mapping[str, Any] | None  # the last upgrade's record
    systemd_running: bool


@dataclass(frozen=True)
class RecordUpgrade(Action):
    """Write the upgrade's record: the previous release, the new one and the backup just taken (its name is read
    from the backup status file, ``IVR_BACKUP_DIR/status.json``, when this runs)."""

    state_path: str
    previous: str
    release: str
    backup_dir: str

    def describe(self) -> str:
        return f"record the upgrade {Path(self.previous).name} -> {Path(self.release).name} in {self.state_path}"


@dataclass(frozen=True)
class RecordRollbackBackup(Action):
    """Name the backup just taken at rollback time (into ``folder``) in the upgrade's record; its name is read from
    ``backup_dir/status.json``, which ``backup create`` writes whatever its ``--to``."""

    state_path: str
    backup_dir: str
    folder: str

    def describe(self) -> str:
        return f"record the backup taken before rolling back (in {self.folder}) in {self.state_path}"


@dataclass(frozen=True)
class MarkRestored(Action):
    state_path: str

    def describe(self) -> str:
        return f"mark the pre-upgrade data restored in {self.state_path}"


@dataclass(frozen=True)
class MarkRolledBack(Action):
    state_path: str

    def describe(self) -> str:
        return f"mark the upgrade rolled back in {self.state_path}"


def plan_upgrade(facts: UpgradeFacts, layout: Layout, version: str, source: Path) -> list[Action]:
    """The steps from the current release to ``version`` (none when it is already current)."""
    current = facts.current_release
    if not current:
        raise InstallError("no release is installed here: run `sudo make install` first")
    new = layout.release(version)
    if current == new:
        return []
    user = layout.user
    actions: list[Action] = [
        Run((f"{current}/.venv/bin/python", "-m", "flask", "--app", "app", "backup", "create"), as_user=user,
            cwd=current, why="a backup first, with the running release"),
        RecordUpgrade(f"{layout.data_dir}/{STATE_NAME}", current, new, layout.backup_dir),
    ]
    if version not in facts.ready_releases:
        actions.append(CopyTree(str(source), new, RELEASE_TOP))
        actions.append(MakeVenv(new, python_packages(facts.os_id, facts.os_version)[2]))
    actions.append(Run((f"{new}/.venv/bin/python", "-m", "flask", "--app", "app", "db", "upgrade"), as_user=user,
                       cwd=new, why="schema migrations, under the migration lock"))
    actions.append(Symlink(layout.current, new))
    if facts.systemd_running:
        actions.append(Systemctl("restart", STARTED_UNITS))
    return actions


def rollback_folder(layout: Layout, state: Mapping[str, Any]) -> str:
    """Where the backup taken at rollback time goes: its own folder, named for the release rolled back, so the
    nightly pruning (IVR_BACKUP_KEEP) never removes it and its name never collides with the pre-upgrade one."""
    return f"{layout.backup_dir}/rollback-of-{Path(str(state['release'])).name}"


def plan_rollback(facts: UpgradeFacts, layout: Layout) -> list[Action]:
    """Back to the release before the last upgrade, with the database restored from the backup taken first.

    In order: stop the roles; back up the data as it is now (calls since the upgrade are kept, in
    ``rollback_folder``); restore the pre-upgrade archive with ``--force`` using the previous release; switch
    ``current`` back; mark the record; start the roles. Each step done is recorded in ``upgrade.json``
    (``rollback_backup``, ``restored_at``), so a re-run after a failure anywhere plans only what is left.
    """
    state = facts.state
    if not state or state.get("rolled_back_at"):
        raise InstallError("there is no upgrade to roll back (the last one was rolled back already, or none "
                           f"was recorded in {layout.data_dir}/{STATE_NAME})")
    if not state.get("backup"):
        raise InstallError("the upgrade's record names no backup: restore one by hand (docs/ops-backup.md)")
    previous, release = state["previous_release"], state["release"]
    restored = bool(state.get("restored_at"))
    # `current` back at the previous release is a step of a rollback that stopped after it (the restore before it
    # is recorded): carry on. Anything else means someone moved it by hand.
    if facts.current_release != release and not (restored and facts.current_release == previous):
        raise InstallError(f"`current` points at {facts.current_release or 'nothing'}, not at the upgraded release "
                           f"{release}: nothing was rolled back; see docs/deploy.md, 'Upgrades'")
    state_path = f"{layout.data_dir}/{STATE_NAME}"
    archive = f"{layout.backup_dir}/{state['backup']}"
    actions: list[Action] = []
    if facts.systemd_running:
        actions.append(Systemctl("stop", STARTED_UNITS))
    if not state.get("rollback_backup"):
        folder = rollback_folder(layout, state)
        actions += [
            Run((f"{release}/.venv/bin/python", "-m", "flask", "--app", "app", "backup", "create", "--to", folder),
                as_user=layout.user, cwd=release, why="the data as it is now, kept (calls since the upgrade)"),
            RecordRollbackBackup(state_path, layout.backup_dir, folder),
        ]
    if not restored:
        actions += [
            Run((f"{previous}/.venv/bin/python", "-m", "flask", "--app", "app", "backup", "restore", "--force",
                 archive), as_user=layout.user, cwd=previous, why="the data as it was before the upgrade"),
            MarkRestored(state_path),
        ]
    if facts.current_release != previous:
        actions.append(Symlink(layout.current, previous))
    actions.append(MarkRolledBack(state_path))
    if facts.systemd_running:
        actions.append(Systemctl("start", STARTED_UNITS))
    return actions


def gather_upgrade_facts(layout: Layout) -> UpgradeFacts:
    os_release = parse_env(_read(layout.at("/etc/os-release")).replace('"', ""))
    link = layout.at(layout.current)
    releases = layout.at(f"{layout.app_dir}/releases")
    ready = frozenset(p.name for p in releases.iterdir() if (p / RELEASE_STAMP).is_file()) if releases.is_dir() \
        else frozenset()
    state_file = layout.at(f"{layout.data_dir}/{STATE_NAME}")
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        state = None
    return UpgradeFacts(os_id=os_release.get("ID", ""), os_version=os_release.get("VERSION_ID", ""),
                        current_release=os.readlink(link) if link.is_symlink() else "", ready_releases=ready,
                        state=state, systemd_running=layout.root == Path("/") and Path("/run/systemd/system").is_dir())


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    """Atomically, 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as out:
        json.dump(value, out, indent=2)
        out.write("\n")
    os.replace(tmp, path)


class UpgradeExecutor(Executor):
    """The install's executor, plus the upgrade's record."""

    def apply(self, action: Action) -> None:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        if isinstance(action, RecordUpgrade):
            status_file = self.layout.at(f"{action.backup_dir}/status.json")
            try:
                backup = json.loads(status_file.read_text())["last_backup"]
            except (OSError, ValueError, KeyError) as exc:
                raise InstallError(f"the backup before the upgrade left no status in {status_file} ({exc}): "
                                   "the upgrade stopped before changing anything") from None
            _write_json(self.layout.at(action.state_path), {
                "previous_release": action.previous, "release": action.release, "backup": backup,
                "upgraded_at": now, "rolled_back_at": None})
        elif isinstance(action, RecordRollbackBackup):
            status_file = self.layout.at(f"{action.backup_dir}/status.json")
            try:
                backup = json.loads(status_file.read_text())["last_backup"]
            except (OSError, ValueError, KeyError) as exc:
                backup = f"({exc})"
            if not self.layout.at(f"{action.folder}/{backup}").is_file():
                raise InstallError(f"the backup before the rollback is not in {action.folder} (status: {status_file}, "
                                   f"{backup}): nothing was restored; run the rollback again") from None
            self._update(action.state_path, rollback_backup=f"{action.folder}/{backup}")
        elif isinstance(action, MarkRestored):
            self._update(action.state_path, restored_at=now)
        elif isinstance(action, MarkRolledBack):
            self._update(action.state_path, rolled_back_at=now)
        else:
            super().apply(action)

    def _update(self, state_path: str, **changes: Any) -> None:
        path = self.layout.at(state_path)
        _write_json(path, {**json.loads(path.read_text()), **changes})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivr.ops.upgrade", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rollback", action="store_true", help="back to the previous release and its data")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--transcript", default="/var/log/quietline/upgrade.log")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 and not args.dry_run:
        print("the upgrade needs root: sudo make upgrade", file=sys.stderr)
        return 2
    layout = Layout()
    def make_plan() -> list[Action]:
        facts = gather_upgrade_facts(layout)
        if args.rollback:
            return plan_rollback(facts, layout)
        return plan_upgrade(facts, layout, release_version(PROJECT_ROOT), PROJECT_ROOT)

    return carry_out("rollback" if args.rollback else "upgrade", make_plan,
                     lambda: UpgradeExecutor(layout, Path(args.transcript)), dry_run=args.dry_run,
                     nothing="nothing to do: this release is the current one")

if __name__ == "__main__":
    raise SystemExit(main())
