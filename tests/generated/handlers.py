"""The Lambda functions that generated machines call (tests/generated/strategies.py).

One file serves every path a user has, so every path runs the same code:

    Engine(functions=load_functions("tests/generated/handlers.py"))      # in process
    asl run|start|worker|serve ... --functions tests/generated/handlers.py

Each top-level function `NAME(event, context)` serves the Lambda function NAME. Classes are not
functions (`load_functions` skips them), so the shared logic lives in `Plan` and the errors are
exception classes: the ASL error name of a raised exception is its class name.

Every outcome is a function of the event alone: no global counters, no clock, no randomness.
A crashed and resumed execution, or the same execution on another path, therefore behaves the
same. A generated Task passes its attempt number in the event (`"attempt.$":
"$$.State.RetryCount"`), which is how a handler fails its first attempts and then succeeds.

- `gen_plan`: follows `event["plan"]`, a list of outcomes indexed by attempt (the last one
  repeats): `"ok"` returns a result, an error name raises that error, `"timeout"` sleeps
  `SLEEP_SECONDS`, past the Task's `TimeoutSeconds` of 1 (Lambda timeouts run on real time,
  also under a virtual clock, so generated machines use them rarely, behind `allow_timeouts`).
- `gen_parity`: raises `OddValue` while `event["value"]` is an odd integer and the attempt is
  below `event["heal"]` (default: never heals); else returns a result.
- `gen_echo`: always returns a result.

A result is `{"fn": NAME, "attempt": ATTEMPT, "value": event["value"]}` (`gen_echo`: no
`attempt`), so an output says which function and attempt produced it.
"""

from __future__ import annotations

import asyncio
from typing import Final

from engine.values import JSON

OK: Final = "ok"
TIMEOUT: Final = "timeout"
SLEEP_SECONDS: Final = 1.2
"""How long a `"timeout"` outcome sleeps: past a TimeoutSeconds of 1, briefly."""

ERROR_NAMES: Final = ("Transient", "Permanent", "CardDeclined")
"""The errors a plan may name (`OddValue` is gen_parity's own)."""

ODD_VALUE: Final = "OddValue"
FUNCTION_NAMES: Final = ("gen_plan", "gen_parity", "gen_echo")


class Transient(Exception):
    pass


class Permanent(Exception):
    pass


class CardDeclined(Exception):
    pass


class OddValue(Exception):
    pass


_ERRORS: dict[str, type[Exception]] = {
    "Transient": Transient,
    "Permanent": Permanent,
    "CardDeclined": CardDeclined,
    ODD_VALUE: OddValue,
}


class Plan:
    """What a function does with an event (a class, so it is no Lambda function itself)."""

    @staticmethod
    def attempt(event: JSON) -> int:
        value = event.get("attempt") if isinstance(event, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    @staticmethod
    def outcome(function: str, event: JSON) -> tuple[str, JSON]:
        """`("ok", result)`, `(ERROR_NAME, message)` or `("timeout", None)` for one call."""
        attempt = Plan.attempt(event)
        fields = event if isinstance(event, dict) else {}
        value = fields.get("value")
        result: dict[str, JSON] = {"fn": function, "attempt": attempt, "value": value}
        if function == "gen_echo":
            del result["attempt"]
            return OK, result
        if function == "gen_parity":
            heal = fields.get("heal")
            healed = isinstance(heal, int) and not isinstance(heal, bool) and attempt >= heal
            odd = isinstance(value, int) and not isinstance(value, bool) and value % 2 == 1
            if odd and not healed:
                return ODD_VALUE, f"{value} is odd (attempt {attempt})"
            return OK, result
        plan = fields.get("plan")
        steps = [step for step in plan if isinstance(step, str)] if isinstance(plan, list) else []
        step = steps[min(attempt, len(steps) - 1)] if steps else OK
        if step == OK:
            return OK, result
        if step == TIMEOUT:
            return TIMEOUT, None
        if step not in _ERRORS:
            step = "Permanent"
        return step, f"{function} failed with {step} (attempt {attempt})"

    @staticmethod
    async def run(function: str, event: JSON) -> JSON:
        kind, detail = Plan.outcome(function, event)
        if kind == OK:
            return detail
        if kind == TIMEOUT:
            await asyncio.sleep(SLEEP_SECONDS)  # a real overrun of TimeoutSeconds: the point
            return {"fn": function, "late": True}
        raise _ERRORS.get(kind, Permanent)(detail)


# `async def`: awaited on the event loop, not run on the thread pool, so concurrent calls (Map
# iterations, Parallel branches) finish in the order they started on every path. With blocking
# handlers the pool's threads finished in any order, and which of two failing iterations failed
# a Map first (and so the execution's outcome) changed from run to run (make fuzz found it).


async def gen_plan(event: JSON, context: object) -> JSON:
    return await Plan.run("gen_plan", event)


async def gen_parity(event: JSON, context: object) -> JSON:
    return await Plan.run("gen_parity", event)


async def gen_echo(event: JSON, context: object) -> JSON:
    return await Plan.run("gen_echo", event)
