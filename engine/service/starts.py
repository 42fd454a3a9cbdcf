"""Group commit for StartExecution: concurrent starts recorded in one transaction.

Owns: `StartBatcher`. Must never: decide whether a start is idempotent (the executions module
reads what the store answers).
"""

from __future__ import annotations

import asyncio

from engine.runtime.journal import Journal
from engine.runtime.worker import Worker
from engine.store.base import ExecutionRecord, Store, StoreError


class StartBatcher:
    """Group commit for StartExecution: concurrent starts are recorded in one transaction.

    A start returns only once its execution is durably recorded (AWS returns the ARN of a
    recorded execution); what waits in the queue meanwhile joins the next transaction. While
    the worker loop runs, each new execution is leased to this worker in the same transaction,
    so the worker's own claims cannot take it too (which would start it twice); `submit` says
    whether it was.
    """

    def __init__(self, journal: Journal, store: Store, worker: Worker) -> None:
        self._journal = journal
        self._store = store
        self._worker = worker
        self._queue: list[tuple[ExecutionRecord, asyncio.Future[tuple[ExecutionRecord, bool]]]] = []
        self._leased: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool, bool]:
        """(the stored record, whether this call created it, whether it is leased to us)."""
        future: asyncio.Future[tuple[ExecutionRecord, bool]] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.append((record, future))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush())
        stored, created = await future
        leased = created and stored.arn in self._leased
        self._leased.discard(stored.arn)
        return stored, created, leased

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            await self._record(batch)

    async def _record(
        self, batch: list[tuple[ExecutionRecord, asyncio.Future[tuple[ExecutionRecord, bool]]]]
    ) -> None:
        """One transaction for the batch; if it fails, one per start, so a start the store
        refuses fails its own caller only, never the others that shared its transaction."""
        records = [record for record, _ in batch]
        lease = self._worker.new_lease() if self._worker.running else None
        try:
            results = await self._journal.create_executions(records, lease)
        except Exception as exc:  # the store's edge: the callers get what it raised
            # refused (one start's row, or a bug) rather than unavailable: each start alone
            if len(batch) > 1 and type(exc) is not StoreError:
                for one in batch:
                    await self._record([one])
                return
            for _, future in batch:  # unavailable: every waiting start fails with it
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if lease is not None and result[1]:
                self._leased.add(result[0].arn)
            if not future.done():
                future.set_result(result)
