"""Requests, results and failures as Step Functions shapes them (aws_shapes.py): exact names
and causes from botocore's answers, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.backends.aws_shapes import (
    ServiceError,
    UnsupportedField,
    client_failure,
    optimized_error,
    plain,
    sdk_error,
    to_request,
    to_sdk_result,
    validation_failure,
)
from engine.definition.aws_services import operation_model, service_model, sfn_member_name
from engine.interpreter.tasks import TaskFailure


def shapes(service: str) -> list[object]:
    model = service_model(service)
    assert model is not None
    return list(model.error_shapes)


def answer(code: str, message: str, status: int, **extra: str) -> ServiceError:
    metadata: dict[str, object] = {"HTTPStatusCode": status, "RequestId": "RID"}
    error: dict[str, object] = {"Code": code, "Message": message}
    if "host_id" in extra:
        metadata["HostId"] = extra["host_id"]
    if "query" in extra:
        error["QueryErrorCode"] = extra["query"]
    return ServiceError.of({"Error": error, "ResponseMetadata": metadata})


@pytest.mark.parametrize(
    ("service", "error", "expected"),
    [
        (
            "dynamodb",
            answer("ResourceNotFoundException", "Requested resource not found", 400),
            TaskFailure(
                "DynamoDb.ResourceNotFoundException",
                "Requested resource not found (Service: DynamoDb, Status Code: 400, "
                "Request ID: RID)",
            ),
        ),
        (
            "s3",
            answer("NoSuchKey", "The specified key does not exist.", 404, host_id="HID"),
            TaskFailure(
                "S3.NoSuchKeyException",
                "The specified key does not exist. (Service: S3, Status Code: 404, "
                "Request ID: RID, Extended Request ID: HID)",
            ),
        ),
        (
            "sqs",
            answer(
                "AWS.SimpleQueueService.NonExistentQueue",
                "The specified queue does not exist.",
                400,
                query="QueueDoesNotExist",
            ),
            TaskFailure(
                "Sqs.QueueDoesNotExistException",
                "The specified queue does not exist. (Service: Sqs, Status Code: 400, "
                "Request ID: RID)",
            ),
        ),
        (
            "sfn",
            answer("Throttled", "slow down", 400),
            TaskFailure(
                "Sfn.SfnException", "slow down (Service: Sfn, Status Code: 400, Request ID: RID)"
            ),
        ),
    ],
    ids=["declared", "S3 adds Exception", "query error code", "undeclared"],
)
def test_sdk_errors(service: str, error: ServiceError, expected: TaskFailure) -> None:
    assert sdk_error(service, error, shapes(service)) == expected


@pytest.mark.parametrize(
    ("service", "error", "expected"),
    [
        (
            "dynamodb",
            answer("ConditionalCheckFailedException", "The conditional request failed", 400),
            TaskFailure(
                "DynamoDB.ConditionalCheckFailedException",
                "The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; "
                "Error Code: ConditionalCheckFailedException; Request ID: RID; Proxy: null)",
            ),
        ),
        (
            "sns",
            answer("NotFound", "Topic does not exist", 404),
            TaskFailure(
                "SNS.NotFoundException",
                "Topic does not exist (Service: AmazonSNS; Status Code: 404; Error Code: "
                "NotFound; Request ID: RID; Proxy: null)",
            ),
        ),
        (
            "dynamodb",
            answer("ValidationException", "Bad", 400),
            TaskFailure(
                "DynamoDB.ValidationException",
                "Bad (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: "
                "ValidationException; Request ID: RID; Proxy: null)",
            ),
        ),
        (
            "sqs",
            answer("AWS.SimpleQueueService.Odd", "Rate exceeded", 400),
            TaskFailure(
                "SQS.AmazonSQSException",
                "Rate exceeded (Service: AmazonSQS; Status Code: 400; Error Code: "
                "AWS.SimpleQueueService.Odd; Request ID: RID; Proxy: null)",
            ),
        ),
    ],
    ids=["declared", "Exception appended", "undeclared code", "undeclared, no name"],
)
def test_optimized_errors(service: str, error: ServiceError, expected: TaskFailure) -> None:
    assert optimized_error(service, error, shapes(service)) == expected


def test_client_and_validation_failures() -> None:
    assert client_failure("Sqs", "Connection refused") == TaskFailure(
        "Sqs.SdkClientException", "Unable to execute HTTP request: Connection refused"
    )
    failure = validation_failure(
        "DynamoDb",
        "DynamoDb.DynamoDbException",
        'Missing required parameter in input: "TableName"\n'
        'Missing required parameter in input: "Key"',
        optimized=False,
    )
    assert failure.error == "DynamoDb.DynamoDbException"
    assert failure.cause is not None
    assert failure.cause.startswith(
        "2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: "
        "Member must not be null; Value null at 'key' failed to satisfy constraint: Member "
        "must not be null (Service: DynamoDb, Status Code: 400, Request ID: "
    )


def test_requests_follow_the_model() -> None:
    operation = operation_model("sqs", "sendMessage")
    assert operation is not None
    assert to_request(
        {"QueueUrl": "q", "MessageBody": {"a": [1]}, "DelaySeconds": 1}, operation.input_shape
    ) == {"QueueUrl": "q", "MessageBody": '{"a":[1]}', "DelaySeconds": 1}
    with pytest.raises(UnsupportedField) as caught:
        to_request({"QueueUrl": "q", "Body": "x"}, operation.input_shape)
    assert (caught.value.name, caught.value.path) == ("Body", "")
    put = operation_model("s3", "putObject")
    assert put is not None
    assert to_request({"Bucket": "b", "Key": "k", "Body": {"n": 1}}, put.input_shape) == {
        "Bucket": "b",
        "Key": "k",
        "Body": b'{"n":1}',
    }


def test_results_use_the_java_sdk_names() -> None:
    operation = operation_model("sqs", "sendMessage")
    assert operation is not None
    response = {
        "MD5OfMessageBody": "m",
        "MessageId": "i",
        "ResponseMetadata": {"RequestId": "RID"},
    }
    assert to_sdk_result(response, operation.output_shape) == {
        "Md5OfMessageBody": "m",
        "MessageId": "i",
    }


def test_plain_values() -> None:
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert plain(moment) == "2024-05-01T10:00:00Z"
    assert (
        plain(datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)) == "2024-05-01T10:00:00.500000Z"
    )
    assert plain(b"text") == "text"
    assert plain(b"\xff\xfe") == "//4="
    assert plain({"a": (1, b"x")}) == {"a": [1, "x"]}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_plain_keeps_json_as_it_is(value: object) -> None:
    assert plain(value) == value


@given(st.from_regex(r"[A-Z][A-Za-z0-9]{0,20}", fullmatch=True))
def test_member_names_are_stable(member: str) -> None:
    once = sfn_member_name(member)
    assert sfn_member_name(once) == once
    assert once[:1] == member[:1]
