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
import concurrent.futures
import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from engine.interpreter.messages import (
    CancelTimer,
    Finish,
    InvokeTask,
    ScheduleActivity,
    StartTimer,
)
from engine.store.base import ActivityTask, Commit, Store, TimerRecord, TokenRecord
from engine.store.codec import state_to_json, stored_event

if TYPE_CHECKING:
    from engine.interpreter.core import StepResult
    from engine.interpreter.frames import ExecutionState
    from engine.runtime.loop import ExecutionRecord

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _open_tokens(state: ExecutionState) -> set[str]:
    return {f.task_token for f in state.frames.values() if f.task_token is not None}


class Journal:
    def __init__(self, store: Store) -> None:
        self.store = store
        # One thread: SQLite allows one writer; a single writer also keeps commit order.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="asl-store"
        )
        self.commits_written = 0
        self.batches_written = 0

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
            snapshot = None if succeeded else state_to_json(state)  # see the close below
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
        # A token answered, timed out or aborted in this step stops being valid at once: a
        # second SendTaskSuccess gets TaskDoesNotExist, as on AWS.
        gone = sorted(_open_tokens(before) - _open_tokens(state)) if before else []
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
        )
        if finish is None:
            return commit
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
        )

    async def write(self, commits: Sequence[object]) -> None:
        batch = [c for c in commits if isinstance(c, Commit)]
        if not batch:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self.store.commit, batch)
        self.commits_written += len(batch)
        self.batches_written += 1

    async def call(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run another store call on the store thread (keeps one writer)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
