"""The error table, the wire shapes that boto3 tests cannot pin exactly, and api's exports."""

from __future__ import annotations

import pytest

import api
from api.errors import STATUS, error_body, status_for, validation_message
from api.shapes import event_shape, sync_execution_shape
from engine.store.base import ExecutionRecord, StoredEvent


def test_exports() -> None:
    assert api.__all__ == ["create_app"]


@pytest.mark.parametrize(
    ("code", "aws", "rest"),
    [
        ("ValidationException", 400, 400),
        ("SerializationException", 400, 400),
        ("InvalidArn", 400, 400),
        ("ExecutionDoesNotExist", 400, 404),
        ("StateMachineDoesNotExist", 400, 404),
        ("TaskDoesNotExist", 400, 404),
        ("ExecutionAlreadyExists", 400, 409),
        ("ExecutionNotRedrivable", 400, 409),
        ("MissingAuthenticationTokenException", 403, 401),
        ("RequestEntityTooLargeException", 413, 413),
        ("ServiceUnavailable", 503, 503),
        ("InternalError", 500, 500),
        ("SomeFutureClientError", 400, 400),
    ],
    ids=lambda value: str(value),
)
def test_status_table(code: str, aws: int, rest: int) -> None:
    assert (status_for(code), status_for(code, rest=True)) == (aws, rest)


def test_only_server_errors_are_5xx() -> None:
    five = sorted(code for code, status in STATUS.items() if status.aws >= 500)
    assert five == ["InternalError", "ServiceUnavailable"]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (
            ("name", "Member must not be null"),
            {"null": True},
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
            "Member must not be null",
        ),
        (
            ("maxResults", "Member must have value less than or equal to 1000", "5000"),
            {},
            "1 validation error detected: Value '5000' at 'maxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 1000",
        ),
        (
            ("input", "Member must have length less than or equal to 262144"),
            {},
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            "Member must have length less than or equal to 262144",
        ),
    ],
    ids=["null", "shown", "payload-not-shown"],
)
def test_validation_message(args: tuple[str, ...], kwargs: dict[str, bool], message: str) -> None:
    assert validation_message(*args, **kwargs) == message


def test_error_body() -> None:
    assert error_body("InvalidArn", "Invalid Arn: 'x'") == {
        "__type": "InvalidArn",
        "message": "Invalid Arn: 'x'",
    }


EVENT = StoredEvent(
    execution_arn="arn",
    id=4,
    previous_event_id=3,
    timestamp=1700000000.12345,
    type="ExecutionSucceeded",
    details={
        "executionSucceededEventDetails": {"output": "1", "outputDetails": {"truncated": False}}
    },
)


@pytest.mark.parametrize(
    ("include", "details"),
    [
        (True, {"output": "1", "outputDetails": {"truncated": False}}),
        (False, {"outputDetails": {"truncated": False}}),
    ],
    ids=["with-data", "without-data"],
)
def test_event_shape(include: bool, details: dict[str, object]) -> None:
    assert event_shape(EVENT, include_data=include) == {
        "timestamp": 1700000000.123,
        "type": "ExecutionSucceeded",
        "id": 4,
        "previousEventId": 3,
        "executionSucceededEventDetails": details,
    }


def test_sync_execution_shape() -> None:
    record = ExecutionRecord(
        arn="arn:aws:states:us-east-1:111111111111:express:m:n:u",
        machine_arn="arn:aws:states:us-east-1:111111111111:stateMachine:m",
        revision_id="r",
        name="n",
        machine_type="EXPRESS",
        input={"a": 1},
        status="FAILED",
        start=100.0,
        stop=100.25,
        error="E",
        cause="C",
    )
    assert sync_execution_shape(record) == {
        "executionArn": "arn:aws:states:us-east-1:111111111111:express:m:n:u",
        "stateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:m",
        "name": "n",
        "startDate": 100.0,
        "stopDate": 100.25,
        "status": "FAILED",
        "input": '{"a":1}',
        "inputDetails": {"included": True},
        "error": "E",
        "cause": "C",
        "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 300},
    }
