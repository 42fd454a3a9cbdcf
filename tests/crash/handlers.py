"""Deterministic Lambda handlers for the crash tests; every call is recorded in the ledger.

Loaded by `asl worker --functions tests/crash/handlers.py`. The ledger's file comes from
ASL_TEST_LEDGER, which the harness sets for each worker, so calls made by a worker that is
killed a moment later are still counted. No randomness, clock or sleeps: a handler's result
depends on its event only. `flaky` fails its first attempt (the state passes
`$$.State.RetryCount` as `attempt`), since a handler keeps no state of its own.
"""

from __future__ import annotations

from engine.testing import CallLedger
from engine.values import JSON

ledger = CallLedger()


class Transient(Exception):
    """A failure worth retrying (the ASL error name is the class name)."""


@ledger.recorded
def work(event: dict[str, JSON], context: object) -> JSON:
    return {"state": event.get("state"), "value": event.get("value")}


@ledger.recorded
def flaky(event: dict[str, JSON], context: object) -> JSON:
    if event.get("attempt") == 0:
        raise Transient("the first attempt fails")
    return {"state": event.get("state"), "attempt": event.get("attempt")}
