"""Map Runs through the real boto3 client against a live server: DescribeMapRun, ListMapRuns,
UpdateMapRun on a running Map, ListExecutions by mapRunArn, the children's own histories."""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx2 as httpx
import pytest

from tests.api.live import LiveServer
from tests.api.test_awsjson_boto3 import ARN, client_for, error_of, machine

TOKENS: queue.Queue[str] = queue.Queue()


def hand_out(event: dict[str, str], context: object) -> dict[str, str]:
    TOKENS.put(event["token"])
    return {}


# Each item waits for a callback, so the test decides when children finish.
WAITING_MAP = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "Label": "Waiters",
            "MaxConcurrency": 1,
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Wait for me",
                "States": {
                    "Wait for me": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                        "Parameters": {
                            "FunctionName": "hand_out",
                            "Payload": {"token.$": "$$.Task.Token"},
                        },
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(functions={"hand_out": hand_out}) as live:
        yield live


@pytest.fixture
def sfn(server: LiveServer) -> Iterator[Any]:
    client = client_for(server.url)
    yield client
    client.close()


def tokens(count: int) -> list[str]:
    return [TOKENS.get(timeout=5) for _ in range(count)]


def test_a_map_run_described_updated_and_listed(server: LiveServer, sfn: Any) -> None:
    arn = machine(sfn, "waiters", WAITING_MAP)
    started = sfn.start_execution(
        stateMachineArn=arn, name="p", input=json.dumps({"items": [1, 2, 3]})
    )
    first = tokens(1)
    runs = sfn.list_map_runs(executionArn=started["executionArn"])["mapRuns"]
    assert len(runs) == 1
    run_arn = runs[0]["mapRunArn"]
    assert run_arn.startswith(f"{ARN}:mapRun:waiters/Waiters:")
    assert runs[0]["executionArn"] == started["executionArn"]
    assert runs[0]["stateMachineArn"] == f"{ARN}:stateMachine:waiters/Waiters"
    assert isinstance(runs[0]["startDate"], datetime)
    assert "stopDate" not in runs[0]

    running = sfn.describe_map_run(mapRunArn=run_arn)
    assert running["status"] == "RUNNING"
    assert "stopDate" not in running
    assert (running["maxConcurrency"], running["toleratedFailureCount"]) == (1, 0)
    assert running["toleratedFailurePercentage"] == 0.0
    assert (
        running["itemCounts"]
        == running["executionCounts"]
        == {
            "pending": 2,
            "running": 1,
            "succeeded": 0,
            "failed": 0,
            "timedOut": 0,
            "aborted": 0,
            "total": 3,
            "resultsWritten": 0,
            "failuresNotRedrivable": 0,
            "pendingRedrive": 0,
        }
    )

    # UpdateMapRun takes effect on the running Map: two more children start at once.
    assert sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=3, toleratedFailureCount=1)
    rest = tokens(2)
    updated = sfn.describe_map_run(mapRunArn=run_arn)
    assert (updated["maxConcurrency"], updated["toleratedFailureCount"]) == (3, 1)
    assert (updated["itemCounts"]["running"], updated["itemCounts"]["pending"]) == (3, 0)

    for number, token in enumerate(first + rest):
        sfn.send_task_success(taskToken=token, output=json.dumps({"done": number}))
    assert server.wait(started["executionArn"]) == "SUCCEEDED"
    output = json.loads(sfn.describe_execution(executionArn=started["executionArn"])["output"])
    assert sorted(o["done"] for o in output) == [0, 1, 2]

    closed = sfn.describe_map_run(mapRunArn=run_arn)
    assert closed["status"] == "SUCCEEDED"
    assert closed["stopDate"] >= closed["startDate"]
    assert closed["itemCounts"]["succeeded"] == 3

    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert len(children) == 3
    for child in children:
        assert child["mapRunArn"] == run_arn
        assert child["stateMachineArn"] == f"{ARN}:stateMachine:waiters/Waiters"
        assert child["executionArn"] == f"{ARN}:execution:waiters/Waiters:{child['name']}"
        described = sfn.describe_execution(executionArn=child["executionArn"])
        assert described["mapRunArn"] == run_arn
        assert described["status"] == "SUCCEEDED"
        events = sfn.get_execution_history(executionArn=child["executionArn"])["events"]
        assert [e["type"] for e in events] == [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
    failed = sfn.list_executions(mapRunArn=run_arn, statusFilter="FAILED")["executions"]
    assert failed == []

    parent_events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    kinds = [e["type"] for e in parent_events]
    assert kinds[kinds.index("MapRunStarted") :][:2] == ["MapRunStarted", "MapRunSucceeded"]
    assert parent_events[kinds.index("MapRunStarted")]["mapRunStartedEventDetails"] == {
        "mapRunArn": run_arn
    }


def test_map_run_errors_are_aws_errors(server: LiveServer, sfn: Any) -> None:
    missing = f"{ARN}:mapRun:waiters/Waiters:6f1f1d0e-8f43-4d0c-9d8e-1f1b1c1d1e1f"
    assert error_of(lambda: sfn.describe_map_run(mapRunArn=missing)) == ("ResourceNotFound", 400)
    assert error_of(lambda: sfn.describe_map_run(mapRunArn=f"{ARN}:execution:a:b")) == (
        "InvalidArn",
        400,
    )
    assert error_of(lambda: sfn.update_map_run(mapRunArn=missing, maxConcurrency=2)) == (
        "ResourceNotFound",
        400,
    )
    assert error_of(lambda: sfn.list_map_runs(executionArn=f"{ARN}:execution:waiters:nobody")) == (
        "ExecutionDoesNotExist",
        400,
    )
    assert error_of(lambda: sfn.list_executions(mapRunArn=missing)) == ("ResourceNotFound", 400)


def test_map_runs_over_rest(server: LiveServer, sfn: Any) -> None:
    arn = machine(sfn, "rest-waiters", WAITING_MAP)
    started = sfn.start_execution(
        stateMachineArn=arn, name="p", input=json.dumps({"items": [1, 2]})
    )
    execution = started["executionArn"]
    first = tokens(1)
    with httpx.Client(base_url=server.url) as http:
        listed = http.get(f"/v1/executions/{execution}/map-runs").json()
        assert len(listed["mapRuns"]) == 1
        run_arn = listed["mapRuns"][0]["mapRunArn"]
        assert listed["mapRuns"][0]["stateMachineArn"] == f"{ARN}:stateMachine:rest-waiters/Waiters"
        described = http.get(f"/v1/map-runs/{run_arn}").json()
        assert (described["status"], described["maxConcurrency"]) == ("RUNNING", 1)
        assert described["itemCounts"]["pending"] == 1
        assert described["stopDate"] is None
        patched = http.patch(f"/v1/map-runs/{run_arn}", json={"maxConcurrency": 2})
        assert patched.status_code == 200
        assert patched.json()["maxConcurrency"] == 2
        rest = tokens(1)
        bad = http.patch(f"/v1/map-runs/{run_arn}", json={"maxConcurrency": -1})
        assert bad.status_code == 400
        missing = http.get(
            f"{'/v1/map-runs/'}{ARN}:mapRun:x/y:0b4d6cbd-2e1e-4a4b-9fb5-6c2f3e1d0a11"
        )
        assert (missing.status_code, missing.json()["__type"]) == (404, "ResourceNotFound")
        for token in first + rest:
            sfn.send_task_success(taskToken=token, output="{}")
        assert server.wait(execution) == "SUCCEEDED"
        child = sfn.list_executions(mapRunArn=run_arn)["executions"][0]["executionArn"]
        # a child's ARN has a `/` (execution:MACHINE/LABEL:NAME): the routes take it whole
        assert http.get(f"/v1/executions/{child}").json()["status"] == "SUCCEEDED"
        history = http.get(f"/v1/executions/{child}/history").json()["events"]
        assert history[-1]["type"] == "ExecutionSucceeded"
        assert http.get(f"/v1/map-runs/{run_arn}").json()["status"] == "SUCCEEDED"


BATCHED_MAP = json.loads(json.dumps(WAITING_MAP))
BATCHED_MAP["States"]["Fan"].update(
    {"Label": "Batches", "ItemBatcher": {"MaxItemsPerBatch": 2}, "ToleratedFailureCount": 2}
)


def counts(**given: int) -> dict[str, int]:
    """DescribeMapRun's itemCounts or executionCounts: `given`, the others 0."""
    names = ("pending", "running", "succeeded", "failed", "timedOut", "aborted", "total")
    extras = ("resultsWritten", "failuresNotRedrivable", "pendingRedrive")
    return {name: given.get(name, 0) for name in names + extras}


def test_batches_count_items_and_a_redrive_redrives_the_failed_children(
    server: LiveServer, sfn: Any
) -> None:
    """Six items in batches of two (three child executions), one at a time, two failed items
    tolerated: itemCounts count items, executionCounts children. The second failed batch
    fails the Map; the parent's redrive redrives both failed children themselves (same ARN,
    ExecutionRedriven in their history), the second pending redrive while the first runs."""
    arn = machine(sfn, "batched-waiters", BATCHED_MAP)
    started = sfn.start_execution(
        stateMachineArn=arn, name="p", input=json.dumps({"items": [1, 2, 3, 4, 5, 6]})
    )
    execution = started["executionArn"]
    [first] = tokens(1)
    run_arn = sfn.list_map_runs(executionArn=execution)["mapRuns"][0]["mapRunArn"]
    running = sfn.describe_map_run(mapRunArn=run_arn)
    assert running["itemCounts"] == counts(pending=4, running=2, total=6)
    assert running["executionCounts"] == counts(pending=2, running=1, total=3)
    sfn.send_task_failure(taskToken=first, error="Nope", cause="batch 0")  # 2 items: tolerated
    [second] = tokens(1)
    sfn.send_task_failure(taskToken=second, error="Nope", cause="batch 1")  # 4 items: too many
    assert server.wait(execution) == "FAILED"
    failed = sfn.describe_map_run(mapRunArn=run_arn)
    assert (failed["status"], failed["redriveCount"]) == ("FAILED", 0)
    # failed without a ResultWriter: no results written
    assert failed["itemCounts"] == counts(pending=2, failed=4, total=6)
    assert failed["executionCounts"] == counts(pending=1, failed=2, total=3)
    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert sorted((c["status"], c["itemCount"]) for c in children) == [("FAILED", 2)] * 2
    failed_arns = sorted(c["executionArn"] for c in children)

    sfn.redrive_execution(executionArn=execution)
    [third] = tokens(1)  # the first failed child, redriven; the second waits for its turn
    redriving = sfn.describe_map_run(mapRunArn=run_arn)
    assert (redriving["status"], redriving["redriveCount"]) == ("RUNNING", 1)
    assert isinstance(redriving["redriveDate"], datetime)
    assert redriving["itemCounts"] == counts(pending=4, running=2, total=6, pendingRedrive=2)
    assert redriving["executionCounts"] == counts(pending=2, running=1, total=3, pendingRedrive=1)
    sfn.send_task_success(taskToken=third, output="{}")
    [fourth] = tokens(1)  # the second failed child, redriven
    sfn.send_task_success(taskToken=fourth, output="{}")
    [fifth] = tokens(1)  # the batch that never started, in a new child
    sfn.send_task_success(taskToken=fifth, output="{}")
    assert server.wait(execution) == "SUCCEEDED"
    closed = sfn.describe_map_run(mapRunArn=run_arn)
    assert (closed["status"], closed["redriveCount"]) == ("SUCCEEDED", 1)
    assert closed["itemCounts"] == counts(succeeded=6, total=6, resultsWritten=6)
    assert closed["executionCounts"] == counts(succeeded=3, total=3, resultsWritten=3)
    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert len(children) == 3
    assert set(failed_arns) < {c["executionArn"] for c in children}
    for child_arn in failed_arns:
        child = sfn.describe_execution(executionArn=child_arn)
        assert (child["status"], child["redriveCount"]) == ("SUCCEEDED", 1)
        events = sfn.get_execution_history(executionArn=child_arn)["events"]
        assert [e["type"] for e in events] == [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskFailed",
            "ExecutionFailed",
            "ExecutionRedriven",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]


def test_pending_redrive_children_are_listed_by_map_run(server: LiveServer, sfn: Any) -> None:
    """ListExecutions with mapRunArn and statusFilter PENDING_REDRIVE lists the unsuccessful
    children waiting for the running redrive of their Map Run (as DescribeMapRun counts them
    in pendingRedrive), with that status; redriveFilter keeps the children redriven or not.
    With a stateMachineArn, PENDING_REDRIVE is refused (ValidationException), on AWS JSON
    and on REST alike."""
    arn = machine(sfn, "pending-redrive", BATCHED_MAP)
    started = sfn.start_execution(
        stateMachineArn=arn, name="p", input=json.dumps({"items": [1, 2, 3, 4, 5, 6]})
    )
    execution = started["executionArn"]
    [first] = tokens(1)
    run_arn = sfn.list_map_runs(executionArn=execution)["mapRuns"][0]["mapRunArn"]
    sfn.send_task_failure(taskToken=first, error="Nope", cause="batch 0")
    [second] = tokens(1)
    sfn.send_task_failure(taskToken=second, error="Nope", cause="batch 1")
    assert server.wait(execution) == "FAILED"
    # failed, not redriven yet: nothing waits for a redrive
    assert (
        sfn.list_executions(mapRunArn=run_arn, statusFilter="PENDING_REDRIVE")["executions"] == []
    )
    by_start = sorted(
        sfn.list_executions(mapRunArn=run_arn, statusFilter="FAILED")["executions"],
        key=lambda c: c["startDate"],
    )
    assert [c["itemCount"] for c in by_start] == [2, 2]
    batch0, batch1 = (c["executionArn"] for c in by_start)
    assert sfn.list_executions(mapRunArn=run_arn, redriveFilter="REDRIVEN")["executions"] == []

    sfn.redrive_execution(executionArn=execution)
    [third] = tokens(1)  # batch 0's child, redriven; batch 1's waits for its turn

    def listed(**filters: str) -> list[tuple[str, str]]:
        page = sfn.list_executions(mapRunArn=run_arn, **filters)["executions"]
        return [(c["executionArn"], c["status"]) for c in page]

    assert listed(statusFilter="PENDING_REDRIVE") == [(batch1, "PENDING_REDRIVE")]
    assert listed(statusFilter="FAILED") == []
    assert listed(statusFilter="RUNNING") == [(batch0, "RUNNING")]
    assert listed(redriveFilter="REDRIVEN") == [(batch0, "RUNNING")]
    assert listed(redriveFilter="NOT_REDRIVEN") == [(batch1, "PENDING_REDRIVE")]
    assert listed(statusFilter="PENDING_REDRIVE", redriveFilter="REDRIVEN") == []
    counted = sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"]
    assert counted["pendingRedrive"] == len(listed(statusFilter="PENDING_REDRIVE")) == 1
    with httpx.Client(base_url=server.url) as http:
        rest = http.get(f"/v1/map-runs/{run_arn}/executions", params={"status": "PENDING_REDRIVE"})
        assert [(c["arn"], c["status"]) for c in rest.json()["executions"]] == [
            (batch1, "PENDING_REDRIVE")
        ]
        refused = http.get(
            "/v1/machines/pending-redrive/executions", params={"status": "PENDING_REDRIVE"}
        )
        assert (refused.status_code, refused.json()["__type"]) == (400, "ValidationException")
        redriven = http.get(
            f"/v1/map-runs/{run_arn}/executions", params={"redrive_filter": "REDRIVEN"}
        )
        assert [c["arn"] for c in redriven.json()["executions"]] == [batch0]

    sfn.send_task_success(taskToken=third, output="{}")
    [fourth] = tokens(1)  # batch 1's child, redriven
    assert listed(statusFilter="PENDING_REDRIVE") == []
    sfn.send_task_success(taskToken=fourth, output="{}")
    [fifth] = tokens(1)
    sfn.send_task_success(taskToken=fifth, output="{}")
    assert server.wait(execution) == "SUCCEEDED"
    assert sorted(listed(redriveFilter="REDRIVEN")) == sorted(
        [(batch0, "SUCCEEDED"), (batch1, "SUCCEEDED")]
    )
    assert len(listed(redriveFilter="NOT_REDRIVEN")) == 1  # the batch never started before


def test_pending_redrive_needs_a_map_run(server: LiveServer, sfn: Any) -> None:
    """AWS: "If you provide a stateMachineArn and a PENDING_REDRIVE statusFilter, the API
    returns a validation exception"; an unknown redriveFilter is refused too."""
    arn = machine(sfn, "no-pending-redrive", WAITING_MAP)
    assert error_of(
        lambda: sfn.list_executions(stateMachineArn=arn, statusFilter="PENDING_REDRIVE")
    ) == ("ValidationException", 400)
    assert error_of(lambda: sfn.list_executions(statusFilter="PENDING_REDRIVE")) == (
        "ValidationException",
        400,
    )
    assert (
        sfn.list_executions(stateMachineArn=arn, redriveFilter="NOT_REDRIVEN")["executions"] == []
    )
    with httpx.Client(base_url=server.url) as http:
        bad = http.post(
            "/",
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "AWSStepFunctions.ListExecutions",
            },
            json={"stateMachineArn": arn, "redriveFilter": "SOMETIMES"},
        )
        assert (bad.status_code, bad.json()["__type"]) == (400, "ValidationException")
