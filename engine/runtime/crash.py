"""Crash points: kill this worker on purpose at a chosen moment, for idempotency tests.

Owns: the `ASL_CRASH_AT` switch of the idempotency test kit (docs/idempotency.md). The value is
`POINT[:N]` (N-th time the point is reached, default 1) with POINT one of:

    before_task   a Task's start is committed; the backend has not been called
    after_task    the backend returned; its result is not committed yet
    during_map    a commit that finished a Map iteration was written
    idle_commit   a batch of commits was written after which nothing of this worker is
                  in flight or unwritten: every execution waits for a timer or a callback,
                  or closed. Resuming from there must give exactly what an uninterrupted
                  worker gives (the differential tests crash here)

Reaching it sends SIGKILL to this process (kill -9: no cleanup, no flush), exactly what a crash
does.

Also owns `Redelivery`, the `ASL_EXPRESS_REDELIVERY` switch: Express workflows are at-least-once,
so a test can force what a real deployment does only rarely: `always` delivers every Task
invocation of an Express execution twice; `p=0.3,seed=7` delivers each one twice with that
probability from a seeded generator. Must never: be active unless asked for, or apply to
Standard executions (they are at-most-once).
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterable

from engine.interpreter.history import HistoryEvent

POINTS = ("before_task", "after_task", "during_map", "idle_commit")


class CrashPoints:
    def __init__(self, point: str | None = None, count: int = 1) -> None:
        if point is not None and point not in POINTS:
            raise ValueError(f"unknown crash point {point!r}: use one of {', '.join(POINTS)}")
        self.point = point
        self.remaining = count

    @classmethod
    def from_env(cls, value: str | None = None) -> CrashPoints:
        spec = os.environ.get("ASL_CRASH_AT", "") if value is None else value
        if not spec:
            return cls()
        point, _, count = spec.partition(":")
        return cls(point, int(count) if count else 1)

    def _reach(self, point: str) -> None:
        if self.point != point:
            return
        self.remaining -= 1
        if self.remaining <= 0:
            os.kill(os.getpid(), signal.SIGKILL)

    def before_task(self) -> None:
        self._reach("before_task")

    def after_task(self) -> None:
        self._reach("after_task")

    def after_commit(self, events: Iterable[HistoryEvent]) -> None:
        if self.point == "during_map":
            for event in events:
                if event.type == "MapIterationSucceeded":
                    self._reach("during_map")

    @property
    def wants_quiet(self) -> bool:
        """Whether `after_batch` needs to know if the worker is quiet: finding out looks at
        every frame of every execution, so it is asked only when `idle_commit` is armed."""
        return self.point == "idle_commit"

    def after_batch(self, *, quiet: bool) -> None:
        """A batch of commits was written; `quiet`: nothing is in flight or unwritten."""
        if quiet:
            self._reach("idle_commit")


class Redelivery:
    """Whether to deliver an Express task invocation twice (at-least-once, forced for tests)."""

    def __init__(self, probability: float = 0.0, seed: int = 0) -> None:
        self.probability = probability
        self._rng = random.Random(seed)  # noqa: S311  (test fault injection, not security)
        self.redelivered = 0

    @classmethod
    def from_env(cls, value: str | None = None) -> Redelivery:
        spec = os.environ.get("ASL_EXPRESS_REDELIVERY", "") if value is None else value
        if not spec or spec == "off":
            return cls()
        if spec == "always":
            return cls(1.0)
        settings = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
        try:
            return cls(float(settings.get("p", "1")), int(settings.get("seed", "0")))
        except ValueError:
            raise ValueError(
                f"ASL_EXPRESS_REDELIVERY={spec!r}: use 'always', 'off' or 'p=0.3,seed=7'"
            ) from None

    def twice(self) -> bool:
        if self.probability <= 0.0:
            return False
        if self.probability >= 1.0 or self._rng.random() < self.probability:
            self.redelivered += 1
            return True
        return False
