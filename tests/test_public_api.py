"""The public API: `engine.__all__` is pinned, and every name resolves to the documented object."""

from __future__ import annotations

import importlib

import pytest

import engine

PUBLIC = {
    "AslConfig": "engine.config",
    "DefinitionInvalid": "engine.errors",
    "Engine": "engine.embedded",
    "EngineError": "engine.errors",
    "ExecutionResult": "engine.embedded",
    "LoadedMachine": "engine.embedded",
    "MockConfig": "engine.backends.mocks",
    "RealClock": "engine.runtime.clock",
    "StatesError": "engine.errors",
    "TaskError": "engine.errors",
    "VirtualClock": "engine.runtime.clock",
    "load_config": "engine.config",
    "load_machine": "engine.embedded",
    "load_mock_config": "engine.backends.mocks",
}


def test_all_is_pinned() -> None:
    assert engine.__all__ == sorted(PUBLIC)


@pytest.mark.parametrize(("name", "home"), sorted(PUBLIC.items()), ids=sorted(PUBLIC))
def test_each_public_name_is_its_home_modules_object(name: str, home: str) -> None:
    assert getattr(engine, name) is getattr(importlib.import_module(home), name)


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'engine' has no attribute 'step'"):
        engine.step  # noqa: B018 - the attribute access is the test


def test_error_tree() -> None:
    assert issubclass(engine.DefinitionInvalid, engine.EngineError)
    assert not issubclass(engine.StatesError, engine.EngineError)  # an ASL error, not an API one
