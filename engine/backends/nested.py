"""The `states:startExecution` integration: a Task that starts another state machine's execution.

Owns: the backend of `arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]`
(reading its parameters `StateMachineArn`, `Input` and `Name`), the `ChildExecutions` Protocol
through which it starts the child, and the failure a refused start becomes (AWS's
`StepFunctions.<Code>Exception`). Must never: import the service or the runtime, or know how or
where a child runs: the embedded `Engine` and the durable `Service` each implement
`ChildExecutions` and register this backend in their own registry.

How the parent waits is the interpreter's (engine/interpreter/nested.py): for `.sync` and
`.sync:2` the Task holds a token, the start's response is recorded as TaskSubmitted, and the
child's close answers the token; for `.waitForTaskToken` the child (or anyone) answers the token
with SendTaskSuccess/Failure; a request-response Task completes with the start's response.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final, Protocol, cast

from engine.definition.aws_services import START_EXECUTION_PARAMETERS
from engine.definition.compile import MAP_RUN_CHILD_RESOURCE
from engine.errors import STATES_RUNTIME
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult
from engine.values import dumps

START_EXECUTION: Final = "arn:aws:states:::states:startExecution"
START_EXECUTION_PATTERN: Final = f"{START_EXECUTION}*"
"""The registry pattern of every startExecution integration."""

_PATTERNS: Final = {
    START_EXECUTION: None,
    f"{START_EXECUTION}.sync": "sync",
    f"{START_EXECUTION}.sync:2": "sync:2",
    f"{START_EXECUTION}.waitForTaskToken": "waitForTaskToken",
}
# What validate refuses in a written-out Parameters object (aws_services.py cites the source);
# checked again here for parameters known only at run time (JSONata Arguments as one expression).
_PARAMETERS: Final = START_EXECUTION_PARAMETERS


@dataclass(frozen=True, slots=True)
class ChildStart:
    """A child execution to start for a parent's Task.

    `input_text` is the child's input as JSON text (StartExecution's `input`); None for a
    Distributed Map item whose input is in the store (its Map Run's `item_index`). `token` and
    `pattern` ("sync", "sync:2", "waitForTaskToken" or None for request-response) tell the
    child whom it answers when it closes (only `.sync` and `.sync:2` answer)."""

    machine_arn: str
    input_text: str | None
    name: str | None
    parent_arn: str
    token: str | None
    pattern: str | None
    # A Distributed Map item's child execution (pattern "mapRun"): its Map Run, the pointer of
    # the ItemProcessor in the parent's definition (the child's definition), its type, and
    # how many items it runs (its ItemBatcher batch's, else one).
    map_run_arn: str | None = None
    processor_key: str | None = None
    execution_type: str = "STANDARD"
    item_count: int = 1
    item_index: int = 0
    items_version: int = 0  # the Map Run's redrives: each writes its items again
    # The parent Task's W3C trace context when it is traced: the child's trace header, so its
    # spans join the parent's trace (docs/observability.md)
    trace_header: str | None = None


class ChildExecutions(Protocol):
    """Starts child executions. Must not raise: a refused start is a `TaskFailure`
    (`start_failure`); a started one is a `TaskSuccess` of the StartExecution response, not
    `final` for `.sync`, `.sync:2` and `.waitForTaskToken` (the Task then waits for its token)."""

    async def start_child(self, start: ChildStart) -> TaskResult: ...


def start_failure(code: str, message: str) -> TaskFailure:
    """A StartExecution the service refused, as AWS reports it to the Task.

    The error is `StepFunctions.<Code>Exception` (such as
    `StepFunctions.StateMachineDoesNotExistException`), the cause the service's message with
    the SDK's details, as AWS writes a service exception of an optimized integration
    (LocalStack, state_task_service_sfn.py `_from_error`; hectorvent/floci,
    AslExecutorNestedStartExecutionTest). The request id is a fresh UUID: no HTTP request is
    made here.
    """
    error = (
        f"StepFunctions.{code}" if code.endswith("Exception") else f"StepFunctions.{code}Exception"
    )
    details = "; ".join(
        (
            "Service: AWSStepFunctions",
            "Status Code: 400",
            f"Error Code: {code}",
            f"Request ID: {uuid.uuid4()}",
            "Proxy: null",
        )
    )
    return TaskFailure(error, f"{message} ({details})")


class StartExecutionBackend:
    """Serves `START_EXECUTION_PATTERN`: reads the Task's parameters and starts the child."""

    def __init__(self, children: ChildExecutions) -> None:
        self._children = children

    async def invoke(self, request: TaskRequest) -> TaskResult:
        if request.resource == MAP_RUN_CHILD_RESOURCE:
            return await self._start_map_child(request)
        if request.resource not in _PATTERNS:
            return TaskFailure(
                STATES_RUNTIME,
                f"Unsupported resource '{request.resource}': the startExecution integration "
                "supports request-response, .sync, .sync:2 and .waitForTaskToken.",
            )
        pattern = _PATTERNS[request.resource]
        payload = request.payload
        if not isinstance(payload, dict):
            return _bad_parameters(request, "its parameters must be an object")
        unknown = sorted(set(payload) - set(_PARAMETERS))
        if unknown:
            return _bad_parameters(
                request, f"unknown parameter '{unknown[0]}' (it accepts {', '.join(_PARAMETERS)})"
            )
        machine_arn = payload.get("StateMachineArn")
        if not isinstance(machine_arn, str) or not machine_arn:
            return _bad_parameters(request, "StateMachineArn must be a state machine ARN")
        name = payload.get("Name")
        if name is not None and not isinstance(name, str):
            return _bad_parameters(request, "Name must be a string")
        given = payload.get("Input")
        # A string is the input's JSON text; anything else is the input itself. No Input:
        # "{}" (AWS: "If you don't include any JSON input data, you still must include the
        # two braces"; LocalStack _normalise_parameters).
        input_text = given if isinstance(given, str) else dumps({} if given is None else given)
        start = ChildStart(
            machine_arn=machine_arn,
            input_text=input_text,
            name=name,
            parent_arn=request.execution_arn,
            # only a `.sync` child answers (and is stopped with) its parent's Task by the token
            token=request.task_token if pattern in ("sync", "sync:2") else None,
            pattern=pattern,
            trace_header=request.traceparent,
        )
        return await self._children.start_child(start)

    async def _start_map_child(self, request: TaskRequest) -> TaskResult:
        """A Distributed Map item as a child execution: the interpreter built the request
        (engine/interpreter/states.py `_start_iterations`), so its shape is known."""
        payload = request.payload
        assert isinstance(payload, dict)
        map_run_arn = str(payload["MapRunArn"])
        # mapRun:MACHINE/LABEL:UUID -> stateMachine:MACHINE/LABEL (AWS's child machine ARN)
        machine_arn = map_run_arn.replace(":mapRun:", ":stateMachine:", 1).rsplit(":", 1)[0]
        start = ChildStart(
            machine_arn=machine_arn,
            # the item, unless it is in the store (states.py `_keep_items`)
            input_text=dumps(payload["Input"]) if "Input" in payload else None,
            name=str(payload["Name"]),
            parent_arn=request.execution_arn,
            token=request.task_token,
            pattern="mapRun",
            map_run_arn=map_run_arn,
            processor_key=str(payload["ProcessorKey"]),
            execution_type=str(payload["ExecutionType"]),
            item_count=int(cast(int, payload.get("ItemCount", 1))),
            item_index=int(cast(int, payload["Index"])),
            items_version=int(cast(int, payload.get("Redrives", 0))),
            trace_header=request.traceparent,
        )
        return await self._children.start_child(start)


def _bad_parameters(request: TaskRequest, why: str) -> TaskFailure:
    return TaskFailure(
        STATES_RUNTIME,
        f"The Task state '{request.state_name}' cannot start an execution: {why}.",
    )
