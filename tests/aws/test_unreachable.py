"""An endpoint that refuses connections, and one that never answers: the Task fails with the
Java SDK's client error, or with States.Timeout at its TimeoutSeconds (the call's thread is
abandoned, the loop never waits on it)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.embedded import Engine, ExecutionResult
from engine.values import JSON
from tests.aws.helpers import aws_config, task_machine


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: connecting to it is refused


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A socket that listens (the kernel completes connections) but never reads or answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


async def run_real_time(config: Path, definition: dict[str, JSON]) -> ExecutionResult:
    engine = Engine(config=config)
    try:
        return await engine.run(engine.load(json.dumps(definition), name="unreachable"), {})
    finally:
        await engine.aclose()


@pytest.mark.parametrize(
    ("resource", "parameters", "error"),
    [
        ("arn:aws:states:::aws-sdk:sqs:listQueues", {}, "Sqs.SdkClientException"),
        (
            "arn:aws:states:::dynamodb:getItem",
            {"TableName": "t", "Key": {"id": {"S": "a"}}},
            "DynamoDB.SdkClientException",
        ),
    ],
    ids=["aws-sdk", "optimized"],
)
def test_a_refused_connection(
    closed_port: int, tmp_path: Path, resource: str, parameters: JSON, error: str
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    config = aws_config(tmp_path, endpoint)
    result = asyncio.run(run_real_time(config, task_machine(resource, parameters)))
    assert (result.status, result.error) == ("FAILED", error)
    assert result.cause is not None
    assert result.cause.startswith(
        f'Unable to execute HTTP request: Could not connect to the endpoint URL: "{endpoint}/'
    ), result.cause


def test_timeout_seconds_ends_a_call_that_never_answers(
    silent_endpoint: str, tmp_path: Path
) -> None:
    definition = task_machine("arn:aws:states:::aws-sdk:sqs:listQueues", {}, TimeoutSeconds=1)
    result = asyncio.run(run_real_time(aws_config(tmp_path, silent_endpoint), definition))
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
