"""The embedding API: Engine.load / run / start / result, ARNs, ExecutionResult.as_json."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import TypeVar

import pytest

from engine.embedded import Engine, ExecutionResult, LoadedMachine, load_machine
from engine.errors import DefinitionInvalid, InvalidRequest, ResourceConflict
from engine.interpreter.tasks import TaskRequest, TaskResult, TaskSuccess
from engine.runtime.clock import VirtualClock
from engine.values import JSON, PAYLOAD_LIMIT_BYTES
from tests.interpreter.helpers import as_definition

T = TypeVar("T")
T0 = 1_700_000_000.0
ACCOUNT = "us-east-1:111111111111"
LAMBDA = f"arn:aws:lambda:{ACCOUNT}:function:"
PASS = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": true}, "End": true}}}'
YEAR_WAIT = {
    "StartAt": "Year",
    "States": {"Year": {"Type": "Wait", "Seconds": 365 * 86_400, "End": True}},
}


def run(main: Callable[[Engine], Awaitable[T]], engine: Engine | None = None) -> T:
    engine = engine or Engine(clock=VirtualClock(T0), seed=1)

    async def wrapped() -> T:
        try:
            return await main(engine)
        finally:
            await engine.aclose()

    return asyncio.run(wrapped())


def test_load_validates_and_reports_every_diagnostic() -> None:
    engine = Engine()
    bad = {
        "StartAt": "Missing",
        "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Bogus", "End": True}},
    }
    with pytest.raises(DefinitionInvalid) as caught:
        engine.load(as_definition(bad))
    error = caught.value
    assert error.code == "InvalidDefinition"
    locations = {d.location for d in error.diagnostics}
    assert {"/StartAt", "/States/A/Next", "/States/B/Type"} <= locations
    assert all(d.severity == "ERROR" for d in error.diagnostics)
    assert str(error).startswith("Invalid State Machine Definition: ")
    assert str(error).endswith(f"(and {len(error.diagnostics) - 1} more)")


def test_load_rejects_unparseable_text() -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        load_machine('{"StartAt": ')
    assert [(d.code, d.location) for d in caught.value.diagnostics] == [
        ("INVALID_JSON_DESCRIPTION", "")
    ]


def test_load_names_the_machine_and_accepts_text_dicts_and_machines() -> None:
    engine = Engine(region="eu-west-1", account="222222222222")
    loaded = engine.load(PASS, name="order")
    assert loaded.name == "order"
    assert loaded.arn == "arn:aws:states:eu-west-1:222222222222:stateMachine:order"
    assert loaded.machine_type == "STANDARD"
    again = engine.load(loaded.machine, name="copy")
    assert again.machine is loaded.machine  # compiled once, reused
    assert isinstance(engine.load(as_definition(YEAR_WAIT)), LoadedMachine)


def test_run_returns_the_result_with_history() -> None:
    async def main(engine: Engine) -> ExecutionResult:
        return await engine.run(engine.load(PASS, name="order"), {"in": 1}, name="first")

    result = run(main)
    assert result.execution_arn == f"arn:aws:states:{ACCOUNT}:execution:order:first"
    assert (result.name, result.status, result.output) == ("first", "SUCCEEDED", {"ok": True})
    assert (result.error, result.cause) == (None, None)
    assert result.start_date == result.stop_date == T0
    assert [e.type for e in result.events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_a_null_input_stays_null_and_no_input_is_an_empty_object() -> None:
    # AWS recording: LocalStack test_lambda_task.py::test_invoke_json_values[None] (04-08-2023):
    # StartExecution input "null" reaches the first state, the function and the output as
    # null; an input left out is {} (StartExecution's default).
    identity = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'

    async def main(engine: Engine) -> tuple[JSON, JSON]:
        machine = engine.load(identity, name="identity")
        given_null = await engine.run(machine, None)
        left_out = await engine.run(machine)
        return given_null.output, left_out.output

    assert run(main) == (None, {})


def test_as_json_has_exactly_the_describe_execution_keys() -> None:
    async def main(engine: Engine) -> ExecutionResult:
        return await engine.run(engine.load(PASS, name="order"), name="r")

    result = run(main)
    assert result.as_json() == {
        "executionArn": f"arn:aws:states:{ACCOUNT}:execution:order:r",
        "name": "r",
        "status": "SUCCEEDED",
        "output": {"ok": True},
        "error": None,
        "cause": None,
        "startDate": "2023-11-14T22:13:20.000Z",
        "stopDate": "2023-11-14T22:13:20.000Z",
    }
    with_history = result.as_json(history=True)
    assert list(with_history) == [
        "executionArn",
        "name",
        "status",
        "output",
        "error",
        "cause",
        "startDate",
        "stopDate",
        "events",
    ]
    events = with_history["events"]
    assert isinstance(events, list)
    assert [e["type"] for e in events] == [  # type: ignore[index,call-overload]
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert events[0] == {  # the history as GetExecutionHistory renders it
        "id": 1,
        "previousEventId": 0,
        "timestamp": "2023-11-14T22:13:20.000Z",
        "type": "ExecutionStarted",
        "executionStartedEventDetails": {
            "input": "{}",
            "inputDetails": {"truncated": False},
            "roleArn": "arn:aws:iam::111111111111:role/asl-engine",
        },
    }


def test_a_failed_run_has_error_and_cause_and_no_output() -> None:
    definition = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}

    async def main(engine: Engine) -> ExecutionResult:
        return await engine.run(engine.load(as_definition(definition)), {"x": 1})

    result = run(main)
    assert (result.status, result.output, result.error, result.cause) == ("FAILED", None, "E", "c")
    assert result.as_json()["output"] is None


def test_a_one_year_wait_finishes_at_once_on_virtual_time() -> None:
    async def main(engine: Engine) -> ExecutionResult:
        return await engine.run(engine.load(as_definition(YEAR_WAIT)), {"a": 1})

    result = run(main)
    assert result.status == "SUCCEEDED"
    assert result.stop_date is not None
    assert timedelta(seconds=result.stop_date - result.start_date) == timedelta(days=365)
    assert result.as_json()["stopDate"] == "2024-11-13T22:13:20.000Z"


def test_functions_serve_lambda_resources_and_backends_serve_exact_arns() -> None:
    class Constant:
        async def invoke(self, request: TaskRequest) -> TaskResult:
            return TaskSuccess({"from": "backend", "state": request.state_name})

    def double(event: dict[str, int], context: object) -> dict[str, int]:
        return {"n": event["n"] * 2}

    custom = "arn:aws:states:::sqs:sendMessage"
    definition = {
        "StartAt": "Fn",
        "States": {
            "Fn": {"Type": "Task", "Resource": LAMBDA + "double", "Next": "Invoke"},
            "Invoke": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "double", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Next": "Custom",
            },
            "Custom": {"Type": "Task", "Resource": custom, "ResultPath": "$.custom", "End": True},
        },
    }
    engine = Engine(
        functions={"double": double}, backends={custom: Constant()}, clock=VirtualClock(T0)
    )
    assert engine.resolve(custom) is not None
    assert engine.resolve(LAMBDA + "anything") is engine.resolve("arn:aws:states:::lambda:invoke")
    assert engine.resolve("arn:aws:states:::sns:publish") is None

    async def main(engine: Engine) -> ExecutionResult:
        return await engine.run(engine.load(as_definition(definition)), {"n": 3})

    result = run(main, engine)
    assert result.output == {"n": 12, "custom": {"from": "backend", "state": "Custom"}}


def test_a_blocking_handler_does_not_block_other_executions() -> None:
    release = threading.Event()

    def block(event: object, context: object) -> str:
        release.wait(10)
        return "unblocked"

    def quick(event: object, context: object) -> str:
        return "quick"

    def task(name: str) -> dict[str, JSON]:
        return {
            "StartAt": "T",
            "States": {"T": {"Type": "Task", "Resource": LAMBDA + name, "End": True}},
        }

    engine = Engine(functions={"block": block, "quick": quick}, clock=VirtualClock(T0))

    async def main(engine: Engine) -> tuple[ExecutionResult, bool, ExecutionResult]:
        blocked = engine.start(engine.load(task("block"), name="b"))
        quick_result = await engine.run(engine.load(task("quick"), name="q"))
        still_running = not engine.runtime.executions[blocked].done.done()
        release.set()
        return quick_result, still_running, await engine.result(blocked)

    try:
        quick_result, still_running, blocked_result = run(main, engine)
    finally:
        release.set()
    assert quick_result.output == "quick"
    assert still_running
    assert blocked_result.output == "unblocked"


def test_run_many_and_seeded_uuids() -> None:
    definition = {
        "StartAt": "U",
        "States": {
            "U": {
                "Type": "Pass",
                "Parameters": {"id.$": "States.UUID()", "n.$": "$.n"},
                "End": True,
            }
        },
    }

    async def main(engine: Engine) -> list[ExecutionResult]:
        return await engine.run_many(
            engine.load(as_definition(definition)), [{"n": 1}, {"n": 2}, {"n": 1}]
        )

    first = run(main, Engine(clock=VirtualClock(T0), seed=5))
    second = run(main, Engine(clock=VirtualClock(T0), seed=5))
    assert [r.output["n"] for r in first] == [1, 2, 1]  # type: ignore[index,call-overload]
    assert [r.output for r in first] == [r.output for r in second]
    assert len({r.execution_arn for r in first}) == 3


def test_express_executions_have_express_arns() -> None:
    async def main(engine: Engine) -> ExecutionResult:
        return await engine.run(engine.load(PASS, name="fast", machine_type="EXPRESS"), name="e1")

    result = run(main)
    prefix = f"arn:aws:states:{ACCOUNT}:express:fast:e1:"
    assert result.execution_arn.startswith(prefix)
    assert len(result.execution_arn) == len(prefix) + 36


@pytest.mark.parametrize(
    ("name", "execution_input", "code"),
    [
        ("x" * 81, {}, "InvalidName"),
        ("a b", {}, "InvalidName"),
        ("a/b", {}, "InvalidName"),
        ("ok", {"big": "x" * PAYLOAD_LIMIT_BYTES}, "InvalidExecutionInput"),
    ],
    ids=["name-over-80", "name-with-space", "name-with-slash", "input-over-256-kib"],
)
def test_start_rejects_bad_requests(name: str, execution_input: JSON, code: str) -> None:
    async def main(engine: Engine) -> str:
        machine = engine.load(PASS)
        engine.start(machine, name="x" * 80)  # 80 characters is the limit
        with pytest.raises(InvalidRequest) as caught:
            engine.start(machine, execution_input, name=name)
        return caught.value.code

    assert run(main) == code


def test_a_duplicate_execution_name_is_a_resource_conflict() -> None:
    async def main(engine: Engine) -> None:
        machine = engine.load(PASS, name="m")
        await engine.run(machine, name="same")
        with pytest.raises(ResourceConflict):
            engine.start(machine, name="same")

    run(main)


def test_start_with_the_name_and_input_of_a_running_execution_returns_it() -> None:
    """AWS's StartExecution rule (Standard), as Service applies it: the same name and input
    while RUNNING give that execution; another input, or once closed, ExecutionAlreadyExists.
    Engine.start raised for the running one (issue 12)."""

    async def main(engine: Engine) -> tuple[str, str, str, str]:
        machine = engine.load(as_definition(YEAR_WAIT), name="m")
        first = engine.start(machine, {"n": 1}, name="same")
        again = engine.start(machine, {"n": 1}, name="same")
        with pytest.raises(ResourceConflict) as other_input:
            engine.start(machine, {"n": 2}, name="same")
        result = await engine.result(first)
        with pytest.raises(ResourceConflict) as closed:
            engine.start(machine, {"n": 1}, name="same")
        assert result.status == "SUCCEEDED"
        return first, again, other_input.value.code, closed.value.code

    first, again, other_input, closed = run(main)
    assert first == again == f"arn:aws:states:{ACCOUNT}:execution:m:same"
    assert (other_input, closed) == ("ExecutionAlreadyExists", "ExecutionAlreadyExists")


def test_for_testing_uses_a_virtual_clock() -> None:
    engine = Engine.for_testing(seed=3)
    assert isinstance(engine.clock, VirtualClock)
    assert engine.seed == 3


def _one_task(name: str, **fields: JSON) -> dict[str, JSON]:
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": LAMBDA + name, "End": True, **fields}},
    }


def test_a_blocking_handler_past_the_states_timeout_is_timed_out_and_let_go() -> None:
    """A `def` handler's call goes to the pool without an asyncio Task (start_invoke): the
    state's TimeoutSeconds still fails it with States.Timeout, its call is cancelled (the
    function's concurrency slot is free again) and the handler's late return is ignored."""
    release = threading.Event()

    def hang(event: object, context: object) -> str:
        release.wait(10)
        return "late"

    engine = Engine(functions={"hang": hang}, clock=VirtualClock(T0))

    async def main(engine: Engine) -> ExecutionResult:
        return await engine.run(engine.load(_one_task("hang", TimeoutSeconds=1), name="t"))

    try:
        result = run(main, engine)
        stats = engine.lambda_backend.stats("hang")
    finally:
        release.set()
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert [e.type for e in result.events][-3:] == [
        "LambdaFunctionStarted",
        "LambdaFunctionTimedOut",
        "ExecutionFailed",
    ]
    assert (stats.invocations, stats.running, stats.timeouts) == (1, 0, 0)


def test_stopping_an_execution_cancels_its_blocking_handlers_call() -> None:
    release = threading.Event()
    entered = threading.Event()

    def hang(event: object, context: object) -> str:
        entered.set()
        release.wait(10)
        return "late"

    engine = Engine(functions={"hang": hang}, clock=VirtualClock(T0))

    async def main(engine: Engine) -> tuple[ExecutionResult, int]:
        arn = engine.start(engine.load(_one_task("hang"), name="s"))
        assert await asyncio.to_thread(entered.wait, 10)
        engine.runtime.stop(arn, "Stopped", "by the test")
        result = await engine.result(arn)
        await asyncio.sleep(0)  # the cancelled call's callback runs on the loop
        return result, engine.lambda_backend.stats("hang").running

    try:
        result, running = run(main, engine)
    finally:
        release.set()
    assert (result.status, result.error, result.cause) == ("ABORTED", "Stopped", "by the test")
    assert running == 0
    assert "LambdaFunctionSucceeded" not in [e.type for e in result.events]


# ------------------------------------------------- backends built on the first Task (cold start)

SNS_PUBLISH = {
    "StartAt": "Publish",
    "States": {
        "Publish": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:111111111111:t", "Message": "m"},
            "End": True,
        }
    },
}
SNS_UNSERVED = (
    "FAILED",
    "States.Runtime",
    "No backend serves resource 'arn:aws:states:::sns:publish'. Map it to a function in "
    'asl.toml ([resources] "arn:aws:states:::sns:publish" = "NAME", with [functions.NAME] '
    "defining it), or mock this state with a mock config (--mock-config FILE or "
    "SFN_MOCK_CONFIG). Or call an AWS endpoint (LocalStack, moto's server): set [aws] "
    "endpoint_url in asl.toml or AWS_ENDPOINT_URL (docs/integrations.md).",
)


def one_task(resource: str) -> Mapping[str, JSON]:
    return as_definition(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
    )


def test_backends_built_on_the_first_task_use_the_environment_of_the_engines_creation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a config the Engine builds its backends on the first Task (start-up time), from
    what it was given and the environment as it was when it was created: a variable set later
    changes nothing, as when the backends were built in the constructor."""
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(key)
    handlers: dict[str, Callable[..., object]] = {"echo": lambda event, context: event}
    engine = Engine(clock=VirtualClock(T0), seed=1, functions=handlers)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    handlers["late"] = lambda event, context: "late"

    async def main(engine: Engine) -> tuple[object, ...]:
        sns = await engine.run(engine.load(as_definition(SNS_PUBLISH), name="sns"), {})
        echo = engine.load(one_task(f"{LAMBDA}echo"), name="echo")
        late = engine.load(one_task(f"{LAMBDA}late"), name="late")
        return (
            (sns.status, sns.error, sns.cause),
            (await engine.run(echo, {"a": 1})).output,
            (await engine.run(late, {})).error,
        )

    assert run(main, engine) == (SNS_UNSERVED, {"a": 1}, "Lambda.ResourceNotFoundException")
