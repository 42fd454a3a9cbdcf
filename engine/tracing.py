"""OpenTelemetry traces of executions: a span per execution, per state, per task.

Owns: `ExecutionTracing`, a `RuntimeObserver` (runtime/observe.py) that builds the span tree
from history events (their `previous_event_id` chain says which state an event belongs to, as
in AWS's history: a Parallel's branches hang off its ParallelStateStarted), with the events'
own timestamps; the parent a StartExecution `traceHeader` names (X-Ray
`Root=1-...;Parent=...;Sampled=1`, or a W3C `traceparent`); and `tracer_provider_from_env`,
the SDK's provider with the exporters `OTEL_TRACES_EXPORTER` names (entry points, as the SDK's
own auto-configuration finds them), everything else from the standard `OTEL_*` variables.

Off unless `OTEL_TRACES_EXPORTER` names an exporter (`tracing_wanted`): nothing here is imported
then (`asl run` starts without OpenTelemetry). Must never: change what an execution does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from engine.definition.compile import MAP_RUN_CHILD_STATE
from engine.interpreter.frames import ExecutionInfo
from engine.interpreter.history import HistoryEvent
from engine.runtime.observe import EXPORTER_VARIABLE

_CONTAINER_STARTS: Final = frozenset(
    {"ParallelStateStarted", "MapStateStarted", "MapIterationStarted"}
)
_CLOSES: Final = {
    "ExecutionSucceeded": None,
    "ExecutionFailed": "failed",
    "ExecutionAborted": "aborted",
    "ExecutionTimedOut": "timed out",
}
_TASK_STARTS: Final = frozenset({"LambdaFunctionScheduled", "TaskScheduled", "ActivityScheduled"})
_TASK_ENDS: Final = ("Succeeded", "Failed", "TimedOut", "StartFailed", "SubmitFailed")
_XRAY: Final = re.compile(
    r"Root=1-(?P<time>[0-9a-f]{8})-(?P<id>[0-9a-f]{24});Parent=(?P<parent>[0-9a-f]{16})"
    r"(?:;Sampled=(?P<sampled>[01]))?"
)
_W3C: Final = re.compile(
    r"00-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})"
)


def tracer_provider_from_env(environ: Mapping[str, str] | None = None) -> TracerProvider:
    """The SDK's provider (sampler and resource from the `OTEL_*` variables) with a batch
    processor per exporter `OTEL_TRACES_EXPORTER` names. Raises `ValueError` naming an exporter
    no installed package provides (`otlp` needs opentelemetry-exporter-otlp)."""
    from importlib.metadata import entry_points

    env = environ if environ is not None else os.environ
    provider = TracerProvider(resource=Resource.create())
    for name in (n.strip() for n in env.get(EXPORTER_VARIABLE, "").split(",")):
        if name in ("", "none"):
            continue
        found = entry_points(group="opentelemetry_traces_exporter", name=name)
        if not found:
            raise ValueError(
                f"{EXPORTER_VARIABLE}={name}: no installed package provides this exporter "
                "('console' comes with the SDK; 'otlp' needs opentelemetry-exporter-otlp)"
            )
        exporter_class = next(iter(found)).load()
        exporter: SpanExporter = exporter_class()
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def parent_context(trace_header: str | None) -> Context | None:
    """The remote parent a StartExecution `traceHeader` names, or None."""
    if not trace_header:
        return None
    xray = _XRAY.search(trace_header)
    if xray is not None:
        trace_id = int(xray["time"] + xray["id"], 16)
        span_id = int(xray["parent"], 16)
        sampled = xray["sampled"] != "0"
    else:
        w3c = _W3C.fullmatch(trace_header.strip())
        if w3c is None:
            return None
        trace_id, span_id = int(w3c["trace"], 16), int(w3c["parent"], 16)
        sampled = bool(int(w3c["flags"], 16) & 1)
    if trace_id == 0 or span_id == 0:
        return None
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    remote = SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)
    return trace.set_span_in_context(trace.NonRecordingSpan(remote))


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


@dataclass(slots=True)
class _Execution:
    """One execution's open spans. `at[event id]` = (the state open in that event's frame, the
    span a state entered next in that frame hangs under)."""

    span: Span
    at: dict[int, tuple[Span | None, Span]] = field(default_factory=dict)
    tasks: dict[int, Span] = field(default_factory=dict)  # by the task's latest event id
    open: set[Span] = field(default_factory=set)
    kinds: dict[int, str] = field(default_factory=dict)  # each event's type, by id
    by_state: dict[str, Span] = field(default_factory=dict)  # latest task span per state name
    names: dict[Span, str] = field(default_factory=dict)  # each open state span's state name
    maps: list[Span] = field(default_factory=list)  # the open Map state spans, latest last


class ExecutionTracing:
    """Spans for the executions of the runtimes it observes."""

    def __init__(
        self,
        provider: trace.TracerProvider,
        trace_header_of: Callable[[str], str | None] = lambda arn: None,
        traced: Callable[[ExecutionInfo], bool] = lambda info: True,
    ) -> None:
        """`trace_header_of`: an execution's StartExecution traceHeader; `traced`: whether
        an execution is traced (a service: its machine's tracingConfiguration.enabled)."""
        self.tracer = provider.get_tracer("asl-engine")
        self.trace_header_of = trace_header_of
        self.traced = traced
        self._executions: dict[str, _Execution] = {}

    def history(self, info: ExecutionInfo, events: Sequence[HistoryEvent]) -> None:
        for event in events:
            self._event(info, event)

    def committed(self, seconds: float, steps: int) -> None:
        return None

    def traceparent(self, info: ExecutionInfo, state_name: str) -> str | None:
        run = self._executions.get(info.execution_arn)
        if run is None:
            return None
        task = run.by_state.get(state_name)
        if task is None and state_name == MAP_RUN_CHILD_STATE and run.maps:
            # A Distributed Map's child start has no Task events in the parent's history:
            # the child joins the trace under the Map's span (the latest open one).
            task = run.maps[-1]
        if task is None:
            return None
        context = task.get_span_context()
        if not context.is_valid:
            return None
        return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"

    def claimed(self, waited: Sequence[float], taken_over: int) -> None:
        return None

    def _event(self, info: ExecutionInfo, event: HistoryEvent) -> None:
        kind = event.type
        arn = info.execution_arn
        if kind == "ExecutionStarted":
            if not self.traced(info):
                return
            span = self.tracer.start_span(
                info.state_machine_name,
                context=parent_context(self.trace_header_of(arn)),
                kind=SpanKind.SERVER,
                start_time=_ns(event.timestamp),
                attributes={
                    "aws.step_functions.execution_arn": arn,
                    "aws.step_functions.state_machine_arn": info.state_machine_arn,
                    "aws.step_functions.execution_type": info.execution_type,
                },
            )
            started = self._executions[arn] = _Execution(span)
            started.at[event.id] = (None, span)
            started.kinds[event.id] = kind
            return
        run = self._executions.get(arn)
        if run is None:
            return  # started before this process observed it (resumed): not traced
        if kind in _CLOSES:
            self._close(arn, run, event)
            return
        state, container = run.at.get(event.previous_event_id, (None, run.span))
        end = _ns(event.timestamp)
        run.kinds[event.id] = kind
        if kind.endswith("StateEntered"):
            starts_branch = run.kinds.get(event.previous_event_id) in _CONTAINER_STARTS
            if starts_branch and state is not None:
                container = state
            elif state is not None:  # left without an Exited event (a caught failure)
                self._end(run, state, end)
            name = _detail(event, "name") or "state"
            span = self.tracer.start_span(
                name,
                context=trace.set_span_in_context(container),
                start_time=end,
                attributes={"aws.step_functions.state.type": kind.removesuffix("StateEntered")},
            )
            run.open.add(span)
            run.names[span] = name
            if kind == "MapStateEntered":
                run.maps.append(span)
            run.at[event.id] = (span, container)
            return
        if kind.endswith(("StateExited", "StateAborted")):
            if state is not None:
                if kind.endswith("StateAborted"):
                    state.set_status(Status(StatusCode.ERROR, "aborted"))
                self._end(run, state, end)
            run.at[event.id] = (None, container)
            return
        run.at[event.id] = (state, container)
        if kind in _TASK_STARTS:
            resource = _detail(event, "resource") or "task"
            service = _detail(event, "resourceType")
            task = self.tracer.start_span(
                f"{service}:{resource}" if service else resource,
                context=trace.set_span_in_context(state or container),
                kind=SpanKind.CLIENT,
                start_time=end,
            )
            run.tasks[event.id] = task
            run.open.add(task)
            if state is not None:
                run.by_state[run.names.get(state, "")] = task
        elif event.previous_event_id in run.tasks:
            task = run.tasks.pop(event.previous_event_id)
            if kind.endswith(_TASK_ENDS):
                if not kind.endswith("Succeeded"):
                    _fail(task, event)
                self._end(run, task, end)
            else:
                run.tasks[event.id] = task  # Started, Submitted: the same call goes on
        if kind.endswith("Failed") and state is not None:
            _fail(state, event)

    def _end(self, run: _Execution, span: Span, end: int) -> None:
        run.open.discard(span)
        if span in run.maps:
            run.maps.remove(span)
        run.names.pop(span, None)
        span.end(end_time=end)

    def _close(self, arn: str, run: _Execution, event: HistoryEvent) -> None:
        end = _ns(event.timestamp)
        for span in list(run.open):  # a stop or a timeout closes what was still running
            self._end(run, span, end)
        why = _CLOSES[event.type]
        if why is not None:
            error = _detail(event, "error")
            run.span.set_status(Status(StatusCode.ERROR, error or why))
        run.span.end(end_time=end)
        del self._executions[arn]


def _detail(event: HistoryEvent, key: str) -> str | None:
    value = event.details.get(key) if event.details is not None else None
    return value if isinstance(value, str) else None


def _fail(span: Span, event: HistoryEvent) -> None:
    error = _detail(event, "error")
    span.set_status(Status(StatusCode.ERROR, error or event.type))
    if error is not None:
        span.set_attribute("aws.step_functions.error", error)
