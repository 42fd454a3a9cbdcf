"""TestState: one state of a definition run on its own, with AWS's request and answer.

Owns: checking a TestState request as AWS does (a lone state's definition, or a whole machine
with `stateName`; `mock` only for Task, Map and Parallel states; `context` only with a mock;
a Task that waits for a worker, a token or a child execution only with a mock), building the
machine the state runs in, running the invocations it asks for through the configured backends
(as an execution's Task would call them), and the answer's texts: `output`, `error`, `cause`,
`nextState`, `status` and `inspectionData` as AWS's members. Must never: run a state's logic
(engine/interpreter/single_state.py and the interpreter do), or parse HTTP or arguments (the
interfaces translate).

A payload that passes through unchanged keeps the text it was given (AWS answers the Choice
example of "Testing a state using AWS CLI" with its input text `{"number": 2}` as it was sent,
and a mocked Map's result `[1, 1, 1]` as the mock's text); anything computed is compact JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from engine.backends.base import Backend
from engine.backends.registry import unconfigured_resource_failure
from engine.definition.compile import Machine, MapState, ParallelState, TaskState, compile_machine
from engine.definition.diagnostics import Diagnostic
from engine.definition.parse import DefinitionSyntaxError, parse_text
from engine.definition.timestamps import parse_timestamp
from engine.definition.validate import iter_diagnostics
from engine.errors import STATES_RUNTIME, DefinitionInvalid, InvalidRequest
from engine.interpreter.failures import Failure
from engine.interpreter.frames import ExecutionInfo
from engine.interpreter.single_state import Mock, Settings, SingleStateRun, TestOutcome
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.service.base import ServiceBase
from engine.service.checks import check_json_input
from engine.service.config import DEFAULT_ROLE
from engine.values import JSON, dumps, immutable

__all__ = [
    "FIELD_VALIDATION_MODES",
    "INSPECTION_LEVELS",
    "LONE_STATE_NAME",
    "TestStateOperations",
    "TestStateRequest",
    "TestStateResult",
    "run_test_state",
]

_log = logging.getLogger(__name__)

INSPECTION_LEVELS = ("INFO", "DEBUG", "TRACE")
FIELD_VALIDATION_MODES = ("STRICT", "PRESENT", "NONE")
LONE_STATE_NAME = "StateName"
"""The name a lone state's definition runs under: its `$$.State.Name` in AWS's answers
(LocalStack's AWS-recorded snapshot test_state_configuration::test_map_state_failure_count)."""

_MOCKABLE = ("Task", "Map", "Parallel")
_CONTEXT_EXECUTION = ("Id", "Input", "Name", "RoleArn", "StartTime", "RedriveCount")
_CONTEXT_MACHINE = ("Id", "Name")


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest("ValidationException", message)


@immutable
class TestStateRequest:
    """A TestState request, members as AWS names them (texts as sent)."""

    __test__ = False  # not a pytest test class, whatever its name

    definition: str
    state_name: str | None = None
    input: str | None = None
    inspection_level: str = "INFO"
    reveal_secrets: bool = False
    role_arn: str | None = None
    variables: str | None = None
    context: str | None = None
    mock_result: str | None = None
    mock_error: str | None = None
    mock_cause: str | None = None
    has_error_output: bool = False
    field_validation_mode: str | None = None
    retrier_retry_count: int | None = None
    error_caused_by_state: str | None = None
    map_iteration_failure_count: int | None = None
    map_item_reader_data: str | None = None


@dataclass(frozen=True, slots=True)
class TestStateResult:
    """TestState's answer: AWS's members, payloads as JSON text."""

    __test__ = False

    status: str
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection_data: dict[str, JSON] | None = field(default=None)

    def as_json(self) -> dict[str, JSON]:
        """The answer as AWS's TestState response members (absent members left out)."""
        shape: dict[str, JSON] = {}
        if self.output is not None:
            shape["output"] = self.output
        if self.error is not None:
            shape["error"] = self.error
        if self.cause is not None:
            shape["cause"] = self.cause
        if self.inspection_data is not None:
            shape["inspectionData"] = self.inspection_data
        if self.next_state is not None:
            shape["nextState"] = self.next_state
        shape["status"] = self.status
        return shape


async def run_test_state(
    request: TestStateRequest,
    resolve: Callable[[str], Backend | None],
    now: float,
    *,
    region: str = "us-east-1",
    account: str = "111111111111",
) -> TestStateResult:
    """Check and run one TestState request; its Tasks call the backends `resolve` finds."""
    _check_members(request)
    machine, state_name = _machine(request)
    state = machine.root.states[state_name]
    input_value = check_json_input(request.input)
    mock, mock_value = _mock(request, state.type)
    variables = _variables(request.variables)
    _check_waits(state, mock)
    _check_configuration(request, state)
    run = SingleStateRun(
        machine,
        state_name,
        _info(request, input_value, now, region, account),
        variables,
        mock,
        Settings(request.retrier_retry_count, request.map_iteration_failure_count),
    )
    run.start(now)
    while not run.done:
        if run.pending:
            for invoke in list(run.pending):
                result = await _invoke(resolve, invoke.request)
                run.answer(invoke, result, run.now)
        elif not run.fire_next_timer():
            break
    outcome = run.outcome()
    return _result(request, outcome, input_value, mock_value)


async def _invoke(resolve: Callable[[str], Backend | None], request: TaskRequest) -> TaskResult:
    backend = resolve(request.resource)
    if backend is None:
        return unconfigured_resource_failure(request.resource)
    try:
        result = await backend.invoke(request)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # backend edge: a backend bug fails the task, never the request
        _log.exception("the backend for %s raised", request.resource)
        return TaskFailure(STATES_RUNTIME, f"The backend for '{request.resource}' failed: {exc!r}")
    if not isinstance(result, TaskSuccess | TaskFailure):
        return TaskFailure(
            STATES_RUNTIME, f"The backend for '{request.resource}' failed: not a task result"
        )
    return result


# -- checking the request -------------------------------------------------------------------------


def _check_members(request: TestStateRequest) -> None:
    if request.inspection_level not in INSPECTION_LEVELS:
        raise _invalid(
            "1 validation error detected: Value at 'inspectionLevel' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(INSPECTION_LEVELS)}]"
        )
    if request.context is not None and not _has_mock(request):
        raise _invalid("The context field may only be specified if a mock is specified.")
    if request.map_item_reader_data is not None:
        raise _invalid(
            "stateConfiguration.mapItemReaderData is not supported by asl-engine: a Map's "
            "ItemReader reads from the configured S3 endpoint. Remove it (mock the Map's "
            "result instead)."
        )
    mode = request.field_validation_mode
    if mode is not None and mode != "NONE":
        if mode not in FIELD_VALIDATION_MODES:
            raise _invalid(
                "1 validation error detected: Value at 'mock.fieldValidationMode' failed to "
                "satisfy constraint: Member must satisfy enum value set: [STRICT, PRESENT, NONE]"
            )
        raise _invalid(
            f"mock.fieldValidationMode {mode} is not supported by asl-engine: it does not check "
            "mocked results against AWS's API models. Use NONE (or leave the field out)."
        )


def _has_mock(request: TestStateRequest) -> bool:
    return request.mock_result is not None or request.has_error_output


def _machine(request: TestStateRequest) -> tuple[Machine, str]:
    """The machine the state runs in, and the state's name in it."""
    try:
        parsed = parse_text(request.definition)
    except DefinitionSyntaxError as exc:
        raise DefinitionInvalid([Diagnostic("INVALID_JSON_DESCRIPTION", str(exc), "")]) from None
    if not isinstance(parsed, dict):
        raise DefinitionInvalid(
            [Diagnostic("SCHEMA_VALIDATION_FAILED", "The definition must be a JSON object", "")]
        )
    if request.state_name is not None:
        if "States" not in parsed:
            raise _invalid(
                "With stateName, the definition must be a whole state machine (StartAt and "
                "States); without it, give the state's own definition."
            )
        _raise_errors(iter_diagnostics(parsed))
        found = _graph_of(parsed, request.state_name)
        if found is None:
            raise _invalid(
                f"The state '{request.state_name}' is not in the state machine definition."
            )
        graph = dict(found)
        graph["StartAt"] = request.state_name
        if "QueryLanguage" in parsed:
            graph["QueryLanguage"] = parsed["QueryLanguage"]
        graph.pop("ProcessorConfig", None)
        return compile_machine(graph), request.state_name
    if "States" in parsed or "StartAt" in parsed:
        raise _invalid(
            "The definition is a whole state machine: give stateName, the state to test."
        )
    machine = _lone_state_machine(parsed)
    prefix = f"/States/{LONE_STATE_NAME}"
    _raise_errors(
        Diagnostic(d.code, d.message, d.location.removeprefix(prefix), d.severity)
        for d in iter_diagnostics(machine)
    )
    return compile_machine(machine), LONE_STATE_NAME


def _raise_errors(diagnostics: Iterable[Diagnostic]) -> None:
    errors = [d for d in diagnostics if d.severity == "ERROR"]
    if errors:
        raise DefinitionInvalid(errors)


def _graph_of(definition: Mapping[str, JSON], name: str) -> Mapping[str, JSON] | None:
    """The States graph (top level, a branch or a Map processor) holding the state `name`."""
    pending: list[Mapping[str, JSON]] = [definition]
    while pending:
        graph = pending.pop()
        states = graph.get("States")
        if not isinstance(states, dict):
            continue
        if name in states:
            return graph
        for state in states.values():
            if not isinstance(state, dict):
                continue
            for key in ("Iterator", "ItemProcessor"):
                inner = state.get(key)
                if isinstance(inner, dict):
                    pending.append(inner)
            branches = state.get("Branches")
            if isinstance(branches, list):
                pending.extend(b for b in branches if isinstance(b, dict))
    return None


def _lone_state_machine(state: dict[str, JSON]) -> dict[str, JSON]:
    """A machine around a lone state: the states it can move to are Succeed stand-ins, which
    the test never enters (it stops at the transition)."""
    targets: list[str] = []
    for key in ("Next", "Default"):
        if isinstance(state.get(key), str):
            targets.append(str(state[key]))
    for key in ("Choices", "Catch"):
        rules = state.get(key)
        if isinstance(rules, list):
            targets.extend(
                str(r["Next"])
                for r in rules
                if isinstance(r, dict) and isinstance(r.get("Next"), str)
            )
    states: dict[str, JSON] = {t: {"Type": "Succeed"} for t in targets if t != LONE_STATE_NAME}
    states[LONE_STATE_NAME] = state
    return {"StartAt": LONE_STATE_NAME, "States": states}


def _mock(request: TestStateRequest, state_type: str) -> tuple[Mock | None, JSON]:
    if not _has_mock(request):
        return None, None
    if state_type not in _MOCKABLE:
        raise _invalid(
            f"A mock can only be specified for Task, Map, or Parallel states, not a {state_type} "
            "state."
        )
    if request.mock_result is not None and request.has_error_output:
        raise _invalid("A mock has either a result or an errorOutput, not both.")
    if request.has_error_output:
        if request.mock_error is None:
            raise _invalid("mock.errorOutput.error is required when mock.errorOutput is given.")
        return Mock(failure=Failure(request.mock_error, request.mock_cause)), None
    value = check_json_input(request.mock_result, "ValidationException", "mock.result")
    return Mock(result=value), value


def _variables(text: str | None) -> dict[str, JSON]:
    if text is None:
        return {}
    value = check_json_input(text, "ValidationException", "variables")
    if not isinstance(value, dict):
        raise _invalid("variables must be a JSON object: variable names and their values.")
    return value


def _check_waits(state: object, mock: Mock | None) -> None:
    if mock is not None or not isinstance(state, TaskState):
        return
    if state.is_activity or state.waits_for_token or state.waits_for_child:
        raise _invalid(
            "This Task waits for an activity worker, a task token or a child execution: TestState "
            "runs it only with a mock (mock.result or mock.errorOutput)."
        )


def _check_configuration(request: TestStateRequest, state: object) -> None:
    children = isinstance(state, MapState | ParallelState)
    if request.map_iteration_failure_count is not None and not isinstance(state, MapState):
        raise _invalid("stateConfiguration.mapIterationFailureCount applies to Map states only.")
    caused_by = request.error_caused_by_state
    if caused_by is not None:
        if not children or not request.has_error_output:
            raise _invalid(
                "stateConfiguration.errorCausedByState applies to a Map or Parallel state with "
                "mock.errorOutput."
            )
        assert isinstance(state, MapState | ParallelState)
        graphs = state.branches if isinstance(state, ParallelState) else (state.processor,)
        if not any(caused_by in g.states for g in graphs):
            raise _invalid(
                f"stateConfiguration.errorCausedByState '{caused_by}' is not a state of the "
                f"{state.type} state's branches."
            )


def _info(
    request: TestStateRequest, input_value: JSON, now: float, region: str, account: str
) -> ExecutionInfo:
    """The execution the state runs in: a new Express-like one, or the one `context` names."""
    name = str(uuid.uuid4())
    machine_name = f"TestStateMachine-{name[:8]}"
    values: dict[str, object] = {
        "execution_arn": f"arn:aws:states:{region}:{account}:express:{machine_name}:{name}",
        "name": name,
        "state_machine_arn": f"arn:aws:states:{region}:{account}:stateMachine:{machine_name}",
        "state_machine_name": machine_name,
        "input": input_value,
        "start_time": now,
        "role_arn": request.role_arn or DEFAULT_ROLE,
        "execution_type": "EXPRESS",
    }
    if request.context is not None:
        values.update(_context_values(request.context))
    return ExecutionInfo(**values)  # type: ignore[arg-type]


def _context_values(text: str) -> dict[str, object]:
    value = check_json_input(text, "ValidationException", "context")
    if not isinstance(value, dict):
        raise _invalid("context must be a JSON object: a Context object.")
    values: dict[str, object] = {}
    for key, part in value.items():
        if key not in ("Execution", "StateMachine") or not isinstance(part, dict):
            raise _invalid(
                f"context.{key} is not supported by asl-engine: it honours context.Execution "
                f"({', '.join(_CONTEXT_EXECUTION)}) and context.StateMachine (Id, Name)."
            )
        allowed = _CONTEXT_EXECUTION if key == "Execution" else _CONTEXT_MACHINE
        for member, given in part.items():
            if member not in allowed:
                raise _invalid(
                    f"context.{key}.{member} is not supported by asl-engine: it honours "
                    f"{', '.join(allowed)}."
                )
            values.update(_context_member(key, member, given))
    return values


def _context_member(key: str, member: str, given: JSON) -> dict[str, object]:
    where = f"context.{key}.{member}"
    if key == "StateMachine":
        _require_text(where, given)
        return {"state_machine_arn" if member == "Id" else "state_machine_name": given}
    if member == "Input":
        return {"input": given}
    if member == "RedriveCount":
        if isinstance(given, bool) or not isinstance(given, int) or given < 0:
            raise _invalid(f"{where} must be a non-negative integer.")
        return {"redrive_count": given}
    _require_text(where, given)
    assert isinstance(given, str)
    if member == "StartTime":
        moment = parse_timestamp(given)
        if moment is None:
            raise _invalid(f"{where} must be an ISO-8601 timestamp, such as 2025-01-01T00:00:00Z.")
        return {"start_time": moment.timestamp()}
    return {{"Id": "execution_arn", "Name": "name", "RoleArn": "role_arn"}[member]: given}


def _require_text(where: str, given: JSON) -> None:
    if not isinstance(given, str):
        raise _invalid(f"{where} must be a string.")


# -- the answer -----------------------------------------------------------------------------------


def _result(
    request: TestStateRequest, outcome: TestOutcome, input_value: JSON, mock_value: JSON
) -> TestStateResult:
    def text(value: JSON) -> str:
        if value is input_value and request.input:
            return request.input
        if value is mock_value and request.mock_result is not None:
            return request.mock_result
        return dumps(value)

    inspection: dict[str, JSON] | None = None
    if request.inspection_level != "INFO":
        inspection = {}
        for name, value in outcome.inspection.items():
            if name == "errorDetails" or name in (
                "maxConcurrency",
                "toleratedFailureCount",
                "toleratedFailurePercentage",
            ):
                inspection[name] = value
            elif name == "afterItemsPath":
                inspection[name] = json.dumps(value, ensure_ascii=False)
            elif name == "input":
                inspection[name] = request.input if request.input else dumps(value)
            else:
                inspection[name] = text(value)
    return TestStateResult(
        status=outcome.status,
        output=text(outcome.output) if outcome.has_output else None,
        error=outcome.error,
        cause=outcome.cause,
        next_state=outcome.next_state,
        inspection_data=inspection,
    )


class TestStateOperations(ServiceBase):
    """TestState on the service: its Tasks call the service's backends."""

    __test__ = False

    async def test_state(self, request: TestStateRequest) -> TestStateResult:
        """TestState (AWS API reference): run one state of `request.definition` on its own."""
        return await run_test_state(
            request,
            self.resolve,
            self.clock.now(),
            region=self.config.region,
            account=self.config.account,
        )
