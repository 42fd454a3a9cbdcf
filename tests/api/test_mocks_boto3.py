"""Step Functions Local mock configs through boto3: StartExecution on `<machine ARN>#<test case>`.

AWS's documentation example (LambdaSQSIntegration, sfn-local-test-sm-exec) and AWS's sample
project (LocalTesting, with `${...}` placeholders) run exactly as the pages run them against
Step Functions Local, here against a live server on a virtual clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.backends.mocks import parse_mock_config
from engine.runtime.clock import VirtualClock
from tests.api.live import LiveServer
from tests.api.test_awsjson_boto3 import client_for, error_of

FIXTURES = Path(__file__).parents[1] / "backends" / "fixtures" / "mocks"
ARN = "arn:aws:states:us-east-1:111111111111"
ROLE = "arn:aws:iam::123456789012:role/service-role/LambdaSQSIntegration"
SQS_SENT = {
    "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
    "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
}
TASK = ["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited"]
ATTEMPT_FAILED = ["TaskScheduled", "TaskStarted", "TaskFailed"]


def both_configs() -> Any:
    doc = json.loads((FIXTURES / "MockConfigFile.json").read_text())
    sample = json.loads((FIXTURES / "LocalTesting.mock.json").read_text())
    merged = {
        "StateMachines": {
            **doc["StateMachines"],
            **sample["StateMachines"],
            "LambdaSQSExpress": doc["StateMachines"]["LambdaSQSIntegration"],
        },
        "MockedResponses": {**doc["MockedResponses"], **sample["MockedResponses"]},
    }
    return parse_mock_config(merged, origin="MockConfigFile.json")


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(mock_config=both_configs(), clock=VirtualClock()) as live:
        yield live


@pytest.fixture(scope="module")
def sfn(server: LiveServer) -> Iterator[Any]:
    client = client_for(server.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def lambda_sqs(sfn: Any) -> str:
    arn: str = sfn.create_state_machine(
        name="LambdaSQSIntegration",
        definition=(FIXTURES / "LambdaSQSIntegration.asl.json").read_text(),
        roleArn=ROLE,
    )["stateMachineArn"]
    return arn


def history_types(sfn: Any, execution_arn: str) -> list[str]:
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [event["type"] for event in events]


@pytest.mark.parametrize(
    ("test_case", "status", "lambda_attempts"),
    [
        ("HappyPath", "SUCCEEDED", []),
        ("RetryPath", "SUCCEEDED", ATTEMPT_FAILED * 3),
        ("HybridPath", "FAILED", []),
    ],
)
def test_the_documentation_example_runs_each_test_case(
    server: LiveServer,
    sfn: Any,
    lambda_sqs: str,
    test_case: str,
    status: str,
    lambda_attempts: list[str],
) -> None:
    name = f"executionWith{test_case}MockedServices"
    started = sfn.start_execution(stateMachineArn=f"{lambda_sqs}#{test_case}", name=name)
    # The execution ARN and its machine are the machine's: the test case is not part of them.
    assert started["executionArn"] == f"{ARN}:execution:LambdaSQSIntegration:{name}"
    assert server.wait(started["executionArn"]) == status
    described = sfn.describe_execution(executionArn=started["executionArn"])
    assert described["stateMachineArn"] == lambda_sqs
    lambda_state = ["TaskStateEntered", *lambda_attempts, *TASK[1:]]
    if status == "SUCCEEDED":
        assert json.loads(described["output"]) == SQS_SENT
        assert history_types(sfn, started["executionArn"]) == [
            "ExecutionStarted",
            *lambda_state,
            *TASK,
            "ExecutionSucceeded",
        ]
    else:
        # HybridPath: SQSState makes the real call; no backend is configured for SQS here.
        assert (described["error"], described["cause"]) == (
            "States.Runtime",
            "No backend serves resource 'arn:aws:states:::sqs:sendMessage'. Map it to a "
            'function in asl.toml ([resources] "arn:aws:states:::sqs:sendMessage" = "NAME", '
            "with [functions.NAME] defining it), or mock this state with a mock config "
            "(--mock-config FILE or SFN_MOCK_CONFIG). Or call an AWS endpoint "
            "(LocalStack, moto's server): set [aws] "
            "endpoint_url in asl.toml or AWS_ENDPOINT_URL (docs/integrations.md).",
        )
        assert history_types(sfn, started["executionArn"]) == [
            "ExecutionStarted",
            *lambda_state,
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "ExecutionFailed",
        ]
    listed = sfn.list_executions(stateMachineArn=lambda_sqs)["executions"]
    assert started["executionArn"] in [e["executionArn"] for e in listed]


def test_an_unknown_test_case_is_invalid_arn(sfn: Any, lambda_sqs: str) -> None:
    assert error_of(lambda: sfn.start_execution(stateMachineArn=f"{lambda_sqs}#SadPath")) == (
        "InvalidArn",
        400,
    )


def test_the_sample_project_with_placeholders_creates_and_runs(
    server: LiveServer, sfn: Any
) -> None:
    arn = sfn.create_state_machine(
        name="LocalTesting",
        definition=(FIXTURES / "LocalTesting.asl.json").read_text(),
        roleArn="arn:aws:iam::123456789012:role/DummyRole",
    )["stateMachineArn"]
    event = (FIXTURES / "LocalTesting.input.json").read_text()
    started = sfn.start_execution(
        stateMachineArn=f"{arn}#HappyPathTest", name="happyPathExecution", input=event
    )
    assert server.wait(started["executionArn"]) == "SUCCEEDED"
    events = sfn.get_execution_history(executionArn=started["executionArn"], maxResults=1000)
    exited = [
        e["stateExitedEventDetails"]
        for e in events["events"]
        if e["type"] == "TaskStateExited"
        and e["stateExitedEventDetails"]["name"] == "CustomerAddedToFollowup"
    ]
    # The check the sample's own makefile (happy-h) and test suites make.
    assert len(exited) == 1
    assert json.loads(exited[0]["output"]) == {"StatusCode": 200, "Payload": {"statusCode": 200}}


def test_a_sync_express_execution_uses_its_test_case(server: LiveServer) -> None:
    sfn = client_for(server.url, inject_host_prefix=False)
    arn = sfn.create_state_machine(
        name="LambdaSQSExpress",
        definition=(FIXTURES / "LambdaSQSIntegration.asl.json").read_text(),
        roleArn=ROLE,
        type="EXPRESS",
    )["stateMachineArn"]
    result = sfn.start_sync_execution(stateMachineArn=f"{arn}#RetryPath", input="{}")
    assert (result["status"], json.loads(result["output"])) == ("SUCCEEDED", SQS_SENT)
    assert result["stateMachineArn"] == arn
    sfn.close()
