"""RabbitMQ as a queue source (aio-pika, in the `queues` extra).

Owns: fetching up to a batch of messages from a durable queue (basic.get, manual acks), the
message id (the `message_id` property; without one, a digest of the body, so a redelivery of
the same body names the same execution), acks, and publishing a message's body to the
dead-letter queue. Must never: ack a message the runner has not finished with: an unacked
message goes back to the queue when the connection closes (RabbitMQ's redelivery).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.sources.base import Message

if TYPE_CHECKING:
    from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection


class RabbitMqSource:
    def __init__(
        self, name: str, url: str, queue: str, *, dead_letter_queue: str | None = None
    ) -> None:
        self.name = name
        self._url = url
        self._queue_name = queue
        self._dead_letter = dead_letter_queue
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None

    async def _open(self) -> AbstractChannel:
        if self._channel is None or self._channel.is_closed:
            import aio_pika

            self._connection = await aio_pika.connect_robust(self._url)
            self._channel = await self._connection.channel()
        return self._channel

    async def receive(self, max_messages: int, wait_seconds: float) -> list[Message]:
        channel = await self._open()
        queue = await channel.declare_queue(self._queue_name, durable=True)
        found: list[Message] = []
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while len(found) < max_messages:
            incoming = await queue.get(no_ack=False, fail=False)
            if incoming is None:
                if found or asyncio.get_running_loop().time() >= deadline:
                    break
                await asyncio.sleep(
                    min(0.1, max(0.0, deadline - asyncio.get_running_loop().time()))
                )
                continue
            found.append(_message(incoming))
        return found

    async def ack(self, messages: Sequence[Message]) -> None:
        for message in messages:
            incoming: AbstractIncomingMessage = message.handle  # type: ignore[assignment]
            await incoming.ack()

    async def dead_letter(self, message: Message, reason: str) -> None:
        if self._dead_letter is None:
            return
        import aio_pika

        channel = await self._open()
        await channel.declare_queue(self._dead_letter, durable=True)
        incoming: AbstractIncomingMessage = message.handle  # type: ignore[assignment]
        await channel.default_exchange.publish(
            aio_pika.Message(
                message.body.encode(),
                message_id=incoming.message_id,
                content_type="application/json",
                headers={"x-asl-reason": reason[:1000]},
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=self._dead_letter,
        )

    async def aclose(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        self._connection = self._channel = None


def _message(incoming: AbstractIncomingMessage) -> Message:
    body = incoming.body.decode("utf-8", errors="replace")
    message_id = incoming.message_id or "sha256-" + hashlib.sha256(incoming.body).hexdigest()
    return Message(message_id, body, incoming)
