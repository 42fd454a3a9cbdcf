"""Fixtures of the service tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.store.base import Store
from engine.store.memory import MemoryStore
from engine.store.open import open_store
from tests.service.helpers import StoreFactory


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
