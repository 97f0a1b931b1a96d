"""Schema migrations under a lock, so only one migrator runs at a time.

Several processes may start a migration together (an upgrade script while ``make run`` starts, two
servers rolled out at once). Alembic itself takes no lock: two runs on one database both see the
old revision and both try to create the same tables. ``locked_upgrade`` holds

* on PostgreSQL, a session-level advisory lock (``pg_advisory_lock``) on its own connection,
  for as long as the migration runs (released when that connection closes, even after a crash);
* on SQLite, an exclusive ``flock`` on a file beside the database (``<database>.migrate-lock``),
  released by the kernel when the process ends,

and reads the revision only once it holds the lock: the second migrator finds the database at head
and does nothing. ``wait=False`` fails at once with ``MigrationLockBusy`` instead of waiting.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from ivr.db import database as db_mod
from ivr.exceptions import IvrError
from ivr.private_files import private_file

# The advisory lock's key: any fixed 64-bit number other applications are unlikely to pick.
ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"quietline schema migrations").digest()[:8], "big", signed=True)


class MigrationLockBusy(IvrError):
    """Another migrator holds the lock (only raised with ``wait=False``)."""


@dataclass(frozen=True)
class UpgradeResult:
    """The revision before and after; ``ran`` is whether this call applied any migration."""

    before: str | None
    after: str | None

    @property
    def ran(self) -> bool:
        return self.before != self.after


def lock_file(engine: Engine) -> Path | None:
    """The SQLite lock file beside the database; None for an in-memory database."""
    database = engine.url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    return path.with_name(path.name + ".migrate-lock")


@contextlib.contextmanager
def migration_lock(engine: Engine, *, wait: bool = True) -> Iterator[None]:
    """Hold the database's migration lock; ``MigrationLockBusy`` when ``wait`` is false and it is taken."""
    if engine.dialect.name == "sqlite":
        path = lock_file(engine)
        if path is None:
            yield
            return
        private_file(path)
        fd = os.open(path, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise MigrationLockBusy(f"another migration is running on {db_mod.safe_url(engine.url)} "
                                        f"(it holds {path}); wait for it or run again without --no-wait") from None
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if wait:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY})
        elif not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar():
            raise MigrationLockBusy(f"another migration is running on {db_mod.safe_url(engine.url)} "
                                    "(it holds the advisory lock); wait for it or run again without --no-wait")
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})


def locked_upgrade(engine: Engine, revision: str = "head", *, wait: bool = True) -> UpgradeResult:
    """Migrate to ``revision`` holding the lock; the revision is read only once the lock is held."""
    with migration_lock(engine, wait=wait):
        before = db_mod.current_revision(engine)
        target = db_mod.head_revision() if revision == "head" else revision
        if before == target:
            return UpgradeResult(before, before)
        after = db_mod.upgrade(engine, revision)
        return UpgradeResult(before, after)
