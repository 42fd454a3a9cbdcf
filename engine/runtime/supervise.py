"""Supervision of the long-running loops: bounded exponential back-off, each failure logged once.

Owns: `Supervisor`, which a loop (the worker's claim/renew/deliver loop, the service's retention
job) tells about each round's outcome, and `failure_reason`, the one line a failure is logged
and reported with. Must never: swallow a cancellation (the loops re-raise it), sleep in a busy
loop, or put SQL, parameters or a payload in a reason (`database_reason` keeps the driver's
first line only).

A loop that fails keeps running: it waits `BACKOFF_FIRST_SECONDS`, doubling each failure in a row
up to `BACKOFF_MAX_SECONDS`, and tries again. It logs one line when it starts failing (with the
cause) and one when it recovers, never one per attempt, so a store down for an hour fills no
disk. While it fails, `failure` says why: `/v1/health` reports it and StartExecution refuses
work that nothing would drive (issue 13).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from engine.errors import EngineError

BACKOFF_FIRST_SECONDS: Final = 0.1
BACKOFF_MAX_SECONDS: Final = 5.0
_REASON_LIMIT: Final = 300  # characters of a reason: a message, never a payload


def failure_reason(exc: BaseException) -> str:
    """An exception as one short line: the engine's own message, or the type and the first
    line of anything else (a driver's error without its statement or parameters)."""
    if isinstance(exc, EngineError):
        text = exc.message
    elif str(exc).strip():
        # Here, not at the top: the in-process runtime (`asl run`) uses this module but never
        # a store, and engine/store/base.py costs ~6 ms at start-up (bench/README.md section 3).
        from engine.store.base import database_reason

        text = f"{type(exc).__name__}: {database_reason(exc)}"
    else:
        text = type(exc).__name__
    line = next((part.strip() for part in text.splitlines() if part.strip()), type(exc).__name__)
    return line if len(line) <= _REASON_LIMIT else line[: _REASON_LIMIT - 3] + "..."


class Supervisor:
    """The failure state and back-off of one loop (see the module docstring)."""

    def __init__(
        self,
        name: str,
        log: logging.Logger,
        *,
        first: float = BACKOFF_FIRST_SECONDS,
        maximum: float = BACKOFF_MAX_SECONDS,
    ) -> None:
        self.name = name
        self.first = first
        self.maximum = maximum
        self.failure: str | None = None  # why the last round failed; None while it succeeds
        self.failures = 0  # failed rounds in a row
        self._log = log

    def failed(self, exc: BaseException) -> float:
        """Record a failed round; returns how long to wait before the next one."""
        reason = failure_reason(exc)
        if self.failure is None:
            self._log.error(
                "%s is failing: %s; it keeps retrying (back-off up to %g s)",
                self.name,
                reason,
                self.maximum,
            )
        self.failure = reason
        delay = min(self.first * 2.0 ** min(self.failures, 64), self.maximum)
        self.failures += 1
        return delay

    async def attempt(self, round_: Callable[[], Awaitable[object]]) -> bool:
        """Run one round of the loop: True when it worked (recorded as such); when it failed,
        wait the back-off first and return False. A cancellation goes through."""
        try:
            await round_()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # supervised loop edge: survive, back off, log once
            await asyncio.sleep(self.failed(exc))
            return False
        self.succeeded()
        return True

    def succeeded(self) -> None:
        """Record a round that worked: logs the recovery once after failures."""
        if self.failure is not None:
            self._log.warning(
                "%s recovered after %d failed attempts (last: %s)",
                self.name,
                self.failures,
                self.failure,
            )
        self.failure = None
        self.failures = 0
