"""Alembic environment for the database (the practice's tables and the escalations').

Run through ``ivr.db.database.upgrade`` (or ``flask --app app db upgrade``), which
passes an open connection in ``config.attributes["connection"]``.  Without one
(offline ``--sql`` runs, or the alembic command line with ``-x url=…``), the URL
comes from ``-x url=…`` or the app's settings (``DATABASE_URL``).
"""
from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from ivr.config import load_settings
from ivr.contact import models as _contact  # noqa: F401
from ivr.db.base import Base
from ivr.db.database import make_engine, normalise_url

# Every model module, so their tables are on Base.metadata (autogenerate compares against it).
from ivr.escalations import models as _escalations  # noqa: F401
from ivr.practice import models as _practice  # noqa: F401

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url
    return load_settings().database_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: later migrations rebuild tables ("batch" mode).
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_offline() -> None:
    url = normalise_url(_url())
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.get_backend_name() == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
