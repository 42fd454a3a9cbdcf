"""The service's wiring and lifecycle: the store, the runtime and worker of this process, the
backends, compiled machines, and the retention job.

Owns: building a `Service`'s parts once, starting and stopping its background work, and the
plumbing the operation modules share (compiled machines by revision, ARNs). Must never: hold an
operation of the API (machines.py, executions.py, callbacks.py, tags.py do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Self

from engine.backends.base import Backend
from engine.backends.mocks import MockConfig
from engine.config import ConfigSource, open_task_backends
from engine.definition.compile import Machine, compile_machine
from engine.definition.parse import parse_text
from engine.errors import ResourceNotFound
from engine.runtime.clock import Clock, RealClock
from engine.runtime.crash import CrashPoints, Redelivery
from engine.runtime.journal import Journal
from engine.runtime.loop import Runtime
from engine.runtime.supervise import Supervisor, failure_reason
from engine.runtime.worker import Worker
from engine.service.config import (
    RETENTION_INTERVAL_SECONDS,
    ServiceConfig,
)
from engine.service.starts import StartBatcher
from engine.store.base import (
    ExecutionRecord,
    MachineRecord,
    Store,
    StoreError,
)

_log = logging.getLogger("asl.service")

HEALTH_PROBE_SECONDS: Final = 2.0
"""How long a health probe waits for the store: a locked SQLite file or a lost PostgreSQL
connection must make `/v1/health` answer degraded, not hang."""


@dataclass(frozen=True, slots=True)
class Health:
    """What `/v1/health` and `/v1/ready` report (api/rest.py)."""

    store: str  # "ok" | "unreachable"
    worker: str  # "running" | "failing" | "stopped" | "disabled" (an API-only process)
    reason: str | None = None  # why the store or the worker loop fails: one line, no SQL

    @property
    def degraded(self) -> bool:
        """The store does not answer or the worker loop fails: work would not be driven."""
        return self.store != "ok" or self.worker == "failing"

    @property
    def ready(self) -> bool:
        """Healthy, and the worker loop (when this process has one) runs."""
        return not self.degraded and self.worker in ("running", "disabled")


class ServiceBase:
    """The parts of a `Service` and their lifecycle (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        functions: Mapping[str, Callable[..., object]] | None = None,
        backends: Mapping[str, Backend] | None = None,
        clock: Clock | None = None,
        config: ServiceConfig | None = None,
        crash: CrashPoints | None = None,
        redelivery: Redelivery | None = None,
        functions_config: ConfigSource = None,
        mock_config: MockConfig | None = None,
    ) -> None:
        self.store = store
        self.config = config or ServiceConfig()
        self.clock: Clock = clock or RealClock()
        self._backends = open_task_backends(functions_config, functions, backends, mock_config)
        self.mocks = self._backends.mocks  # mocked responses in front of the registry
        self._machines: dict[str, Machine] = {}
        self.journal = Journal(store)
        self.runtime = Runtime(
            self.mocks.resolve,
            clock=self.clock,
            on_closed=self.mocks.forget,
            keep_history=False,
            journal=self.journal,
            crash=crash or CrashPoints.from_env(),
            redelivery=redelivery or Redelivery.from_env(),
        )
        self.worker = Worker(
            store,
            self.runtime,
            self.journal,
            self.machine_for_revision,
            lease_seconds=self.config.lease_seconds,
            poll_seconds=self.config.poll_seconds,
            role_of=self._role_of,
            seed=self.config.seed,
            claim_batch=self.config.claim_batch,
        )
        self._activity_waiters: dict[str, asyncio.Event] = {}
        self._machine_cache: dict[str, tuple[MachineRecord, float]] = {}
        self._machine_reads: dict[str, asyncio.Future[MachineRecord | None]] = {}
        self._started: dict[str, ExecutionRecord] = {}
        self._retention: asyncio.Task[None] | None = None
        self.retention = Supervisor("the retention job", _log)
        self._starts = StartBatcher(self.journal, store, self.worker)

    async def __aenter__(self) -> Self:
        self.start()
        return self

    def start(self) -> None:
        """Run the background work of a long-lived process: the worker loop (in worker mode)
        and the retention job. A server, `asl worker` and `async with Service(...)` call this."""
        if self.config.worker:
            self.worker.start()
        if self._retention is None or self._retention.done():
            self._retention = asyncio.get_running_loop().create_task(self._retention_job())

    async def _retention_job(self) -> None:
        """Purge histories past the retention window (90 days by default), hourly.

        Supervised: a purge that fails (the store, or a bug) is retried with back-off and
        logged once, and the job never ends on an error."""
        while True:
            try:
                await self.purge_expired()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # supervised loop edge: survive, back off, log once
                await asyncio.sleep(self.retention.failed(exc))
                continue
            self.retention.succeeded()
            await asyncio.sleep(RETENTION_INTERVAL_SECONDS)

    async def health(self) -> Health:
        """The store answers (bounded by HEALTH_PROBE_SECONDS) and the worker loop works."""
        reason: str | None = None
        store = "ok"
        try:
            async with asyncio.timeout(HEALTH_PROBE_SECONDS):
                await self.journal.call(self.store.find_machine, "asl-health-probe")
        except TimeoutError:
            store, reason = "unreachable", f"the store did not answer in {HEALTH_PROBE_SECONDS:g} s"
        except Exception as exc:  # the probe's edge: any failure is reported, never raised
            store, reason = "unreachable", failure_reason(exc)
        if not self.config.worker:
            worker = "disabled"
        elif self.worker.failure is not None:
            worker, reason = "failing", reason or self.worker.failure
        else:
            worker = "running" if self.worker.running else "stopped"
        return Health(store, worker, reason)

    def check_accepting(self) -> None:
        """Refuse new work while this process's worker loop fails (the store is unreachable,
        ...): an execution accepted now would stay RUNNING with nothing driving it. Raises
        `StoreError` (ServiceUnavailable, 503: clients and AWS SDKs retry it)."""
        failure = self.worker.failure if self.config.worker else None
        if failure is not None:
            raise StoreError(
                f"The service is unavailable, retry later (its worker loop is failing: {failure})"
            )

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
        await self.worker.aclose()
        await self.runtime.aclose()
        await self._backends.aclose()
        self.journal.close()

    def resolve(self, resource: str) -> Backend | None:
        return self._backends.registry.resolve(resource)

    def machine_for_revision(self, revision_id: str) -> Machine:
        """The compiled machine of a definition revision: compiled once, then cached."""
        machine = self._machines.get(revision_id)
        if machine is None:
            text = self.store.get_definition(revision_id)
            if text is None:
                raise ResourceNotFound(
                    "StateMachineDoesNotExist", f"Definition revision {revision_id} not found"
                )
            definition = parse_text(text)
            assert isinstance(definition, dict)
            machine = compile_machine(definition)
            self._machines[revision_id] = machine
        return machine

    def _role_of(self, machine_arn: str) -> str | None:
        """The machine's roleArn, for ExecutionStarted and $$.Execution.RoleArn."""
        cached = self._machine_cache.get(machine_arn)
        record = cached[0] if cached is not None else self.store.get_machine(machine_arn)
        return record.role_arn if record is not None else None

    def _arn(self, kind: str, *parts: str) -> str:
        return f"arn:aws:states:{self.config.region}:{self.config.account}:{kind}:" + ":".join(
            parts
        )

    async def purge_expired(self) -> int:
        """Delete executions whose history passed the retention window; frees their names."""
        cutoff = self.clock.now() - self.config.retention_seconds
        count = await self.journal.call(self.store.purge, cutoff)
        assert isinstance(count, int)
        return count
