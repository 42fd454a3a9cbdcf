"""Schema migrations of the SQL store (Alembic), applied on open and by `asl db upgrade`.

Owns: bringing a database to the schema revision this code needs (`upgrade`), safely when
several processes start at once (SQLite: the write lock of BEGIN IMMEDIATE; PostgreSQL: a
transaction-scoped advisory lock), in one transaction. Must never: generate migrations at
runtime (each revision in versions/ is written out explicitly) or downgrade on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import Connection, Engine, inspect, text

from engine.store.sql import create_sql_engine, writer

if TYPE_CHECKING:
    from alembic.config import Config

HEAD: Final = "0013"
"""The newest revision in versions/ (a test pins it to Alembic's head)."""

_LOCK_KEY: Final = 0x61736C  # "asl": the PostgreSQL advisory lock serialising migrations
_VERSION_TABLE: Final = "alembic_version"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configured in code: our script directory, and the connection to migrate."""
    from alembic.config import Config  # only when migrating: importing Alembic costs ~0.5 s

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(_VERSION_TABLE):
        return None
    found = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()  # noqa: S608 (a constant)
    return str(found) if found is not None else None


def upgrade_engine(engine: Engine) -> None:
    """Migrate the database behind `engine` to HEAD (a no-op when it is there already)."""
    with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        if current_revision(conn) != HEAD:
            from alembic import command

            command.upgrade(alembic_config(conn), "head")


def upgrade(url: str) -> None:
    """Migrate the database at `url` to HEAD (`asl db upgrade`); memory stores need none."""
    if url.startswith("memory"):
        return
    engine = create_sql_engine(url)
    try:
        upgrade_engine(engine)
    finally:
        engine.dispose()
