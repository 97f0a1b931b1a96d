"""Console commands: ``flask --app app backup create [--to DIR] [--verify] [--unencrypted]``,
``backup restore [--key-file FILE|-] ARCHIVE [--force]``, ``backup verify [--key-file FILE|-] ARCHIVE`` and
``backup new-key`` (docs/ops-backup.md). The private backup key comes from --key-file, standard input (``-``) or
IVR_BACKUP_PRIVATE_KEY, and is never printed except by ``new-key``, once.

Exit status 0 when done, 1 with each problem named on standard error. Nothing here prints data: file
names, table names, counts and hashes only.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from ivr.ops import backup as backup_mod
from ivr.ops import backup_crypto, db_dump, restore

backup_cli = AppGroup("backup", help="Back up, restore and verify the database, recordings, configuration and "
                                     "secrets (one archive with a manifest).")


def _services():
    return current_app.extensions["quietline"]


def _clock():
    """The services' clock (fixed in tests), so archive names and status.json times follow it."""
    return _services().clock


_KEY_FILE = click.option(
    "--key-file", "key_file", default=None, metavar="FILE",
    help=f"The backup's PRIVATE key (kept off the machine): a file, or - to read it from standard input. Default: "
         f"{backup_crypto.PRIVATE_ENV_NAME}.")


def _private_key(key_file: str | None) -> backup_crypto.BackupPrivateKey | None:
    try:
        return backup_crypto.load_private_key(key_file, os.environ, sys.stdin.buffer)
    except backup_crypto.BackupKeyError as exc:
        click.echo(f"{exc}: nothing was changed", err=True)
        sys.exit(1)


@backup_cli.command("create")
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the archive (default: IVR_BACKUP_DIR). status.json is written there too.")
@click.option("--verify", "then_verify", is_flag=True,
              help="Then run `backup verify` on the new archive (the nightly restore drill).")
@click.option("--unencrypted", is_flag=True,
              help=f"Write a PLAIN archive (the database and every secret in clear) when "
                   f"{backup_crypto.PUBLIC_ENV_NAME} is not set. Not for copies that leave the machine.")
def create_command(to: Path | None, then_verify: bool, unencrypted: bool) -> None:
    """Write one archive (mode 0600, sealed for IVR_BACKUP_PUBLIC_KEY) and status.json; keep the newest
    IVR_BACKUP_KEEP archives."""
    services = _services()
    try:
        result = backup_mod.create_backup(services.settings, services.database.engine, to=to, now=_clock(),
                                          unencrypted=unencrypted, instance_dir=Path(current_app.instance_path))
    except (backup_mod.BackupError, db_dump.DatabaseCopyError, OSError) as exc:
        click.echo(f"backup failed: {exc}", err=True)
        sys.exit(1)
    if result.sealed_key is None:
        click.echo(f"WARNING: {result.path.name} is NOT encrypted: it holds the database and every key in clear. "
                   f"Set {backup_crypto.PUBLIC_ENV_NAME} (docs/ops-backup.md) and never copy this archive off the "
                   "machine as it is.", err=True)
    manifest = result.manifest
    rows = sum(manifest["tables"].values())
    click.echo(f"wrote {result.path} ({result.path.stat().st_size} bytes): {len(manifest['tables'])} tables, "
               f"{rows} rows, {len(manifest['files'])} files, revision {manifest['migration_revision']}")
    for old in result.removed:
        click.echo(f"removed the old archive {old.name} (IVR_BACKUP_KEEP={services.settings.backup_keep})")
    if then_verify:
        # The private half is off the machine: the archive just written is opened with its own file key, still
        # in memory, so the drill decrypts, authenticates and restores exactly the bytes on disk.
        _verify(result.path, result.sealed_key)


@backup_cli.command("verify")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_KEY_FILE
def verify_command(archive: Path, key_file: str | None) -> None:
    """Decrypt ARCHIVE, restore it into a scratch database and folder and compare it with its manifest."""
    _verify(archive, _private_key(key_file))


def _verify(archive: Path, key: backup_crypto.Opener | None) -> None:
    services = _services()
    report = restore.verify_backup(services.settings, services.database.engine, archive, now=_clock(), key=key)
    for problem in report.problems:
        click.echo(problem, err=True)
    if not report.ok:
        click.echo(f"{archive.name}: verification FAILED ({len(report.problems)} problem(s))", err=True)
        sys.exit(1)
    click.echo(f"{archive.name}: verified: {len(report.tables)} tables, {sum(report.tables.values())} rows match "
               f"the manifest, {report.recordings_opened} recording file(s) open with the archive's key")


@backup_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds data, and files that differ.")
@_KEY_FILE
def restore_command(archive: Path, force: bool, key_file: str | None) -> None:
    """Put ARCHIVE back into the configured database, recordings, flows and environment file.

    Stop the service (web, workers, scheduler) first.
    """
    services = _services()
    try:
        report = restore.restore_backup(services.settings, services.database.engine, archive, force=force,
                                        key=_private_key(key_file), instance_dir=Path(current_app.instance_path))
    except restore.ArchiveRejected as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        click.echo(str(exc), err=True)
        sys.exit(1)
    except db_dump.DatabaseCopyError as exc:
        click.echo(f"restore failed: {exc}", err=True)
        sys.exit(1)
    click.echo(f"restored {archive.name}: {len(report.tables)} tables, {sum(report.tables.values())} rows; "
               f"{report.written} file(s) written")
    for path in report.kept:
        click.echo(f"kept {path}: it differs from the backup's (use --force to replace it)")
    if report.secrets_file is not None:
        click.echo(f"The backup's keys and tokens differ from the ones the service runs with: they are in "
                   f"{report.secrets_file} (0600). Put them in the service's environment (IVR_RECORDINGS_KEY "
                   f"opens the restored recordings), restart, then delete that file.")
    for problem in report.problems:
        click.echo(problem, err=True)
    if report.problems:
        sys.exit(1)


@backup_cli.command("new-key")
def new_key_command() -> None:
    """Make a backup key pair: print the public half's line for the environment file, and the private half ONCE
    (terminal only) to keep off the machine. What the installer does; for container and older installs."""
    public, private = backup_crypto.generate_backup_keypair()
    click.echo(f"Add this line to the service's environment file ({backup_crypto.PUBLIC_ENV_NAME}, public: it only "
               f"seals archives):\n\n    {backup_crypto.PUBLIC_ENV_NAME}={public.text()}\n")
    click.echo(backup_crypto.private_key_notice(private))


def init_app(app: Flask) -> None:
    """Register ``flask backup …`` on an app."""
    app.cli.add_command(backup_cli)
