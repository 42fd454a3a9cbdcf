"""Who answers an integration once an AWS endpoint is configured: `[resources]` stand-ins and
local functions first, then the endpoint; and real AWS refused unless allowed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from engine.embedded import Engine, ExecutionResult
from engine.values import JSON
from tests.aws.helpers import aws_config, make_queue, out, receive, task_machine

calls: list[JSON] = []


def fake_queue(event: JSON, context: object) -> JSON:
    calls.append(event)
    return {"MessageId": "stand-in"}


def greet(event: dict[str, str], context: object) -> dict[str, str]:
    return {"hello": event["name"]}


async def run_with(config: Path, definition: dict[str, JSON], data: JSON = None) -> ExecutionResult:
    engine = Engine.for_testing(config=config, functions={"fake_queue": fake_queue, "greet": greet})
    try:
        machine = engine.load(json.dumps(definition), name="routing")
        return await engine.run(machine, data or {})
    finally:
        await engine.aclose()


def test_a_resources_stand_in_wins_over_the_endpoint(moto_endpoint: str, tmp_path: Path) -> None:
    queue = make_queue(moto_endpoint)
    config = aws_config(
        tmp_path,
        moto_endpoint,
        '[resources]\n"arn:aws:states:::sqs:sendMessage" = "fake_queue"\n',
    )
    definition = task_machine(
        "arn:aws:states:::sqs:sendMessage", {"QueueUrl": queue, "MessageBody": "b"}
    )
    calls.clear()
    result = asyncio.run(run_with(config, definition))
    assert (result.status, result.output) == ("SUCCEEDED", {"MessageId": "stand-in"})
    assert calls == [{"QueueUrl": queue, "MessageBody": "b"}]
    assert receive(moto_endpoint, queue) == []


def test_a_local_function_wins_over_the_lambda_endpoint(moto_endpoint: str, tmp_path: Path) -> None:
    config = aws_config(tmp_path, moto_endpoint)
    other_account = "arn:aws:lambda:eu-west-1:222222222222:function:greet"
    definition = task_machine(
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": other_account, "Payload": {"name": "Ada"}},
        ResultSelector={"Payload.$": "$.Payload"},
    )
    result = asyncio.run(run_with(config, definition))
    assert (result.status, result.output) == ("SUCCEEDED", {"Payload": {"hello": "Ada"}})
    legacy = task_machine(other_account, None)
    result = asyncio.run(run_with(config, legacy, {"name": "Bo"}))
    assert (result.status, result.output) == ("SUCCEEDED", {"hello": "Bo"})


def test_without_an_endpoint_real_aws_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "asl.toml"
    config.write_text('[aws]\nregion = "eu-west-1"\n')
    definition = task_machine(
        "arn:aws:states:::aws-sdk:dynamodb:getItem", {"TableName": "t", "Key": {}}
    )
    result = asyncio.run(run_with(config, definition))
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert out(result) is None
    assert result.cause == (
        "Calling AWS service 'dynamodb' is refused: no endpoint is configured for 'dynamodb'. "
        "Point it at a local endpoint ([aws.endpoints] dynamodb = URL or [aws] endpoint_url in "
        "asl.toml, or AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL), or set [aws] "
        "allow_real_aws = true to call real AWS with your credentials (docs/integrations.md)."
    )


def test_an_integration_this_engine_does_not_call_stays_unserved(
    moto_endpoint: str, tmp_path: Path
) -> None:
    definition = task_machine("arn:aws:states:::glue:startJobRun.sync", {"JobName": "j"})
    result = asyncio.run(run_with(aws_config(tmp_path, moto_endpoint), definition))
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause is not None
    assert result.cause.startswith(
        "No backend serves resource 'arn:aws:states:::glue:startJobRun.sync'. Map it to a "
        "function in asl.toml"
    )
