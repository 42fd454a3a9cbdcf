"""An SQS source through moto's server: one execution per message named by its id, the ack
after the start, a redelivered message starting nothing new, and dead letters (a body that is
no input at once; a failed execution's message when it ends)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from engine.backends.aws_endpoints import AwsSettings
from engine.service import Service
from engine.sources.runner import SourceRunner, SourceSettings
from engine.sources.sqs import SqsSource
from engine.store.memory import MemoryStore
from tests.aws_server import REGION, aws_client, unique_name
from tests.sources.helpers import MACHINE, ORDERS, executions


def settings(endpoint: str) -> AwsSettings:
    return AwsSettings(
        endpoint_url=endpoint,
        region=REGION,
        configured=True,
        environ={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )


def queues(endpoint: str) -> tuple[Any, str, str]:
    sqs = aws_client("sqs", endpoint)
    main = sqs.create_queue(QueueName=unique_name("orders"))["QueueUrl"]
    dead = sqs.create_queue(QueueName=unique_name("orders-dlq"))["QueueUrl"]
    return sqs, main, dead


def drain(sqs: Any, url: str) -> list[str]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return sorted(m["Body"] for m in got.get("Messages", []))


def test_messages_start_executions_and_failures_reach_the_dead_letter_queue(
    moto_endpoint: str,
) -> None:
    sqs, main, dead = queues(moto_endpoint)
    ids = {
        body: sqs.send_message(QueueUrl=main, MessageBody=body)["MessageId"]
        for body in ('{"order": 1}', '{"order": 2, "fail": true}', "not json")
    }

    async def run() -> dict[str, str]:
        async with Service(MemoryStore()) as service:
            await service.create_state_machine("orders", ORDERS)
            source = SqsSource("orders", settings(moto_endpoint), main, dead_letter_queue_url=dead)
            runner = SourceRunner(source, SourceSettings(MACHINE, batch_size=10), service)
            arns = await runner.poll_once()
            assert len(arns) == 2
            await runner.wait_watched()
            found = await executions(service)
            await runner.aclose()
            return found

    assert asyncio.run(run()) == {
        ids['{"order": 1}']: "SUCCEEDED",
        ids['{"order": 2, "fail": true}']: "FAILED",
    }
    assert drain(sqs, main) == []  # every message acked
    assert drain(sqs, dead) == ["not json", '{"order": 2, "fail": true}']


def test_a_redelivered_message_starts_no_second_execution(moto_endpoint: str) -> None:
    sqs, main, dead = queues(moto_endpoint)
    message_id = sqs.send_message(QueueUrl=main, MessageBody=json.dumps({"order": 3}))["MessageId"]

    async def run() -> dict[str, str]:
        async with Service(MemoryStore()) as service:
            await service.create_state_machine("orders", ORDERS)
            # visibility 0: a message not acked is visible again at once (a lost ack)
            source = SqsSource(
                "orders",
                settings(moto_endpoint),
                main,
                dead_letter_queue_url=dead,
                visibility_timeout=0,
            )
            runner = SourceRunner(source, SourceSettings(MACHINE), service)
            first = await runner.start_batch(await runner.receive_batch())  # no ack: "crash"
            again = await runner.poll_once()  # delivered again, started nothing new, acked
            assert len(first) == 1
            # the same execution while it runs; nothing (ExecutionAlreadyExists) once closed
            assert again in ([], first)
            await runner.wait_watched()
            found = await executions(service)
            await runner.aclose()
            return found

    assert asyncio.run(run()) == {message_id: "SUCCEEDED"}
    assert drain(sqs, main) == []
    assert drain(sqs, dead) == []
