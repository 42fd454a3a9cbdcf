"""The backend seam: where a Task state's work happens.

Owns: the one-method `Backend` Protocol and the resolver type that maps a Task's `Resource`
ARN to a backend. The request/result values it exchanges belong to the interpreter
(engine/interpreter/tasks.py) and are re-exported here for backend authors. Must never: know about
executions, history or retries (the interpreter decides those from the result).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess

__all__ = [
    "Backend",
    "BackendResolver",
    "TaskFailure",
    "TaskRequest",
    "TaskResult",
    "TaskSuccess",
]


class Backend(Protocol):
    """Runs one task invocation. Must not raise: failures come back as `TaskFailure`."""

    async def invoke(self, request: TaskRequest) -> TaskResult: ...


BackendResolver = Callable[[str], Backend | None]
"""Maps a Resource ARN to the backend that serves it, or None when nothing is configured."""
