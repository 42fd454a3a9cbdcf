"""A RabbitMQ source on the local broker (amqp://guest:guest@127.0.0.1:5672/, skipped when it
is unreachable): executions named by the message id, a message redelivered after its
consumer's connection closed without an ack starts nothing new, failures reach the
dead-letter queue."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from engine.service import Service
from engine.sources.rabbitmq import RabbitMqSource
from engine.sources.runner import SourceRunner, SourceSettings
from engine.store.memory import MemoryStore
from tests.sources.helpers import MACHINE, ORDERS, executions, reachable

URL = "amqp://guest:guest@127.0.0.1:5672/"
pytestmark = pytest.mark.skipif(
    not reachable("127.0.0.1", 5672), reason="no RabbitMQ broker at 127.0.0.1:5672"
)


async def publish(queue: str, bodies: dict[str, str]) -> None:
    import aio_pika

    connection = await aio_pika.connect_robust(URL)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True)
        for message_id, body in bodies.items():
            await channel.default_exchange.publish(
                aio_pika.Message(body.encode(), message_id=message_id), routing_key=queue
            )


async def drain(queue: str) -> list[str]:
    import aio_pika

    connection = await aio_pika.connect_robust(URL)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True)
        found = []
        while (message := await declared.get(no_ack=True, fail=False)) is not None:
            found.append(message.body.decode())
        await declared.delete(if_unused=False, if_empty=False)
        return sorted(found)


def test_messages_redelivery_and_dead_letters() -> None:
    queue, dead = f"orders-{uuid.uuid4().hex[:8]}", f"orders-dlq-{uuid.uuid4().hex[:8]}"
    bodies = {"m-1": json.dumps({"order": 1}), "m-2": json.dumps({"order": 2, "fail": True})}

    async def run() -> tuple[dict[str, str], list[str], list[str]]:
        await publish(queue, bodies)
        async with Service(MemoryStore()) as service:
            await service.create_state_machine("orders", ORDERS)
            settings = SourceSettings(MACHINE, batch_size=10, poll_seconds=1.0)
            crashed = SourceRunner(
                RabbitMqSource("orders", URL, queue, dead_letter_queue=dead), settings, service
            )
            started = await crashed.start_batch(await crashed.receive_batch())
            assert len(started) == 2
            await crashed.wait_watched()
            await crashed.aclose()  # closed without acking: RabbitMQ delivers both again
            runner = SourceRunner(
                RabbitMqSource("orders", URL, queue, dead_letter_queue=dead), settings, service
            )
            assert await runner.poll_once() == []  # both closed: ExecutionAlreadyExists
            found = await executions(service)
            await runner.aclose()
        return found, await drain(queue), await drain(dead)

    found, left, dead_letters = asyncio.run(run())
    assert found == {"m-1": "SUCCEEDED", "m-2": "FAILED"}
    assert left == []
    # the failed execution's message, dead-lettered once when it ended (the redelivery
    # found the execution closed and started nothing)
    assert dead_letters == [json.dumps({"order": 2, "fail": True})]
