"""The database layer: the declarative base and UTC datetimes (``base``), engines and sessions
(``database``), schema migrations (``migrations/``, Alembic) and their console commands (``cli``)."""
