"""asl-engine: run Amazon States Language state machines locally.

The public API for programs and tests that embed the engine; see docs/architecture.md. Names
are imported on first use (PEP 562) so that `asl validate` does not pay for the runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.backends.mocks import MockConfig, load_mock_config
    from engine.config import AslConfig, load_config
    from engine.embedded import Engine, ExecutionResult, LoadedMachine, load_machine
    from engine.errors import DefinitionInvalid, EngineError, StatesError, TaskError
    from engine.runtime.clock import RealClock, VirtualClock

__all__ = [
    "AslConfig",
    "DefinitionInvalid",
    "Engine",
    "EngineError",
    "ExecutionResult",
    "LoadedMachine",
    "MockConfig",
    "RealClock",
    "StatesError",
    "TaskError",
    "VirtualClock",
    "load_config",
    "load_machine",
    "load_mock_config",
]

_HOMES = {
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


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
