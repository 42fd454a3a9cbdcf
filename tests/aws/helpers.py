"""What the AWS integration tests share: an engine whose `[aws]` points at moto's server, a
one-state machine around a Task, and resources created on moto with unique names."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from engine.embedded import Engine, ExecutionResult
from engine.values import JSON
from tests.aws_server import aws_client, unique_name

EXECUTION = "arn:aws:states:us-east-1:111111111111:execution"
MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine"


def aws_config(folder: Path, endpoint: str, extra: str = "") -> Path:
    path = folder / "asl.toml"
    path.write_text(f'[aws]\nendpoint_url = "{endpoint}"\nregion = "us-east-1"\n{extra}')
    return path


def task_machine(resource: str, parameters: JSON, **fields: JSON) -> dict[str, JSON]:
    """One Task calling `resource`, its result the execution's output."""
    state: dict[str, JSON] = {"Type": "Task", "Resource": resource, "End": True}
    if parameters is not None:
        state["Parameters"] = parameters
    state.update(fields)
    return {"StartAt": "Call", "States": {"Call": state}}


async def run(
    endpoint: str, folder: Path, definition: dict[str, JSON], execution_input: JSON = None
) -> ExecutionResult:
    engine = Engine.for_testing(config=aws_config(folder, endpoint))
    try:
        machine = engine.load(json.dumps(definition), name="aws")
        return await engine.run(machine, execution_input or {}, name="e1")
    finally:
        await engine.aclose()


def out(result: ExecutionResult) -> Any:
    """The output of `result`, to index into without narrowing its JSON type at each step."""
    return result.output


def make_table(endpoint: str) -> str:
    name = unique_name("table")
    aws_client("dynamodb", endpoint).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def make_queue(endpoint: str) -> str:
    url: str = aws_client("sqs", endpoint).create_queue(QueueName=unique_name("queue"))["QueueUrl"]
    return url


def queue_arn(endpoint: str, url: str) -> str:
    attributes = aws_client("sqs", endpoint).get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"]
    )
    arn: str = attributes["Attributes"]["QueueArn"]
    return arn


def topic_to_queue(endpoint: str) -> tuple[str, str]:
    """A new SNS topic delivering raw messages to a new SQS queue: (topic ARN, queue URL)."""
    topic: str = aws_client("sns", endpoint).create_topic(Name=unique_name("topic"))["TopicArn"]
    queue = make_queue(endpoint)
    aws_client("sns", endpoint).subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn(endpoint, queue),
        Attributes={"RawMessageDelivery": "true"},
    )
    return topic, queue


def receive(endpoint: str, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (
        aws_client("sqs", endpoint)
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        .get("Messages", [])
    )
    return messages


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()
