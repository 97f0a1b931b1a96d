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
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ivr.ops.install import (
    PROJECT_ROOT,
    RELEASE_STAMP,
    RELEASE_TOP,
    STARTED_UNITS,
    Action,
    CopyTree,
    Executor,
    FileFact,
    InstallError,
    Layout,
    MakeVenv,
    Options,
    Run,
    Symlink,
    Systemctl,
    WriteFile,
    backup_key,
    carry_out,
    parse_env,
    plan_shipped,
    python_packages,
    read_files,
    read_shipped_record,
    record_options,
    release_version,
    shipped_files,
    shipped_paths,
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
    # The shipped files (units, Caddyfile, Redis's include, their .quietline-dist copies, the record) as they are.
    files: Mapping[str, FileFact] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)  # the service's environment file ({} when there is none)
    saved_shipped: frozenset[str] = frozenset()  # releases whose upgrade kept the shipped files it replaced


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


SAVED_MANIFEST = "manifest.json"
PUT_BACK = ".put-back-"  # a kept folder a rollback has put back (then set aside under this suffix and a time)


def saved_shipped_folder(layout: Layout, version: str) -> str:
    """Where the upgrade to ``version`` keeps the shipped files it replaces (root's: the units run as root)."""
    return f"{layout.app_dir}/shipped-before/{version}"


@dataclass(frozen=True)
class KeepShipped(Action):
    """Copy each of ``paths`` as it is now (or the fact that it is missing) into ``folder``, once per path, so a
    rollback puts back exactly what was there."""

    folder: str
    paths: tuple[str, ...]

    def describe(self) -> str:
        return f"keep {len(self.paths)} shipped file(s) as they are now in {self.folder} (for --rollback)"


@dataclass(frozen=True)
class RestoreShipped(Action):
    """Put back the shipped files ``KeepShipped`` kept in ``folder`` (removing the ones that were missing), then
    rename the folder (``.put-back-<time>``): a later upgrade to that release keeps what is there then."""

    folder: str

    def describe(self) -> str:
        return f"put back the shipped files kept in {self.folder}"


def install_options(facts: UpgradeFacts, layout: Layout, version: str) -> Options:
    """The install's choices, from the shipped-file record (an install older than the record: the domain from
    PUBLIC_BASE_URL, the rest as the installer's defaults)."""
    chosen: dict[str, Any] = dict(read_shipped_record(facts.files, layout)["options"])  # type: ignore[call-overload]
    if "domain" not in chosen:
        chosen["domain"] = urlsplit(facts.env.get("PUBLIC_BASE_URL", "")).hostname or ""
    known = {k: chosen[k] for k in ("domain", "acme_email", "web_workers", "web_port", "backup_time") if k in chosen}
    return Options(version=version, **known)


def plan_shipped_upgrade(facts: UpgradeFacts, layout: Layout, version: str) -> tuple[list[Action], list[Action]]:
    """(the writes, kept first for a rollback; the reloads after the switch) that bring the shipped files to this
    release's: units -> daemon-reload, Redis's include -> restart redis-server, Caddyfile -> reload caddy. None
    without an environment file (nothing ``make install`` made to render from)."""
    if not facts.env:
        return [], []
    options = install_options(facts, layout, version)
    wanted = shipped_files(layout, options, facts.env)
    shipped = plan_shipped(facts.files, layout, wanted, record_options(options))
    writes = tuple(a.path for a in shipped.actions if isinstance(a, WriteFile))
    before: list[Action] = [KeepShipped(saved_shipped_folder(layout, version), writes)] if writes else []
    after: list[Action] = []
    if facts.systemd_running:
        if any(p.startswith(f"{layout.unit_dir}/") for p in shipped.changed):
            after.append(Systemctl("daemon-reload"))
        if layout.redis_include in shipped.changed:
            after.append(Systemctl("restart", ("redis-server.service",)))
        if layout.caddyfile in shipped.changed:
            after.append(Systemctl("reload-or-restart", ("caddy.service",)))
    return before + shipped.actions, after


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
    writes, reloads = plan_shipped_upgrade(facts, layout, version)
    actions += writes
    actions.append(Symlink(layout.current, new))
    actions += reloads
    if facts.systemd_running:
        actions.append(Systemctl("restart", STARTED_UNITS))
    return actions


# The backup's private key (ivr.ops.backup_crypto.PRIVATE_ENV_NAME: that module needs `cryptography`, which the system
# Python running this may lack).
PRIVATE_KEY_ENV = "IVR_BACKUP_PRIVATE_KEY"


def rollback_folder(layout: Layout, state: Mapping[str, Any]) -> str:
    """Where the backup taken at rollback time goes: its own folder, named for the release rolled back, so the
    nightly pruning (IVR_BACKUP_KEEP) never removes it and its name never collides with the pre-upgrade one."""
    return f"{layout.backup_dir}/rollback-of-{Path(str(state['release'])).name}"


def plan_rollback(facts: UpgradeFacts, layout: Layout, environ: Mapping[str, str] | None = None) -> list[Action]:
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
        if archive.endswith(".enc") and not (environ or {}).get(PRIVATE_KEY_ENV):
            raise InstallError(f"the pre-upgrade archive {archive} is encrypted: run the rollback with its private "
                               f"backup key in {PRIVATE_KEY_ENV} (kept off the machine), e.g. "
                               f"`sudo {PRIVATE_KEY_ENV}=\"$(cat /media/usb/quietline-backup-key.txt)\" make upgrade "
                               "ARGS=--rollback`; nothing was rolled back")
        actions += [
            Run((f"{previous}/.venv/bin/python", "-m", "flask", "--app", "app", "backup", "restore", "--force",
                 archive), as_user=layout.user, cwd=previous, why="the data as it was before the upgrade",
                pass_env=(PRIVATE_KEY_ENV,)),
            MarkRestored(state_path),
        ]
    if facts.current_release != previous:
        actions.append(Symlink(layout.current, previous))
    if Path(str(release)).name in facts.saved_shipped:
        # The units, Caddyfile and Redis's settings the upgrade replaced go back with the release.
        actions.append(RestoreShipped(saved_shipped_folder(layout, Path(str(release)).name)))
        if facts.systemd_running:
            actions += [Systemctl("daemon-reload"), Systemctl("restart", ("redis-server.service",)),
                        Systemctl("reload-or-restart", ("caddy.service",))]
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
    saved = layout.at(f"{layout.app_dir}/shipped-before")
    kept = frozenset(p.name for p in saved.iterdir() if (p / SAVED_MANIFEST).is_file() and PUT_BACK not in p.name) \
        if saved.is_dir() else frozenset()
    return UpgradeFacts(os_id=os_release.get("ID", ""), os_version=os_release.get("VERSION_ID", ""),
                        current_release=os.readlink(link) if link.is_symlink() else "", ready_releases=ready,
                        state=state, systemd_running=layout.root == Path("/") and Path("/run/systemd/system").is_dir(),
                        files=read_files(layout, shipped_paths(layout)),
                        env=parse_env(_read(layout.at(layout.env_file))), saved_shipped=kept)


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
        elif isinstance(action, KeepShipped):
            self._keep_shipped(action)
        elif isinstance(action, RestoreShipped):
            self._restore_shipped(action)
        else:
            super().apply(action)

    def _keep_shipped(self, action: KeepShipped) -> None:
        folder = self.layout.at(action.folder)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        manifest_path = folder / SAVED_MANIFEST
        manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
        for number, path in enumerate(action.paths, start=len(manifest)):
            if path in manifest:
                continue  # kept by an earlier run of this upgrade: that copy is the one from before it
            live = self.layout.at(path)
            if live.is_file():
                copy = f"{number:03d}-{live.name}"
                shutil.copy2(live, folder / copy)
                st = live.stat()
                manifest[path] = {"copy": copy, "mode": st.st_mode & 0o7777, "uid": st.st_uid, "gid": st.st_gid}
            else:
                manifest[path] = None  # missing before the upgrade: removed by a rollback
        _write_json(manifest_path, manifest)

    def _restore_shipped(self, action: RestoreShipped) -> None:
        folder = self.layout.at(action.folder)
        manifest = json.loads((folder / SAVED_MANIFEST).read_text())
        for path, kept in manifest.items():
            live = self.layout.at(path)
            if kept is None:
                live.unlink(missing_ok=True)
                continue
            tmp = live.with_name(f".{live.name}.restored")
            shutil.copyfile(folder / kept["copy"], tmp)
            os.chmod(tmp, kept["mode"])
            if os.geteuid() == 0:
                os.chown(tmp, kept["uid"], kept["gid"])
            os.replace(tmp, live)
        # Done: set aside, so a later upgrade to the same release keeps the files as they are then, not these.
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        folder.rename(folder.with_name(f"{folder.name}{PUT_BACK}{stamp}"))

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
    try:
        # The owner's backup folder (IVR_BACKUP_DIR), where the pre-upgrade backup and its status are.
        layout = Layout().with_settings(parse_env(_read(Layout().at(Layout().env_file))))
    except InstallError as exc:
        print(f"{'rollback' if args.rollback else 'upgrade'} stopped: {exc}", file=sys.stderr)
        return 2

    def make_plan() -> list[Action]:
        facts = gather_upgrade_facts(layout)
        if args.rollback:
            return plan_rollback(facts, layout, os.environ)
        return plan_upgrade(facts, layout, release_version(PROJECT_ROOT), PROJECT_ROOT)

    status = carry_out("rollback" if args.rollback else "upgrade", make_plan,
                       lambda: UpgradeExecutor(layout, Path(args.transcript)), dry_run=args.dry_run,
                       nothing="nothing to do: this release is the current one")
    if status == 0 and not args.dry_run and not args.rollback:
        # A machine installed before backups were encrypted gets its key pair now, as an install does.
        try:
            backup_key(layout, Path(args.transcript), terminal=sys.stdout.isatty())
        except InstallError as exc:
            print(f"upgrade: the backup key pair could not be made: {exc}", file=sys.stderr)
            return 1
    return status

if __name__ == "__main__":
    raise SystemExit(main())
