"""Shared fixtures of the service tests: a Service per test, clocks, machines, token catchers.

Each test runs one `Service` in worker mode over a fresh store, inside `asyncio.run`, on a
`VirtualClock` (a Wait finishes at once) or, where time must stand still until the test moves
it (heartbeats, stopping a waiting execution), on a `ManualClock`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TypeVar

from engine.runtime.clock import Clock, VirtualClock
from engine.service import Service, ServiceConfig
from engine.store.base import ExecutionRecord, MachineRecord, Store, StoredEvent, StoreError
from engine.store.memory import MemoryStore
from engine.values import JSON

T = TypeVar("T")
T0 = 1_700_000_000.0
PREFIX = "arn:aws:states:us-east-1:111111111111"
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
DEFAULT_ROLE = "arn:aws:iam::111111111111:role/asl-engine"
# A hang guard only: a 600-child Map on SQLite took 7-8 s on a loaded machine.
BOUND_SECONDS = 60.0


def machine_arn(name: str) -> str:
    return f"{PREFIX}:stateMachine:{name}"


def execution_arn(machine: str, name: str) -> str:
    return f"{PREFIX}:execution:{machine}:{name}"


def text(definition: Mapping[str, JSON]) -> str:
    return json.dumps(definition)


def pass_machine(result: JSON = None) -> str:
    state: dict[str, JSON] = {"Type": "Pass", "End": True}
    if result is not None:
        state["Result"] = result
    return text({"StartAt": "P", "States": {"P": state}})


def callback_state(function: str = "remember", **fields: JSON) -> dict[str, JSON]:
    """A Lambda `.waitForTaskToken` Task that hands its token to `function`."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": function, "Payload": {"token.$": "$$.Task.Token"}},
        **fields,
    }


def callback_machine(after: JSON = "done") -> str:
    """Ask (wait for a token) -> After (a Pass whose Result tells the revision apart)."""
    return text(
        {
            "StartAt": "Ask",
            "States": {
                "Ask": callback_state(Next="After"),
                "After": {"Type": "Pass", "Result": after, "End": True},
            },
        }
    )


# {"ok": true} succeeds, anything else fails: two outcomes for the status filter
VERDICT = text(
    {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Yes"}],
                "Default": "No",
            },
            "Yes": {"Type": "Succeed"},
            "No": {"Type": "Fail", "Error": "Rejected", "Cause": "not ok"},
        },
    }
)
StoreFactory = Callable[[], Store]
"""Opens a fresh store (the `make_store` fixture: one per store kind)."""

WAIT_HOUR = text(
    {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}
)


class ManualClock:
    """A clock that stands still until the test moves it, and never jumps by itself.

    `virtual` is False so the runtime does not jump it to the next timer; a timer therefore
    fires only after the test advanced the clock past it and something woke the runtime.
    """

    virtual = False

    def __init__(self, start: float = T0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    async def sleep_until(self, deadline: float) -> None:
        self.advance_to(deadline)

    def advance_to(self, deadline: float) -> None:
        self._now = max(self._now, deadline)


class Tokens:
    """The `remember` Lambda function: hands every task token it receives to the test."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    async def remember(self, event: dict[str, str], context: object) -> dict[str, str]:
        self.queue.put_nowait(event["token"])
        return {}

    async def next(self) -> str:
        return await asyncio.wait_for(self.queue.get(), BOUND_SECONDS)


async def truth(value: bool) -> bool:
    """A value as a condition for `until`: `until(lambda: truth(x is not None))`."""
    return value


DOWN = "the store is unavailable: database is locked"


class Unreachable:
    """A real store whose claims, lease renewals and machine look-ups (the health probe) fail
    while `down`: as a SQLite file locked by another process, or a PostgreSQL connection
    killed. Everything else is the real store's."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.down = False
        self.refused = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def _check(self) -> None:
        if self.down:
            self.refused += 1
            raise StoreError(DOWN)

    def claim(
        self, worker_id: str, host: str, pid: int, now: float, lease_seconds: float, limit: int
    ) -> list[ExecutionRecord]:
        self._check()
        return self._store.claim(worker_id, host, pid, now, lease_seconds, limit)

    def find_machine(self, name: str) -> MachineRecord | None:
        self._check()
        return self._store.find_machine(name)

    def renew(self, worker_id: str, arns: list[str], now: float, lease_seconds: float) -> None:
        self._check()
        self._store.renew(worker_id, arns, now, lease_seconds)

    def renew_held(
        self, worker_id: str, lapsing: list[str], now: float, lease_seconds: float
    ) -> None:
        self._check()
        self._store.renew_held(worker_id, lapsing, now, lease_seconds)


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll `condition` until it holds (bounded: fails the test after BOUND_SECONDS)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND_SECONDS
    while not await condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def run(
    main: Callable[[Service], Awaitable[T]],
    *,
    store: Store | None = None,
    functions: Mapping[str, Callable[..., object]] | None = None,
    clock: Clock | None = None,
    config: ServiceConfig | None = None,
) -> T:
    """Run `main` with a worker-mode Service (a fresh MemoryStore unless one is given)."""

    async def wrapped() -> T:
        async with Service(
            store if store is not None else MemoryStore(),
            functions=functions,
            clock=clock if clock is not None else VirtualClock(T0),
            config=config if config is not None else ServiceConfig(poll_seconds=0.01),
        ) as service:
            return await main(service)

    return asyncio.run(wrapped())


async def finish(service: Service, arn: str) -> ExecutionRecord:
    """`service.wait_for(arn)`, bounded: a test that would hang fails instead."""
    return await asyncio.wait_for(service.wait_for(arn), BOUND_SECONDS)


def public(record: ExecutionRecord) -> ExecutionRecord:
    """A record without its interpreter snapshot (`wait_for` returns none; the store keeps it)."""
    return replace(record, state=None)


def types(events: list[StoredEvent]) -> list[str]:
    return [event.type for event in events]
