"""Clocks: the virtual clock only moves forward when told; the real clock follows time.time()."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.runtime.clock import Clock, RealClock, VirtualClock

T0 = 1_700_000_000.0


def test_virtual_clock_starts_where_told_and_only_moves_forward() -> None:
    clock = VirtualClock(T0)
    assert clock.virtual is True
    assert clock.now() == T0
    clock.advance_to(T0 + 86_400 * 365)
    assert clock.now() == T0 + 31_536_000
    clock.advance_to(T0)  # never backwards
    assert clock.now() == T0 + 31_536_000


def test_virtual_clock_sleep_until_jumps_at_once() -> None:
    clock = VirtualClock(T0)
    asyncio.run(clock.sleep_until(T0 + 3600))
    assert clock.now() == T0 + 3600
    asyncio.run(clock.sleep_until(T0))
    assert clock.now() == T0 + 3600


def test_virtual_clock_defaults_to_the_wall_time() -> None:
    before = time.time()
    clock = VirtualClock()
    after = time.time()
    assert before <= clock.now() <= after
    assert clock.now() == clock.now()  # frozen until advanced


def test_real_clock_reads_wall_time_and_ignores_advance() -> None:
    clock = RealClock()
    assert clock.virtual is False
    before = time.time()
    now = clock.now()
    assert before <= now <= time.time()
    clock.advance_to(now + 3600)
    assert clock.now() < now + 3600


def test_real_clock_sleep_until_a_past_deadline_returns_at_once() -> None:
    """At once: the coroutine finishes on its first step, never suspending (it was timed, and
    a loaded machine could take a second to run a loop that slept for nothing)."""
    clock = RealClock()
    sleeping = clock.sleep_until(clock.now() - 10)
    with pytest.raises(StopIteration):
        sleeping.send(None)


def test_both_clocks_satisfy_the_protocol() -> None:
    clocks: list[Clock] = [RealClock(), VirtualClock(T0)]
    assert [c.virtual for c in clocks] == [False, True]
