"""The journal: what a step changed, as a store `Commit`, and writing batches of them.

Owns: turning a step's result (new state, history events, commands) into the `Commit` a store
applies atomically, and writing commits from one dedicated thread so the event loop never blocks
on I/O. Many executions' commits go into one `Store.commit` call (group commit). Must never:
decide what happens next (the runtime carries out commands after `write` returns).

What is written depends on the workflow type (DESIGN.md): Standard executions commit every step
(state snapshot, events, timers, tokens); Express executions write nothing until they close, and
then only their outcome, plus their history when logging is on (ALL; ERROR/FATAL keep the
history of failed executions only).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, ParamSpec, Protocol, TypeVar, runtime_checkable

from engine.interpreter.messages import (
    CancelTimer,
    Finish,
    InvokeTask,
    RecordMapRun,
    ScheduleActivity,
    StartTimer,
    StopChild,
    StopRequested,
    StoreMapItems,
    TaskCallback,
)
from engine.interpreter.nested import child_outcome
from engine.store.base import (
    ActivityTask,
    ChildStop,
    Commit,
    Lease,
    MapRunItems,
    MapRunRecord,
    ParentCallback,
    Store,
    TimerRecord,
    TokenRecord,
)
from engine.store.base import ExecutionRecord as StoredExecution
from engine.store.codec import FrameCache, event_to_json, state_to_json, stored_event
from engine.values import dumps

if TYPE_CHECKING:
    from engine.interpreter.core import StepResult
    from engine.interpreter.frames import ExecutionInfo, ExecutionState
    from engine.runtime.loop import ExecutionRecord

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _open_tokens(state: ExecutionState) -> set[str]:
    return {f.task_token for f in state.frames.values() if f.task_token is not None}


def parent_callbacks(info: ExecutionInfo, finish: Finish, now: float) -> tuple[ParentCallback, ...]:
    """What the commit closing `info`'s execution answers its parent's `.sync` Task with (none
    for an execution no Task waits on)."""
    outcome = child_outcome(info, finish.status, finish.output, finish.error, finish.cause, now)
    if outcome is None or not info.parent_token or not info.parent_execution_arn:
        return ()
    event = TaskCallback(info.parent_token, outcome, now)
    return (ParentCallback(info.parent_token, info.parent_execution_arn, event_to_json(event)),)


@runtime_checkable
class CombiningStore(Protocol):
    """A store that can record a batch of starts and a batch of steps in one transaction
    (SqlStore: one commit, one fsync, for what took two)."""

    def create_and_commit(
        self, records: Sequence[StoredExecution], lease: Lease | None, commits: Sequence[Commit]
    ) -> list[tuple[StoredExecution, bool]]: ...


@dataclass(slots=True)
class _Job:
    """One store call waiting for the store thread, and where its outcome goes."""

    run: Callable[[], object]
    future: asyncio.Future[object]
    starts: tuple[Sequence[StoredExecution], Lease | None] | None = None  # create_executions
    commits: list[Commit] = field(default_factory=list)  # a write of step commits


class _StoreThread:
    """The one thread that runs store calls, in the order they were asked for.

    One thread: SQLite allows one writer; a single writer also keeps commit order. A batch of
    starts and the batches of step commits queued right next to it (before or after, nothing
    else in between) run as one transaction when the store can (`CombiningStore`): with few
    connections the start batches and the steps of the previous batch alternate, and each
    transaction's commit (an fsync on SQLite) cost as much as all the rest of a start. If the
    combined transaction fails, each call is run again alone, so each caller gets its own
    outcome (and its own isolation of a refused start or commit) exactly as before.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._combine = store if isinstance(store, CombiningStore) else None
        self._jobs: deque[_Job] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, job: _Job) -> None:
        with self._ready:
            if self._closed:
                raise RuntimeError("the journal is closed")
            self._jobs.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="asl-store", daemon=True)
                self._thread.start()
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._jobs and not self._closed:
                    self._ready.wait()
                if not self._jobs:
                    return
                group = [self._jobs.popleft()]
                if self._combine is not None:
                    self._take_neighbours(group)
            if len(group) == 1:
                _settle(group[0], group[0].run)
            else:
                self._run_combined(group)

    def _take_neighbours(self, group: list[_Job]) -> None:
        """Add the jobs queued next to group[0] that can share its transaction: commits, and
        at most one batch of starts (one ARN order per transaction)."""
        first = group[0]
        if first.starts is None and not first.commits:
            return
        starts = first.starts is not None
        while self._jobs:
            job = self._jobs[0]
            if job.starts is not None and not starts:
                starts = True
            elif not job.commits:
                break
            group.append(self._jobs.popleft())
        if not starts:  # commits alone: they go as they came, one write each
            for job in reversed(group[1:]):
                self._jobs.appendleft(job)
            del group[1:]

    def _run_combined(self, group: list[_Job]) -> None:
        assert self._combine is not None
        starting = next(job for job in group if job.starts is not None)
        assert starting.starts is not None
        records, lease = starting.starts
        commits = [commit for job in group for commit in job.commits]
        try:
            results = self._combine.create_and_commit(records, lease, commits)
        except Exception:  # the store's edge: each call again alone, for its own outcome
            for job in group:
                _settle(job, job.run)
            return
        for job in group:
            _settle(job, (lambda: results) if job is starting else _nothing)


def _nothing() -> None:
    return None


def _settle(job: _Job, run: Callable[[], object]) -> None:
    """Run on the store thread; hand the outcome to the job's future on its loop."""
    outcome: tuple[Callable[[asyncio.Future[object], object], None], object]
    try:
        outcome = (_set_result, run())
    except BaseException as exc:  # handed to the caller, as run_in_executor does
        outcome = (_set_exception, exc)
    with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits for it
        job.future.get_loop().call_soon_threadsafe(outcome[0], job.future, outcome[1])


def _set_result(future: asyncio.Future[object], result: object) -> None:
    if not future.done():
        future.set_result(result)


def _set_exception(future: asyncio.Future[object], exc: object) -> None:
    if not future.done():
        assert isinstance(exc, BaseException)
        future.set_exception(exc)


_ENCODED_EXECUTIONS: Final = 4096
"""Executions whose encoded frames a Journal keeps (the oldest go first)."""


class Journal:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._thread = _StoreThread(store)
        self.commits_written = 0
        self.batches_written = 0
        # Each running execution's frames as last encoded (codec.state_to_json), so a commit
        # re-encodes only the frames its step changed; dropped when the execution closes.
        self._encoded: dict[str, FrameCache] = {}

    def commit_for(
        self,
        record: ExecutionRecord,
        result: StepResult,
        inbox_seq: int | None,
        now: float,
        before: ExecutionState | None = None,
    ) -> Commit:
        state = result.state
        arn = state.info.execution_arn
        finish = next((c for c in result.commands if isinstance(c, Finish)), None)
        if record.durable:
            texts: dict[int, str] = {}  # one rendering per value (an output is the next input)
            events = tuple(stored_event(arn, e, texts) for e in result.events)
            succeeded = finish is not None and finish.status == "SUCCEEDED"
            snapshot = None if succeeded else state_to_json(state, self._frame_cache(arn))
            if finish is not None:  # see the close below
                self._encoded.pop(arn, None)
        else:
            snapshot = None
            # Express: nothing is written while it runs; its whole history when it closes
            # (AWS keeps none for Express; here every path shows the same history).
            history = (record.history or ()) if finish is not None else ()
            events = tuple(stored_event(arn, e) for e in history)
        timers_added = tuple(
            TimerRecord(arn, c.timer_id, c.due)
            for c in result.commands
            if isinstance(c, StartTimer) and record.durable
        )
        timers_cancelled = tuple(
            c.timer_id for c in result.commands if isinstance(c, CancelTimer) and record.durable
        )
        tokens = tuple(
            TokenRecord(c.request.task_token, arn, now)
            for c in result.commands
            if isinstance(c, InvokeTask) and c.request.task_token is not None
        ) + tuple(
            TokenRecord(c.token, arn, now, c.activity_arn)
            for c in result.commands
            if isinstance(c, ScheduleActivity)
        )
        activity_tasks = tuple(
            ActivityTask(c.token, c.activity_arn, arn, c.input, now)
            for c in result.commands
            if isinstance(c, ScheduleActivity)
        )
        # A token a Task took over (TaskSuccess.token: a `.sync` Task waiting for a child
        # that an earlier attempt started) is open again.
        open_before = _open_tokens(before) if before is not None else set()
        open_after = _open_tokens(state) if before is not None else set()
        taken = sorted(open_after - open_before - {t.token for t in tokens})
        tokens += tuple(TokenRecord(token, arn, now) for token in taken)
        # A token answered, timed out or aborted in this step stops being valid at once: a
        # second SendTaskSuccess gets TaskDoesNotExist, as on AWS.
        gone = sorted(open_before - open_after)
        timed_out = any(e.type.endswith("TimedOut") for e in result.events)
        tokens_removed = () if timed_out else tuple(gone)
        tombstones = (
            tuple(TokenRecord(token, arn, now, status="TIMED_OUT") for token in gone)
            if timed_out
            else ()
        )
        commit = Commit(
            execution_arn=arn,
            state=snapshot,
            events=events,
            timers_added=timers_added,
            timers_cancelled=timers_cancelled,
            tokens_added=tokens,
            tokens_removed=tokens_removed,
            tokens_timed_out=tombstones,
            activity_tasks=activity_tasks,
            inbox_consumed=(inbox_seq,) if inbox_seq is not None else (),
            # A `.sync` Task that stopped waiting stops its child, in this transaction.
            child_stops=tuple(
                ChildStop(c.token, event_to_json(StopRequested(None, c.cause, now)))
                for c in result.commands
                if isinstance(c, StopChild)
            ),
            map_runs=tuple(
                MapRunRecord(
                    arn=c.map_run_arn,
                    execution_arn=arn,
                    status=c.status,
                    start=c.start,
                    stop=c.stop,
                    total_items=c.total_items,
                    max_concurrency=c.max_concurrency,
                    tolerated_failure_count=c.tolerated_failure_count,
                    tolerated_failure_percentage=c.tolerated_failure_percentage,
                    redrive_count=c.redrive_count,
                    redrive_date=c.redrive_date,
                    total_executions=c.total_executions,
                    results_written=c.results_written,
                )
                for c in result.commands
                if isinstance(c, RecordMapRun)
            ),
            map_items=tuple(
                MapRunItems(c.map_run_arn, tuple(dumps(i) for i in c.inputs))
                for c in result.commands
                if isinstance(c, StoreMapItems)
            ),
        )
        if finish is None:
            return commit
        # A child answers its parent's `.sync` Task in the transaction that closes it, so a
        # crash between the close and the answer cannot lose the answer.
        callbacks = parent_callbacks(state.info, finish, now)
        return Commit(
            execution_arn=arn,
            # Only a FAILED, ABORTED or TIMED_OUT execution is read again (RedriveExecution
            # resumes it from this snapshot); a SUCCEEDED one keeps its last snapshot, and an
            # execution that succeeds in its first step, as most short ones do, writes none.
            state=commit.state,
            events=commit.events,
            timers_added=(),
            timers_cancelled=(),
            tokens_added=(),
            inbox_consumed=commit.inbox_consumed,
            status=finish.status,
            stop=now,
            output=finish.output,
            error=finish.error,
            cause=finish.cause,
            child_stops=commit.child_stops,
            map_runs=commit.map_runs,
            map_items=commit.map_items,
            callbacks=callbacks,
        )

    def _frame_cache(self, arn: str) -> FrameCache:
        cache = self._encoded.get(arn)
        if cache is None:
            if len(self._encoded) >= _ENCODED_EXECUTIONS:  # one that moved to another worker
                del self._encoded[next(iter(self._encoded))]
            cache = self._encoded[arn] = {}
        return cache

    async def write(self, commits: Sequence[object]) -> None:
        batch = [c for c in commits if isinstance(c, Commit)]
        if not batch:
            return
        await self._submit(functools.partial(self.store.commit, batch), commits=batch)
        self.commits_written += len(batch)
        self.batches_written += 1

    async def create_executions(
        self, records: Sequence[StoredExecution], lease: Lease | None
    ) -> list[tuple[StoredExecution, bool]]:
        """`Store.create_executions` on the store thread, in one transaction with the step
        commits queued next to it when the store can (see `_StoreThread`)."""
        run = functools.partial(self.store.create_executions, records, lease)
        result = await self._submit(run, starts=(records, lease))
        return result  # type: ignore[return-value]  # what create_executions returned

    async def call(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run another store call on the store thread (keeps one writer)."""
        result = await self._submit(functools.partial(fn, *args, **kwargs))
        return result  # type: ignore[return-value]  # what fn returned

    async def _submit(
        self,
        run: Callable[[], object],
        *,
        starts: tuple[Sequence[StoredExecution], Lease | None] | None = None,
        commits: Sequence[Commit] = (),
    ) -> object:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._thread.submit(_Job(run, future, starts, list(commits)))
        return await future

    def close(self) -> None:
        self._thread.close()
