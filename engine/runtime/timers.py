"""The due-time queue: timers for Waits, retry back-offs, task timeouts and heartbeats.

Owns: ordering timers by due time, cancelling them cheaply (lazy deletion), and popping the due
ones. Must never: read a clock (the caller passes `now`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field


@dataclass(order=True, frozen=True, slots=True)
class Timer:
    """A due time for one execution's timer; timers order by due time, then by creation."""

    due: float
    sequence: int
    execution_arn: str = field(compare=False)
    timer_id: str = field(compare=False)


class TimerQueue:
    """Live timers by execution, then timer id, plus a heap of them by due time.

    By execution first so that cancelling an execution's timers (each time one closes) reads
    only its own: a scan of every live timer made each close slower while many executions
    waited (100,000 Waits: 100,000 keys per close).
    """

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._live: dict[str, dict[str, Timer]] = {}
        self._count = 0
        self._sequence = 0

    def __len__(self) -> int:
        return self._count

    def add(self, execution_arn: str, timer_id: str, due: float) -> None:
        self._sequence += 1
        timer = Timer(due, self._sequence, execution_arn, timer_id)
        timers = self._live.setdefault(execution_arn, {})
        self._count += timer_id not in timers
        timers[timer_id] = timer
        heapq.heappush(self._heap, timer)

    def cancel(self, execution_arn: str, timer_id: str) -> None:
        timers = self._live.get(execution_arn)
        if timers is not None and timers.pop(timer_id, None) is not None:
            self._count -= 1
            if not timers:
                del self._live[execution_arn]

    def cancel_execution(self, execution_arn: str) -> None:
        self._count -= len(self._live.pop(execution_arn, ()))

    def next_due(self) -> float | None:
        self._drop_dead()
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: float) -> list[Timer]:
        due: list[Timer] = []
        while True:
            self._drop_dead()
            if not self._heap or self._heap[0].due > now:
                return due
            timer = heapq.heappop(self._heap)
            self.cancel(timer.execution_arn, timer.timer_id)
            due.append(timer)

    def _drop_dead(self) -> None:
        heap, live = self._heap, self._live
        while heap:
            timers = live.get(heap[0].execution_arn)
            if timers is not None and timers.get(heap[0].timer_id) is heap[0]:
                return
            heapq.heappop(heap)
