"""Mocked Tasks in the embedded Engine: Step Functions Local's semantics, exact values.

The LambdaSQSIntegration machine and its MockConfigFile.json are AWS's documentation example
(sfn-local-test-sm-exec); LocalTesting is AWS's sample project (fixtures/mocks/README.md).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

from engine.backends.base import Backend
from engine.backends.mocks import MockConfig, load_mock_config, parse_mock_config
from engine.embedded import Engine, ExecutionResult
from engine.errors import InvalidRequest
from engine.interpreter.tasks import TaskRequest, TaskResult, TaskSuccess
from engine.runtime.clock import VirtualClock
from engine.values import JSON

T = TypeVar("T")
T0 = 1_700_000_000.0
FIXTURES = Path(__file__).parent / "fixtures" / "mocks"
DOC_CONFIG = FIXTURES / "MockConfigFile.json"
SQS = "arn:aws:states:::sqs:sendMessage"
HELLO: JSON = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
SQS_SENT: JSON = {
    "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
    "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
}


def run(
    main: Callable[[Engine], Awaitable[T]],
    mock_config: MockConfig | None,
    *,
    functions: Mapping[str, Callable[..., object]] | None = None,
    backends: Mapping[str, Backend] | None = None,
) -> T:
    engine = Engine(
        clock=VirtualClock(T0),
        seed=1,
        mock_config=mock_config,
        functions=functions,
        backends=backends,
    )

    async def wrapped() -> T:
        try:
            return await main(engine)
        finally:
            await engine.aclose()

    return asyncio.run(wrapped())


def execute(
    definition: JSON | str,
    mocks: JSON | MockConfig | None,
    test_case: str | None,
    execution_input: JSON = None,
    *,
    name: str = "M",
    **engine: object,
) -> ExecutionResult:
    config = mocks if isinstance(mocks, MockConfig) or mocks is None else parse_mock_config(mocks)
    text = definition if isinstance(definition, str) else json.dumps(definition)

    async def main(e: Engine) -> ExecutionResult:
        machine = e.load(text, name=name)
        return await e.run(machine, execution_input, test_case=test_case)

    return run(main, config, **engine)  # type: ignore[arg-type]


def types(result: ExecutionResult) -> list[str]:
    return [event.type for event in result.events]


def details(result: ExecutionResult, event_type: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for event in result.events:
        if event.type == event_type:
            rendered = event.as_json()
            out.append(next(v for k, v in rendered.items() if k.endswith("EventDetails")))
    return out


def doc_example(test_case: str, **engine: object) -> ExecutionResult:
    return execute(
        (FIXTURES / "LambdaSQSIntegration.asl.json").read_text(),
        load_mock_config(str(DOC_CONFIG)),
        test_case,
        name="LambdaSQSIntegration",
        **engine,
    )


TASK = ["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited"]


def test_happy_path_returns_the_mocked_responses() -> None:
    result = doc_example("HappyPath")
    assert (result.status, result.output) == ("SUCCEEDED", SQS_SENT)
    assert types(result) == ["ExecutionStarted", *TASK, *TASK, "ExecutionSucceeded"]
    # The Lambda state's mocked result is SQSState's input (the doc's history shows the same).
    entered = details(result, "TaskStateEntered")
    assert entered[1] == {
        "name": "SQSState",
        "input": json.dumps(HELLO, separators=(",", ":")),
        "inputDetails": {"truncated": False},
    }


def test_retry_path_counts_invocations_across_retries() -> None:
    # "0" throws, "1-2" throw, "3" returns: MaxAttempts 3 succeeds on the 4th invocation.
    result = doc_example("RetryPath")
    assert (result.status, result.output) == ("SUCCEEDED", SQS_SENT)
    attempt = ["TaskScheduled", "TaskStarted"]
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        *attempt,
        "TaskFailed",
        *attempt,
        "TaskFailed",
        *attempt,
        "TaskFailed",
        *attempt,
        "TaskSucceeded",
        "TaskStateExited",
        *TASK,
        "ExecutionSucceeded",
    ]
    failed = details(result, "TaskFailed")
    assert [(d["error"], d["cause"]) for d in failed] == [
        ("Lambda.ResourceNotReadyException", "Lambda resource is not ready."),
        ("Lambda.TimeoutException", "Lambda timed out."),
        ("Lambda.TimeoutException", "Lambda timed out."),
    ]
    # Virtual time: the back-off 2 s, 4 s, 8 s passed without waiting.
    assert result.stop_date == T0 + 14


class FakeSqs:
    def __init__(self) -> None:
        self.requests: list[TaskRequest] = []

    async def invoke(self, request: TaskRequest) -> TaskResult:
        self.requests.append(request)
        return TaskSuccess({"MessageId": "real"})


def test_hybrid_path_sends_unmocked_states_to_the_configured_backend() -> None:
    sqs = FakeSqs()
    result = doc_example("HybridPath", backends={SQS: sqs})
    assert (result.status, result.output) == ("SUCCEEDED", {"MessageId": "real"})
    assert [(r.state_name, r.payload, r.test_case) for r in sqs.requests] == [
        (
            "SQSState",
            {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/myQueue",
                "MessageBody": HELLO,
            },
            "HybridPath",
        )
    ]


def test_hybrid_path_without_a_backend_fails_as_an_unconfigured_resource() -> None:
    result = doc_example("HybridPath")
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.Runtime",
        f"No backend serves resource '{SQS}'. Map it to a function in asl.toml ([resources] "
        f'"{SQS}" = "NAME", with [functions.NAME] defining it), or mock this state with a mock '
        "config (--mock-config FILE or SFN_MOCK_CONFIG). Or call an AWS endpoint "
        "(LocalStack, moto's server): set [aws] "
        "endpoint_url in asl.toml or AWS_ENDPOINT_URL (docs/integrations.md).",
    )


def test_without_a_test_case_nothing_is_mocked() -> None:
    hello = {"StatusCode": 200, "body": "from the real function"}
    result = doc_example(
        None,
        functions={"HelloWorldFunction": lambda event, context: hello},
        backends={SQS: FakeSqs()},
    )
    assert (result.status, result.output) == ("SUCCEEDED", {"MessageId": "real"})
    lambda_output = json.loads(details(result, "TaskSucceeded")[0]["output"])
    assert lambda_output["Payload"] == hello


def one_task(resource: str, **fields: JSON) -> JSON:
    return {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": resource, "End": True, **fields}},
    }


def mocks_for(state: str, responses: JSON, machine: str = "M") -> JSON:
    return {
        "StateMachines": {machine: {"TestCases": {"T": {state: "R"}}}},
        "MockedResponses": {"R": responses},
    }


def test_a_python_function_serves_a_state_the_test_case_does_not_mock() -> None:
    definition = {
        "StartAt": "Mocked",
        "States": {
            "Mocked": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:a",
                "Next": "Real",
            },
            "Real": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:double",
                "End": True,
            },
        },
    }
    result = execute(
        definition,
        mocks_for("Mocked", {"0": {"Return": {"n": 21}}}),
        "T",
        functions={"double": lambda event, context: {"n": event["n"] * 2}},
    )
    assert (result.status, result.output) == ("SUCCEEDED", {"n": 42})
    # A Lambda function ARN keeps AWS's LambdaFunction* events when mocked.
    assert types(result)[1:5] == [
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
    ]


def test_the_result_goes_through_result_selector_and_result_path() -> None:
    definition = one_task(
        "arn:aws:states:::aws-sdk:dynamodb:getItem",
        ResultSelector={"name.$": "$.Item.name.S"},
        ResultPath="$.found",
    )
    result = execute(
        definition,
        mocks_for("Work", {"0": {"Return": {"Item": {"name": {"S": "x"}}}}}),
        "T",
        {"id": 1},
    )
    assert result.output == {"id": 1, "found": {"name": "x"}}


def test_a_thrown_error_is_caught_like_any_task_failure() -> None:
    definition = one_task(
        "arn:aws:states:::ecs:runTask.sync", Catch=[{"ErrorEquals": ["ECS.Boom"], "Next": "Caught"}]
    )
    definition["States"]["Work"].pop("End")
    definition["States"]["Work"]["Next"] = "Caught"
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    result = execute(
        definition,
        mocks_for("Work", {"0": {"Throw": {"Error": "ECS.Boom", "Cause": "no capacity"}}}),
        "T",
    )
    assert (result.status, result.output) == (
        "SUCCEEDED",
        {"Error": "ECS.Boom", "Cause": "no capacity"},
    )


def test_invocations_past_the_last_key_fail_the_execution() -> None:
    definition = one_task(
        "arn:aws:states:::lambda:invoke",
        Parameters={"FunctionName": "f"},
        Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}],
    )
    result = execute(
        definition, mocks_for("Work", {"0-1": {"Throw": {"Error": "E", "Cause": "c"}}}), "T"
    )
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.Runtime",
        "No mocked response for invocation 2 of state 'Work': mocked response 'R' (test case "
        "'T' of state machine 'M' in mock config) covers invocations 0-1. Add a response for "
        "'2' to mock every invocation.",
    )
    assert types(result).count("TaskFailed") == 3


def test_a_wait_for_task_token_task_completes_with_its_mock_without_a_callback() -> None:
    definition = one_task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        Parameters={"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
        HeartbeatSeconds=60,
    )
    result = execute(definition, mocks_for("Work", {"0": {"Return": {"approved": True}}}), "T")
    assert (result.status, result.output) == ("SUCCEEDED", {"approved": True})
    assert types(result) == ["ExecutionStarted", *TASK, "ExecutionSucceeded"]
    assert result.stop_date == T0  # no heartbeat or callback was waited for


MAP = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "StartAt": "Charge",
                "States": {
                    "Charge": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "charge"},
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}
COUNTING: JSON = {str(n): {"Return": {"n": n}} for n in range(5)}


def test_map_iterations_share_one_counter_in_invocation_order() -> None:
    result = execute(MAP, mocks_for("Charge", COUNTING), "T", ["a", "b", "c", "d", "e"])
    assert result.output == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]


def test_concurrent_map_iterations_use_each_response_once() -> None:
    concurrent = json.loads(json.dumps(MAP))
    concurrent["States"]["Each"]["MaxConcurrency"] = 0
    result = execute(concurrent, mocks_for("Charge", COUNTING), "T", ["a", "b", "c", "d", "e"])
    assert result.status == "SUCCEEDED"
    assert sorted(item["n"] for item in result.output) == [0, 1, 2, 3, 4]


def test_a_choice_loop_counts_every_entry_of_the_state() -> None:
    definition = {
        "StartAt": "Poll",
        "States": {
            "Poll": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:glue:getJobRun",
                "Parameters": {"JobName": "j"},
                "Next": "Done?",
            },
            "Done?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.State", "StringEquals": "SUCCEEDED", "Next": "Ok"}],
                "Default": "Poll",
            },
            "Ok": {"Type": "Succeed"},
        },
    }
    polls = {"0-2": {"Return": {"State": "RUNNING"}}, "3": {"Return": {"State": "SUCCEEDED"}}}
    result = execute(definition, mocks_for("Poll", polls), "T")
    assert (result.status, result.output) == ("SUCCEEDED", {"State": "SUCCEEDED"})
    assert [d["name"] for d in details(result, "TaskStateEntered")] == ["Poll"] * 4


def test_parallel_branches_mock_inner_states_by_their_names() -> None:
    result = execute(
        (FIXTURES / "LocalTesting.asl.json").read_text(),
        load_mock_config(str(FIXTURES / "LocalTesting.mock.json")),
        "CustomValidationFailedCatchTest",
        json.loads((FIXTURES / "LocalTesting.input.json").read_text()),
        name="LocalTesting",
    )
    assert (result.status, result.output) == (
        "SUCCEEDED",
        {"Payload": {"Entries": [{"EventId": "abc123"}], "FailedEntryCount": 0}},
    )
    # "0-3" throws CustomValidationError: the first try and 3 retries, then the Catch.
    failed = details(result, "TaskFailed")
    assert [d["error"] for d in failed] == ["CustomValidationError"] * 4
    caught = [
        d for d in details(result, "TaskStateEntered") if d["name"] == "CustomValidationFailed"
    ]
    assert json.loads(caught[0]["input"]) == {
        "Error": "CustomValidationError",
        "Cause": "Check Identity Validation Failed",
    }


LOCAL_TESTING_OUTPUTS: dict[str, tuple[str, JSON]] = {
    "HappyPathTest": (
        "CustomerAddedToFollowup",
        {"StatusCode": 200, "Payload": {"statusCode": 200}},
    ),
    "NegativeSentimentTest": (
        "NegativeSentimentDetected",
        {"Payload": {"Entries": [{"EventId": "abc123"}], "FailedEntryCount": 0}},
    ),
    "CustomValidationFailedCatchTest": (
        "CustomValidationFailed",
        {"Payload": {"Entries": [{"EventId": "abc123"}], "FailedEntryCount": 0}},
    ),
    "ValidationExceptionCatchTest": (
        "ValidationException",
        {"Payload": {"Entries": [{"EventId": "abc123"}], "FailedEntryCount": 0}},
    ),
    "RetryOnServiceExceptionTest": (
        "CustomerAddedToFollowup",
        {"StatusCode": 200, "Payload": {"statusCode": 200}},
    ),
}


@pytest.mark.parametrize("test_case", list(LOCAL_TESTING_OUTPUTS))
def test_the_aws_sample_project_runs_every_test_case(test_case: str) -> None:
    result = execute(
        (FIXTURES / "LocalTesting.asl.json").read_text(),
        load_mock_config(str(FIXTURES / "LocalTesting.mock.json")),
        test_case,
        json.loads((FIXTURES / "LocalTesting.input.json").read_text()),
        name="LocalTesting",
    )
    last_state, output = LOCAL_TESTING_OUTPUTS[test_case]
    assert (result.status, result.output) == ("SUCCEEDED", output)
    assert details(result, "TaskStateExited")[-1]["name"] == last_state


def test_an_unmocked_placeholder_task_fails_naming_the_placeholder() -> None:
    result = execute(
        (FIXTURES / "LocalTesting.asl.json").read_text(),
        None,
        None,
        json.loads((FIXTURES / "LocalTesting.input.json").read_text()),
        name="LocalTesting",
    )
    # The Parallel's States.ALL catcher does not see States.Runtime: the execution fails.
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause is not None
    assert "'${CheckIdentityFunctionArn}' (SAM/CloudFormation DefinitionSubstitutions)" in (
        result.cause
    ) or "'${CheckAddressFunctionArn}' (SAM/CloudFormation DefinitionSubstitutions)" in (
        result.cause
    )


def test_a_placeholder_resource_runs_when_mocked_and_fails_clearly_when_not() -> None:
    definition = one_task("${CheckFunctionArn}")
    mocked = execute(definition, mocks_for("Work", {"0": {"Return": {"ok": 1}}}), "T")
    assert (mocked.status, mocked.output) == ("SUCCEEDED", {"ok": 1})
    plain = execute(definition, None, None)
    assert (plain.status, plain.error, plain.cause) == (
        "FAILED",
        "States.Runtime",
        "The Resource of state 'Work' is the unsubstituted template placeholder "
        "'${CheckFunctionArn}' (SAM/CloudFormation DefinitionSubstitutions). Substitute it "
        "with a real ARN or name, or mock the state: pass --mock-config FILE and start the "
        "execution with a test case that mocks it.",
    )


def test_an_unknown_test_case_is_refused_naming_the_ones_that_exist() -> None:
    with pytest.raises(InvalidRequest) as caught:
        doc_example("SadPath")
    assert (caught.value.code, caught.value.message) == (
        "InvalidArn",
        "Invalid Arn: 'arn:aws:states:us-east-1:111111111111:stateMachine:"
        "LambdaSQSIntegration#SadPath': test case 'SadPath' is not defined for state machine "
        f"'LambdaSQSIntegration' in {DOC_CONFIG} (its test cases: 'HappyPath', 'RetryPath', "
        "'HybridPath')",
    )


def test_a_test_case_without_a_mock_config_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        execute(one_task("arn:aws:states:::sqs:sendMessage"), None, "T")
    assert caught.value.message == (
        "Invalid Arn: 'arn:aws:states:us-east-1:111111111111:stateMachine:M#T': the test case "
        "'T' needs a mock config; start the engine with --mock-config FILE (or "
        "SFN_MOCK_CONFIG=FILE)"
    )


def test_counters_are_per_execution_and_dropped_when_it_closes() -> None:
    config = parse_mock_config(mocks_for("Work", {"0": {"Return": 1}}))

    async def main(engine: Engine) -> list[JSON]:
        machine = engine.load(json.dumps(one_task("arn:aws:states:::sqs:sendMessage")), name="M")
        first = await engine.run(machine, test_case="T")
        second = await engine.run(machine, test_case="T")
        assert engine.mocks.invocations(first.execution_arn) == {}
        assert engine.mocks._counts == {}
        return [first.output, second.output]

    # Each execution gets response "0": its counter starts at 0 and is gone once it closes.
    assert run(main, config) == [1, 1]
