"""``flask --app app backup create``: one archive holding everything needed to bring a practice back.

The archive (``quietline-backup-<UTC stamp>.tar.gz.enc``, mode 0600, written under a temporary name and
renamed into place, so a half-written archive is never mistaken for a backup) is a tar.gz sealed for the backup
PUBLIC key (IVR_BACKUP_PUBLIC_KEY; ivr.ops.backup_crypto), whose private half is kept off the machine. Without
that key the backup is refused unless ``unencrypted`` (then a plain ``.tar.gz``). Everything is streamed: tar ->
gzip -> sealing -> file, one chunk at a time. Inside, it holds::

    database/quietline.db | database/quietline.pgdump   the database (ivr.ops.db_dump: consistent copy)
    recordings/<name>                                    voicemails and transcripts, still encrypted
    config/flows/<path>                                  the flows folder, with practice.yaml
    config/env                                           the service's environment file (IVR_ENV_FILE), if any
    config/secret_key                                    the dashboard's generated cookie key, if any
    config/twilio/<number SID>.previous.json             `twilio connect`'s saved URLs (what --rollback puts back)
    secrets/secrets.env                                  TWILIO_AUTH_TOKEN, IVR_DATA_KEY, IVR_RECORDINGS_KEY,
                                                         SECRET_KEY as the service runs with them
    manifest.json                                        written last (below)

The manifest: ``format``, ``created_at`` (ISO 8601 UTC), ``app_version``, ``migration_revision``,
``database`` (``backend``, ``file``, ``schema``), ``tables`` (row count per table, of the copy) and
``files`` (``sha256`` and ``size`` of every other member) and ``encrypted_for`` (the backup key's fingerprint,
or None). The archive holds the keys beside the data they protect (so a restore on a new machine can read the
recordings), inside the encryption (docs/ops-backup.md).

After each archive, ``<backup dir>/status.json`` (0600, atomically) records ``last_backup_at``,
``last_backup`` and ``last_verified_restore_at`` (kept from before; ``backup verify`` sets it), which
``flask doctor`` reads; then only the newest ``IVR_BACKUP_KEEP`` archives are kept.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine

from ivr.config import INSTANCE_DIR, Settings
from ivr.exceptions import IvrError
from ivr.ops import backup_crypto, db_dump
from ivr.private_files import private_dir, write_atomically

FORMAT = 1
PREFIX = "quietline-backup-"
SUFFIX = ".tar.gz"
ENCRYPTED_SUFFIX = ".enc"
ARCHIVE_SUFFIXES = (SUFFIX, SUFFIX + ENCRYPTED_SUFFIX)
TWILIO_STATE_DIR = "twilio"  # ivr.ops.connect.STATE_DIR: <instance>/twilio/<number SID>.previous.json
TWILIO_MEMBER_DIR = "config/twilio"
MANIFEST = "manifest.json"
STATUS = "status.json"  # the contract with `flask doctor` (go-common.md)
SECRETS_MEMBER = "secrets/secrets.env"
ENV_MEMBER = "config/env"
SECRET_KEY_MEMBER = "config/secret_key"
# The settings whose values a restore on a new machine needs (the env file may not hold them all).
SECRET_SETTINGS = {"twilio_auth_token": "TWILIO_AUTH_TOKEN", "data_key": "IVR_DATA_KEY",
                   "recordings_key": "IVR_RECORDINGS_KEY", "secret_key": "SECRET_KEY"}
_CHUNK = 1 << 20


class BackupError(IvrError):
    """A backup could not be made (the message says what and where, never data)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    removed: tuple[Path, ...]
    # Opens this archive (only): what `backup create --verify` uses, the private half being off the machine.
    sealed_key: backup_crypto.SealedKey | None = field(default=None, repr=False)


def utc_iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def app_version() -> str:
    try:
        return metadata.version("quietline")
    except metadata.PackageNotFoundError:
        return "unknown"


def backup_dir(settings: Settings) -> Path:
    """Where archives and status.json go: IVR_BACKUP_DIR, default ``<instance dir>/backups``."""
    return Path(settings.backup_dir)


def env_file(settings: Settings) -> Path | None:
    return Path(settings.env_file) if settings.env_file else None


# --------------------------------------------------------------------------- status.json


def read_status(folder: Path) -> dict[str, Any]:
    """status.json's content, or {} when there is none (no backup yet)."""
    try:
        return dict(json.loads((folder / STATUS).read_text()))
    except FileNotFoundError:
        return {}


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename), mode 0600."""
    write_atomically(path, data)


def update_status(folder: Path, **changes: str | None) -> dict[str, Any]:
    """Merge ``changes`` into status.json (written atomically, 0600); returns the new content."""
    status = {"last_backup_at": None, "last_backup": None, "last_verified_restore_at": None}
    status.update(read_status(folder))
    status.update(changes)
    write_private(folder / STATUS, (json.dumps(status, indent=2) + "\n").encode())
    return status


# --------------------------------------------------------------------------- what goes in


def _files_under(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files under ``root`` with their path relative to it, sorted; caches and temp files skipped."""
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.endswith((".part", ".tmp")):
                continue  # a recording being written (write_private_atomically's temp file)
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path, path.relative_to(root).as_posix()


def secrets_env(settings: Settings) -> bytes:
    """The secret settings as an environment file (only those set)."""
    lines = [f"{env}={getattr(settings, field)}" for field, env in SECRET_SETTINGS.items() if getattr(settings, field)]
    return ("\n".join(lines) + "\n").encode()


class _HashingReader:
    """Reads ``source``, hashing what passes: the hash is of exactly the bytes archived."""

    def __init__(self, source: BinaryIO):
        self.source, self.digest, self.size = source, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


class _ArchiveWriter:
    """Adds members to a tar stream, recording sha256 and size of each in the manifest's ``files``; every file is
    streamed (memory does not grow with a recording's size)."""

    def __init__(self, tar: tarfile.TarFile, mtime: float):
        self.tar, self.mtime = tar, mtime
        self.files: dict[str, dict[str, Any]] = {}

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, self.mtime
        return info

    def add_bytes(self, name: str, data: bytes) -> None:
        self.tar.addfile(self._info(name, len(data)), io.BytesIO(data))
        self.files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def add_file(self, name: str, path: Path) -> None:
        """A file that may be replaced meanwhile (always by rename: recordings are written atomically): the one
        opened is read to its end once, hashed as it goes into the archive."""
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return  # removed meanwhile (a recording purged): not part of this backup
        with f:
            size = os.fstat(f.fileno()).st_size
            reader = _HashingReader(f)
            self.tar.addfile(self._info(name, size), reader)  # type: ignore[arg-type]
        self.files[name] = {"sha256": reader.digest.hexdigest(), "size": reader.size}



def public_key(settings: Settings) -> backup_crypto.BackupPublicKey | None:
    """IVR_BACKUP_PUBLIC_KEY parsed, or None when unset; BackupError when it is not a backup public key."""
    if not settings.backup_public_key:
        return None
    try:
        return backup_crypto.BackupPublicKey.parse(settings.backup_public_key)
    except backup_crypto.BackupKeyError as exc:
        raise BackupError(str(exc)) from None


def create_backup(settings: Settings, engine: Engine, *, to: Path | None = None,
                  now: Callable[[], dt.datetime] | None = None, keep: int | None = None,
                  unencrypted: bool = False, instance_dir: Path | None = None) -> BackupResult:
    """Write one archive into ``to`` (default: the backup dir), apply retention there, update status.json.

    The archive is sealed for IVR_BACKUP_PUBLIC_KEY (``…tar.gz.enc``). Without that key it is refused
    (BackupError) unless ``unencrypted`` (then ``…tar.gz``, in clear). ``instance_dir`` (default INSTANCE_DIR)
    holds the generated dashboard key and `twilio connect`'s saved URLs, both archived.

    status.json is always the one in the backup dir (IVR_BACKUP_DIR), whatever ``to`` is.

    Raises BackupError (or db_dump.DatabaseCopyError) and leaves no partial archive behind.
    """
    recipient = public_key(settings)
    if recipient is None and not unencrypted:
        raise BackupError(f"no backup key: {backup_crypto.PUBLIC_ENV_NAME} is not set, and an archive holds the "
                          "database in clear and every secret. Set it (the installer makes the pair: "
                          "docs/ops-backup.md), or pass --unencrypted to write a plain archive anyway")
    instance = instance_dir or INSTANCE_DIR
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    folder = private_dir(to or backup_dir(settings))
    created = clock().astimezone(dt.UTC)
    name = f"{PREFIX}{created.strftime('%Y%m%dT%H%M%SZ')}{SUFFIX}{ENCRYPTED_SUFFIX if recipient else ''}"
    final = folder / name
    if final.exists():
        raise BackupError(f"{final} already exists (one backup per second at most)")
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    sealed_key = None
    try:
        copy = db_dump.copy_database(engine, staging)
        with os.fdopen(fd, "wb") as raw:
            with contextlib.ExitStack() as stack:
                sink: BinaryIO = raw
                if recipient is not None:
                    sealer = stack.enter_context(backup_crypto.SealingWriter(raw, recipient))
                    sealed_key = sealer.sealed_key
                    sink = sealer  # type: ignore[assignment]
                # Stream mode ("w|"): tarfile only writes forward, so the archive never needs to be seekable.
                gz = stack.enter_context(gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=6, mtime=0))
                tar = stack.enter_context(tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT))
                writer = _ArchiveWriter(tar, created.timestamp())
                writer.add_file(f"database/{copy.path.name}", copy.path)
                for path, rel in _files_under(Path(settings.recordings_dir)):
                    writer.add_file(f"recordings/{rel}", path)
                for path, rel in _files_under(Path(settings.flows_dir)):
                    writer.add_file(f"config/flows/{rel}", path)
                for path, rel in _files_under(instance / TWILIO_STATE_DIR):
                    writer.add_file(f"{TWILIO_MEMBER_DIR}/{rel}", path)
                env = env_file(settings)
                if env is not None and env.is_file():
                    writer.add_file(ENV_MEMBER, env)
                instance_key = instance / "secret_key"
                if not settings.secret_key and instance_key.is_file():
                    writer.add_file(SECRET_KEY_MEMBER, instance_key)
                writer.add_bytes(SECRETS_MEMBER, secrets_env(settings))
                manifest = {
                    "format": FORMAT,
                    "created_at": utc_iso(created),
                    "app_version": app_version(),
                    "migration_revision": copy.revision,
                    "database": {"backend": copy.backend, "file": f"database/{copy.path.name}",
                                 "schema": copy.schema},
                    "tables": copy.tables,
                    "files": writer.files,
                    "encrypted_for": recipient.fingerprint if recipient else None,
                }
                data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, created.timestamp()
                tar.addfile(info, io.BytesIO(data))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, final)
        _fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # Always where IVR_BACKUP_DIR says, even for --to: that is where the doctor looks.
    update_status(private_dir(backup_dir(settings)), last_backup_at=utc_iso(created), last_backup=name)
    removed = prune(folder, settings.backup_keep if keep is None else keep)
    return BackupResult(final, manifest, removed, sealed_key)


def archives(folder: Path) -> list[Path]:
    """The archives in ``folder``, encrypted or not, oldest first (their names sort by time)."""
    return sorted((p for p in folder.glob(f"{PREFIX}*") if p.is_file() and p.name.endswith(ARCHIVE_SUFFIXES)),
                  key=lambda p: p.name)


def prune(folder: Path, keep: int) -> tuple[Path, ...]:
    """Delete all but the newest ``keep`` archives; returns the ones deleted."""
    old = archives(folder)[:-keep] if keep > 0 else []
    for path in old:
        path.unlink()
    return tuple(old)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
