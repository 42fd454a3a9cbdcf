"""The test kit: what a project's tests (and ours) use to test state machines and idempotency.

Owns: the public names of engine/testing/ (test code shipped as code, like Trio's
`trio.testing`). Must never: be imported by the engine itself, decide semantics, or import
pytest (`python -c "import engine.testing"` works where pytest is not installed; only the
plugin module, engine/testing/pytest_plugin.py, imports it).

    crash.py          CallLedger, CrashHarness: count calls durably, kill workers, recover
    sessions.py       EngineSession, ServiceSession: the engine and the service from sync code
    assertions.py     path taken, state outputs, task calls, history shape, idempotency checks
    pytest_plugin.py  the `asl_*` fixtures (the `pytest11` entry point `asl_engine`)

Names are imported on first use (PEP 562, as in `engine`): the plugin, loaded by every pytest
run where asl-engine is installed, costs a run that uses none of its fixtures next to nothing.

docs/testing.md ("The pytest plugin") and docs/idempotency.md show them at work.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.testing.assertions import (
        assert_failed,
        assert_history_shape,
        assert_idempotent_start,
        assert_name_taken,
        assert_not_idempotent_start,
        assert_path,
        assert_resumed,
        assert_state_output,
        assert_succeeded,
        assert_task_calls,
        event_types,
        history_events,
        state_input,
        state_output,
        states_entered,
        task_calls,
    )
    from engine.testing.crash import (
        CRASH_VARIABLE,
        LEDGER_VARIABLE,
        REDELIVERY_VARIABLE,
        TERMINAL,
        Call,
        CallLedger,
        CrashHarness,
        CrashReport,
        WorkerRun,
        assert_history_ids,
        entered_counts,
    )
    from engine.testing.sessions import EngineSession, ServiceSession

__all__ = [
    "CRASH_VARIABLE",
    "LEDGER_VARIABLE",
    "REDELIVERY_VARIABLE",
    "TERMINAL",
    "Call",
    "CallLedger",
    "CrashHarness",
    "CrashReport",
    "EngineSession",
    "ServiceSession",
    "WorkerRun",
    "assert_failed",
    "assert_history_ids",
    "assert_history_shape",
    "assert_idempotent_start",
    "assert_name_taken",
    "assert_not_idempotent_start",
    "assert_path",
    "assert_resumed",
    "assert_state_output",
    "assert_succeeded",
    "assert_task_calls",
    "entered_counts",
    "event_types",
    "history_events",
    "state_input",
    "state_output",
    "states_entered",
    "task_calls",
]

_HOMES = {
    "CRASH_VARIABLE": "engine.testing.crash",
    "Call": "engine.testing.crash",
    "CallLedger": "engine.testing.crash",
    "CrashHarness": "engine.testing.crash",
    "CrashReport": "engine.testing.crash",
    "EngineSession": "engine.testing.sessions",
    "LEDGER_VARIABLE": "engine.testing.crash",
    "REDELIVERY_VARIABLE": "engine.testing.crash",
    "ServiceSession": "engine.testing.sessions",
    "TERMINAL": "engine.testing.crash",
    "WorkerRun": "engine.testing.crash",
    "assert_failed": "engine.testing.assertions",
    "assert_history_ids": "engine.testing.crash",
    "assert_history_shape": "engine.testing.assertions",
    "assert_idempotent_start": "engine.testing.assertions",
    "assert_name_taken": "engine.testing.assertions",
    "assert_not_idempotent_start": "engine.testing.assertions",
    "assert_path": "engine.testing.assertions",
    "assert_resumed": "engine.testing.assertions",
    "assert_state_output": "engine.testing.assertions",
    "assert_succeeded": "engine.testing.assertions",
    "assert_task_calls": "engine.testing.assertions",
    "entered_counts": "engine.testing.crash",
    "event_types": "engine.testing.assertions",
    "history_events": "engine.testing.assertions",
    "state_input": "engine.testing.assertions",
    "state_output": "engine.testing.assertions",
    "states_entered": "engine.testing.assertions",
    "task_calls": "engine.testing.assertions",
}

# The fixtures this module held before the plugin: still importable by name, and still found
# by `pytest_plugins = ["engine.testing"]` (pytest collects fixtures through `dir()`), but
# made only then, so importing the test kit never imports pytest.
_LEGACY_FIXTURES = ("asl_store_url", "call_ledger", "crash_harness")


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is not None:
        return getattr(importlib.import_module(home), name)
    if name in _LEGACY_FIXTURES:
        from engine.testing.pytest_plugin import legacy_fixtures

        return legacy_fixtures()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__, *_LEGACY_FIXTURES])
