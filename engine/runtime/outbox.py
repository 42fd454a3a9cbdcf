"""Delivery of the outbox's status-change events to the operator's destinations.

Owns: `OutboxDispatcher`, one pump per destination (a webhook, EventBridge), each with its own
cursor in the store; the retry schedule (exponential back-off) and the dead-letter file after
the last attempt. Must never: write an event (the store writes them with the status change),
move a cursor past an event not finished with, or let one execution's failing event hold up
another execution's events.

Theory of operation. A pump reads events after its read mark in `seq` order and queues each
on its execution. Each execution with queued events has one drain task that delivers them one
after another: an event is sent again (after 1 s, 2 s, 4 s, ... by default) until the
destination accepts it or `max_attempts` is spent, then written to the dead-letter file, and
only then does the next event of that execution go. Executions drain concurrently, so a
failing event delays only its own execution's later events. The cursor stored for the
destination is the highest seq below which every event is finished (delivered or
dead-lettered); after a restart the pump starts there, so an event is delivered at least once
(an event finished after the last stored cursor may be sent again: consumers drop repeats by
the event's `id`). One process at a time delivers to a destination: a pump works only while
it holds the destination's lease in the store (renewed every round, LEASE_SECONDS long), so
processes sharing a store never interleave one execution's events; when a holder dies,
another takes over at its stored cursor once the lease lapses. The back-off waits on the
runtime's clock: with a virtual clock no test waits for real.

The store writes events only while some destination is registered (every process reading
the config registers its `[events]` as it opens, engine/service/base.py; a pump registers its
destination before its first lease too): a destination gets every change committed after its
registration, none from before it, as an EventBridge rule gets the events after its creation.
With no destination configured no event is written: a start or close pays nothing for them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from engine.runtime.clock import Clock
from engine.runtime.supervise import Supervisor
from engine.store.base import OutboxEvent, TriggerStore
from engine.values import JSON

_log = logging.getLogger("asl.events")

READ_BATCH: Final = 100  # events per read of the outbox
WINDOW: Final = 1000  # events read and not finished, at most, per destination
POLL_SECONDS: Final = 1.0  # how often a pump looks for new events when nothing wakes it
LEASE_SECONDS: Final = 30.0  # a destination's lease; renewed every round (at most POLL_SECONDS)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a destination is retried (per event)."""

    max_attempts: int = 5
    backoff_seconds: float = 1.0  # before the 2nd attempt; doubled before each next one
    max_backoff_seconds: float = 300.0

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds))


class Destination(Protocol):
    """Where events go. `send` returns None when the destination took the event, else the
    reason it did not (never raises for a delivery failure: the pump retries on a reason)."""

    name: str
    policy: RetryPolicy
    dead_letter: Path

    async def send(self, event: JSON) -> str | None: ...

    async def aclose(self) -> None: ...


StoreCall = Callable[..., Awaitable[object]]
"""`Journal.call`: a store method run on the store's thread."""


class _Pump:
    """One destination's delivery: its queues per execution, drains and cursor."""

    def __init__(
        self,
        destination: Destination,
        store: TriggerStore,
        call: StoreCall,
        clock: Clock,
        owner: str,
    ) -> None:
        self.destination = destination
        self._owner = owner
        self._store = store
        self._call = call
        self._clock = clock
        self.cursor: int | None = None  # as stored; None until loaded
        self.registered = False  # the store writes this destination's events (`register`)
        self._read_mark = 0
        self._outstanding: set[int] = set()
        self._queues: dict[str, collections.deque[OutboxEvent]] = {}
        self._drains: dict[str, asyncio.Task[None]] = {}
        self.delivered = 0
        self.dead_lettered = 0

    async def hold(self) -> bool:
        """Take or renew this process's lease on the destination. Without it, drop what was
        read (the holder delivers it) and start again from the stored cursor when it comes."""
        if not self.registered:
            await self._call(self._store.register_destination, self.destination.name)
            self.registered = True
        held = await self._call(
            self._store.lease_destination,
            self.destination.name,
            self._owner,
            time.time(),  # leases are between processes: wall time, not the runtime's clock
            LEASE_SECONDS,
        )
        if not held and self.cursor is not None:
            await self.cancel()
            self._queues.clear()
            self._outstanding.clear()
            self.cursor = None
        return bool(held)

    async def release(self) -> None:
        """Give the lease up (a clean stop): another process takes over at once."""
        if self.cursor is None:
            return
        with contextlib.suppress(Exception):  # a store that fails now: the lease lapses
            await self._call(
                self._store.lease_destination, self.destination.name, self._owner, time.time(), -1
            )
        self.cursor = None

    async def _load(self) -> None:
        if self.cursor is None:
            found = await self._call(self._store.outbox_cursor, self.destination.name)
            assert isinstance(found, int)
            self.cursor = self._read_mark = found

    async def read(self) -> int:
        """Queue the next events and start the drains they need; how many were read."""
        await self._load()
        room = WINDOW - len(self._outstanding)
        if room <= 0:
            return 0
        found = await self._call(self._store.outbox_after, self._read_mark, min(READ_BATCH, room))
        assert isinstance(found, list)
        for event in found:
            self._queues.setdefault(event.execution_arn, collections.deque()).append(event)
            self._outstanding.add(event.seq)
            self._read_mark = event.seq
        for arn in self._queues:
            if arn not in self._drains:
                self._drains[arn] = asyncio.get_running_loop().create_task(self._drain(arn))
        return len(found)

    @property
    def busy(self) -> list[asyncio.Task[None]]:
        return list(self._drains.values())

    async def _drain(self, arn: str) -> None:
        queue = self._queues[arn]
        try:
            while queue:
                event = queue[0]
                await self._deliver(event)
                queue.popleft()
                self._outstanding.discard(event.seq)
        finally:
            # no await between the loop's last check and here: nothing was queued meanwhile
            del self._drains[arn]
            if not queue:
                del self._queues[arn]

    async def _deliver(self, event: OutboxEvent) -> None:
        policy = self.destination.policy
        reason = "not attempted"
        for attempt in range(1, policy.max_attempts + 1):
            failed = await self._send(event)
            if failed is None:
                self.delivered += 1
                return
            reason = failed
            if attempt < policy.max_attempts:
                await self._clock.sleep_until(self._clock.now() + policy.delay(attempt))
        self._dead_letter(event, policy.max_attempts, reason)

    async def _send(self, event: OutboxEvent) -> str | None:
        try:
            return await self.destination.send(event.event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a destination's edge: a bug there is one failed attempt
            _log.exception("destination %s failed on an event", self.destination.name)
            return f"{type(exc).__name__}: {exc}"

    def _dead_letter(self, event: OutboxEvent, attempts: int, reason: str) -> None:
        """Append the event to the destination's dead-letter file (JSON lines)."""
        line = {
            "destination": self.destination.name,
            "seq": event.seq,
            "attempts": attempts,
            "reason": reason,
            "event": event.event,
        }
        path = self.destination.dead_letter
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.dead_lettered += 1
        _log.warning(
            "event %s of %s to %s dead-lettered after %d attempts: %s",
            event.event.get("id") if isinstance(event.event, dict) else event.seq,
            event.execution_arn,
            self.destination.name,
            attempts,
            reason,
        )

    async def advance(self) -> None:
        """Store the cursor: every event up to it is finished."""
        assert self.cursor is not None
        done_through = min(self._outstanding) - 1 if self._outstanding else self._read_mark
        if done_through > self.cursor:
            await self._call(self._store.set_outbox_cursor, self.destination.name, done_through)
            self.cursor = done_through

    async def cancel(self) -> None:
        drains = self.busy
        for task in drains:
            task.cancel()
        for task in drains:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class OutboxDispatcher:
    """Delivers status-change events to every destination, at least once (module docstring)."""

    def __init__(
        self,
        store: TriggerStore,
        destinations: Sequence[Destination],
        *,
        call: StoreCall,
        clock: Clock,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pumps = [_Pump(d, store, call, clock, owner) for d in destinations]
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.supervisor = Supervisor("the event dispatcher", _log)

    @property
    def started(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        """Run a pump per destination in the background (nothing without destinations)."""
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run(pump)) for pump in self.pumps]

    def poke(self) -> None:
        """New events may be in the outbox: look now rather than at the next poll."""
        self._wake.set()

    async def deliver_pending(self) -> None:
        """Deliver (or dead-letter) every event in the outbox now, and store the cursors:
        for tests and `--until-idle`, instead of the background loop."""
        for pump in self.pumps:
            if not await pump.hold():
                continue  # another process delivers to this destination
            while True:
                read = await pump.read()
                if pump.busy:
                    await asyncio.wait(pump.busy, return_when=asyncio.FIRST_COMPLETED)
                await pump.advance()
                if not read and not pump.busy:
                    break

    async def _run(self, pump: _Pump) -> None:
        while True:
            try:
                held = await pump.hold()
                read = await pump.read() if held else 0
                if pump.busy:
                    await asyncio.wait(
                        pump.busy,
                        timeout=0 if read else self._poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                await pump.advance()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # supervised loop edge: the store failed; back off
                await asyncio.sleep(self.supervisor.failed(exc))
                continue
            self.supervisor.succeeded()
            if not read and not pump.busy:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_seconds):
                        await self._wake.wait()

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for pump in self.pumps:
            await pump.cancel()
            await pump.release()
            await pump.destination.aclose()
        self._tasks = []
