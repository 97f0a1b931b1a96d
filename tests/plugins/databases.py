"""Databases on both backends: a SQLite file and, when PostgreSQL is installed, a fresh schema on a throwaway
server started once per session (db_url is parametrised over both).

A test module that wants its database on both backends overrides the fixture with any_database."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from ivr.db import database as db_mod


class PostgresServer:
    """A throwaway PostgreSQL cluster: unix socket only, fsync off, trust auth, in a temp dir."""

    def __init__(self, bindir: Path, user: str | None):
        self.bindir = bindir
        self.user = user  # run the server as this user (initdb refuses root)
        self.base = Path(tempfile.mkdtemp(prefix="ql-pg-"))
        self.data = self.base / "data"
        self._database_ready = False

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bindir / args[0]), *args[1:]], check=True, capture_output=True, timeout=60,
                       user=self.user, group=pwd.getpwnam(self.user).pw_gid if self.user else None)

    def start(self) -> None:
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses='' -c unix_socket_directories={self.base} -c fsync=off " \
                  "-c full_page_writes=off -c synchronous_commit=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(self.base, ignore_errors=True)

    def _admin(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(host=str(self.base), user="postgres", dbname=dbname, autocommit=True) as conn:
            conn.execute(sql)

    def create_schema(self, name: str) -> str:
        """A URL whose connections see only a new, empty schema (creating a database per test is 10x slower)."""
        if not self._database_ready:
            self._admin('CREATE DATABASE "quietline_test"')
            self._database_ready = True
        self._admin(f'CREATE SCHEMA "{name}"', dbname="quietline_test")
        return f"postgresql+psycopg://postgres@/quietline_test?host={self.base}&options=-csearch_path%3D{name}"

    def drop_schema(self, name: str) -> None:
        self._admin(f'DROP SCHEMA IF EXISTS "{name}" CASCADE', dbname="quietline_test")


def _postgres_unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here, or None."""
    if os.environ.get("QUIETLINE_TEST_POSTGRES") == "0":
        return "QUIETLINE_TEST_POSTGRES=0"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    if pg_bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    return None


def pg_bindir() -> Path | None:
    candidates = [shutil.which("pg_ctl")] + sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    for candidate in filter(None, candidates):
        path = Path(candidate).resolve().parent
        if (path / "initdb").exists():
            return path
    return None


def postgres_server(request: pytest.FixtureRequest) -> PostgresServer:
    """The session's server, started on first use; skips the test when PostgreSQL is not available.

    Kept on the pytest config (not a module global) so every test module shares one server.
    """
    config = request.config
    state = getattr(config, "_quietline_postgres", None)
    if state is None:
        reason = _postgres_unavailable()
        server = None
        if reason is None:
            server = PostgresServer(pg_bindir(), "postgres" if os.geteuid() == 0 else None)  # type: ignore[arg-type]
            try:
                server.start()
                config.add_cleanup(server.stop)
            except (subprocess.SubprocessError, OSError) as exc:
                detail = getattr(exc, "stderr", b"") or b""
                reason = f"PostgreSQL did not start: {exc} {detail.decode(errors='replace')[-300:]}"
                server.stop()
                server = None
        state = (server, reason)
        config._quietline_postgres = state  # type: ignore[attr-defined]
    server, reason = state
    if server is None:
        pytest.skip(reason)
    return server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path):
    """An empty database's URL: a SQLite file, or a fresh schema on the session's PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/data/quietline.db"
        return
    server = postgres_server(request)
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield server.create_schema(name)
    server.drop_schema(name)


@pytest.fixture
def any_database(db_url: str):
    """A migrated database, on each backend in turn."""
    database = db_mod.Database.from_url(db_url)
    db_mod.upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def database_factory(db_url: str, request: pytest.FixtureRequest, tmp_path: Path):
    """More migrated databases on the same backend as ``db_url`` (for round trips between two)."""
    made: list[tuple[db_mod.Database, str | None]] = []

    def make() -> db_mod.Database:
        schema = None
        if db_url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path}/extra{len(made)}.db"
        else:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            url = postgres_server(request).create_schema(schema)
        database = db_mod.Database.from_url(url)
        db_mod.upgrade(database.engine)
        made.append((database, schema))
        return database

    yield make
    for database, schema in made:
        database.dispose()
        if schema:
            postgres_server(request).drop_schema(schema)
