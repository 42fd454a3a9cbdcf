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
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Self

from engine.backends.base import Backend
from engine.backends.mocks import MockConfig
from engine.config import ConfigSource, open_task_backends
from engine.definition.compile import Machine, compile_machine
from engine.definition.parse import parse_text
from engine.definition.processor import processor_definition
from engine.errors import EngineError, ResourceNotFound
from engine.execution_log import (
    DEFAULT_LOGGER,
    ExecutionLog,
    LogSettings,
    OpenFiles,
    Sink,
    logging_sink,
    stdout_sink,
)
from engine.interpreter.frames import ExecutionInfo
from engine.runtime.clock import Clock, RealClock
from engine.runtime.crash import CrashPoints, Redelivery
from engine.runtime.journal import Journal
from engine.runtime.loop import Runtime
from engine.runtime.observe import add_observer, tracing_wanted
from engine.runtime.outbox import OutboxDispatcher
from engine.runtime.supervise import Supervisor, failure_reason
from engine.runtime.worker import Worker
from engine.service.config import (
    MACHINE_CACHE_SECONDS,
    RETENTION_INTERVAL_SECONDS,
    ServiceConfig,
)
from engine.service.starts import StartBatcher
from engine.sources.runner import SourceRunner
from engine.store.base import (
    ExecutionRecord,
    MachineRecord,
    Store,
    StoreError,
)
from engine.values import dumps

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from engine.metrics import EngineMetrics

_log = logging.getLogger("asl.service")

CHILD_REVISION_MARK: Final = "#"
"""`PARENT_REVISION#ITEM_PROCESSOR_POINTER`: the revision of a Distributed Map's children.
A Distributed Map in a child's processor adds a pointer into the child's definition
(`PARENT_REVISION#POINTER#POINTER`), so a `#` in a pointer is written `~2`
(`child_revision`; JSON pointers escape `~` as `~0`, so `~2` means nothing else)."""


def child_revision(parent_revision: str, processor_key: str) -> str:
    """The revision of the children of the Distributed Map whose processor is at
    `processor_key` (a JSON pointer) in the definition of `parent_revision`."""
    return f"{parent_revision}{CHILD_REVISION_MARK}{processor_key.replace('#', '~2')}"


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
            prepare=self._prepare_adoption,
        )
        self.metrics: EngineMetrics | None = None  # enable_metrics()
        self._activity_waiters: dict[str, asyncio.Event] = {}
        self._machine_cache: dict[str, tuple[MachineRecord, float]] = {}
        self._machine_reads: dict[str, asyncio.Future[MachineRecord | None]] = {}
        self._started: dict[str, ExecutionRecord] = {}
        # parent execution -> its revision, for starting its Distributed Map's children
        self._map_parents: dict[str, str] = {}
        # (Map Run, its redrives) -> the first index and the texts of a window of its items
        self._map_items: dict[tuple[str, int], tuple[int, list[str]]] = {}
        self._retention: asyncio.Task[None] | None = None
        self.retention = Supervisor("the retention job", _log)
        self._starts = StartBatcher(self.journal, store, self.worker)
        self._log_files = OpenFiles()
        self._execution_log = self._open_execution_logs()
        self._logging = False  # whether the execution log observes the runtime yet
        if tracing_wanted():
            self.enable_tracing()
        # Status-change events go out from processes that drive executions (`asl serve`,
        # `asl worker`), to the destinations of the config's [events] (docs/triggers.md).
        destinations = []
        if self.config.worker:
            from engine.triggers_config import open_event_destinations

            destinations = open_event_destinations(functions_config)
        self.events = OutboxDispatcher(
            store, destinations, call=self.journal.call, clock=self.clock
        )
        # Every process reading the config (an API-only one, `asl start --detach` too)
        # registers its destinations before any execution starts: the store writes status
        # events only for registered destinations, from their registration on.
        if self._backends.config is not None:
            from engine.triggers_config import event_destination_names

            for name in event_destination_names(self._backends.config):
                store.register_destination(name)
        # Queue sources ([sources]) feed executions into processes that drive them.
        self.sources: list[SourceRunner] = []
        if self.config.worker:
            from engine.triggers_config import open_sources

            self.sources = [
                SourceRunner(source, settings, self)
                for source, settings in open_sources(functions_config)
            ]
        self._register_integrations()

    def enable_tracing(self, provider: TracerProvider | None = None) -> None:
        """Trace the executions of machines whose tracingConfiguration is enabled, as AWS
        does (docs/observability.md): `provider`, else the one the `OTEL_*` variables make
        (a service started with OTEL_TRACES_EXPORTER set calls this itself)."""
        from engine.tracing import ExecutionTracing, tracer_provider_from_env

        tracing = ExecutionTracing(
            provider or tracer_provider_from_env(),
            trace_header_of=self._trace_header_of,
            traced=self._traced,
        )
        self.runtime.observer = add_observer(self.runtime.observer, tracing)

    def _traced(self, info: ExecutionInfo) -> bool:
        # A Map Run's child runs the machine MACHINE/LABEL, which is traced as MACHINE is
        machine = self._cached_machine(info.state_machine_arn.split("/", 1)[0])
        return machine is not None and machine.tracing_enabled

    def _trace_header_of(self, execution_arn: str) -> str | None:
        record = self._started.get(execution_arn) or self.store.get_execution(execution_arn)
        return record.trace_header if record is not None else None

    def _cached_machine(self, machine_arn: str) -> MachineRecord | None:
        """A machine record from the cache `_machine` fills (read on the caller's thread only
        if it was never loaded, as `_role_of`)."""
        cached = self._machine_cache.get(machine_arn)
        if cached is not None:
            return cached[0]
        record = self.store.get_machine(machine_arn)
        if record is not None:
            self._remember_machine(record, time.monotonic() + MACHINE_CACHE_SECONDS)
        return record

    def _remember_machine(self, record: MachineRecord, expires: float) -> None:
        """Cache a machine record read from the store. Every execution this process runs has
        its machine read here first (a start, an adoption), so this is where a machine that
        logs turns the execution log on."""
        self._machine_cache[record.arn] = (record, expires)
        if record.logging_level != "OFF" and not self._logging:
            self._logging = True
            self.runtime.observer = add_observer(self.runtime.observer, self._execution_log)

    def _open_execution_logs(self) -> ExecutionLog:
        """The log honouring machines' loggingConfiguration (engine/execution_log.py), where
        `[execution_logs]` says. Registered as an observer only once a machine that logs is
        read (`_remember_machine`): until then, with every machine at OFF (the default), a
        step pays nothing for it."""
        config = self._backends.config
        sink: Sink = logging_sink(DEFAULT_LOGGER)  # without a file: [execution_logs]'s default
        groups: dict[str, Sink] = {}
        if config is not None:
            logs, folder = config.execution_logs, config.folder
            if logs.destination == "stdout":
                sink = stdout_sink()
            elif logs.destination == "file" and logs.path is not None:
                sink = self._log_files.sink(folder / logs.path)
            else:
                sink = logging_sink(logs.logger)
            groups = {arn: self._log_files.sink(folder / p) for arn, p in logs.log_groups.items()}
        return ExecutionLog(self._log_settings_of, sink, groups)

    def _log_settings_of(self, machine_arn: str) -> LogSettings | None:
        """A machine's loggingConfiguration, from the cache `_machine` fills (a read on the
        caller's thread only if it was never loaded, as `_role_of`)."""
        record = self._cached_machine(machine_arn)
        if record is None or record.logging_level == "OFF":
            return None  # the common case: nothing built, nothing written
        destination = record.log_destinations[0] if record.log_destinations else None
        return LogSettings(record.logging_level, record.include_execution_data, destination)

    def _register_integrations(self) -> None:
        """Register the backends of the integrations the service itself serves (nested.py:
        `states:startExecution`)."""

    async def __aenter__(self) -> Self:
        self.start()
        return self

    def start(self) -> None:
        """Run the background work of a long-lived process: the worker loop (in worker mode)
        and the retention job. A server, `asl worker` and `async with Service(...)` call this."""
        if self.config.worker:
            self.worker.start()
            if not self.events.started:
                self.events.start()
                for source in self.sources:
                    source.start()
        if self._retention is None or self._retention.done():
            self._retention = asyncio.get_running_loop().create_task(self._retention_job())

    async def _retention_job(self) -> None:
        """Purge histories past the retention window (90 days by default), hourly.

        Supervised: a purge that fails (the store, or a bug) is retried with back-off and
        logged once, and the job never ends on an error."""
        while True:
            if await self.retention.attempt(self.purge_expired):
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
        for source in self.sources:
            await source.aclose()
        await self.worker.aclose()
        await self.events.aclose()
        await self.runtime.aclose()
        await self._backends.aclose()
        self.journal.close()
        self._log_files.close()

    def resolve(self, resource: str) -> Backend | None:
        return self._backends.registry.resolve(resource)

    def enable_metrics(self) -> EngineMetrics:
        """Count this process's executions, tasks, commits and functions in Prometheus
        metrics (docs/observability.md); `/metrics` serves the result's `exposition()`."""
        if self.metrics is None:
            from engine.metrics import EngineMetrics  # prometheus-client: only when asked for

            self.metrics = EngineMetrics()
            self.metrics.attach(self.runtime, self._backends.functions.lambda_backend)
        return self.metrics

    def machine_for_revision(self, revision_id: str) -> Machine:
        """The compiled machine of a definition revision: compiled once, then cached.

        Reads the store on the caller's thread when the revision is not cached yet: on the
        event loop, await `load_revision` first (a start does; a worker's `prepare` does for
        the batch it claimed)."""
        machine = self._machines.get(revision_id)
        if machine is None:
            machine = self._compile_revision(revision_id, self.definition_text(revision_id))
        return machine

    async def load_revision(self, revision_id: str) -> Machine:
        """`machine_for_revision` without blocking the event loop: the definition is read on
        the store thread and compiled on another thread."""
        machine = self._machines.get(revision_id)
        if machine is None:
            text = await self.journal.call(self.definition_text, revision_id)
            machine = await asyncio.to_thread(self._compile_revision, revision_id, text)
        return machine

    def definition_text(self, revision_id: str) -> str | None:
        """A revision's definition text (on the store thread). `PARENT#POINTER` is the revision
        a Distributed Map's child executions run: the ItemProcessor at POINTER of the parent
        revision's definition (engine/definition/processor.py), derived, never stored; a
        Distributed Map in that processor adds its own pointer (`child_revision`)."""
        parent, hashed, keys = revision_id.partition(CHILD_REVISION_MARK)
        text = self.store.get_definition(parent)
        if not hashed or text is None:
            return text
        parent_definition = parse_text(text)
        assert isinstance(parent_definition, dict)
        definition = parent_definition
        try:
            # one pointer per level of Distributed Maps (`child_revision`)
            for key in keys.split(CHILD_REVISION_MARK):
                definition = processor_definition(definition, key.replace("~2", "#"))
        except KeyError:
            # written before `child_revision` escaped `#`: one level, a `#` in a state name
            try:
                definition = processor_definition(parent_definition, keys)
            except KeyError:
                return None
        return dumps(definition)

    def _compile_revision(self, revision_id: str, text: str | None) -> Machine:
        if text is None:
            raise ResourceNotFound(
                "StateMachineDoesNotExist", f"Definition revision {revision_id} not found"
            )
        definition = parse_text(text)
        assert isinstance(definition, dict)
        machine = compile_machine(definition)
        self._machines[revision_id] = machine
        return machine

    async def _prepare_adoption(self, records: Sequence[ExecutionRecord]) -> None:
        """Load what a worker adopting `records` needs, off the event loop: each revision's
        compiled machine and each machine's record (its roleArn), once per batch, not per
        execution. A revision or machine that cannot be loaded is left out: adopting the
        executions that need it fails them one by one, as it would have."""
        for revision in sorted({r.revision_id for r in records} - self._machines.keys()):
            with contextlib.suppress(EngineError):
                await self.load_revision(revision)
        for machine_arn in sorted({r.machine_arn for r in records}):
            await self._machine(machine_arn)

    def _role_of(self, machine_arn: str) -> str | None:
        """The machine's roleArn, for ExecutionStarted and $$.Execution.RoleArn (from the cache
        `_machine` fills; a read on the caller's thread only if it was never loaded)."""
        cached = self._machine_cache.get(machine_arn)
        record = cached[0] if cached is not None else self.store.get_machine(machine_arn)
        return record.role_arn if record is not None else None

    async def _machine(self, arn: str) -> MachineRecord | None:
        """A machine record, cached for MACHINE_CACHE_SECONDS.

        AWS documents the same: executions started right after UpdateStateMachine may still
        use the previous definition (API reference, UpdateStateMachine). Changes made through
        this service are seen at once.
        """
        cached = self._machine_cache.get(arn)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        pending = self._machine_reads.get(arn)
        if pending is not None:  # many concurrent starts: one read serves them all
            return await asyncio.shield(pending)
        future: asyncio.Future[MachineRecord | None] = asyncio.get_running_loop().create_future()
        self._machine_reads[arn] = future
        try:
            record = await self.journal.call(self.store.get_machine, arn)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: the waiters (if any) get it too
            raise
        finally:
            self._machine_reads.pop(arn, None)
        if record is not None:
            self._remember_machine(record, now + MACHINE_CACHE_SECONDS)
        future.set_result(record)
        return record

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
