"""The bounded pool of daemon threads that runs blocking Python handlers for the event loop.

Owns: `HandlerPool` (queueing calls, starting, waking, abandoning and retiring its threads,
handing results back to the loop), its figures (`PoolStats`, `pool_stats`). Must never: know
what a call does (a job is a function returning an `Outcome`) or decide Lambda's rules (the
Lambda layer times calls out by cancelling them; the pool only gives up their threads).

Hand-offs come in batches, because each one between the loop and a thread costs more than a
trivial handler: a thread wakes only when no other is already on its way to the queue (the one
that arrives wakes the next if work is left), a thread takes the next queued call without
sleeping in between, and the results of calls finished while the loop was busy go back with one
`call_soon_threadsafe` (one write to the loop's self-pipe) for the whole batch; a call submitted
with an `on_done` callback (the Lambda layer's `start_invoke`) has it run in that same drain,
not one loop round later as a future's done callback would.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from engine.backends.runner import Outcome
from engine.values import JSON

__all__ = [
    "DEFAULT_MAX_ABANDONED",
    "DEFAULT_MAX_WORKERS",
    "HandlerPool",
    "PoolStats",
    "pool_stats",
]

DEFAULT_MAX_WORKERS: Final = min(32, (os.cpu_count() or 1) + 4)
"""Threads for blocking handlers by default (the bound `ThreadPoolExecutor` uses)."""

DEFAULT_MAX_ABANDONED: Final = 64
"""Threads a pool abandons at most at once to handlers still running after their call was
cancelled (see `HandlerPool`)."""

_log = logging.getLogger(__name__)


def _spent() -> Outcome:
    """What a job holds once a thread ran its function (which is let go)."""
    raise RuntimeError("a handler pool job runs once")


class _Job(asyncio.Future[Outcome]):
    """One call queued for a pool thread, and the future its caller awaits: one object a call.

    Its flags change only under the pool's lock. Cancelling it (on the loop, as the Lambda
    layer's timeout or a Task's cancellation does) withdraws it from the pool at once.
    """

    __slots__ = ("abandoned", "finished", "fn", "on_done", "pool", "started")

    # Set by `HandlerPool.submit` right after the future's own __init__ (no Python __init__
    # here: one per call, and a class call through a Python __init__ costs a frame and a
    # super() lookup more).
    fn: Callable[[], Outcome]
    pool: HandlerPool
    on_done: Callable[[asyncio.Future[Outcome]], None] | None
    started: bool  # a thread took it
    finished: bool  # its fn returned (its result may still wait for the loop)
    abandoned: bool  # cancelled while running: its thread no longer counts

    def cancel(self, msg: object = None) -> bool:
        # Only the loop settles or cancels a job, so `done()` cannot change under our feet.
        if self.done():
            return False
        self.pool._withdraw(self)
        cancelled = super().cancel(msg=msg)
        on_done, self.on_done = self.on_done, None  # once; and no cycle through a closure
        if on_done is not None:
            self.get_loop().call_soon(on_done, self)  # as a done callback would run
        return cancelled


@dataclass(frozen=True, slots=True)
class PoolStats:
    """What a handler pool (or all of a process's pools, summed) is doing right now.

    `busy` threads run a handler someone waits for, `idle` ones wait for work; both count
    against `max_workers`. `abandoned` threads still run a handler whose call was cancelled
    (its timeout, the Task's TimeoutSeconds, StopExecution): they count against
    `max_abandoned` instead. `abandoned_total` counts every thread ever abandoned; `queued`,
    calls waiting for a thread.
    """

    max_workers: int
    busy: int
    idle: int
    queued: int
    abandoned: int
    abandoned_total: int
    max_abandoned: int

    def as_json(self) -> dict[str, JSON]:
        """The fields as a JSON object (for a health report)."""
        return {
            "max_workers": self.max_workers,
            "busy": self.busy,
            "idle": self.idle,
            "queued": self.queued,
            "abandoned": self.abandoned,
            "abandoned_total": self.abandoned_total,
            "max_abandoned": self.max_abandoned,
        }


_pools: weakref.WeakSet[HandlerPool] = weakref.WeakSet()


def pool_stats() -> PoolStats:
    """The use of every open handler pool in this process, summed (all zero when none is)."""
    totals = [pool.stats() for pool in list(_pools)]
    return PoolStats(
        max_workers=sum(s.max_workers for s in totals),
        busy=sum(s.busy for s in totals),
        idle=sum(s.idle for s in totals),
        queued=sum(s.queued for s in totals),
        abandoned=sum(s.abandoned for s in totals),
        abandoned_total=sum(s.abandoned_total for s in totals),
        max_abandoned=sum(s.max_abandoned for s in totals),
    )


_Result = tuple[_Job, Outcome | BaseException]
"""A finished job and its outcome, or the exception its function raised (a bug: jobs catch
their own errors)."""


class HandlerPool:
    """At most `max_workers` daemon threads, started on demand, running jobs from one queue.

    Not `ThreadPoolExecutor`: its threads are joined at interpreter exit, so one handler stuck
    in a 60-second sleep would hold the process for a minute after shutdown, and a thread
    whose call was cancelled stays busy until its handler returns, so a few hung handlers
    starve every other function; and it hands every result back to the loop on its own.

    Here a call cancelled while its handler runs (the function's timeout, the Task's
    TimeoutSeconds, StopExecution) **abandons** its thread: Python cannot stop a thread, so the
    handler runs on, but the thread stops counting against `max_workers` and a new one takes
    its place when work is waiting. The abandoned thread rejoins the pool when its handler
    returns if the pool has room, else exits; it is a daemon, so it never holds up shutdown
    (a Lambda handler past its deadline is frozen, not awaited, on AWS too). At most
    `max_abandoned` threads are abandoned at once: past that, an error is logged and a
    cancelled call's thread keeps counting against `max_workers` until its handler returns,
    so hung handlers can never pile up threads without bound. A call cancelled before any
    thread took it is dropped: its handler never runs.

    Threads join the work one at a time (the module docstring says why): while calls are
    queued, one more thread is always on its way (woken, or started if the bound allows) until
    every call has a thread or every thread has a call, so handlers that block (I/O, sleeps)
    still run `max_workers` at once, and trivial ones are run by the first thread to arrive.
    """

    def __init__(self, max_workers: int, max_abandoned: int = DEFAULT_MAX_ABANDONED) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if max_abandoned < 0:
            raise ValueError(f"max_abandoned must be at least 0, got {max_abandoned}")
        self._max_workers = max_workers
        self._max_abandoned = max_abandoned
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._jobs: collections.deque[_Job] = collections.deque()
        self._live = 0  # threads counted against max_workers (busy or idle)
        self._idle = 0  # live threads waiting for a job
        self._coming = 0  # threads woken or started that have not reached the queue yet
        self._abandoned = 0
        self._abandoned_total = 0
        self._started = 0
        self._at_cap = False  # the cap's error was logged; cleared once below it again
        self._closed = False
        # Results not yet handed to their loop; a loop is in here while its drain is scheduled.
        self._outbox: dict[asyncio.AbstractEventLoop, list[_Result]] = {}
        self._unstarted: list[threading.Thread] = []  # made by _summon, started after the lock
        _pools.add(self)

    def submit(
        self,
        fn: Callable[[], Outcome],
        on_done: Callable[[asyncio.Future[Outcome]], None] | None = None,
    ) -> asyncio.Future[Outcome]:
        """Queue `fn` for a pool thread; the future settles on the calling loop.

        Cancelling the future abandons the call (see the class docstring). `on_done(future)`,
        if given, is called when the future is done, like a done callback but at once when the
        result reaches the loop, saving the loop a round (one handle) per call.
        """
        # `_Job(fn, self, loop, on_done)`, without its Python __init__ and super() call (the
        # future's own C __init__ only): one such job per call of a Python handler.
        job = _Job(loop=asyncio.get_running_loop())
        job.fn = fn
        job.pool = self
        job.on_done = on_done
        job.started = job.finished = job.abandoned = False
        with self._lock:
            if self._closed:
                raise RuntimeError("the function pool is closed")
            self._jobs.append(job)
            self._summon()
        self._start_threads(raising=True)
        return job

    def _summon(self) -> None:
        """Get one more thread on its way to the queue, unless one is already (lock held).

        A new thread is only made here; `_start_threads` starts it once the lock is released:
        `Thread.start` waits until the thread runs, and a loop waiting for the lock meanwhile
        would wait for the operating system to schedule that thread.
        """
        if self._coming or not self._jobs:
            return
        if self._idle > 0:
            self._coming += 1
            self._wakeup.notify()
        elif self._live < self._max_workers:
            self._coming += 1
            self._live += 1
            self._started += 1
            self._unstarted.append(
                threading.Thread(
                    target=self._work, name=f"asl-function-{self._started}", daemon=True
                )
            )

    def _start_threads(self, *, raising: bool = False) -> None:
        """Start the threads `_summon` made (lock not held). A thread that cannot start is
        logged, and raised when `raising` (to a caller of `submit`; a pool thread goes on)."""
        while self._unstarted:
            try:
                thread = self._unstarted.pop()  # atomic: another caller may have taken it
            except IndexError:
                return
            try:
                thread.start()
            except RuntimeError as exc:  # the process can start no more threads
                _log.error("could not start a thread for Python handlers: %s", exc)
                with self._lock:
                    self._live -= 1
                    self._coming = max(0, self._coming - 1)
                if raising:
                    raise

    # -- on a pool thread ----------------------------------------------------------------------

    def _work(self) -> None:
        job = self._next_job(arriving=True)
        while job is not None:
            if self._unstarted:  # a thread this one summoned (under the lock) to start
                self._start_threads()
            result: Outcome | BaseException
            try:
                result = job.fn()
            except BaseException as exc:  # jobs catch their own errors; this is a safety net
                result = exc
            job.fn = _spent  # its call (the event, the context) is not kept with the result
            job = self._after(job, result)

    def _next_job(self, *, arriving: bool) -> _Job | None:
        """The next job for this (live) thread, waiting for one; None when the pool closed and
        nothing is left. `arriving`: this thread was started or woken to take work."""
        with self._lock:
            if arriving:
                self._coming = max(0, self._coming - 1)
            while not self._jobs:
                if self._closed:
                    self._live -= 1
                    return None
                self._idle += 1
                self._wakeup.wait()
                self._idle -= 1
                # Woken by `_summon` (or by close, which needs no count any more).
                self._coming = max(0, self._coming - 1)
            return self._pop()

    def _pop(self) -> _Job:
        """Take the first queued job (lock held, the queue not empty); summon the next thread
        while more are queued."""
        job = self._jobs.popleft()
        job.started = True
        if self._jobs:
            self._summon()
        return job

    def _after(self, job: _Job, result: Outcome | BaseException) -> _Job | None:
        """Post `job`'s result for its loop, then give this thread its next job (None: exit).

        One lock for the result, the thread's accounting and a waiting job; the loop is woken
        only by the first result of a batch, and before this thread sleeps.
        """
        wake: asyncio.AbstractEventLoop | None = None
        following: _Job | None = None
        with self._lock:
            job.finished = True
            loop = job.get_loop()
            batch = self._outbox.get(loop)
            if batch is None:
                self._outbox[loop] = [(job, result)]
                wake = loop
            else:
                batch.append((job, result))
            stays = not job.abandoned or self._stays(job)
            if stays and self._jobs:
                following = self._pop()
        if wake is not None:
            self._wake(wake)
        if not stays:
            return None
        return following if following is not None else self._next_job(arriving=False)

    def _stays(self, job: _Job) -> bool:
        """Whether this thread goes on taking jobs after `job` (lock held)."""
        if not job.abandoned:
            return True
        self._abandoned -= 1
        if self._abandoned < self._max_abandoned:
            self._at_cap = False
        if self._closed or self._live >= self._max_workers:
            return False  # a replacement took its place
        self._live += 1
        return True

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.call_soon_threadsafe(self._drain, loop)
        except RuntimeError:  # a closed loop: nobody is waiting for these results any more
            with self._lock:
                self._outbox.pop(loop, None)

    # -- on the loop ---------------------------------------------------------------------------

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """Settle every result posted for `loop` since its last drain."""
        with self._lock:
            batch = self._outbox.pop(loop, ())
        for job, result in batch:
            if job.done():  # cancelled after its handler returned, before this drain
                continue
            if isinstance(result, BaseException):
                job.set_exception(result)
            else:
                job.set_result(result)
            on_done, job.on_done = job.on_done, None  # once; and no cycle through a closure
            if on_done is not None:
                try:
                    on_done(job)
                except Exception:  # a bug in a caller's callback: the batch's others go on
                    _log.exception("a handler pool callback raised")

    def _withdraw(self, job: _Job) -> None:
        """A job being cancelled: drop it if no thread took it, else abandon its thread."""
        with self._lock:
            if job.finished:
                return
            if not job.started:
                self._jobs.remove(job)  # nobody waits for it: never run it
                return
            if self._abandoned >= self._max_abandoned:
                if not self._at_cap:
                    self._at_cap = True
                    _log.error(
                        "%d threads are already abandoned to Python handlers still running "
                        "after their calls were cancelled (timed out or stopped), the most "
                        "this pool abandons (max_abandoned): from now on such a thread counts "
                        "against max_workers (%d) until its handler returns, so other calls "
                        "may wait or time out. Make the hung handlers return, raise "
                        "max_abandoned, or restart the process.",
                        self._abandoned,
                        self._max_workers,
                    )
                return
            job.abandoned = True
            self._live -= 1
            self._abandoned += 1
            self._abandoned_total += 1
            if not self._closed:
                self._summon()
        self._start_threads()

    @property
    def thread_count(self) -> int:
        """Threads started so far (more than `max_workers` only when some were abandoned)."""
        return self._started

    def stats(self) -> PoolStats:
        """This pool's use right now."""
        with self._lock:
            return PoolStats(
                max_workers=self._max_workers,
                busy=self._live - self._idle,
                idle=self._idle,
                queued=max(0, len(self._jobs) - self._idle),
                abandoned=self._abandoned,
                abandoned_total=self._abandoned_total,
                max_abandoned=self._max_abandoned,
            )

    def close(self) -> None:
        """Let idle threads exit; busy ones finish their job and exit (never waited for)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wakeup.notify_all()
        _pools.discard(self)
