"""The backend seam: where a Task state's work happens.

Owns: the one-method `Backend` Protocol, its optional callback form (`start_invoke`, see
`starter_of`) and the resolver type that maps a Task's `Resource` ARN to a backend. The
request/result values it exchanges belong to the interpreter (engine/interpreter/tasks.py) and
are re-exported here for backend authors. Must never: know about executions, history or
retries (the interpreter decides those from the result).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess

__all__ = [
    "Backend",
    "BackendResolver",
    "Cancellable",
    "StartInvoke",
    "TaskFailure",
    "TaskRequest",
    "TaskResult",
    "TaskSuccess",
    "starter_of",
]


class Backend(Protocol):
    """Runs one task invocation. Must not raise: failures come back as `TaskFailure`."""

    async def invoke(self, request: TaskRequest) -> TaskResult: ...


BackendResolver = Callable[[str], Backend | None]
"""Maps a Resource ARN to the backend that serves it, or None when nothing is configured."""


class Cancellable(Protocol):
    """A call in flight (an `asyncio.Future` is one): cancelling it abandons the call."""

    def cancel(self, msg: object = None) -> bool: ...


StartInvoke = Callable[
    [TaskRequest, Callable[[TaskResult], None]], "TaskResult | Cancellable | None"
]
"""A backend's optional `start_invoke(request, on_result)`: `invoke` without a coroutine.

An asyncio Task and a chain of coroutines per call cost more than a trivial Python handler
(docs/performance.md), so a backend may also offer this form. It answers at once with the
`TaskResult` when it has one (a throttled call); or starts the call, returns a handle whose
`cancel()` abandons it, and calls `on_result` on the event loop once the call finishes (not
for a call cancelled before it finished; a result already on its way when `cancel()` came may
still arrive, and the caller ignores it); or returns None: this request needs `invoke`.
Like `invoke`, it never raises.
"""


def starter_of(backend: Backend) -> StartInvoke | None:
    """The backend's `start_invoke`, if it has one."""
    return cast("StartInvoke | None", getattr(backend, "start_invoke", None))
