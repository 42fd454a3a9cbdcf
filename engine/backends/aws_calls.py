"""What every backend calling the operator's AWS endpoints shares: the clients, and a pool
thread for each call.

Owns: `AwsCalls`, the base of `AwsBackend` (aws_sdk.py) and `MapIoBackend` (map_io.py): their
settings and clients, a handler pool made on first use, and `_submit`, which runs a call there
and turns its outcome into the Task's result. Must never: run a call on the event loop (loading
botocore, resolving an endpoint or making a client happen on the pool thread).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.backends.aws_endpoints import AwsClients, AwsSettings
from engine.backends.pool import DEFAULT_MAX_ABANDONED, DEFAULT_MAX_WORKERS, HandlerPool
from engine.backends.runner import Outcome, Returned
from engine.interpreter.tasks import TaskFailure, TaskResult, TaskSuccess

__all__ = ["AwsCalls", "Call"]

Call = Callable[[], Outcome]


class AwsCalls:
    """Settings, clients and the pool of a backend that calls AWS endpoints."""

    def __init__(self, settings: AwsSettings, *, max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        self.settings = settings
        self._clients = AwsClients(settings)
        self._max_workers = max_workers
        self._pool: HandlerPool | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    async def _submit(self, call: Call) -> TaskResult:
        """Run `call` on a pool thread: everything that may load botocore (the service's
        name, its endpoint, the client) happens there, never on the loop."""
        if self._pool is None:
            self._pool = HandlerPool(self._max_workers, DEFAULT_MAX_ABANDONED)
        outcome = await self._pool.submit(call)
        if isinstance(outcome, Returned):
            return TaskSuccess(outcome.payload)
        if isinstance(outcome, TaskFailure):
            return outcome
        return TaskFailure(outcome.error_type, outcome.message)
