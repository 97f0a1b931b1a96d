"""The database: engines, sessions and schema migrations.

SQLite is the embedded default (a file under ``instance/``, nothing to install);
PostgreSQL is used when ``DATABASE_URL`` says so.  The schema is changed only by
the Alembic migrations in ``ivr/db/migrations``, run from here
programmatically (there is no ``alembic.ini``): ``upgrade(engine)``.
"""
from __future__ import annotations

import os
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from ivr.private_files import private_file

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# SQLite waits this long for another writer (a web worker, an RQ job) before "database is locked".
SQLITE_BUSY_SECONDS = 15


def normalise_url(url: str | URL) -> URL:
    """The URL SQLAlchemy should use: ``postgres://`` (Heroku, Render, …) means ``postgresql://``."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgres+psycopg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def safe_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages."""
    return normalise_url(url).render_as_string(hide_password=True)


def make_engine(url: str | URL) -> Engine:
    """An engine for ``url``; for SQLite, creates the file (0600, its folder 0700) and sets WAL, foreign keys,
    busy timeout."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            # Created 0600 before SQLite opens it: its journal and WAL files take the database's mode.
            private_file(Path(database).expanduser())
        # hide_parameters: a database error (kept in a failed job, or logged) never carries column values.
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_SECONDS}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_on_connect)
    else:
        # Connections dropped by a database restart or a proxy's idle timeout are replaced, not used.
        engine = create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    _forget_connections_after_fork(engine)
    return engine


def _forget_connections_after_fork(engine: Engine) -> None:
    """A forked child (an RQ work horse, a preloaded gunicorn worker) opens its own connections.

    Sharing the parent's pooled sockets or SQLite handles across processes corrupts
    both sides' conversations; ``dispose(close=False)`` drops them without closing
    the parent's (SQLAlchemy's documented recipe for os.fork()).
    """
    ref = weakref.ref(engine)

    def after_fork_in_child() -> None:
        alive = ref()
        if alive is not None:
            alive.dispose(close=False)

    os.register_at_fork(after_in_child=after_fork_in_child)


def _sqlite_on_connect(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL: web workers keep reading while a job or an import writes.
        cursor.execute("PRAGMA journal_mode=WAL")
        # SQLite ignores foreign keys unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    finally:
        cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (handlers use them after the transaction)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@dataclass
class Database:
    """An engine and its session factory, as the services keep them (``Services.database``)."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def from_url(cls, url: str | URL) -> Database:
        engine = make_engine(url)
        return cls(engine, make_session_factory(engine))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config() -> Config:
    """An Alembic configuration pointing at the package's migrations, with no ini file."""
    config = Config()
    # ConfigParser interpolation: a literal % in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest migration's revision id."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine_or_url: Engine | str | URL, revision: str = "head") -> str | None:
    """Migrate the database to ``revision`` (default: the newest); returns the revision it is at."""
    engine, owned = _engine(engine_or_url)
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return current_revision(engine)
    finally:
        if owned:
            engine.dispose()


def current_revision(engine_or_url: Engine | str | URL) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    engine, owned = _engine(engine_or_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def is_current(engine: Engine) -> bool:
    """Whether the database has every migration applied."""
    return current_revision(engine) == head_revision()


def autogenerate_revision(message: str) -> Path:
    """Write a new migration for the differences between the models and the newest migration.

    Compares against a scratch SQLite database migrated to head, so it needs no
    server; review the file it writes (PostgreSQL-only details need a hand).
    """
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/scratch.db")
        try:
            upgrade(engine)
            config = alembic_config()
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                script = command.revision(config, message=message, autogenerate=True)
        finally:
            engine.dispose()
    assert script is not None and not isinstance(script, list)
    return Path(script.path)


def _engine(engine_or_url: Engine | str | URL) -> tuple[Engine, bool]:
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    return make_engine(engine_or_url), True
