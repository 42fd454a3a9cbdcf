"""Alembic migrations: the explicit revisions build exactly the schema the store queries.

On SQLite (a temporary file) and PostgreSQL (a fresh schema; skipped with the reason when
ASL_TEST_POSTGRES_URL is unset).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from engine.store.migrations import HEAD, alembic_config, current_revision, upgrade
from engine.store.open import open_store
from engine.store.schema import metadata
from engine.store.sql import create_sql_engine, writer
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    POSTGRES_PARAM,
]


@pytest.fixture(params=DATABASES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server = postgres_url()
    assert server is not None
    with postgres_schema(server) as scoped:
        yield scoped


def test_head_constant_is_alembics_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD]


def test_upgrade_builds_exactly_the_schema_the_store_uses(url: str) -> None:
    upgrade(url)
    engine = create_sql_engine(url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == HEAD
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            tables = set(inspect(conn).get_table_names())
        assert tables == {t.name for t in metadata.sorted_tables} | {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_downgrade_reverses_it(url: str) -> None:
    upgrade(url)
    upgrade(url)  # at head: nothing to do
    engine = create_sql_engine(url)
    try:
        with writer(engine).begin() as conn:
            command.downgrade(alembic_config(conn), "base")
            assert current_revision(conn) is None
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}
        upgrade(url)
        with engine.connect() as conn:
            assert current_revision(conn) == HEAD
    finally:
        engine.dispose()


def test_processes_opening_a_new_database_at_once_migrate_it_once(url: str) -> None:
    racers = 4
    barrier = Barrier(racers)

    def open_and_count(_: int) -> int:
        barrier.wait()
        store = open_store(url)
        try:
            return len(store.list_machines())
        finally:
            store.close()

    with ThreadPoolExecutor(racers) as pool:
        assert list(pool.map(open_and_count, range(racers))) == [0] * racers


def test_memory_urls_need_no_migration() -> None:
    upgrade("memory://")  # nothing to connect to, nothing to do


def test_history_written_before_0005_survives_the_dropped_foreign_key(url: str) -> None:
    engine = create_sql_engine(url)
    arn = "arn:aws:states:us-east-1:123456789012:execution:m:e1"
    try:
        with writer(engine).begin() as conn:
            command.upgrade(alembic_config(conn), "0004")
            conn.execute(
                text(
                    "INSERT INTO executions (arn, machine_arn, revision_id, name, machine_type, "
                    "input, status, start, output, state, sync, redrive_count) VALUES (:arn, 'm', "
                    "'r', 'e1', 'STANDARD', '{}', 'RUNNING', 1.0, 'null', 'null', false, 0)"
                ),
                {"arn": arn},
            )
            conn.execute(
                text(
                    'INSERT INTO history (execution_arn, id, previous_event_id, "timestamp", '
                    "type, details) VALUES (:arn, 1, 0, 1.0, 'ExecutionStarted', '{}')"
                ),
                {"arn": arn},
            )
        upgrade(url)
        with engine.connect() as conn:
            assert current_revision(conn) == HEAD
            assert inspect(conn).get_foreign_keys("history") == []
            rows = conn.execute(text("SELECT execution_arn, id, type FROM history")).all()
        assert [tuple(r) for r in rows] == [(arn, 1, "ExecutionStarted")]
    finally:
        engine.dispose()
