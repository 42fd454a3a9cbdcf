"""A Redis stream source on the local server (redis://127.0.0.1:6379/0, skipped when it is
unreachable): executions named by the entry id, an entry left pending by a dead consumer is
claimed again and starts nothing new, failures reach the dead-letter stream."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from engine.service import Service
from engine.sources.redis_streams import RedisStreamSource
from engine.sources.runner import SourceRunner, SourceSettings
from engine.store.memory import MemoryStore
from tests.sources.helpers import MACHINE, ORDERS, executions, reachable

URL = "redis://127.0.0.1:6379/0"
pytestmark = pytest.mark.skipif(
    not reachable("127.0.0.1", 6379), reason="no Redis server at 127.0.0.1:6379"
)


def test_entries_pending_redelivery_and_dead_letters() -> None:
    stream, dead = f"orders-{uuid.uuid4().hex[:8]}", f"orders-dlq-{uuid.uuid4().hex[:8]}"

    async def run() -> tuple[dict[str, str], list[str], list[str], int]:
        from redis.asyncio import Redis

        client = Redis.from_url(URL, decode_responses=True)
        ok = await client.xadd(stream, {"body": json.dumps({"order": 1})})
        bad = await client.xadd(stream, {"body": json.dumps({"order": 2, "fail": True})})
        async with Service(MemoryStore()) as service:
            await service.create_state_machine("orders", ORDERS)

            def source() -> RedisStreamSource:
                # claim_idle_seconds tiny: the pending entries of the "dead" consumer below
                # are taken over at the next read
                return RedisStreamSource(
                    "orders", URL, stream, dead_letter_stream=dead, claim_idle_seconds=0.001
                )

            settings = SourceSettings(MACHINE, batch_size=10, poll_seconds=0.1)
            crashed = SourceRunner(source(), settings, service)
            assert len(await crashed.start_batch(await crashed.receive_batch())) == 2
            await crashed.wait_watched()
            await crashed.aclose()  # no XACK: both entries stay pending
            runner = SourceRunner(source(), settings, service)
            assert await runner.poll_once() == []  # claimed again; both closed: nothing new
            found = await executions(service)
            await runner.aclose()
        pending = await client.xpending(stream, "asl")
        dead_letters = [f["body"] for _id, f in await client.xrange(dead)]
        await client.delete(stream, dead)
        await client.aclose()
        return found, [ok, bad], dead_letters, pending["pending"]

    found, ids, dead_letters, pending = asyncio.run(run())
    assert found == {ids[0]: "SUCCEEDED", ids[1]: "FAILED"}
    assert dead_letters == [json.dumps({"order": 2, "fail": True})]
    assert pending == 0  # acked once the redelivery found them started
