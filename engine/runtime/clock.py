"""Clocks: where the runtime gets the time and how it waits.

Owns: the three-method `Clock` Protocol, `RealClock` (wall time) and `VirtualClock`, which the
runtime jumps forward to the next due timer whenever nothing is runnable and no task is in
flight, so a one-year Wait finishes at once in a test while every timestamp stays consistent.
Must never: be read by the interpreter (time reaches `step` inside events).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    virtual: bool

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Wait until `deadline` (a virtual clock returns at once; the runtime jumps it)."""
        ...

    def advance_to(self, deadline: float) -> None:
        """Move a virtual clock forward; a real clock ignores this."""
        ...


class RealClock:
    virtual = False

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    def advance_to(self, deadline: float) -> None:
        return None


class VirtualClock:
    """A clock that only moves when told to (Trio's MockClock with autojump, in spirit)."""

    virtual = True

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    def now(self) -> float:
        return self._now

    async def sleep_until(self, deadline: float) -> None:
        self.advance_to(deadline)

    def advance_to(self, deadline: float) -> None:
        self._now = max(self._now, deadline)
