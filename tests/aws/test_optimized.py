"""The optimized integrations against moto's server: DynamoDB, SQS, SNS, EventBridge, S3 and
a remote Lambda function, with AWS's request and response shapes and error names."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from engine.values import JSON
from tests.aws.helpers import (
    EXECUTION,
    MACHINE,
    make_queue,
    make_table,
    md5,
    out,
    queue_arn,
    receive,
    run,
    task_machine,
    topic_to_queue,
)
from tests.aws_server import aws_client, unique_name

REQUEST_ID = re.compile(r"[A-Za-z0-9-]{20,}")


def assert_sdk_metadata(result: dict[str, Any]) -> None:
    """The Java SDK's metadata of an optimized integration's result (recorded shape)."""
    http = result["SdkHttpMetadata"]
    assert set(http) == {"AllHttpHeaders", "HttpHeaders", "HttpStatusCode"}
    assert http["HttpStatusCode"] == 200
    assert http["AllHttpHeaders"] == {k: [v] for k, v in http["HttpHeaders"].items()}
    assert http["HttpHeaders"]["Content-Type"] == "application/x-amz-json-1.0"
    request_id = http["HttpHeaders"]["x-amzn-RequestId"]
    assert result["SdkResponseMetadata"] == {"RequestId": request_id}
    assert REQUEST_ID.fullmatch(request_id)


def test_dynamodb_put_get_update_delete(moto_endpoint: str, tmp_path: Path) -> None:
    table = make_table(moto_endpoint)
    key: JSON = {"id": {"S": "order-1"}}
    definition: dict[str, JSON] = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {
                    "TableName": table,
                    "Item": {"id": {"S": "order-1"}, "n": {"N": "1"}},
                },
                "ResultPath": "$.put",
                "Next": "Update",
            },
            "Update": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": table,
                    "Key": key,
                    "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": {"N.$": "$.next"}},
                    "ReturnValues": "ALL_NEW",
                },
                "ResultPath": "$.update",
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": key},
                "ResultPath": "$.get",
                "Next": "Delete",
            },
            "Delete": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:deleteItem",
                "Parameters": {"TableName": table, "Key": key, "ReturnValues": "ALL_OLD"},
                "ResultPath": "$.delete",
                "End": True,
            },
        },
    }
    result = asyncio.run(run(moto_endpoint, tmp_path, definition, {"next": "2"}))
    assert result.status == "SUCCEEDED", result.cause
    output: Any = result.output
    assert set(output["put"]) == {"SdkHttpMetadata", "SdkResponseMetadata"}
    assert_sdk_metadata(output["put"])
    item = {"id": {"S": "order-1"}, "n": {"N": "2"}}
    assert output["update"]["Attributes"] == item
    assert output["get"]["Item"] == item
    assert output["delete"]["Attributes"] == item
    for step in ("update", "get", "delete"):
        assert_sdk_metadata(output[step])
    assert "Item" not in aws_client("dynamodb", moto_endpoint).get_item(TableName=table, Key=key)


def test_dynamodb_conditional_check_failed_is_caught_by_its_name(
    moto_endpoint: str, tmp_path: Path
) -> None:
    table = make_table(moto_endpoint)
    aws_client("dynamodb", moto_endpoint).put_item(TableName=table, Item={"id": {"S": "a"}})
    definition = task_machine(
        "arn:aws:states:::dynamodb:putItem",
        {
            "TableName": table,
            "Item": {"id": {"S": "a"}},
            "ConditionExpression": "attribute_not_exists(id)",
        },
        Catch=[{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "Next": "Caught"}],
    )
    states: Any = definition["States"]
    states["Caught"] = {"Type": "Pass", "End": True}
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert result.status == "SUCCEEDED"
    assert out(result)["Error"] == "DynamoDB.ConditionalCheckFailedException"
    match = re.fullmatch(
        r"The conditional request failed \(Service: AmazonDynamoDBv2; Status Code: 400; "
        r"Error Code: ConditionalCheckFailedException; Request ID: (\S+); Proxy: null\)",
        out(result)["Cause"],
    )
    assert match is not None, out(result)["Cause"]


def test_dynamodb_missing_table_fails_with_the_services_error(
    moto_endpoint: str, tmp_path: Path
) -> None:
    definition = task_machine(
        "arn:aws:states:::dynamodb:getItem",
        {"TableName": unique_name("missing"), "Key": {"id": {"S": "a"}}},
    )
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert (result.status, result.error) == ("FAILED", "DynamoDB.ResourceNotFoundException")
    assert result.cause is not None
    assert result.cause.startswith("Requested resource not found (Service: AmazonDynamoDBv2; ")


def test_sqs_send_message_stringifies_the_body(moto_endpoint: str, tmp_path: Path) -> None:
    queue = make_queue(moto_endpoint)
    definition = task_machine(
        "arn:aws:states:::sqs:sendMessage",
        {"QueueUrl": queue, "MessageBody": {"order.$": "$.order", "lines": [1, 2]}},
    )
    result = asyncio.run(run(moto_endpoint, tmp_path, definition, {"order": "o-7"}))
    assert result.status == "SUCCEEDED", result.cause
    [message] = receive(moto_endpoint, queue)
    assert message["Body"] == '{"order":"o-7","lines":[1,2]}'
    output: Any = result.output
    assert list(output) == [
        "MD5OfMessageBody",
        "MessageId",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
    ]
    assert output["MD5OfMessageBody"] == md5(message["Body"])
    assert output["MessageId"] == message["MessageId"]
    assert_sdk_metadata(output)


def test_sqs_unsupported_parameter_made_by_jsonata_fails_the_task(
    moto_endpoint: str, tmp_path: Path
) -> None:
    # A literal one is refused by `asl validate` (tests/definition/test_validate_integrations.py).
    queue = make_queue(moto_endpoint)
    definition = {
        "QueryLanguage": "JSONata",
        **task_machine(
            "arn:aws:states:::sqs:sendMessage",
            None,
            Arguments="{% {'QueueUrl': '" + queue + "', 'MessageBody': 'hi', 'Delay': 1} %}",
        ),
    }
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.Runtime",
        'The field "Delay" is not supported by Step Functions: sqs:sendMessage passes on '
        "DelaySeconds, MessageAttributes, MessageBody, MessageDeduplicationId, MessageGroupId, "
        "QueueUrl (resource arn:aws:states:::sqs:sendMessage).",
    )
    assert receive(moto_endpoint, queue) == []


def test_sqs_missing_queue_is_caught_by_its_name(moto_endpoint: str, tmp_path: Path) -> None:
    definition = task_machine(
        "arn:aws:states:::sqs:sendMessage",
        {"QueueUrl": f"{moto_endpoint}/123456789012/{unique_name('gone')}", "MessageBody": "x"},
        Catch=[{"ErrorEquals": ["SQS.QueueDoesNotExistException"], "Next": "Caught"}],
    )
    states: Any = definition["States"]
    states["Caught"] = {"Type": "Pass", "End": True}
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert result.status == "SUCCEEDED"
    assert out(result)["Error"] == "SQS.QueueDoesNotExistException"
    assert re.fullmatch(
        r"The specified queue does not exist\. \(Service: AmazonSQS; Status Code: 400; Error "
        r"Code: AWS\.SimpleQueueService\.NonExistentQueue; Request ID: \S+; Proxy: null\)",
        out(result)["Cause"],
    )


def test_sns_publish_reaches_a_subscribed_queue(moto_endpoint: str, tmp_path: Path) -> None:
    topic, queue = topic_to_queue(moto_endpoint)
    definition = task_machine(
        "arn:aws:states:::sns:publish",
        {"TopicArn": topic, "Message": {"status.$": "$.status"}, "Subject": "order"},
    )
    result = asyncio.run(run(moto_endpoint, tmp_path, definition, {"status": "shipped"}))
    assert result.status == "SUCCEEDED", result.cause
    [message] = receive(moto_endpoint, queue)
    assert message["Body"] == '{"status":"shipped"}'
    output: Any = result.output
    assert list(output) == ["MessageId", "SdkHttpMetadata", "SdkResponseMetadata"]
    assert_sdk_metadata_xml(output)


def assert_sdk_metadata_xml(result: dict[str, Any]) -> None:
    http = result["SdkHttpMetadata"]
    assert http["HttpStatusCode"] == 200
    assert http["AllHttpHeaders"] == {k: [v] for k, v in http["HttpHeaders"].items()}
    assert set(result["SdkResponseMetadata"]) == {"RequestId"}


def test_sns_missing_topic_is_caught_by_its_name(moto_endpoint: str, tmp_path: Path) -> None:
    definition = task_machine(
        "arn:aws:states:::sns:publish",
        {"TopicArn": f"arn:aws:sns:us-east-1:123456789012:{unique_name('gone')}", "Message": "x"},
    )
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert (result.status, result.error) == ("FAILED", "SNS.NotFoundException")
    assert result.cause is not None
    # The message is the endpoint's own (moto's: "Endpoint does not exist").
    assert re.fullmatch(
        r".+ \(Service: AmazonSNS; Status Code: 404; Error Code: NotFound; "
        r"Request ID: \S+; Proxy: null\)",
        result.cause,
    ), result.cause


def test_events_put_events_adds_the_execution_to_resources(
    moto_endpoint: str, tmp_path: Path
) -> None:
    events = aws_client("events", moto_endpoint)
    bus = unique_name("bus")
    events.create_event_bus(Name=bus)
    queue = make_queue(moto_endpoint)
    events.put_rule(Name="all", EventBusName=bus, EventPattern='{"source": ["orders"]}')
    events.put_targets(
        Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn(moto_endpoint, queue)}]
    )
    definition = task_machine(
        "arn:aws:states:::events:putEvents",
        {
            "Entries": [
                {
                    "EventBusName": bus,
                    "Source": "orders",
                    "DetailType": "OrderShipped",
                    "Detail": {"id.$": "$.id"},
                    "Resources": ["arn:aws:s3:::bucket"],
                }
            ]
        },
    )
    result = asyncio.run(run(moto_endpoint, tmp_path, definition, {"id": 7}))
    assert result.status == "SUCCEEDED", result.cause
    output: Any = result.output
    assert list(output) == ["FailedEntryCount", "Entries"] or list(output) == [
        "Entries",
        "FailedEntryCount",
    ]
    assert output["FailedEntryCount"] == 0
    [entry] = output["Entries"]
    [message] = receive(moto_endpoint, queue)
    event = json.loads(message["Body"])
    assert event["id"] == entry["EventId"]
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "orders",
        "OrderShipped",
        {"id": 7},
    )
    assert event["resources"] == [
        "arn:aws:s3:::bucket",
        f"{MACHINE}:aws",
        f"{EXECUTION}:aws:e1",
    ]


def test_s3_put_and_get_object(moto_endpoint: str, tmp_path: Path) -> None:
    bucket = unique_name("bucket")
    aws_client("s3", moto_endpoint).create_bucket(Bucket=bucket)
    definition: dict[str, JSON] = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": bucket, "Key": "report.json", "Body.$": "$"},
                "ResultPath": "$.put",
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": bucket, "Key": "report.json"},
                "ResultSelector": {"Body.$": "$.Body", "ContentLength.$": "$.ContentLength"},
                "End": True,
            },
        },
    }
    result = asyncio.run(run(moto_endpoint, tmp_path, definition, {"total": 3}))
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"Body": '{"total":3}', "ContentLength": 11}


def test_lambda_invoke_of_a_function_not_defined_here_calls_the_endpoint(
    moto_endpoint: str, tmp_path: Path
) -> None:
    name = unique_name("remote")
    role = aws_client("iam", moto_endpoint).create_role(
        RoleName=unique_name("role"),
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    aws_client("lambda", moto_endpoint).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"not run: moto answers with the request payload"},
    )
    definition = task_machine(
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": name, "Payload": {"order.$": "$.order"}},
    )
    result = asyncio.run(run(moto_endpoint, tmp_path, definition, {"order": "o-1"}))
    assert result.status == "SUCCEEDED", result.cause
    output: Any = result.output
    assert output["Payload"] == {"order": "o-1"}
    assert output["StatusCode"] == 200
    assert output["SdkHttpMetadata"]["HttpStatusCode"] == 200


def test_dynamodb_missing_required_member(moto_endpoint: str, tmp_path: Path) -> None:
    definition = task_machine("arn:aws:states:::dynamodb:getItem", {"Key": {"id": {"S": "a"}}})
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert (result.status, result.error) == ("FAILED", "DynamoDB.ValidationException")
    assert result.cause is not None
    assert re.fullmatch(
        r"1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
        r"Member must not be null \(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: "
        r"ValidationException; Request ID: [0-9a-f-]{36}; Proxy: null\)",
        result.cause,
    ), result.cause
