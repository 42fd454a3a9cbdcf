"""POST /v1/test-state on a real `asl serve`: JSON values in and out (docs/api.md)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

BODY = {
    "definition": {
        "Type": "Pass",
        "InputPath": "$.payload",
        "Parameters": {"data": 1},
        "ResultPath": "$.result",
        "OutputPath": "$.result.data",
        "Next": "Another State",
    },
    "input": {"payload": {"foo": "bar"}},
    "inspectionLevel": "DEBUG",
}


def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{url}/v1/test-state",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_rest_answers_with_json_values(served: str) -> None:
    """The developer guide's Example 2 (see test_boto3.py), with values instead of texts."""
    assert post(served, BODY) == (
        200,
        {
            "status": "SUCCEEDED",
            "output": 1,
            "nextState": "Another State",
            "inspectionData": {
                "input": {"payload": {"foo": "bar"}},
                "afterInputPath": {"foo": "bar"},
                "afterParameters": {"data": 1},
                "afterResultSelector": {"data": 1},
                "afterResultPath": {"payload": {"foo": "bar"}, "result": {"data": 1}},
            },
        },
    )


def test_rest_mocks_and_state_configuration(served: str) -> None:
    body = {
        "definition": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f"},
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "MaxAttempts": 2}],
            "End": True,
        },
        "mock": {"errorOutput": {"error": "Boom", "cause": "bang"}},
        "stateConfiguration": {"retrierRetryCount": 1},
        "inspectionLevel": "DEBUG",
    }
    assert post(served, body) == (
        200,
        {
            "status": "RETRIABLE",
            "error": "Boom",
            "cause": "bang",
            "inspectionData": {
                "input": {},
                "afterInputPath": {},
                "afterParameters": {"FunctionName": "f"},
                "errorDetails": {"retryIndex": 0, "retryBackoffIntervalSeconds": 6},
            },
        },
    )


def test_rest_refuses_a_mock_on_a_choice(served: str) -> None:
    body = {
        "definition": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.a", "IsPresent": True, "Next": "A"}],
            "Default": "X",
        },
        "mock": {"result": 1},
    }
    status, answer = post(served, body)
    assert (status, answer["__type"]) == (400, "ValidationException")


def test_rest_keeps_a_null_output(served: str) -> None:
    body = {"definition": {"Type": "Pass", "Result": None, "End": True}}
    assert post(served, body) == (200, {"status": "SUCCEEDED", "output": None})
