"""The two ways the runtime calls a Lambda backend, for tests that check both.

`invoke` is the coroutine every backend has; `start_invoke` the callback form a Lambda function
served by a runner that can `submit` (blocking Python handlers) takes without a coroutine or an
asyncio Task (engine/backends/base.py, StartInvoke). Whichever a test names, the result must be
the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from engine.backends.functions import LambdaBackend
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess

VIAS = ["invoke", "start_invoke"]


async def call_via(backend: LambdaBackend, via: str, req: TaskRequest) -> TaskResult:
    """`backend.invoke(req)`, or the same call through `start_invoke` (falling back to the
    coroutine where that gives None, as the runtime does)."""
    if via == "invoke":
        return await backend.invoke(req)
    answer: asyncio.Future[TaskResult] = asyncio.get_running_loop().create_future()
    started = backend.start_invoke(req, answer.set_result)
    if started is None:
        return await backend.invoke(req)
    if isinstance(started, TaskSuccess | TaskFailure):
        return started
    try:
        return await answer
    except asyncio.CancelledError:
        started.cancel()
        raise


async def settle(condition: Callable[[], bool]) -> None:
    """Wait until `condition` holds, for what pool threads do after a handler returned (their
    accounting), which no event announces. No time limit of its own: however slow the machine,
    the condition is waited for, and pytest's timeout ends a real hang."""
    while not condition():  # noqa: ASYNC110 - the pool's threads announce nothing to await
        await asyncio.sleep(0.001)
