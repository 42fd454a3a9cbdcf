"""OpenTelemetry spans of executions, read back from the SDK's in-memory exporter: the span
tree of a machine with a Task, a Parallel and a Catch; a StartExecution traceHeader as the
remote parent (X-Ray and W3C)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from engine.embedded import Engine
from engine.runtime.clock import VirtualClock
from engine.runtime.observe import tracing_wanted
from engine.tracing import parent_context

T0 = 1_700_000_000.0
FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:"
MACHINE = {
    "StartAt": "Call",
    "States": {
        "Call": {"Type": "Task", "Resource": FUNCTION + "ok", "Next": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 2, "End": True}}},
                {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Task", "Resource": FUNCTION + "boom", "End": True}},
                },
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
            "Next": "Handled",
        },
        "Handled": {"Type": "Pass", "End": True},
    },
}


def ok(event: object, context: object) -> object:
    return {"ok": True}


def boom(event: object, context: object) -> object:
    raise ValueError("no")


def traced() -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def main() -> None:
        engine = Engine(functions={"ok": ok, "boom": boom}, clock=VirtualClock(T0))
        engine.enable_tracing(provider)
        try:
            result = await engine.run(engine.load(MACHINE, name="traced"), {})
            assert result.status == "SUCCEEDED"
        finally:
            await engine.aclose()

    asyncio.run(main())
    return list(exporter.get_finished_spans())


def tree(spans: list[ReadableSpan]) -> dict[str, object]:
    """Each span's name and status, its children under it (by name: on the virtual clock
    states can start at the same instant)."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        by_parent.setdefault(parent, []).append(span)

    def node(span: ReadableSpan) -> dict[str, object]:
        assert span.context is not None
        children = sorted(by_parent.get(span.context.span_id, []), key=lambda s: s.name)
        label = span.name + (" (error)" if span.status.status_code is StatusCode.ERROR else "")
        return {label: [node(c) for c in children]} if children else {label: []}

    (root,) = by_parent[None]
    return node(root)


def test_the_span_tree_of_a_task_a_parallel_and_a_catch() -> None:
    spans = traced()
    assert tree(spans) == {
        "traced": [
            {
                # failed, then caught: AWS records ParallelStateFailed before the Catch
                "Both (error)": [
                    {"A (error)": []},  # aborted: branch B failed while A waited
                    {"B (error)": [{FUNCTION + "boom (error)": []}]},
                ]
            },
            {"Call": [{FUNCTION + "ok": []}]},
            {"Handled": []},
        ]
    }
    assert len({s.context.trace_id for s in spans if s.context is not None}) == 1
    by_name = {s.name: s for s in spans}
    root = by_name["traced"]
    assert root.start_time == int(T0 * 1e9)
    assert by_name["B"].attributes is not None
    assert by_name["B"].attributes["aws.step_functions.state.type"] == "Task"
    assert by_name[FUNCTION + "boom"].attributes == {"aws.step_functions.error": "ValueError"}
    assert root.attributes is not None
    assert (
        root.attributes["aws.step_functions.execution_arn"].endswith(":execution:traced:" + "")
        is False
    )


@pytest.mark.parametrize(
    ("header", "trace_id", "span_id", "sampled"),
    [
        (
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            0x5759E988BD862E3FE1BE46A994272793,
            0x53995C3F42CD8AD8,
            True,
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
            0x0AF7651916CD43DD8448EB211C80319C,
            0xB7AD6B7169203331,
            False,
        ),
    ],
    ids=["x-ray", "w3c"],
)
def test_a_trace_header_names_the_remote_parent(
    header: str, trace_id: int, span_id: int, sampled: bool
) -> None:
    from opentelemetry import trace

    context = parent_context(header)
    assert context is not None
    parent = trace.get_current_span(context).get_span_context()
    assert (parent.trace_id, parent.span_id, parent.trace_flags.sampled, parent.is_remote) == (
        trace_id,
        span_id,
        sampled,
        True,
    )


def test_garbage_trace_headers_give_no_parent() -> None:
    assert parent_context("Root=nope") is None
    assert parent_context("00-00000000000000000000000000000000-b7ad6b7169203331-01") is None
    assert parent_context(None) is None


@pytest.mark.parametrize(
    ("value", "wanted"), [(None, False), ("none", False), ("console", True), ("otlp,none", True)]
)
def test_tracing_is_off_unless_an_exporter_is_named(value: str | None, wanted: bool) -> None:
    environ = {} if value is None else {"OTEL_TRACES_EXPORTER": value}
    assert tracing_wanted(environ) is wanted


def test_a_service_traces_machines_with_tracing_enabled_under_their_trace_header() -> None:
    from engine.service import Service
    from engine.store.memory import MemoryStore

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    pass_machine = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'
    base = "arn:aws:states:us-east-1:111111111111:stateMachine:"

    async def main() -> None:
        async with Service(MemoryStore(), clock=VirtualClock(T0)) as service:
            service.enable_tracing(provider)
            await service.create_state_machine("on", pass_machine, tracing_enabled=True)
            await service.create_state_machine("off", pass_machine)
            for name in ("on", "off"):
                started = await service.start_execution(base + name, name="r", trace_header=header)
                await service.wait_for(started.arn)

    asyncio.run(main())
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert sorted(spans) == ["P", "on"]  # "off" has tracing disabled: no span
    root = spans["on"]
    assert root.parent is not None
    assert root.context is not None
    assert (root.context.trace_id, root.parent.span_id, root.parent.is_remote) == (
        0x5759E988BD862E3FE1BE46A994272793,
        0x53995C3F42CD8AD8,
        True,
    )


def test_a_command_function_gets_its_task_span_as_traceparent(tmp_path: Path) -> None:
    script = tmp_path / "echo_trace.py"
    script.write_text(
        "import json, os, sys\n"
        "sys.stdin.read()\n"
        "print(json.dumps({'traceparent': os.environ.get('TRACEPARENT')}))\n"
    )
    (tmp_path / "asl.toml").write_text(
        f"[functions.echo]\ncommand = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]\n"
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    machine = {
        "StartAt": "Echo",
        "States": {"Echo": {"Type": "Task", "Resource": FUNCTION + "echo", "End": True}},
    }

    async def main() -> object:
        engine = Engine(config=tmp_path / "asl.toml", clock=VirtualClock(T0))
        engine.enable_tracing(provider)
        try:
            result = await engine.run(engine.load(machine, name="echoes"), {})
            assert result.status == "SUCCEEDED", result.cause
            return result.output
        finally:
            await engine.aclose()

    output = asyncio.run(main())
    (task,) = [s for s in exporter.get_finished_spans() if s.name == FUNCTION + "echo"]
    assert task.context is not None
    ids = f"{task.context.trace_id:032x}-{task.context.span_id:016x}"
    expected = f"00-{ids}-{int(task.context.trace_flags):02x}"  # as OpenTelemetry's propagator
    assert task.context.trace_flags.sampled
    assert output == {"traceparent": expected}


def test_an_http_task_sends_its_span_as_traceparent_and_an_untraced_one_nothing() -> None:
    from engine.backends.http_task import HTTP_INVOKE
    from tests.backends.api_server import ApiServer

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    connection = "arn:aws:events:us-east-1:123456789012:connection/Api/81210c42-8af1-456b"

    async def main(url: str, traced: bool) -> None:
        engine = Engine(clock=VirtualClock(T0))
        if traced:
            engine.enable_tracing(provider)
        call = {
            "Type": "Task",
            "Resource": HTTP_INVOKE,
            "Parameters": {
                "ApiEndpoint": url + "/items",
                "Method": "GET",
                "Authentication": {"ConnectionArn": connection},
            },
            "End": True,
        }
        try:
            machine = engine.load({"StartAt": "Call", "States": {"Call": call}}, name="http")
            assert (await engine.run(machine, {})).status == "SUCCEEDED"
        finally:
            await engine.aclose()

    with ApiServer() as api:
        asyncio.run(main(api.url, traced=True))
        asyncio.run(main(api.url, traced=False))
    traced_call, untraced_call = ({n.lower(): v for n, v in seen.headers} for seen in api.seen)
    (task,) = [s for s in exporter.get_finished_spans() if s.name == "http:invoke"]
    assert task.context is not None
    ids = f"{task.context.trace_id:032x}-{task.context.span_id:016x}"
    assert traced_call["traceparent"] == f"00-{ids}-{int(task.context.trace_flags):02x}"
    assert "traceparent" not in untraced_call


def test_child_executions_join_their_parent_task_s_trace() -> None:
    """A `.sync:2` child and a Distributed Map's children: each child's execution span is a
    child of the parent's span that started it (the Task; the Map, whose child starts have no
    Task events), in the parent's trace."""
    from engine.service import Service
    from engine.store.memory import MemoryStore

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    base = "arn:aws:states:us-east-1:111111111111:stateMachine:"
    child = {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": True}}}
    parent = {
        "StartAt": "Nested",
        "States": {
            "Nested": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": base + "child", "Input": {}},
                "ResultPath": None,
                "Next": "Fan",
            },
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "End": True,
            },
        },
    }

    async def main() -> None:
        async with Service(MemoryStore(), clock=VirtualClock(T0)) as service:
            service.enable_tracing(provider)
            await service.create_state_machine("child", json.dumps(child), tracing_enabled=True)
            await service.create_state_machine("parent", json.dumps(parent), tracing_enabled=True)
            started = await service.start_execution(
                base + "parent", name="p", input_text='{"items": [1, 2]}'
            )
            await service.wait_for(started.arn)
            assert (await service.describe_execution(started.arn)).status == "SUCCEEDED"

    asyncio.run(main())
    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    [root] = [s for s in spans if s.name == "parent"]
    assert root.context is not None
    children = [s for s in spans if s.name in ("child", "parent/Fan")]
    assert sorted(s.name for s in children) == ["child", "parent/Fan", "parent/Fan"]
    for span in children:
        assert span.parent is not None
        assert span.context is not None
        assert span.context.trace_id == root.context.trace_id
        caller = by_id[span.parent.span_id]  # what started it: the Task, or the Map
        assert (caller.name, caller.kind.name) == (
            ("states:startExecution.sync:2", "CLIENT")
            if span.name == "child"
            else ("Fan", "INTERNAL")
        )
