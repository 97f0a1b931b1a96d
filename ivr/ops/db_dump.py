"""The database's half of a backup: a consistent copy with its row counts, and putting one back.

* SQLite: SQLite's online backup API (``sqlite3.Connection.backup``), never a copy of the file (a copy
  taken while a writer commits, or without the WAL beside it, can be torn). The counts are read
  from the copy, so they describe exactly what was copied, whatever is written meanwhile.
* PostgreSQL: ``pg_dump -Fc`` run on a snapshot this module exports (``pg_export_snapshot`` in a
  REPEATABLE READ transaction) and counts read in that same transaction: under concurrent writes
  the dump and the counts still agree. Restored with ``pg_restore``.

The PostgreSQL client programs (``pg_dump``, ``pg_restore``) are looked up on PATH, then in
``/usr/lib/postgresql/<newest>/bin``; the password (if any) goes in ``PGPASSWORD``, never on a command
line other users can read.
"""
from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from ivr.db import database as db_mod
from ivr.exceptions import IvrError
from ivr.private_files import private_file

SQLITE_NAME = "quietline.db"
PG_NAME = "quietline.pgdump"


class DatabaseCopyError(IvrError):
    """A dump or restore failed (the message names the tool and its last words, never data)."""


@dataclass(frozen=True)
class DatabaseCopy:
    """What ``copy_database`` wrote: the file, the backend, the row count of every table, the schema revision."""

    path: Path
    backend: str
    tables: dict[str, int]
    revision: str | None
    schema: str | None = None


def pg_tool(name: str) -> str:
    """The path of a PostgreSQL client program (``pg_dump``, ``pg_restore``); DatabaseCopyError when missing."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    raise DatabaseCopyError(f"{name} is not installed: apt-get install postgresql-client")


def libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for ``url`` without its password, and the environment carrying the password."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise DatabaseCopyError(f"{what} failed (exit {done.returncode}): {tool_errors(done.stderr)}")


def tool_errors(stderr: str) -> str:
    """pg_dump's or pg_restore's error lines, without the ones that may quote rows (CONTEXT, DETAIL, the
    failing command): the message reaches a terminal or a journal, never client data."""
    kept: list[str] = []
    skipping = False
    for line in stderr.splitlines():
        if line.startswith(("CONTEXT:", "DETAIL:", "Command was:", "LINE ")):
            skipping = True
            continue
        if line.startswith(("pg_dump:", "pg_restore:", "ERROR:", "FATAL:")) or not skipping:
            skipping = False
            kept.append(line.strip()[:300])
    return " | ".join(kept[:4]) or "no message"


def sqlite_path(engine: Engine) -> Path:
    database = engine.url.database or ""
    if not database or database == ":memory:":
        raise DatabaseCopyError("an in-memory SQLite database cannot be backed up")
    return Path(database).expanduser()


# --------------------------------------------------------------------------- counting


def sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                              "ORDER BY name").fetchall()
    return [row[0] for row in rows]


def sqlite_counts(path: Path) -> tuple[dict[str, int], str | None]:
    """Row counts per table and the Alembic revision of a SQLite file (opened read-only)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        counts = {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                  for name in sqlite_tables(connection)}
        revision = None
        if "alembic_version" in counts:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        return counts, revision
    finally:
        connection.close()


def sqlite_integrity(path: Path) -> list[str]:
    """``PRAGMA integrity_check``'s complaints (empty when the file is sound)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [row[0] for row in connection.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        connection.close()
    return [] if rows == ["ok"] else rows


def pg_counts(connection: Connection, schema: str | None = None) -> tuple[dict[str, int], str | None]:
    """Row counts per table of ``schema`` (default: the connection's current schema) and the revision."""
    schema = schema or connection.execute(text("SELECT current_schema()")).scalar_one()
    names = connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
                               {"s": schema}).scalars().all()
    counts = {name: connection.execute(text(f'SELECT count(*) FROM "{schema}"."{name}"')).scalar_one()
              for name in names}
    revision = None
    if "alembic_version" in counts:
        revision = connection.execute(text(f'SELECT version_num FROM "{schema}".alembic_version')).scalar()
    return counts, revision


def table_counts(engine: Engine) -> dict[str, int]:
    """Row counts per table of a live database."""
    if engine.dialect.name == "sqlite":
        return sqlite_counts(sqlite_path(engine))[0] if sqlite_path(engine).exists() else {}
    with engine.connect() as connection:
        return pg_counts(connection)[0]


def holds_data(engine: Engine) -> bool:
    """Whether any table but Alembic's has a row (restoring over it would lose them)."""
    return any(count for name, count in table_counts(engine).items() if name != "alembic_version")


# --------------------------------------------------------------------------- copying out


def copy_database(engine: Engine, folder: Path) -> DatabaseCopy:
    """A consistent copy of the database in ``folder`` (a SQLite file or a pg_dump custom archive)."""
    if engine.dialect.name == "sqlite":
        source = sqlite_path(engine)
        if not source.exists():
            raise DatabaseCopyError(f"the database {source} does not exist")
        target = private_file(folder / SQLITE_NAME)
        src = sqlite3.connect(str(source), timeout=db_mod.SQLITE_BUSY_SECONDS)
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
            # One self-contained file: no WAL beside it in the archive.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()
        counts, revision = sqlite_counts(target)
        return DatabaseCopy(target, "sqlite", counts, revision)
    target = folder / PG_NAME
    uri, env = libpq_target(engine.url)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            counts, revision = pg_counts(connection, schema)
            # The snapshot lives while this transaction is open: pg_dump must run inside it.
            # The usual database (everything in "public") is dumped whole: naming "public" with --schema
            # would emit CREATE SCHEMA public, which fails on restore into any new database.
            only = [] if schema == "public" else [f"--schema={schema}"]
            _run([pg_tool("pg_dump"), "-Fc", "--no-owner", "--no-acl", f"--snapshot={snapshot}", *only,
                  "-f", str(target), "-d", uri], env, "pg_dump")
    os.chmod(target, 0o600)
    return DatabaseCopy(target, "postgresql", counts, revision, schema)


# --------------------------------------------------------------------------- putting back


def restore_sqlite(copy: Path, engine: Engine) -> None:
    """Replace the database's content with the copy's, through the backup API (safe with WAL and readers)."""
    target = private_file(sqlite_path(engine))
    engine.dispose()
    src = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target), timeout=db_mod.SQLITE_BUSY_SECONDS)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()


def restore_pg(dump: Path, url: URL, *, clean: bool) -> None:
    """``pg_restore`` a dump into the database at ``url`` (``clean``: drop what the dump holds first)."""
    uri, env = libpq_target(url)
    args = [pg_tool("pg_restore"), "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error"]
    if clean:
        args += ["--clean", "--if-exists"]
    _run([*args, "-d", uri, str(dump)], env, "pg_restore")
