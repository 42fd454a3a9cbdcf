"""The due-time queue: timers for Waits, retry back-offs, task timeouts and heartbeats.

Owns: ordering timers by due time, cancelling them cheaply (lazy deletion), and popping the due
ones. Must never: read a clock (the caller passes `now`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field


@dataclass(order=True, frozen=True, slots=True)
class Timer:
    due: float
    sequence: int
    execution_arn: str = field(compare=False)
    timer_id: str = field(compare=False)


class TimerQueue:
    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._live: dict[tuple[str, str], Timer] = {}
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._live)

    def add(self, execution_arn: str, timer_id: str, due: float) -> None:
        self._sequence += 1
        timer = Timer(due, self._sequence, execution_arn, timer_id)
        self._live[(execution_arn, timer_id)] = timer
        heapq.heappush(self._heap, timer)

    def cancel(self, execution_arn: str, timer_id: str) -> None:
        self._live.pop((execution_arn, timer_id), None)

    def cancel_execution(self, execution_arn: str) -> None:
        for key in [k for k in self._live if k[0] == execution_arn]:
            del self._live[key]

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
            del self._live[(timer.execution_arn, timer.timer_id)]
            due.append(timer)

    def _drop_dead(self) -> None:
        heap = self._heap
        while heap and self._live.get((heap[0].execution_arn, heap[0].timer_id)) is not heap[0]:
            heapq.heappop(heap)
