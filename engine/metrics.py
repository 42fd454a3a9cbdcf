"""Prometheus metrics of a runtime, under the names docs/observability.md maps to AWS's.

Owns: `EngineMetrics`, a `RuntimeObserver` (runtime/observe.py) that counts what AWS/States
counts (ExecutionsStarted ... ExecutionTime per state machine ARN; LambdaFunctions* per function
ARN), the engine's own (transitions, commit latency, lease takeovers, queue lag, open
executions), and, read when scraped, what AWS/Lambda counts per function (the Lambda backend's
`FunctionStats`) and the handler pools' threads (`pool_stats()`); and `exposition`, the text a
`/metrics` request gets (OpenMetrics when its Accept header asks for it, as prometheus-client
chooses). Must never: change what an execution does, or be imported unless metrics are wanted
(`asl run` starts without prometheus-client).

Times come from history events, so they are on the execution's clock: exact under a virtual
clock in tests, real time in a server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from engine.backends.functions import LambdaBackend
from engine.backends.pool import pool_stats
from engine.interpreter.frames import ExecutionInfo
from engine.interpreter.history import HistoryEvent
from engine.runtime.loop import Runtime
from engine.runtime.observe import add_observer

EXECUTION_SECONDS: Final = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 3600, 86_400)
"""ExecutionTime buckets: a Pass machine's milliseconds to a day-long Wait."""
TASK_SECONDS: Final = (0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900)
"""LambdaFunction*Time buckets: up to Lambda's 15-minute function timeout."""
COMMIT_SECONDS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)
LAG_SECONDS: Final = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300)

_CLOSED: Final = {
    "ExecutionSucceeded": "succeeded",
    "ExecutionFailed": "failed",
    "ExecutionAborted": "aborted",
    "ExecutionTimedOut": "timed_out",
}
_LAMBDA_CLOSED: Final = {
    "LambdaFunctionSucceeded": "succeeded",
    "LambdaFunctionFailed": "failed",
    "LambdaFunctionTimedOut": "timed_out",
}

MACHINE = ("state_machine_arn",)
FUNCTION_ARN = ("lambda_function_arn",)


@dataclass(slots=True)
class _MachineMetrics:
    """One state machine's labelled children of EngineMetrics' per-machine metrics, each
    made when first counted (as `labels()` would: no series at 0 is exported)."""

    arn: str
    started: Counter | None = None
    transitions: Counter | None = None
    closed: dict[str, Counter] = field(default_factory=dict)  # by the closing event's type
    execution_time: Histogram | None = None


class EngineMetrics:
    """The metrics of the runtimes it is attached to, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.started = Counter("asl_executions_started", "ExecutionsStarted", MACHINE, registry=r)
        self.closed = {
            status: Counter(
                f"asl_executions_{status}",
                f"Executions{'TimedOut' if status == 'timed_out' else status.title()}",
                MACHINE,
                registry=r,
            )
            for status in _CLOSED.values()
        }
        # The engine never throttles a StartExecution or a state transition (AWS's quotas are
        # not simulated): the counter is exported so dashboards built for AWS find it, at 0.
        self.throttled = Counter(
            "asl_execution_throttled",
            "ExecutionThrottled (never throttled: 0)",
            MACHINE,
            registry=r,
        )
        self.execution_time = Histogram(
            "asl_execution_time_seconds",
            "ExecutionTime: from an execution's start to its close",
            MACHINE,
            buckets=EXECUTION_SECONDS,
            registry=r,
        )
        self.lambda_scheduled = Counter(
            "asl_lambda_functions_scheduled", "LambdaFunctionsScheduled", FUNCTION_ARN, registry=r
        )
        self.lambda_started = Counter(
            "asl_lambda_functions_started", "LambdaFunctionsStarted", FUNCTION_ARN, registry=r
        )
        self.lambda_closed = {
            status: Counter(
                f"asl_lambda_functions_{status}",
                f"LambdaFunctions{'TimedOut' if status == 'timed_out' else status.title()}",
                FUNCTION_ARN,
                registry=r,
            )
            for status in _LAMBDA_CLOSED.values()
        }
        self.lambda_time = Histogram(
            "asl_lambda_function_time_seconds",
            "LambdaFunctionTime: from scheduled to closed",
            FUNCTION_ARN,
            buckets=TASK_SECONDS,
            registry=r,
        )
        self.lambda_run_time = Histogram(
            "asl_lambda_function_run_time_seconds",
            "LambdaFunctionRunTime: from started to closed",
            FUNCTION_ARN,
            buckets=TASK_SECONDS,
            registry=r,
        )
        self.lambda_schedule_time = Histogram(
            "asl_lambda_function_schedule_time_seconds",
            "LambdaFunctionScheduleTime: from scheduled to started",
            FUNCTION_ARN,
            buckets=TASK_SECONDS,
            registry=r,
        )
        self.transitions = Counter("asl_state_transitions", "States entered", MACHINE, registry=r)
        self.commit_latency = Histogram(
            "asl_commit_latency_seconds",
            "Time to write one group commit to the store",
            buckets=COMMIT_SECONDS,
            registry=r,
        )
        self.committed_steps = Counter(
            "asl_committed_steps", "Steps written by group commits", registry=r
        )
        self.takeovers = Counter(
            "asl_lease_takeovers", "Executions claimed after another drive of them", registry=r
        )
        self.queue_lag = Histogram(
            "asl_queue_lag_seconds",
            "Time an execution waited between its start and a worker's claim",
            buckets=LAG_SECONDS,
            registry=r,
        )
        self._machines: dict[str, _MachineMetrics] = {}  # by state machine ARN
        # Lambda tasks in flight: (execution ARN, event id) -> (function ARN, scheduled, started)
        self._lambdas: dict[tuple[str, int], tuple[str, float, float | None]] = {}
        self._live = _LiveMetrics()
        r.register(self._live)

    def attach(self, runtime: Runtime, functions: LambdaBackend | None = None) -> None:
        """Observe `runtime`; report `functions`' per-function counters and its open
        executions when scraped."""
        runtime.observer = add_observer(runtime.observer, self)
        self._live.runtimes.append(runtime)
        if functions is not None:
            self._live.functions.append(functions)

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The scrape's body and content type: OpenMetrics when `accept` asks for it."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    # -- RuntimeObserver ----------------------------------------------------------------------

    def history(self, info: ExecutionInfo, events: Sequence[HistoryEvent]) -> None:
        machine = self._machines.get(info.state_machine_arn)
        if machine is None:
            machine = self._machine(info.state_machine_arn)
        for event in events:
            kind = event.type
            handle = _HANDLERS.get(kind)
            if handle is not None:
                handle(self, info, event)
            elif kind.endswith("StateEntered"):
                transitions = machine.transitions
                if transitions is None:
                    transitions = machine.transitions = self.transitions.labels(machine.arn)
                transitions.inc()
            elif kind in _CLOSED:
                closed = machine.closed.get(kind)
                if closed is None:
                    closed = machine.closed[kind] = self.closed[_CLOSED[kind]].labels(machine.arn)
                closed.inc()
                took = machine.execution_time
                if took is None:
                    took = machine.execution_time = self.execution_time.labels(machine.arn)
                took.observe(event.timestamp - info.start_time)
                self._forget(info.execution_arn)

    def _machine(self, arn: str) -> _MachineMetrics:
        """The labelled children of one state machine's metrics, looked up once: `labels()`
        per event (a lock and a tuple key each) cost more than the counting."""
        machine = self._machines[arn] = _MachineMetrics(arn)
        return machine

    def committed(self, seconds: float, steps: int) -> None:
        self.commit_latency.observe(seconds)
        self.committed_steps.inc(steps)

    def traceparent(self, info: ExecutionInfo, state_name: str) -> str | None:
        return None

    def claimed(self, waited: Sequence[float], taken_over: int) -> None:
        for seconds in waited:
            self.queue_lag.observe(seconds)
        if taken_over:
            self.takeovers.inc(taken_over)

    # -- history events -----------------------------------------------------------------------

    def _execution_started(self, info: ExecutionInfo, event: HistoryEvent) -> None:
        machine = self._machines.get(info.state_machine_arn)
        if machine is None:
            machine = self._machine(info.state_machine_arn)
        if machine.started is None:
            machine.started = self.started.labels(machine.arn)
        machine.started.inc()

    def _lambda_scheduled(self, info: ExecutionInfo, event: HistoryEvent) -> None:
        resource = event.details.get("resource") if event.details else None
        function = resource if isinstance(resource, str) else ""
        self.lambda_scheduled.labels(function).inc()
        self._lambdas[(info.execution_arn, event.id)] = (function, event.timestamp, None)

    def _lambda_started(self, info: ExecutionInfo, event: HistoryEvent) -> None:
        # AWS chains a task's events by previousEventId: Started follows its Scheduled.
        entry = self._lambdas.pop((info.execution_arn, event.previous_event_id), None)
        if entry is None:
            return
        function, scheduled, _ = entry
        self.lambda_started.labels(function).inc()
        self.lambda_schedule_time.labels(function).observe(event.timestamp - scheduled)
        self._lambdas[(info.execution_arn, event.id)] = (function, scheduled, event.timestamp)

    def _lambda_closed(self, info: ExecutionInfo, event: HistoryEvent) -> None:
        entry = self._lambdas.pop((info.execution_arn, event.previous_event_id), None)
        if entry is None:
            return
        function, scheduled, started = entry
        self.lambda_closed[_LAMBDA_CLOSED[event.type]].labels(function).inc()
        self.lambda_time.labels(function).observe(event.timestamp - scheduled)
        if started is not None:
            self.lambda_run_time.labels(function).observe(event.timestamp - started)

    def _forget(self, execution_arn: str) -> None:
        """A closed execution's Lambda tasks still open (a stop, a timeout) close with it."""
        if self._lambdas:
            for key in [k for k in self._lambdas if k[0] == execution_arn]:
                del self._lambdas[key]


_Handler = Callable[[EngineMetrics, ExecutionInfo, HistoryEvent], None]
_HANDLERS: Final[dict[str, _Handler]] = {
    "ExecutionStarted": EngineMetrics._execution_started,
    "LambdaFunctionScheduled": EngineMetrics._lambda_scheduled,
    "LambdaFunctionStarted": EngineMetrics._lambda_started,
    **dict.fromkeys(_LAMBDA_CLOSED, EngineMetrics._lambda_closed),
}


class _LiveMetrics(Collector):
    """What is read when scraped: AWS/Lambda's per-function counters, open executions, the
    handler pools' threads."""

    def __init__(self) -> None:
        self.runtimes: list[Runtime] = []
        self.functions: list[LambdaBackend] = []

    def describe(self) -> Iterator[Metric]:
        return iter(())  # unchecked: the functions configured may change with a reload

    def collect(self) -> Iterator[Metric]:
        name = ("function_name",)
        invocations = CounterMetricFamily("asl_lambda_invocations", "Invocations", labels=name)
        errors = CounterMetricFamily("asl_lambda_errors", "Errors", labels=name)
        throttles = CounterMetricFamily("asl_lambda_throttles", "Throttles", labels=name)
        cold = CounterMetricFamily("asl_lambda_cold_starts", "Cold starts (init)", labels=name)
        duration = SummaryMetricFamily("asl_lambda_duration_seconds", "Duration", labels=name)
        running = GaugeMetricFamily(
            "asl_lambda_concurrent_executions", "ConcurrentExecutions", labels=name
        )
        for backend in self.functions:
            for function in backend.function_names:
                stats = backend.stats(function)
                invocations.add_metric([function], stats.invocations)
                errors.add_metric([function], stats.errors)
                throttles.add_metric([function], stats.throttles)
                cold.add_metric([function], stats.cold_starts)
                duration.add_metric([function], stats.invocations, stats.duration)
                running.add_metric([function], stats.running)
        yield from (invocations, errors, throttles, cold, duration, running)
        # list(): one copy under the GIL, as a scrape may run on another thread (asl worker)
        open_executions = sum(
            1
            for runtime in self.runtimes
            for record in list(runtime.executions.values())
            if not record.done.done()
        )
        yield GaugeMetricFamily(
            "asl_open_executions", "Executions running in this process", value=open_executions
        )
        pools = pool_stats()
        threads = GaugeMetricFamily(
            "asl_handler_pool_threads", "Handler pool threads", labels=("state",)
        )
        threads.add_metric(["busy"], pools.busy)
        threads.add_metric(["idle"], pools.idle)
        threads.add_metric(["abandoned"], pools.abandoned)
        yield threads
        yield GaugeMetricFamily(
            "asl_handler_pool_queued", "Calls waiting for a handler thread", value=pools.queued
        )
