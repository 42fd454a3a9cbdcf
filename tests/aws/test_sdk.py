"""`arn:aws:states:::aws-sdk:<service>:<action>` against moto's server: requests checked
against botocore's model, results with the Java SDK's member names, errors named
`<Service>.<Exception>` as Step Functions names them; and `.waitForTaskToken` over SQS."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from engine.embedded import Engine
from engine.interpreter.messages import TaskCallback
from engine.interpreter.tasks import TaskSuccess
from engine.values import JSON
from tests.aws.helpers import (
    EXECUTION,
    MACHINE,
    aws_config,
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

SDK = "arn:aws:states:::aws-sdk:"


def caught(definition: dict[str, JSON], errors: list[str]) -> dict[str, JSON]:
    """`definition` with a Catch on `errors` at its one Task, to a Pass that ends."""
    states = definition["States"]
    assert isinstance(states, dict)
    call = states["Call"]
    assert isinstance(call, dict)
    call["Catch"] = [{"ErrorEquals": list[JSON](errors), "Next": "Caught"}]
    states["Caught"] = {"Type": "Pass", "End": True}
    return definition


def test_dynamodb_put_and_get_item(moto_endpoint: str, tmp_path: Path) -> None:
    table = make_table(moto_endpoint)
    definition: dict[str, JSON] = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": f"{SDK}dynamodb:putItem",
                "Parameters": {
                    "TableName": table,
                    "Item": {"id": {"S": "k"}, "ok": {"BOOL": True}},
                },
                "ResultPath": "$.put",
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": f"{SDK}dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"id": {"S": "k"}}},
                "ResultPath": "$.get",
                "End": True,
            },
        },
    }
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert result.status == "SUCCEEDED", result.cause
    # Recorded (test_aws_sdk_task_service/test_dynamodb_put_get_item): putItem gives {}, no
    # SdkHttpMetadata; attribute values keep DynamoDB's own keys.
    assert result.output == {"put": {}, "get": {"Item": {"id": {"S": "k"}, "ok": {"BOOL": True}}}}
    events: Any = result.as_json(history=True)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        *["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited"]
        * 2,
        "ExecutionSucceeded",
    ]
    scheduled = events[2]["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"], scheduled["region"]) == (
        "aws-sdk:dynamodb",
        "putItem",
        "us-east-1",
    )
    assert events[4]["taskSucceededEventDetails"]["output"] == "{}"


def test_dynamodb_missing_table(moto_endpoint: str, tmp_path: Path) -> None:
    definition = task_machine(
        f"{SDK}dynamodb:getItem", {"TableName": unique_name("gone"), "Key": {"id": {"S": "k"}}}
    )
    result = asyncio.run(
        run(moto_endpoint, tmp_path, caught(definition, ["DynamoDb.ResourceNotFoundException"]))
    )
    assert result.status == "SUCCEEDED"
    assert out(result)["Error"] == "DynamoDb.ResourceNotFoundException"
    assert re.fullmatch(
        r"Requested resource not found \(Service: DynamoDb, Status Code: 400, Request ID: \S+\)",
        out(result)["Cause"],
    ), out(result)["Cause"]


def test_dynamodb_missing_required_member(moto_endpoint: str, tmp_path: Path) -> None:
    definition = task_machine(f"{SDK}dynamodb:getItem", {"Key": {"id": {"S": "k"}}})
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert (result.status, result.error) == ("FAILED", "DynamoDb.DynamoDbException")
    assert result.cause is not None
    assert re.fullmatch(
        r"1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
        r"Member must not be null \(Service: DynamoDb, Status Code: 400, "
        r"Request ID: [0-9a-f-]{36}\)",
        result.cause,
    ), result.cause


def test_sqs_send_message_names_members_as_the_java_sdk(moto_endpoint: str, tmp_path: Path) -> None:
    queue = make_queue(moto_endpoint)
    definition = task_machine(f"{SDK}sqs:sendMessage", {"QueueUrl": queue, "MessageBody": "hello"})
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert result.status == "SUCCEEDED", result.cause
    [message] = receive(moto_endpoint, queue)
    assert result.output == {"Md5OfMessageBody": md5("hello"), "MessageId": message["MessageId"]}


def test_sqs_missing_queue_is_caught(moto_endpoint: str, tmp_path: Path) -> None:
    definition = task_machine(
        f"{SDK}sqs:sendMessage",
        {"QueueUrl": f"{moto_endpoint}/123456789012/{unique_name('gone')}", "MessageBody": "x"},
    )
    result = asyncio.run(
        run(moto_endpoint, tmp_path, caught(definition, ["Sqs.QueueDoesNotExistException"]))
    )
    assert result.status == "SUCCEEDED"
    assert out(result)["Error"] == "Sqs.QueueDoesNotExistException"
    assert re.fullmatch(
        r"The specified queue does not exist\. \(Service: Sqs, Status Code: 400, "
        r"Request ID: \S+\)",
        out(result)["Cause"],
    )


def test_sns_publish_and_a_missing_topic(moto_endpoint: str, tmp_path: Path) -> None:
    topic, queue = topic_to_queue(moto_endpoint)
    definition = task_machine(f"{SDK}sns:publish", {"TopicArn.$": "$.topic", "Message": "hi"})
    result = asyncio.run(run(moto_endpoint, tmp_path, definition, {"topic": topic}))
    assert result.status == "SUCCEEDED", result.cause
    [message] = receive(moto_endpoint, queue)
    assert message["Body"] == "hi"
    assert list(out(result)) == ["MessageId"]

    gone = f"arn:aws:sns:us-east-1:123456789012:{unique_name('gone')}"
    result = asyncio.run(run(moto_endpoint, tmp_path, definition, {"topic": gone}))
    assert (result.status, result.error) == ("FAILED", "Sns.NotFoundException")


def test_s3_put_get_and_no_such_key(moto_endpoint: str, tmp_path: Path) -> None:
    bucket = unique_name("bucket")
    aws_client("s3", moto_endpoint).create_bucket(Bucket=bucket)
    definition: dict[str, JSON] = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": f"{SDK}s3:putObject",
                "Parameters": {"Bucket": bucket, "Key": "a.txt", "Body": "plain text"},
                "ResultPath": "$.put",
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": f"{SDK}s3:getObject",
                "Parameters": {"Bucket": bucket, "Key": "a.txt"},
                "ResultPath": "$.get",
                "Next": "Missing",
            },
            "Missing": {
                "Type": "Task",
                "Resource": f"{SDK}s3:getObject",
                "Parameters": {"Bucket": bucket, "Key": "missing.txt"},
                "Catch": [
                    {
                        "ErrorEquals": ["S3.NoSuchKeyException"],
                        "ResultPath": "$.missing",
                        "Next": "Done",
                    }
                ],
                "ResultPath": "$.missing",
                "End": True,
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert result.status == "SUCCEEDED", result.cause
    output: Any = result.output
    etag = '"' + md5("plain text") + '"'
    assert output["put"]["ETag"] == etag
    got = output["get"]
    assert (got["Body"], got["ETag"], got["ContentLength"]) == ("plain text", etag, 10)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", got["LastModified"])
    assert output["missing"]["Error"] == "S3.NoSuchKeyException"
    assert re.fullmatch(
        r"The specified key does not exist\. \(Service: S3, Status Code: 404, "
        r"Request ID: \S+(, Extended Request ID: \S+)?\)",  # moto sends no x-amz-id-2
        output["missing"]["Cause"],
    ), output["missing"]["Cause"]


def test_eventbridge_put_events(moto_endpoint: str, tmp_path: Path) -> None:
    events = aws_client("events", moto_endpoint)
    bus = unique_name("bus")
    events.create_event_bus(Name=bus)
    queue = make_queue(moto_endpoint)
    events.put_rule(Name="all", EventBusName=bus, EventPattern='{"source": ["billing"]}')
    events.put_targets(
        Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn(moto_endpoint, queue)}]
    )
    entry: JSON = {
        "EventBusName": bus,
        "Source": "billing",
        "DetailType": "Paid",
        "Detail": '{"n":1}',
    }
    definition = task_machine(f"{SDK}eventbridge:putEvents", {"Entries": [entry]})
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert result.status == "SUCCEEDED", result.cause
    [message] = receive(moto_endpoint, queue)
    event = json.loads(message["Body"])
    # aws-sdk passes the request as written: no execution ARNs added to Resources.
    assert (event["detail"], event["resources"]) == ({"n": 1}, [])
    assert result.output == {"Entries": [{"EventId": event["id"]}], "FailedEntryCount": 0}


def test_unknown_member_made_by_jsonata_fails_the_task(moto_endpoint: str, tmp_path: Path) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        **task_machine(f"{SDK}sqs:listQueues", None, Arguments="{% {'Prefix': 'x'} %}"),
    }
    result = asyncio.run(run(moto_endpoint, tmp_path, definition))
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.Runtime",
        'The field "Prefix" is not supported by Step Functions: ListQueues has no such request '
        "member (resource arn:aws:states:::aws-sdk:sqs:listQueues).",
    )


def test_sqs_wait_for_task_token(moto_endpoint: str, tmp_path: Path) -> None:
    """The message carries the token; the Task waits until SendTaskSuccess answers it."""
    queue = make_queue(moto_endpoint)
    definition = task_machine(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
    )

    async def scenario() -> tuple[str, JSON, JSON]:
        engine = Engine.for_testing(config=aws_config(tmp_path, moto_endpoint))
        try:
            machine = engine.load(json.dumps(definition), name="aws")
            arn = engine.start(machine, {"order": "o-9"}, name="e1")
            messages: list[dict[str, str]] = []
            while not messages:  # the Task sends the message on the loop's worker thread
                messages = await asyncio.to_thread(receive, moto_endpoint, queue)
            body = json.loads(messages[0]["Body"])
            answer = TaskSuccess({"approved": body["order"]})
            engine.runtime.send(arn, TaskCallback(body["token"], answer, engine.clock.now()))
            result = await engine.result(arn)
            return result.status, result.output, body["order"]
        finally:
            await engine.aclose()

    assert asyncio.run(scenario()) == ("SUCCEEDED", {"approved": "o-9"}, "o-9")


def test_machine_and_execution_arns_of_the_run(moto_endpoint: str, tmp_path: Path) -> None:
    # What the EventBridge tests rely on: the names `run` gives the machine and execution.
    assert (f"{MACHINE}:aws", f"{EXECUTION}:aws:e1") == (
        "arn:aws:states:us-east-1:111111111111:stateMachine:aws",
        "arn:aws:states:us-east-1:111111111111:execution:aws:e1",
    )
