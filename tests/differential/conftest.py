"""Fixtures of the differential tests: each path once per session (the tally of machines tried
is tests/differential/tally.py, printed by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.store.base import Store
from tests.differential.paths import (
    CrashPath,
    DetachPath,
    EnginePath,
    Path_,
    RunPath,
    Scratch,
    ServePath,
    ServicePath,
    StartPath,
    open_path_store,
    serve,
)
from tests.store import postgres_schema, postgres_url


@pytest.fixture(scope="session")
def engine_path() -> EnginePath:
    return EnginePath()


@pytest.fixture(scope="session")
def service_paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServicePath]]:
    """The Service on memory and SQLite, and on PostgreSQL when ASL_TEST_POSTGRES_URL is set."""
    folder = tmp_path_factory.mktemp("service")
    stores: list[tuple[str, Store]] = [
        ("memory", open_path_store("memory", folder, None)),
        ("sqlite", open_path_store("sqlite", folder, None)),
    ]
    url = postgres_url()
    schema = postgres_schema(url) if url is not None else None
    if schema is not None:
        stores.append(("postgresql", open_path_store("postgresql", folder, schema.__enter__())))
    try:
        yield [ServicePath(kind, store) for kind, store in stores]
    finally:
        for _, store in stores:
            store.close()
        if schema is not None:
            schema.__exit__(None, None, None)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    return Scratch(tmp_path_factory.mktemp("processes"))


@pytest.fixture(scope="session")
def serve_path(scratch: Scratch) -> Iterator[ServePath]:
    with serve(scratch) as client:
        yield ServePath(client)


@pytest.fixture(scope="session")
def process_paths(scratch: Scratch, serve_path: ServePath) -> list[Path_]:
    return [
        RunPath(scratch),
        StartPath(scratch),
        DetachPath(scratch),
        serve_path,
        CrashPath(scratch),
    ]
