"""Runs one queue source: messages in batches, one execution per message, acks, dead letters.

Owns: the source's loop (a batch of up to `batch_size` messages, collected for at most
`batching_window_seconds`), the at-least-once rule and the dead-letter rule. Must never: ack a
message before its execution's start is durable, or start two executions for one message.

At least once, and idempotent: each message starts the execution named by its id
(base.execution_name) with its body as input. StartExecution is idempotent by name, so a
message delivered again (its ack was lost, the process died after the start) returns the
execution it started, or `ExecutionAlreadyExists` once that one closed: either way nothing new
starts, and the message is acked. The ack follows the start, which returns only when the
execution is committed to the store.

Dead letters: a message whose body is not an input StartExecution accepts goes to the source's
dead-letter queue at once; a message whose execution ends FAILED, TIMED_OUT or ABORTED goes
there when it ends, watched by this process (one that stops first leaves it in the execution's
history only, docs/triggers.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from engine.errors import EngineError, ResourceConflict
from engine.runtime.supervise import Supervisor
from engine.sources.base import Message, QueueSource, execution_name

_log = logging.getLogger("asl.sources")
_FAILED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


@dataclass(frozen=True, slots=True)
class SourceSettings:
    machine: str  # the state machine ARN
    batch_size: int = 10
    batching_window_seconds: float = 0.0
    poll_seconds: float = 1.0  # how long one receive waits for a first message


class SourceRunner:
    """One source feeding one machine through a service (a `Service`, duck-typed here so the
    sources do not import the service layer's class)."""

    def __init__(self, source: QueueSource, settings: SourceSettings, service: object) -> None:
        self.source = source
        self.settings = settings
        self._service = service
        self._task: asyncio.Task[None] | None = None
        self._watchers: set[asyncio.Task[None]] = set()
        self.supervisor = Supervisor(f"the source {source.name}", _log)

    async def poll_once(self) -> list[str]:
        """One batch: received, started, acked. Returns the ARNs of the executions started
        (or found started by an earlier delivery)."""
        batch = await self.receive_batch()
        arns = await self.start_batch(batch)
        if batch:
            await self.source.ack(batch)
        return arns

    async def receive_batch(self) -> list[Message]:
        settings = self.settings
        batch = await self.source.receive(settings.batch_size, settings.poll_seconds)
        if not batch or settings.batching_window_seconds <= 0:
            return batch
        deadline = asyncio.get_running_loop().time() + settings.batching_window_seconds
        while len(batch) < settings.batch_size:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            more = await self.source.receive(settings.batch_size - len(batch), left)
            if not more:
                break
            batch.extend(more)
        return batch

    async def start_batch(self, batch: list[Message]) -> list[str]:
        """Start each message's execution (durable when this returns); dead-letter the ones
        StartExecution refuses. Nothing is acked here."""
        arns: list[str] = []
        for message in batch:
            arn = await self._start(message)
            if arn is not None:
                arns.append(arn)
        return arns

    async def _start(self, message: Message) -> str | None:
        service = self._service
        name = execution_name(message.id)
        try:
            record = await service.start_execution(  # type: ignore[attr-defined]
                self.settings.machine, name=name, input_text=message.body
            )
        except ResourceConflict:
            return None  # started by an earlier delivery, and closed since: nothing new
        except EngineError as exc:
            if getattr(exc, "code", "") == "ServiceUnavailable":
                raise  # the store: retry the batch later, ack nothing
            await self.source.dead_letter(message, f"{exc.code}: {exc.message}")
            return None
        arn: str = record.arn
        if record.status == "RUNNING":
            watcher = asyncio.get_running_loop().create_task(self._watch(arn, message))
            self._watchers.add(watcher)
            watcher.add_done_callback(self._watchers.discard)
        elif record.status in _FAILED:
            await self.source.dead_letter(message, f"the execution {arn} ended {record.status}")
        return arn

    async def _watch(self, arn: str, message: Message) -> None:
        try:
            record = await self._service.wait_for(arn)  # type: ignore[attr-defined]
            if record.status in _FAILED:
                reason = f"the execution {arn} ended {record.status}"
                if record.error:
                    reason += f" ({record.error})"
                await self.source.dead_letter(message, reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a watcher's edge: log, the execution's history remains
            _log.warning("source %s could not dead-letter %s: %s", self.source.name, arn, exc)

    async def wait_watched(self) -> None:
        """Wait until every execution this runner watches has closed (tests, --until-idle)."""
        while self._watchers:
            await asyncio.gather(*list(self._watchers), return_exceptions=True)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.supervisor.attempt(self.poll_once)

    async def aclose(self) -> None:
        tasks = [t for t in (self._task, *self._watchers) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.source.aclose()
