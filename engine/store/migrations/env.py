"""Alembic's environment: run the store's migrations on the connection `upgrade` hands over.

Owns: wiring Alembic to the store's metadata and to an already open connection (the caller holds
the transaction and the migration lock). Must never: open its own connection or read alembic.ini
(there is none; `engine.store.migrations` configures Alembic in code).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from engine.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the store's migrations with engine.store.migrations.upgrade(url)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters tables by copying them; later revisions need batch mode there
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
