"""Alembic environment for the photocap catalog.

photocap runs this itself whenever it opens a catalog (see `Catalog._upgrade`), handing over its own
connection, already inside a BEGIN IMMEDIATE transaction. For development, the `alembic` command works too:
    alembic -c /dev/null -x db=path/to/catalog.db ... (with script_location pointing here)
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from photocap.catalog.store import Base

config = context.config


def _run(connection: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table instead.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    db = context.get_x_argument(as_dictionary=True).get("db")
    return f"sqlite:///{db}" if db else config.get_main_option("sqlalchemy.url") or "sqlite:///catalog.db"


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif context.is_offline_mode():
    context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    with create_engine(_url()).begin() as engine_connection:
        _run(engine_connection)
