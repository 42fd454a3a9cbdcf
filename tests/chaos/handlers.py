"""Lambda handlers of the chaos suite; every call is recorded in the ledger before it runs.

Loaded by every `asl worker --functions tests/chaos/handlers.py` of a chaos run. The ledger's
file comes from ASL_TEST_LEDGER (set by the runner for each worker, outside any filesystem the
run fills), so the calls of a worker killed a moment later are still counted. Each call's event
names its execution, state, retry count and Map item, so two calls of one attempt are
countable. `work` stays in flight for a few milliseconds, so kills and stalls land mid-task;
`flaky` fails its first attempt (a handler keeps no state of its own); `submit` hands over a
task token (`.waitForTaskToken`): the run reads it from the ledger and sends the callback.
"""

from __future__ import annotations

import asyncio

from engine.testing import CallLedger
from engine.values import JSON

ledger = CallLedger()

IN_FLIGHT_SECONDS = 0.02


class Transient(Exception):
    """A failure worth retrying (the ASL error name is the class name)."""


@ledger.recorded
async def work(event: dict[str, JSON], context: object) -> JSON:
    await asyncio.sleep(IN_FLIGHT_SECONDS)  # a task in flight, not a timing assertion
    return {"state": event.get("state"), "item": event.get("item")}


@ledger.recorded
async def flaky(event: dict[str, JSON], context: object) -> JSON:
    if event.get("attempt") == 0:
        raise Transient("the first attempt fails")
    return {"state": event.get("state"), "attempt": event.get("attempt")}


@ledger.recorded
def submit(event: dict[str, JSON], context: object) -> JSON:
    return {"submitted": event.get("state")}  # the token is in the ledger's line
