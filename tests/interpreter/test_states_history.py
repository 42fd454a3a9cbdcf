"""History events: AWS's JSON shape, detail keys, timestamps, and recorded sequences replayed.

A few recorded AWS cases (../shared/conformance/cases/exec) are read as data and replayed
through `step` with the hand-driven harness; the whole corpus runs elsewhere (run.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.interpreter.history import (
    Details,
    HistoryEvent,
    Payload,
    details_key,
    format_time,
    render_details,
    task_resource_parts,
)
from engine.interpreter.messages import Finish
from engine.values import JSON
from tests.interpreter.helpers import LAMBDA_ARN, T0, Harness, chain, event_types, run_definition

REPO = Path(__file__).resolve().parents[2]
CASES = REPO.parent / "shared" / "conformance" / "cases" / "exec"


@pytest.mark.parametrize(
    ("event_type", "key"),
    [
        ("ExecutionStarted", "executionStartedEventDetails"),
        ("ExecutionSucceeded", "executionSucceededEventDetails"),
        ("PassStateEntered", "stateEnteredEventDetails"),
        ("MapStateExited", "stateExitedEventDetails"),
        ("LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails"),
        ("TaskSucceeded", "taskSucceededEventDetails"),
        ("MapIterationStarted", "mapIterationStartedEventDetails"),
        ("MapIterationAborted", "mapIterationAbortedEventDetails"),
        ("MapStateStarted", "mapStateStartedEventDetails"),
        ("MapRunStarted", "mapRunStartedEventDetails"),
    ],
    ids=lambda value: str(value),
)
def test_details_key(event_type: str, key: str) -> None:
    assert details_key(event_type) == key


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (T0, "2023-11-14T22:13:20.000Z"),
        (T0 + 0.1239, "2023-11-14T22:13:20.123Z"),
        (1_894_698_000.0, "2030-01-15T09:00:00.000Z"),
    ],
    ids=["epoch", "t0", "milliseconds-truncated", "future"],
)
def test_format_time(epoch: float, text: str) -> None:
    assert format_time(epoch) == text


@pytest.mark.parametrize(
    ("resource", "parts"),
    [
        ("arn:aws:states:::lambda:invoke", ("lambda", "invoke")),
        ("arn:aws:states:::lambda:invoke.waitForTaskToken", ("lambda", "invoke.waitForTaskToken")),
        ("arn:aws:states:::sqs:sendMessage", ("sqs", "sendMessage")),
        # Recorded: test_aws_sdk_task_service/test_list_secrets gives resourceType
        # "aws-sdk:secretsmanager", resource "listSecrets".
        ("arn:aws:states:::aws-sdk:s3:getObject", ("aws-sdk:s3", "getObject")),
    ],
    ids=["invoke", "token", "sqs", "sdk"],
)
def test_task_resource_parts(resource: str, parts: tuple[str, str]) -> None:
    assert task_resource_parts(resource) == parts


def test_render_details_payloads_and_execution_data() -> None:
    details: Details = {"name": "S", "input": Payload({"a": [1, "é"]}), "parameters": Payload(None)}
    assert render_details(details) == {
        "name": "S",
        "input": '{"a":[1,"é"]}',
        "inputDetails": {"truncated": False},
        "parameters": "null",
    }
    assert render_details(details, include_execution_data=False) == {"name": "S"}


def test_event_without_details_has_no_details_member() -> None:
    event = HistoryEvent(6, 5, T0, "LambdaFunctionStarted")
    assert event.as_json() == {
        "id": 6,
        "previousEventId": 5,
        "timestamp": "2023-11-14T22:13:20.000Z",
        "type": "LambdaFunctionStarted",
    }


def test_a_task_execution_history_as_aws_renders_it() -> None:
    definition = chain(("Work", {"Type": "Task", "Resource": LAMBDA_ARN + "fn"}))
    harness = Harness.of(definition, {"a": 1})
    harness.start()
    harness.answer(harness.only_task(), {"b": 2}, at=T0 + 1.5)
    rendered = [event.as_json() for event in harness.history]
    start = "2023-11-14T22:13:20.000Z"
    later = "2023-11-14T22:13:21.500Z"
    assert rendered == [
        {
            "id": 1,
            "previousEventId": 0,
            "timestamp": start,
            "type": "ExecutionStarted",
            "executionStartedEventDetails": {
                "input": '{"a":1}',
                "inputDetails": {"truncated": False},
                "roleArn": "arn:aws:iam::111111111111:role/asl-engine",
            },
        },
        {
            "id": 2,
            "previousEventId": 0,
            "timestamp": start,
            "type": "TaskStateEntered",
            "stateEnteredEventDetails": {
                "name": "Work",
                "input": '{"a":1}',
                "inputDetails": {"truncated": False},
            },
        },
        {
            "id": 3,
            "previousEventId": 2,
            "timestamp": start,
            "type": "LambdaFunctionScheduled",
            "lambdaFunctionScheduledEventDetails": {
                "resource": LAMBDA_ARN + "fn",
                "input": '{"a":1}',
                "inputDetails": {"truncated": False},
            },
        },
        {"id": 4, "previousEventId": 3, "timestamp": start, "type": "LambdaFunctionStarted"},
        {
            "id": 5,
            "previousEventId": 4,
            "timestamp": later,
            "type": "LambdaFunctionSucceeded",
            "lambdaFunctionSucceededEventDetails": {
                "output": '{"b":2}',
                "outputDetails": {"truncated": False},
            },
        },
        {
            "id": 6,
            "previousEventId": 5,
            "timestamp": later,
            "type": "TaskStateExited",
            "stateExitedEventDetails": {
                "name": "Work",
                "output": '{"b":2}',
                "outputDetails": {"truncated": False},
            },
        },
        {
            "id": 7,
            "previousEventId": 6,
            "timestamp": later,
            "type": "ExecutionSucceeded",
            "executionSucceededEventDetails": {
                "output": '{"b":2}',
                "outputDetails": {"truncated": False},
            },
        },
    ]


# -- recorded AWS cases replayed through `step` -------------------------------------------------

RECORDED = [
    "localstack__base__test_base__test_state_pass_result.json",
    "localstack__base__test_base__test_state_fail.json",
    "localstack__base__test_base__test_state_fail_path.json",
    "localstack__base__test_base__test_state_pass_result_null_input_output_paths.json",
    "localstack__base__test_wait__test_base_wait_seconds_path.-1.json",
    "localstack__base__test_wait__test_base_wait_seconds_path.1.json",
    "localstack__scenarios__test_base_scenarios__test_map_state_break_condition.json",
    "localstack__scenarios__test_base_scenarios__test_map_state_item_selector.MAP_STATE_ITEM_SELECTOR.json",
    "localstack__scenarios__test_base_scenarios__test_parallel_state_nested.json",
]


def _load_case(name: str) -> dict[str, JSON]:
    path = CASES / name
    if not path.is_file():
        pytest.skip(f"recorded case {path} is absent (the conformance corpus lives in ../shared)")
    case: dict[str, JSON] = json.loads(path.read_text(encoding="utf-8"))
    return case


@pytest.mark.parametrize("name", RECORDED, ids=[n.split("__", 1)[1][:-5] for n in RECORDED])
def test_recorded_case_replays_through_step(name: str) -> None:
    case = _load_case(name)
    definition = case["definition"]
    expect = case["expect"]
    assert isinstance(definition, dict)
    assert isinstance(expect, dict)
    harness = run_definition(definition, case["input"])
    finish = harness.finish
    assert finish is not None
    assert finish.status == expect["status"]
    if "output" in expect:
        assert finish.output == expect["output"]
    if "error" in expect:
        assert finish.error == expect["error"]
    if "cause" in expect:
        assert finish.cause == expect["cause"]
    recorded = expect.get("events")
    if isinstance(recorded, list):
        if expect.get("events_compare") == "sequence":
            assert event_types(harness.history) == recorded
        else:
            assert sorted(event_types(harness.history)) == sorted(str(e) for e in recorded)


def test_execution_succeeded_details_carry_the_output() -> None:
    harness = run_definition(chain(("P", {"Type": "Pass", "Result": {"k": [1]}})))
    assert harness.finish == Finish("SUCCEEDED", output={"k": [1]})
    assert harness.history[-1].as_json()["executionSucceededEventDetails"] == {
        "output": '{"k":[1]}',
        "outputDetails": {"truncated": False},
    }
