"""``backup restore`` and ``backup verify``: an archive of ``ivr.ops.backup`` checked, then put back or tried.

Both unpack the archive into a scratch folder (0700, inside the backup dir) first: a sealed archive is
decrypted with the private backup key given (``key``; refused without one, or with another, before anything is
changed), every chunk authenticated; then every member's sha256 and size is checked against the manifest, and an
archive that does not match it (a member altered, missing or added) is refused. Streamed throughout.

* ``restore_backup`` puts the database back into the configured one (refusing, without ``force``, a
  database that holds rows), the recordings into IVR_RECORDINGS_DIR, the flows into IVR_FLOWS_DIR and
  the environment file at IVR_ENV_FILE and `twilio connect`'s saved URLs into the instance folder; a file already
  there that differs is kept unless ``force``.
  When the archive's keys are not the ones the service runs with, they are written to
  ``<backup dir>/restored-secrets.env`` (0600) for the operator to put in place.
* ``verify_backup`` restores into a scratch database (a SQLite file in the scratch folder; on
  PostgreSQL a scratch database on the same server, dropped after) and compares the row counts and the
  schema revision with the manifest, runs SQLite's integrity check, and opens every recording with the
  archive's own IVR_RECORDINGS_KEY. Each mismatch is named; when there is none, status.json's
  ``last_verified_restore_at`` is set.
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
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy import Engine, create_engine, text

from ivr.config import INSTANCE_DIR, Settings
from ivr.db.database import safe_url
from ivr.encryption import RECORDINGS_ENV_NAME, FileCipher
from ivr.exceptions import ConfigError, IvrError, RecordingUnreadable
from ivr.ops import backup as backup_mod
from ivr.ops import backup_crypto, db_dump
from ivr.private_files import private_dir

_CHUNK = 1 << 20
SEALED_SUFFIX = ".sealed"


class ArchiveRejected(IvrError):
    """The archive does not match its manifest, or restoring it would overwrite data; ``problems`` says each."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass
class Unpacked:
    """An archive unpacked into ``folder``: its manifest and what did not match it."""

    folder: Path
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    def member(self, name: str) -> Path:
        return self.folder / name

    def secrets(self) -> dict[str, str]:
        """The archive's secrets.env as a mapping (empty when absent)."""
        path = self.member(backup_mod.SECRETS_MEMBER)
        values: dict[str, str] = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                name, sep, value = line.partition("=")
                if sep:
                    values[name.strip()] = value.strip()
        return values


def _safe_name(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and not PurePosixPath(name).is_absolute() and ".." not in parts


def unpack(archive: Path, folder: Path, key: backup_crypto.Opener | None = None) -> Unpacked:
    """Extract ``archive`` into ``folder`` (decrypting it with ``key`` when it is sealed) and compare every member
    with the manifest. Streams: memory does not grow with the archive.

    Raises ArchiveRejected: unreadable, sealed and no key or the wrong key, altered or cut short (every chunk of a
    sealed archive is authenticated), no manifest or an unknown format."""
    actual: dict[str, tuple[str, int]] = {}
    manifest: dict[str, Any] | None = None
    problems: list[str] = []
    try:
        with contextlib.ExitStack() as stack:
            raw: BinaryIO = stack.enter_context(archive.open("rb"))
            sealed = raw.read(len(backup_crypto.MAGIC)) == backup_crypto.MAGIC
            raw.seek(0)
            source: BinaryIO = raw
            opening = None
            if sealed:
                if key is None:
                    raise ArchiveRejected(
                        f"{archive.name} is encrypted: give the backup's private key (--key-file FILE, --key-file - "
                        f"for standard input, or {backup_crypto.PRIVATE_ENV_NAME}); nothing was changed",
                        [f"{archive.name}: encrypted, and no private backup key was given"])
                opening = backup_crypto.OpeningReader(raw, key)
                source = io.BufferedReader(opening, _CHUNK)  # type: ignore[assignment]
            gz = stack.enter_context(gzip.GzipFile(fileobj=source, mode="rb"))
            tar = stack.enter_context(tarfile.open(fileobj=gz, mode="r|"))
            for member in tar:
                if member.name == backup_mod.MANIFEST and member.isfile():
                    stream = tar.extractfile(member)
                    assert stream is not None
                    manifest = json.loads(stream.read())
                    continue
                if not member.isfile() or not _safe_name(member.name):
                    problems.append(f"{member.name}: not a plain file inside the archive (refused)")
                    continue
                target = folder / member.name
                private_dir(target.parent)
                stream = tar.extractfile(member)
                assert stream is not None
                digest, size = hashlib.sha256(), 0
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                actual[member.name] = (digest.hexdigest(), size)
            if opening is not None:
                opening.drain()  # a sealed archive cut after the tar's end is refused too
    except backup_crypto.WrongBackupKey as exc:
        raise ArchiveRejected(f"{archive.name}: wrong backup key: {exc}; nothing was changed",
                              [f"{archive.name}: wrong backup key ({exc})"]) from None
    except backup_crypto.ArchiveTampered as exc:
        raise ArchiveRejected(f"{archive.name}: {exc}; nothing was changed",
                              [f"{archive.name}: {exc}"]) from None
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        raise ArchiveRejected(f"{archive} cannot be read as a backup archive: {exc}",
                              [f"{archive.name}: unreadable ({exc})"]) from None
    if manifest is None:
        raise ArchiveRejected(f"{archive} has no {backup_mod.MANIFEST}: not a Quietline backup",
                              [f"{backup_mod.MANIFEST}: missing"])
    if manifest.get("format") != backup_mod.FORMAT:
        raise ArchiveRejected(f"{archive}: manifest format {manifest.get('format')!r} is not "
                              f"{backup_mod.FORMAT} (made by another version)", ["manifest: unknown format"])
    expected: dict[str, dict[str, Any]] = manifest.get("files", {})
    for name, want in sorted(expected.items()):
        got = actual.get(name)
        if got is None:
            problems.append(f"{name}: listed in the manifest, missing from the archive")
        elif got[0] != want.get("sha256"):
            problems.append(f"{name}: sha256 {got[0][:12]}… differs from the manifest's "
                            f"{str(want.get('sha256'))[:12]}…")
        elif got[1] != want.get("size"):
            problems.append(f"{name}: {got[1]} bytes, the manifest says {want.get('size')}")
    for name in sorted(set(actual) - set(expected)):
        problems.append(f"{name}: in the archive but not in the manifest")
    return Unpacked(folder, manifest, problems)


def compare_counts(manifest: dict[str, Any], counts: dict[str, int], revision: str | None,
                   where: str) -> list[str]:
    """Each table whose row count differs from the manifest's, and a differing schema revision."""
    problems: list[str] = []
    expected: dict[str, int] = manifest.get("tables", {})
    for table in sorted(set(expected) | set(counts)):
        if table not in counts:
            problems.append(f"table {table}: missing from the {where}")
        elif table not in expected:
            problems.append(f"table {table}: in the {where} but not in the manifest")
        elif counts[table] != expected[table]:
            problems.append(f"table {table}: {counts[table]} rows in the {where}, the manifest says {expected[table]}")
    if revision != manifest.get("migration_revision"):
        problems.append(f"schema revision: {revision} in the {where}, the manifest says "
                        f"{manifest.get('migration_revision')}")
    return problems


def open_recordings(unpacked: Unpacked) -> tuple[int, list[str]]:
    """Open every sealed recording with the archive's own IVR_RECORDINGS_KEY: (how many opened, problems)."""
    root = unpacked.member("recordings")
    sealed = sorted(p for p in root.rglob(f"*{SEALED_SUFFIX}") if p.is_file()) if root.is_dir() else []
    if not sealed:
        return 0, []
    setting = unpacked.secrets().get(RECORDINGS_ENV_NAME, "")
    try:
        cipher = FileCipher.from_setting(setting)
    except ConfigError:
        return 0, [f"{backup_mod.SECRETS_MEMBER}: no usable {RECORDINGS_ENV_NAME}; "
                   f"{len(sealed)} recording(s) cannot be opened"]
    opened, problems = 0, []
    for path in sealed:
        try:
            cipher.open(path.read_bytes(), path.name)
            opened += 1
        except RecordingUnreadable as exc:
            problems.append(f"recordings/{path.relative_to(root).as_posix()}: does not open with the archive's "
                            f"key ({exc})")
    return opened, problems


@dataclass(frozen=True)
class VerifyReport:
    archive: Path
    problems: list[str]
    tables: dict[str, int]
    recordings_opened: int

    @property
    def ok(self) -> bool:
        return not self.problems


def _scratch(settings: Settings) -> Path:
    folder = private_dir(backup_mod.backup_dir(settings))
    return Path(tempfile.mkdtemp(dir=folder, prefix=".restore-"))


def verify_backup(settings: Settings, engine: Engine, archive: Path, *,
                  now: Callable[[], dt.datetime] | None = None, status_dir: Path | None = None,
                  key: backup_crypto.Opener | None = None) -> VerifyReport:
    """Restore ``archive`` into a scratch database and folder and compare it with its manifest.

    ``engine`` is the configured database (on PostgreSQL the scratch database is made on its server).
    On success, sets ``last_verified_restore_at`` in status.json (``status_dir``: default the backup dir).
    """
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    scratch = _scratch(settings)
    try:
        try:
            unpacked = unpack(archive, scratch, key)
        except ArchiveRejected as exc:
            return VerifyReport(archive, exc.problems or [str(exc)], {}, 0)
        problems = list(unpacked.problems)
        counts: dict[str, int] = {}
        database = unpacked.manifest.get("database", {})
        copy = unpacked.member(str(database.get("file", "")))
        if not database.get("file") or not copy.is_file():
            problems.append(f"{database.get('file') or 'database'}: no database copy in the archive")
        elif database.get("backend") == "sqlite":
            integrity = db_dump.sqlite_integrity(copy)
            problems += [f"{database['file']}: integrity check: {line}" for line in integrity[:20]]
            if not integrity:
                counts, revision = db_dump.sqlite_counts(copy)
                problems += compare_counts(unpacked.manifest, counts, revision, "restored database")
        elif engine.dialect.name != "postgresql":
            problems.append(f"{database['file']}: a PostgreSQL dump needs a PostgreSQL server to verify on "
                            "(DATABASE_URL is not PostgreSQL)")
        else:
            try:
                counts, revision = _verify_pg(engine, copy, database.get("schema"))
                problems += compare_counts(unpacked.manifest, counts, revision, "restored database")
            except db_dump.DatabaseCopyError as exc:
                problems.append(f"{database['file']}: {exc}")
        opened, recording_problems = open_recordings(unpacked)
        problems += recording_problems
        report = VerifyReport(archive, problems, counts, opened)
        if report.ok:
            backup_mod.update_status(private_dir(status_dir or backup_mod.backup_dir(settings)),
                                     last_verified_restore_at=backup_mod.utc_iso(clock()))
        return report
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _verify_pg(engine: Engine, dump: Path, schema: str | None) -> tuple[dict[str, int], str | None]:
    """pg_restore into a scratch database on the configured server; its counts; the database dropped after."""
    name = f"quietline_verify_{uuid.uuid4().hex[:12]}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the role may lack CREATEDB: say so plainly
        raise db_dump.DatabaseCopyError(f"cannot create a scratch database to verify in ({type(exc).__name__}: "
                                        f"{str(exc).splitlines()[0]}); the database role needs CREATEDB") from None
    url = engine.url.set(database=name)
    scratch_engine = create_engine(url, hide_parameters=True)
    try:
        db_dump.restore_pg(dump, url, clean=False)
        with scratch_engine.connect() as connection:
            return db_dump.pg_counts(connection, schema)
    finally:
        scratch_engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --------------------------------------------------------------------------- restore


@dataclass(frozen=True)
class RestoreReport:
    archive: Path
    tables: dict[str, int]
    written: int
    kept: list[str]
    secrets_file: Path | None
    problems: list[str]


def _planned_files(unpacked: Unpacked, settings: Settings, force: bool,
                   instance_dir: Path) -> tuple[list[tuple[Path, Path]], int, list[str]]:
    """What the restore would write: (source, target) pairs; how many targets already hold the same bytes; the
    targets kept because they differ and ``force`` is false."""
    places: list[tuple[Path, Path]] = []
    for prefix, destination in (("recordings", Path(settings.recordings_dir)),
                                ("config/flows", Path(settings.flows_dir)),
                                (backup_mod.TWILIO_MEMBER_DIR, instance_dir / backup_mod.TWILIO_STATE_DIR)):
        root = unpacked.member(prefix)
        for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []:
            places.append((path, destination / path.relative_to(root)))
    env = backup_mod.env_file(settings)
    if env is not None and unpacked.member(backup_mod.ENV_MEMBER).is_file():
        places.append((unpacked.member(backup_mod.ENV_MEMBER), env))
    if unpacked.member(backup_mod.SECRET_KEY_MEMBER).is_file():
        places.append((unpacked.member(backup_mod.SECRET_KEY_MEMBER), instance_dir / "secret_key"))
    writes, same, kept = [], 0, []
    for source, target in places:
        try:
            exists = target.is_file()
            identical = exists and _same_bytes(source, target)
        except OSError:  # a folder this user cannot enter: planned, then refused by the writability check
            exists = identical = False
        if identical:
            same += 1
        elif exists and not force:
            kept.append(str(target))
        else:
            writes.append((source, target))
    return writes, same, kept


def _same_bytes(a: Path, b: Path) -> bool:
    """Whether the two files hold the same bytes (compared a chunk at a time)."""
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while chunk := fa.read(_CHUNK):
            if chunk != fb.read(_CHUNK):
                return False
    return True


def _nearest_folder(target: Path) -> Path:
    return next(p for p in target.parents if p.exists())


def _writable(target: Path) -> bool:
    """Whether this process can create or atomically replace ``target`` (a new file in its folder, renamed)."""
    folder = _nearest_folder(target)
    return os.access(folder, os.W_OK | os.X_OK)


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid())


def _write(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` (0600, atomically: a temporary file beside it, renamed), making missing
    folders 0700. Streamed: a large recording is never held in memory."""
    private_dir(target.parent)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def restore_backup(settings: Settings, engine: Engine, archive: Path, *, force: bool = False,
                   key: backup_crypto.Opener | None = None, instance_dir: Path | None = None) -> RestoreReport:
    """Put ``archive`` back into the configured database and folders (see the module's docstring).

    Raises ArchiveRejected when the archive does not match its manifest, or when the database holds
    rows and ``force`` is false; db_dump.DatabaseCopyError when the database cannot be restored.
    """
    scratch = _scratch(settings)
    try:
        unpacked = unpack(archive, scratch, key)
        if unpacked.problems:
            raise ArchiveRejected(f"{archive} does not match its manifest: nothing was restored",
                                  unpacked.problems)
        if db_dump.holds_data(engine) and not force:
            raise ArchiveRejected(f"the database ({safe_url(engine.url)}) holds data: nothing was restored. "
                                  "Back it up first, then run again with --force to replace it")
        database = unpacked.manifest["database"]
        copy = unpacked.member(database["file"])
        # Every file to put back, decided and checked before anything changes: a restore that stopped half-way
        # (the database replaced, the files not) is worse than one refused.
        writes, same, kept = _planned_files(unpacked, settings, force, instance_dir or INSTANCE_DIR)
        secrets_target = private_dir(backup_mod.backup_dir(settings)) / "restored-secrets.env"
        targets = [target for _, target in writes] + [secrets_target]
        if engine.dialect.name == "sqlite":
            targets.append(db_dump.sqlite_path(engine))
        unwritable = [f"{target}: this user ({_user()}) cannot write it (its folder "
                      f"{_nearest_folder(target)} is not writable)" for target in targets if not _writable(target)]
        if unwritable:
            raise ArchiveRejected("nothing was restored: some targets cannot be written (run the restore as the "
                                  "user that owns them, or fix their folders' permissions)", unwritable)
        if database["backend"] == "sqlite":
            if engine.dialect.name != "sqlite":
                raise ArchiveRejected("this archive holds a SQLite database; DATABASE_URL is PostgreSQL "
                                      "(restore into SQLite, then `flask practice export`/`import`)")
            db_dump.restore_sqlite(copy, engine)
        else:
            if engine.dialect.name != "postgresql":
                raise ArchiveRejected("this archive holds a PostgreSQL dump; DATABASE_URL is not PostgreSQL")
            engine.dispose()
            db_dump.restore_pg(copy, engine.url, clean=True)
        if engine.dialect.name == "sqlite":
            counts, revision = db_dump.sqlite_counts(db_dump.sqlite_path(engine))
        else:
            with engine.connect() as connection:
                counts, revision = db_dump.pg_counts(connection, database.get("schema"))
        problems = compare_counts(unpacked.manifest, counts, revision, "database")
        for source, target in writes:
            _write(source, target)
        written = len(writes)
        secrets_file = None
        running = backup_mod.secrets_env(settings)
        if unpacked.member(backup_mod.SECRETS_MEMBER).read_bytes() != running:
            secrets_file = secrets_target
            backup_mod.write_private(secrets_file, unpacked.member(backup_mod.SECRETS_MEMBER).read_bytes())
        return RestoreReport(archive, counts, written, kept, secrets_file, problems)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
