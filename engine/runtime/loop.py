"""The runtime: drives many executions in one asyncio event loop.

Owns: feeding events to the interpreter's `step`, carrying out the commands it returns (invoke a
backend, start or cancel a timer, finish), the due-time queue, the virtual-clock jump, and, when
a journal is attached, the durability order: a step's commit is written (group commit, many
executions per transaction) before any of its commands is carried out. There is no thread per
execution, state or Map item: an execution is a value plus its pending timers and in-flight
tasks; blocking handlers run in the backend's bounded pool. Must never: decide ASL semantics (the
interpreter does) or know how a backend or a store works (their Protocols are the seams).

Virtual time: when no event is waiting to be applied, no commit is being written and no task is
in flight, the clock jumps to the next due timer. A task in flight holds the clock, so a Task's
TimeoutSeconds measures its handler fairly even under virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

from engine.backends.base import Backend, BackendResolver, Cancellable, StartInvoke
from engine.definition.compile import Machine
from engine.errors import STATES_RUNTIME
from engine.interpreter.core import StepResult, engine_fault, step
from engine.interpreter.frames import ExecutionInfo, ExecutionState, new_execution
from engine.interpreter.history import HistoryEvent
from engine.interpreter.messages import (
    CancelTask,
    CancelTimer,
    Command,
    Event,
    Finish,
    InvokeTask,
    Start,
    StartTimer,
    StopChild,
    StopRequested,
    TaskCallback,
    TaskFinished,
    TimerFired,
)
from engine.interpreter.nested import child_outcome
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.runtime.clock import Clock, RealClock
from engine.runtime.crash import CrashPoints, Redelivery
from engine.runtime.observe import RuntimeObserver
from engine.runtime.supervise import failure_reason
from engine.runtime.timers import TimerQueue

if TYPE_CHECKING:
    # Only a durable runtime has a journal (and a store): an in-process run (`asl run`,
    # Engine) never imports them (start-up time, bench/README.md section 3).
    from engine.runtime.journal import Journal

_log = logging.getLogger(__name__)

MAX_COMMITS_PER_BATCH = 2_000
"""Steps written in one transaction at most (group commit): enough to amortise a COMMIT's
sync many times over, few enough that a transaction stays well under a second."""


@dataclass(slots=True)
class ExecutionRecord:
    """An execution as the runtime holds it: compiled machine, state, history, completion."""

    machine: Machine
    state: ExecutionState
    history: list[HistoryEvent] | None
    done: asyncio.Future[Finish]
    stop_time: float | None = None
    inflight: set[str] = field(default_factory=set)
    durable: bool = False  # journal every step (Standard); else only start and close (Express)


@dataclass(slots=True)
class _Pending:
    """A step whose commit is being written; its commands wait for the commit."""

    execution_arn: str
    commit: object
    commands: tuple[Command, ...]
    now: float
    events: tuple[HistoryEvent, ...]
    event: Event  # the event the step applied (an engine fault carrying it out names it)


class Runtime:
    """Runs executions. Use `start` (or `adopt`) then `wait`, inside a running event loop."""

    def __init__(
        self,
        resolver: BackendResolver,
        *,
        clock: Clock | None = None,
        keep_history: bool = True,
        journal: Journal | None = None,
        crash: CrashPoints | None = None,
        redelivery: Redelivery | None = None,
        on_unconfigured: Callable[[str], TaskFailure] | None = None,
        on_closed: Callable[[str], None] | None = None,
    ) -> None:
        self.resolver = resolver
        self.clock: Clock = clock or RealClock()
        self.keep_history = keep_history
        self.journal = journal
        self.crash = crash or CrashPoints()
        self.redelivery = redelivery or Redelivery()
        self.executions: dict[str, ExecutionRecord] = {}
        # None: the registry's failure, which names how to serve the resource (imported at the
        # first unserved Task, not at start-up: a machine without Tasks never needs the
        # registry, its ARN parsing and regexes; bench/process_bench.py)
        self._on_unconfigured = on_unconfigured
        self._on_closed = on_closed
        # Told (and awaited) before an execution is dropped because the store refused its
        # commit: the worker starts its claims count over, since a drive the store ended is no
        # sign of a poison execution (worker.py, CRASH_LIMIT).
        self.on_store_refused: Callable[[str], Awaitable[None]] | None = None
        # Told when an execution closes or is dropped (its `done` is set or its record is
        # gone), so the worker lets go of exactly those instead of looking at every execution
        # it holds each round (100,000 of them while as many wait).
        self.on_let_go: Callable[[str], None] | None = None
        # Told when a written commit queued events for other executions (a child's answer to
        # its parent's `.sync` Task, the stop of a child): the worker delivers them.
        self.on_posted: Callable[[], None] | None = None
        # Told each step's history events and each commit's latency (observe.py); None, the
        # default, costs one attribute read per step.
        self.observer: RuntimeObserver | None = None
        # Without a journal: the running child of each `.sync` Task, by the Task's token (a
        # journal's store keeps this link instead: ExecutionRecord.parent_token).
        self._children: dict[str, str] = {}
        self._inbox: deque[tuple[str, Event, int | None]] = deque()
        self._timers = TimerQueue()
        # Keyed by (execution, task id): task ids are only unique within one execution.
        # An asyncio Task running `invoke`, or what a backend's `start_invoke` returned.
        self._tasks: dict[tuple[str, str], Cancellable] = {}
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        # Set while the driver sleeps with nothing to do at all: a worker waiting for the
        # runtime to finish what it claimed (`--until-idle`) wakes on it instead of a poll.
        self.settled = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    def _unconfigured(self, resource: str) -> TaskFailure:
        if self._on_unconfigured is not None:
            return self._on_unconfigured(resource)
        from engine.backends.registry import unconfigured_resource_failure

        return unconfigured_resource_failure(resource)

    # -- public -------------------------------------------------------------------------------

    def start(
        self,
        machine: Machine,
        info: ExecutionInfo,
        *,
        durable: bool = False,
    ) -> ExecutionRecord:
        """Register a new execution and schedule its Start event; returns its record."""
        state = new_execution(info, machine.root.start_at)
        record = self.adopt(machine, state, durable=durable)
        self.send(info.execution_arn, Start(now=self.start_time(info)))
        return record

    def start_time(self, info: ExecutionInfo) -> float:
        """When a recorded execution starts running here: now, and never before its
        startDate (a virtual clock behind the process that recorded it is moved up to it).
        Its ExecutionStarted event carries the startDate itself (the interpreter)."""
        self.clock.advance_to(info.start_time)
        return self.clock.now()

    def adopt(
        self,
        machine: Machine,
        state: ExecutionState,
        *,
        durable: bool = False,
        timers: tuple[tuple[str, float], ...] = (),
    ) -> ExecutionRecord:
        """Take over an execution in a given state (resumed from a store) with its timers."""
        loop = asyncio.get_running_loop()
        record = ExecutionRecord(
            machine=machine,
            state=state,
            # An Express execution's history is written when it closes, so it is kept here.
            history=[] if self.keep_history or (not durable and self.journal) else None,
            done=loop.create_future(),
            durable=durable,
        )
        arn = state.info.execution_arn
        self.executions[arn] = record
        if state.info.parent_token is not None and self.journal is None:
            self._children[state.info.parent_token] = arn
        for timer_id, due in timers:
            self._timers.add(arn, timer_id, due)
        self._ensure_driver()
        self._wakeup.set()
        return record

    def send(self, execution_arn: str, event: Event, inbox_seq: int | None = None) -> None:
        """Queue an event for an execution (`inbox_seq`: a store inbox event it consumes)."""
        self._inbox.append((execution_arn, event, inbox_seq))
        self._ensure_driver()
        self._wakeup.set()

    def stop(self, execution_arn: str, error: str | None, cause: str | None) -> None:
        self.send(execution_arn, StopRequested(error, cause, self.clock.now()))

    async def wait(self, execution_arn: str) -> Finish:
        return await asyncio.shield(self.executions[execution_arn].done)

    def forget(self, execution_arn: str) -> None:
        """Drop a closed execution from memory (its record lives on in the store)."""
        record = self.executions.get(execution_arn)
        if record is not None and record.done.done():
            del self.executions[execution_arn]

    @property
    def idle(self) -> bool:
        """Nothing to apply, write or wait for: no events, commits, tasks or timers."""
        return not self._inbox and not self._pending and not self._tasks and len(self._timers) == 0

    @property
    def busy(self) -> bool:
        """Something runnable now (events, commits, tasks); timers alone do not count."""
        return bool(self._inbox or self._pending or self._tasks)

    async def aclose(self) -> None:
        calls = list(self._tasks.values())
        self._tasks.clear()  # a call's answer arriving after this is dropped
        for task in calls:
            task.cancel()
        for background in (self._flusher, self._driver):
            if background is not None:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
        self._flusher = None
        self._driver = None

    # -- driving ------------------------------------------------------------------------------

    def _ensure_driver(self) -> None:
        if self._driver is None or self._driver.done():
            self._driver = asyncio.get_running_loop().create_task(self._drive())

    async def _drive(self) -> None:
        try:
            await self._drive_forever()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # an engine bug: fail every waiter loudly, never hang
            # Not one execution's (those are contained in _apply and _flush): the runtime's
            # own. Logged here, or the task's exception would only surface at its collection.
            if isinstance(exc, Exception):
                _log.critical(
                    "the runtime stopped on an engine error (%s): every execution it drove is "
                    "dropped and resumed from its last commit once its lease lapses",
                    failure_reason(exc),
                    exc_info=exc,
                )
            self.error = exc
            for arn, record in self.executions.items():
                if not record.done.done():
                    record.done.set_exception(exc)
                self._let_go(arn)
            raise

    async def _drive_forever(self) -> None:
        while True:
            while self._inbox:
                execution_arn, event, inbox_seq = self._inbox.popleft()
                self._apply(execution_arn, event, inbox_seq)
            if self._pending:
                self._ensure_flusher()
            # Due timers and a virtual clock's jumps go round again without awaiting: yield
            # first, or an execution that re-arms a timer due at once (a step paused at its
            # work budget, interpreter/core.py) would starve the API and every other task.
            if self._fire_due_timers():
                await asyncio.sleep(0)
                continue
            next_due = self._timers.next_due()
            holding = self._tasks or self._pending or self._flusher_running
            if self.clock.virtual and not holding and next_due is not None:
                self.clock.advance_to(next_due)
                await asyncio.sleep(0)
                continue
            self._wakeup.clear()
            if self._inbox:
                continue
            if not holding and next_due is None:
                self.settled.set()  # nothing to apply, write, run or wait for
                await self._wakeup.wait()
                self.settled.clear()
                continue
            timeout = None
            if next_due is not None:
                timeout = max(0.0, next_due - self.clock.now())
            # Tasks in flight: time passes for real, also on a virtual clock, so a handler that
            # overruns its TimeoutSeconds is timed out (the virtual clock follows real time here).
            started = time.monotonic()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancel that lands
            # while the event is being set, and aclose() would then wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
            if self.clock.virtual and self._tasks:
                self.clock.advance_to(self.clock.now() + (time.monotonic() - started))

    def _quiet(self) -> bool:
        """Whether the store holds every step and no Task is in flight or about to be invoked:
        a worker killed now leaves nothing whose outcome is unknown (crash.py, idle_commit)."""
        if self._pending or self._tasks:
            return False
        return not any(
            frame.task_id is not None
            for record in self.executions.values()
            for frame in record.state.frames.values()
        )

    @property
    def _flusher_running(self) -> bool:
        return self._flusher is not None and not self._flusher.done()

    def _fire_due_timers(self) -> bool:
        due = self._timers.pop_due(self.clock.now())
        for timer in due:
            event = TimerFired(timer.timer_id, self.clock.now())
            self._inbox.append((timer.execution_arn, event, None))
        return bool(due)

    def _apply(self, execution_arn: str, event: Event, inbox_seq: int | None) -> None:
        record = self.executions.get(execution_arn)
        if record is None or record.done.done():
            return
        before = record.state
        recorded = len(record.history) if record.history is not None else 0
        try:
            self._record_step(
                execution_arn, record, step(record.machine, before, event), event, inbox_seq, before
            )
        except Exception as exc:  # an engine bug outside `step`: fail this execution only
            record.state = before  # the failed step's work is discarded, as `step` does
            if record.history is not None:
                del record.history[recorded:]
            self._contain(execution_arn, record, event, inbox_seq, exc)

    def fail(
        self,
        machine: Machine,
        state: ExecutionState,
        exc: Exception,
        *,
        durable: bool = False,
    ) -> ExecutionRecord:
        """Take over an execution only to close it as FAILED with `States.Runtime` (an engine
        error, `exc` says which), as `step` closes one an engine bug stopped: used for an
        execution that crashed the engine too often to be run again (worker.py)."""
        record = self.adopt(machine, state, durable=durable)
        event = Start(now=self.clock.now())
        self._contain(state.info.execution_arn, record, event, None, exc)
        return record

    def _contain(
        self,
        execution_arn: str,
        record: ExecutionRecord,
        event: Event,
        inbox_seq: int | None,
        exc: Exception,
    ) -> None:
        """Close an execution an engine bug stopped, as `step` does for bugs inside it."""
        fault: StepResult | None = None
        try:
            fault = engine_fault(record.state, event, exc)
            self._record_step(execution_arn, record, fault, event, inbox_seq, record.state)
        except Exception as again:  # cannot even record it: let go of it, loudly
            _log.error(
                "engine error in %s (%s); its failure could not be recorded either (%s): this "
                "process stops driving it, and a worker resumes or fails it once its lease "
                "lapses\n%s",
                execution_arn,
                failure_reason(exc),
                failure_reason(again),
                fault.fault if fault is not None else "",
            )
            self.executions.pop(execution_arn, None)
            self._release(execution_arn, record)
            if not record.done.done():
                failure = fault.state.failure if fault is not None else None
                cause = failure.cause if failure is not None else None
                record.done.set_result(Finish("FAILED", error=STATES_RUNTIME, cause=cause))
            self._let_go(execution_arn)

    def _record_step(
        self,
        execution_arn: str,
        record: ExecutionRecord,
        result: StepResult,
        event: Event,
        inbox_seq: int | None,
        before: ExecutionState,
    ) -> None:
        if result.fault is not None:
            _log.error(
                "engine error in %s: the execution is closed as FAILED (States.Runtime)\n%s",
                execution_arn,
                result.fault,
            )
        record.state = result.state
        if record.history is not None:
            record.history.extend(result.events)
        observer = self.observer
        if observer is not None and result.events:
            observer.history(result.state.info, result.events)
        journal = self.journal
        if journal is not None and (
            record.durable
            or inbox_seq is not None
            or any(isinstance(c, Finish) for c in result.commands)  # a closing step
        ):
            commit = journal.commit_for(record, result, inbox_seq, event.now, before)
            self._pending.append(
                _Pending(execution_arn, commit, result.commands, event.now, result.events, event)
            )
            self._ensure_flusher()
            return
        self._carry_out_commands(execution_arn, record, result.commands, event.now)

    # -- group commit -----------------------------------------------------------------------------

    def _ensure_flusher(self) -> None:
        if not self._flusher_running and self._pending:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        """Write pending commits in batches; carry out each step's commands after its commit."""
        journal = self.journal
        assert journal is not None
        while self._pending:
            # Coalesced by what piled up while the previous batch was written, capped so one
            # transaction stays short (a burst of adoptions or starts is written in several).
            batch = self._pending[:MAX_COMMITS_PER_BATCH]
            del self._pending[:MAX_COMMITS_PER_BATCH]
            written = await self._write(journal, batch)
            # _quiet reads every frame of every execution: with 100,000 executions waiting,
            # asking after each batch made every start slower as they piled up.
            if self.crash.wants_quiet:
                self.crash.after_batch(quiet=self._quiet())
            for pending in written:
                record = self.executions.get(pending.execution_arn)
                if record is None or record.done.done():
                    continue
                self.crash.after_commit(pending.events)
                try:
                    self._carry_out_commands(
                        pending.execution_arn, record, pending.commands, pending.now
                    )
                except Exception as exc:  # an engine bug in one execution's commands: its own
                    # (it killed the flusher, and the commands of every later execution in the
                    # batch were never carried out: those executions hung)
                    self._contain(pending.execution_arn, record, pending.event, None, exc)
        self._wakeup.set()

    async def _write(self, journal: Journal, batch: list[_Pending]) -> list[_Pending]:
        """Write a batch; returns the steps written, in order.

        When the batch fails, its commits are written one by one, so one execution whose
        commit the store refuses cannot hold back the others it shared a batch with. An
        execution whose commit cannot be written is dropped from this process (`_drop`).
        """
        try:
            began = time.perf_counter()
            await journal.write([p.commit for p in batch])
            if self.observer is not None:
                self.observer.committed(time.perf_counter() - began, len(batch))
            return batch
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the store edge: isolate the commit that fails
            if len(batch) == 1:
                await self._store_refused(batch[0].execution_arn, exc)
                self._drop(batch[0].execution_arn, exc)
                return []
        written: list[_Pending] = []
        dropped: set[str] = set()
        for pending in batch:
            if pending.execution_arn in dropped:
                continue  # its later steps build on the one that was not written
            try:
                await journal.write([pending.commit])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                dropped.add(pending.execution_arn)
                await self._store_refused(pending.execution_arn, exc)
                self._drop(pending.execution_arn, exc)
            else:
                written.append(pending)
        return written

    async def _store_refused(self, execution_arn: str, error: Exception) -> None:
        from engine.store.base import StoreError  # loaded already: a journal wrote to a store

        if self.on_store_refused is None or not isinstance(error, StoreError):
            return
        try:
            await self.on_store_refused(execution_arn)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the store is failing: the drop goes ahead regardless
            _log.debug("could not start the claims of %s over: %s", execution_arn, exc)

    def _drop(self, execution_arn: str, error: Exception) -> None:
        """Stop driving an execution whose step could not be committed.

        Nothing that step asked for is carried out (no task invoked, no timer set), so the
        store still holds the last committed state; the execution's lease lapses and a worker
        resumes it from there. Whoever waits on it here gets the store's error.
        """
        record = self.executions.pop(execution_arn, None)
        _log.error(
            "could not commit a step of %s: %s; this process stops driving it and a worker "
            "resumes it from its last commit once its lease lapses",
            execution_arn,
            error,
        )
        if record is None:
            return
        self._release(execution_arn, record)
        if not record.done.done():
            record.done.set_exception(error)
            record.done.exception()  # retrieved: a waiter is optional, the log says it
        self._let_go(execution_arn)

    # -- commands ---------------------------------------------------------------------------------

    def _carry_out_commands(
        self,
        execution_arn: str,
        record: ExecutionRecord,
        commands: tuple[Command, ...],
        now: float,
    ) -> None:
        for command in commands:
            if isinstance(command, InvokeTask):
                self._invoke(execution_arn, record, command)
            elif isinstance(command, StartTimer):
                self._timers.add(execution_arn, command.timer_id, command.due)
            elif isinstance(command, CancelTimer):
                self._timers.cancel(execution_arn, command.timer_id)
            elif isinstance(command, CancelTask):
                task = self._tasks.pop((execution_arn, command.task_id), None)
                record.inflight.discard(command.task_id)
                if task is not None:
                    task.cancel()
            elif isinstance(command, StopChild):
                self._stop_child(command)
            elif isinstance(command, Finish):
                self._finish(execution_arn, record, command, now)
        self._wakeup.set()

    def _stop_child(self, command: StopChild) -> None:
        """A `.sync` Task stopped waiting: stop its child. With a journal the stop was queued
        by the step's commit (the store knows the child); the worker delivers it."""
        if self.journal is not None:
            if self.on_posted is not None:
                self.on_posted()
            return
        child = self._children.pop(command.token, None)
        record = self.executions.get(child) if child is not None else None
        if child is not None and record is not None and not record.done.done():
            self.stop(child, None, command.cause)

    def _answer_parent(self, record: ExecutionRecord, finish: Finish, now: float) -> None:
        """A child closed: answer its parent's `.sync` Task. With a journal the answer was
        queued by the closing commit, in the same transaction (a crash cannot lose it)."""
        info = record.state.info
        if info.parent_token is None:
            return
        if self.journal is not None:
            if self.on_posted is not None:
                self.on_posted()
            return
        self._children.pop(info.parent_token, None)
        result = child_outcome(info, finish.status, finish.output, finish.error, finish.cause, now)
        parent = info.parent_execution_arn
        if result is not None and parent is not None and parent in self.executions:
            self.send(parent, TaskCallback(info.parent_token, result, now))

    def _finish(
        self, execution_arn: str, record: ExecutionRecord, finish: Finish, now: float
    ) -> None:
        record.stop_time = now
        self._release(execution_arn, record)
        self._answer_parent(record, finish, now)
        if not record.done.done():
            record.done.set_result(finish)
        if self._on_closed is not None:
            self._on_closed(execution_arn)
        self._let_go(execution_arn)

    def _let_go(self, execution_arn: str) -> None:
        if self.on_let_go is not None:
            self.on_let_go(execution_arn)

    def _release(self, execution_arn: str, record: ExecutionRecord) -> None:
        """Cancel an execution's timers and its backend calls in flight."""
        self._timers.cancel_execution(execution_arn)
        for task_id in list(record.inflight):
            task = self._tasks.pop((execution_arn, task_id), None)
            if task is not None:
                task.cancel()
        record.inflight.clear()

    def _invoke(self, execution_arn: str, record: ExecutionRecord, command: InvokeTask) -> None:
        if self.observer is not None:  # a traced execution's task passes its trace context on
            traceparent = self.observer.traceparent(record.state.info, command.request.state_name)
            if traceparent is not None:
                command = replace(
                    command, request=replace(command.request, traceparent=traceparent)
                )
        request = command.request
        backend = self.resolver(request.resource)
        record.inflight.add(command.task_id)
        crash = self.crash
        if crash.point is not None:
            crash.before_task()
        key = (execution_arn, command.task_id)
        # `starter_of`, written out
        start: StartInvoke | None = getattr(backend, "start_invoke", None)
        # Forced Express redelivery invokes twice in a row: the coroutine below does that.
        if start is not None and not (
            self.redelivery.probability > 0 and record.state.info.execution_type == "EXPRESS"
        ):
            # No asyncio Task: the backend calls back (base.StartInvoke).
            on_result = partial(self._started_task_done, key, record, command)
            started: TaskResult | Cancellable | None
            try:  # `_start_safely`, written out: every call of a Python handler comes here
                started = start(request, on_result)
            except Exception as exc:  # backend edge: never let a backend bug kill the runtime
                started = _start_failed(request, exc)
            if isinstance(started, _TASK_RESULTS):
                self._task_done(execution_arn, record, command, started)
                return
            if started is not None:
                self._tasks[key] = started
                return

        async def call() -> None:
            result: TaskResult
            if backend is None:
                result = self._unconfigured(command.request.resource)
            else:
                result = await _invoke_safely(backend, command.request)
                express = record.state.info.execution_type == "EXPRESS"
                if express and self.redelivery.twice():
                    # At-least-once, on purpose: the second delivery's outcome is the one used.
                    result = await _invoke_safely(backend, command.request)
            self._tasks.pop(key, None)
            self._task_done(execution_arn, record, command, result)

        self._tasks[key] = asyncio.get_running_loop().create_task(call())

    def _started_task_done(
        self,
        key: tuple[str, str],
        record: ExecutionRecord,
        command: InvokeTask,
        result: TaskResult,
    ) -> None:
        """A `start_invoke` call's answer. One that comes after the call was cancelled
        (CancelTask, a close, aclose: each drops the key first) is dropped, as a cancelled
        asyncio Task would never have sent it."""
        if self._tasks.pop(key, None) is not None:
            self._task_done(key[0], record, command, result)

    def _task_done(
        self, execution_arn: str, record: ExecutionRecord, command: InvokeTask, result: TaskResult
    ) -> None:
        """A backend answered (its call is out of `_tasks` already): feed the result back."""
        crash = self.crash
        if crash.point is not None:
            crash.after_task()
        record.inflight.discard(command.task_id)
        # `send`, written out: every task's answer comes this way
        event = TaskFinished(command.frame_id, command.task_id, result, self.clock.now())
        self._inbox.append((execution_arn, event, None))
        driver = self._driver
        if driver is None or driver.done():
            self._ensure_driver()
        self._wakeup.set()


_TASK_RESULTS = (TaskSuccess, TaskFailure)
"""`TaskSuccess | TaskFailure` for isinstance, made once (`A | B` builds a union per call)."""


def _start_failed(request: TaskRequest, exc: Exception) -> TaskFailure:
    """A backend's `start_invoke` raised (a bug in it): the task fails, as in `invoke`."""
    _log.exception("the backend for %s raised", request.resource, extra=_where(request))
    return TaskFailure(STATES_RUNTIME, f"The backend for '{request.resource}' failed: {exc!r}")


async def _invoke_safely(backend: Backend, request: TaskRequest) -> TaskResult:
    """Call a backend; a backend that raises (a bug in it) fails the task instead of the loop."""
    try:
        result = await backend.invoke(request)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # backend edge: never let a backend bug kill the runtime
        _log.exception("the backend for %s raised", request.resource, extra=_where(request))
        return TaskFailure(STATES_RUNTIME, f"The backend for '{request.resource}' failed: {exc!r}")
    if not isinstance(result, _TASK_RESULTS):  # a backend bug too: same rule
        _log.error(
            "the backend for %s returned %r, not a task result",
            request.resource,
            result,
            extra=_where(request),
        )
        return TaskFailure(
            STATES_RUNTIME,
            f"The backend for '{request.resource}' failed: it returned "
            f"{type(result).__name__}, not a task result",
        )
    return result


def _where(request: TaskRequest) -> dict[str, str]:
    """The execution and state a log line about a task concerns (engine/logformat.py)."""
    return {"execution_arn": request.execution_arn, "state_name": request.state_name}
