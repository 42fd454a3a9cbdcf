"""Redis streams as a queue source (redis-py, in the `queues` extra), with a consumer group.

Owns: reading new entries (XREADGROUP), taking over entries another consumer left pending
longer than `claim_idle_seconds` (XAUTOCLAIM: Redis's redelivery), XACK as the ack, and XADD of
an entry to the dead-letter stream. An entry's id (`1700000000000-0`) is the message id; its
`body` field the input (without one, its fields as a JSON object). Must never: ack an entry
the runner has not finished with.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.sources.base import Message

if TYPE_CHECKING:
    from redis.asyncio import Redis


class RedisStreamSource:
    def __init__(
        self,
        name: str,
        url: str,
        stream: str,
        *,
        group: str = "asl",
        dead_letter_stream: str | None = None,
        claim_idle_seconds: float = 60.0,
    ) -> None:
        self.name = name
        self._url = url
        self._stream = stream
        self._group = group
        self._dead_letter = dead_letter_stream
        self._claim_idle_ms = int(claim_idle_seconds * 1000)
        self._consumer = f"{socket.gethostname()}-{os.getpid()}"
        self._client: Redis | None = None

    async def _open(self) -> Redis:
        if self._client is None:
            from redis.asyncio import Redis
            from redis.exceptions import ResponseError

            client = Redis.from_url(self._url, decode_responses=True)
            try:
                await client.xgroup_create(self._stream, self._group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):  # the group exists: fine
                    raise
            self._client = client
        return self._client

    async def receive(self, max_messages: int, wait_seconds: float) -> list[Message]:
        client = await self._open()
        # entries another consumer (a dead worker) left pending: Redis's redelivery
        claimed = await client.xautoclaim(
            self._stream, self._group, self._consumer, self._claim_idle_ms, count=max_messages
        )
        entries = list(claimed[1])
        if len(entries) < max_messages:
            read = await client.xreadgroup(
                self._group,
                self._consumer,
                {self._stream: ">"},
                count=max_messages - len(entries),
                block=max(1, int(wait_seconds * 1000)) if not entries else None,
            )
            for _stream, found in read or []:  # type: ignore[str-unpack]  # [[name, entries]]
                entries.extend(found)  # type: ignore[arg-type]
        return [_message(entry_id, fields) for entry_id, fields in entries if fields]

    async def ack(self, messages: Sequence[Message]) -> None:
        if messages:
            client = await self._open()
            await client.xack(self._stream, self._group, *[m.id for m in messages])

    async def dead_letter(self, message: Message, reason: str) -> None:
        if self._dead_letter is None:
            return
        client = await self._open()
        fields = {"body": message.body, "id": message.id, "reason": reason[:1000]}
        await client.xadd(self._dead_letter, fields)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _message(entry_id: str, fields: dict[str, str]) -> Message:
    body = fields["body"] if "body" in fields else json.dumps(fields)
    return Message(entry_id, body, None)
