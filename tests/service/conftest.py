"""Fixtures of the service tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.store.base import Store
from engine.store.memory import MemoryStore
from engine.store.open import open_store
from tests.service.helpers import StoreFactory
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A fresh store of each kind (SQLite: a file under tmp_path, migrated)."""
    opened: list[Store] = []

    def factory() -> Store:
        store: Store = (
            MemoryStore()
            if request.param == "memory"
            else open_store(f"sqlite:///{tmp_path}/s{len(opened)}.db")
        )
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture(params=["memory", "sqlite", POSTGRES_PARAM])
def every_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A fresh store of each kind, PostgreSQL included when ASL_TEST_POSTGRES_URL is set (a
    schema of its own, dropped after)."""
    opened: list[Store] = []
    with contextlib.ExitStack() as stack:

        def factory() -> Store:
            if request.param == "memory":
                store: Store = MemoryStore()
            elif request.param == "sqlite":
                store = open_store(f"sqlite:///{tmp_path}/s{len(opened)}.db")
            else:
                server = postgres_url()
                assert server is not None
                store = open_store(stack.enter_context(postgres_schema(server)))
            opened.append(store)
            return store

        yield factory
        for store in opened:
            store.close()
