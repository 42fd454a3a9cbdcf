"""The worker: claims executions from a store, resumes them, and keeps their leases.

Owns: leases (claim, renew, release; taking over the leases of dead processes on this host at
once and of others when they expire), recovery of a claimed execution from its last commit, and
delivery of inbox events (stop, callbacks, heartbeats) to the runtime. Must never: run an
execution another live worker holds, or re-invoke a task whose start was committed but whose
result was not (DESIGN.md: at-most-once).

Recovery rules (DESIGN.md, "Semantics the engine promises"):
- Standard, with a committed state: resume it. Its committed timers are re-armed. A frame that
  was waiting on a task (its start committed, no result) gets `States.TaskFailed` with a cause
  saying the outcome is unknown because the worker was lost; its Retry/Catch then apply.
- Standard, never stepped: start it.
- Express, asynchronous: run again from the beginning (at-least-once).
- Express, synchronous (StartSyncExecution): never re-run; it is closed as FAILED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence

from engine.definition.compile import Machine
from engine.errors import STATES_RUNTIME, STATES_TASK_FAILED
from engine.interpreter.core import ENGINE_FAULT_PREFIX
from engine.interpreter.frames import ExecutionInfo, Phase, new_execution
from engine.interpreter.history import Details, HistoryEvent, Payload
from engine.interpreter.messages import Finish, Start, TaskFinished
from engine.interpreter.tasks import LOST_TASK_CAUSE, TaskFailure
from engine.runtime.journal import Journal, parent_callbacks
from engine.runtime.loop import Runtime
from engine.runtime.supervise import Supervisor, failure_reason
from engine.store.base import (
    Commit,
    ExecutionRecord,
    InboxEvent,
    Lease,
    Store,
    StoreError,
    TimerRecord,
)
from engine.store.codec import event_from_json, state_from_json, stored_event

_log = logging.getLogger("asl.worker")

CRASH_LIMIT = 3
"""Drives of one execution lost in a row (its worker process died, or its runtime dropped it)
before it is closed as FAILED with `States.Runtime` instead of being claimed again (issue 13: a
poison execution re-claimed every lease, for ever). Counted by the store's claims: each claim
that finds no new history event since the previous claim (`ExecutionRecord.claims`)."""

CRASH_MESSAGE = (
    f"the engine was lost {CRASH_LIMIT} times in a row while running this execution (its "
    "worker process died or its runtime dropped it), so it is not run again"
)
CRASH_CAUSE = (
    f"{ENGINE_FAULT_PREFIX}: {CRASH_MESSAGE}. This is a bug in the engine, not in the state "
    "machine; please report it with the definition and the input."
)


class EngineCrashed(Exception):
    """An execution whose drives were lost CRASH_LIMIT times in a row (the cause it fails with)."""


EMPTY_CLAIM_PACE = 29
"""A periodic claim that found nothing is next tried after this many times as long as it took
(the poll interval if that is longer): at most ~3 % of the store's thread. Its cost grows with
the executions alive (100,000 waiting: ~0.1 s, so another process's new execution is picked
up within ~3 s; a start in this process, a poke or a NOTIFY claims at once). With 9 and the
claim's former join (0.7 s) a tenth of the store's thread went to empty claims."""


SYNC_LOST_CAUSE = (
    "The worker running this synchronous Express execution was lost; synchronous executions "
    "are not run again."
)


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _nothing_to_prepare(records: Sequence[ExecutionRecord]) -> None:
    return None


def _nothing_to_stop() -> None:
    return None


class Worker:
    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        journal: Journal,
        load_machine: Callable[[str], Machine],
        *,
        worker_id: str | None = None,
        lease_seconds: float = 30.0,
        poll_seconds: float = 0.25,
        role_of: Callable[[str], str | None] = lambda machine_arn: None,
        seed: int | None = None,
        only: set[str] | None = None,
        claim_batch: int = 1000,
        prepare: Callable[[Sequence[ExecutionRecord]], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.journal = journal
        self.load_machine = load_machine
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.worker_id = worker_id or f"{self.host}:{self.pid}"
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.role_of = role_of
        # Loads what adopting a claimed batch needs (its machines, their roles) off the event
        # loop, so `load_machine` and `role_of` then answer from memory.
        self.prepare = prepare or _nothing_to_prepare
        self.seed = seed
        self.claim_batch = claim_batch  # executions claimed per store round trip
        # When set, drive only these executions (`asl start` must not adopt, and then abandon,
        # executions that other workers or a later `asl worker` should run).
        self.only = only
        self.held: set[str] = set()
        # executions being taken over (read from the store, not yet in the runtime)
        self._adopting: dict[str, asyncio.Event] = {}
        # inbox events handed to the runtime, per execution: not again until it is forgotten
        # (a dropped execution is taken over anew and must get its unapplied events again)
        self._delivered: dict[str, set[int]] = {}
        self._poke = asyncio.Event()
        self._unlisten: Callable[[], None] | None = None  # stops the store's wake-ups
        self._want_claim = True
        self._want_events = True
        self._next_periodic_claim = 0.0  # monotonic time; see `_claim`
        self._next_lease_check = float("-inf")  # monotonic time; see `tick`
        # executions the runtime closed or dropped since the last round (Runtime.on_let_go)
        self._let_go: set[str] = set()
        self._last_sweep = float("-inf")
        # executions this worker stopped driving without releasing them (the runtime dropped
        # one, or its takeover failed): their leases must lapse, so renewals leave them out
        # until they have (monotonic time each was added)
        self._lapsing: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        # The loop survives store errors and bugs: back-off, one log line (supervise.py).
        self.supervisor = Supervisor("the worker loop", _log)
        runtime.on_store_refused = self._forgive
        runtime.on_let_go = self._note_let_go

    def _note_let_go(self, arn: str) -> None:
        self._let_go.add(arn)

    async def _forgive(self, arn: str) -> None:
        """The store refused a commit of `arn`: that lost drive is not counted against it."""
        await self.journal.call(self.store.forgive_claims, self.worker_id, [arn])

    # -- public -----------------------------------------------------------------------------------

    def new_lease(self) -> Lease:
        """A lease for this worker, from now (for executions it records and drives itself)."""
        expires = self.runtime.clock.now() + self.lease_seconds
        return Lease("", self.worker_id, self.host, self.pid, expires)

    def adopt_started(self, record: ExecutionRecord) -> None:
        """Drive an execution this process just recorded (leased to us in the same insert)."""
        if record.status != "RUNNING":
            return
        if record.arn in self.held:
            if not self._closed(record.arn):
                return
            # A name reused after its previous execution was purged: that run is over.
            self.held.discard(record.arn)
            self._delivered.pop(record.arn, None)
            self.runtime.forget(record.arn)
        if self.only is not None and record.arn not in self.only:
            return
        if not self.running:
            self.poke(claim=True, events=False)  # not running as a worker: let a claim decide
            return
        self.held.add(record.arn)
        machine = self.load_machine(record.revision_id)
        durable = record.machine_type == "STANDARD"
        self.runtime.start(machine, self._info(record), durable=durable)

    async def deliver_now(self, arn: str) -> bool:
        """Hand an execution's pending inbox events to the runtime now, in order, if this
        worker drives it (True): a StopExecution must not be raced by a Wait the runtime would
        finish first. Each inbox entry is consumed by the commit of the step that applied it."""
        adopting = self._adopting.get(arn)
        if adopting is not None:
            await adopting.wait()  # else the event would miss the takeover and come a poll late
        if arn not in self.held or self._closed(arn):
            return False
        pending = await self.journal.call(self.store.pending_events, arn)
        if self._closed(arn):
            return False
        self._send_pending(arn, pending)
        return True

    @property
    def running(self) -> bool:
        """Whether the background loop runs (it claims, renews leases and delivers events)."""
        return self._task is not None and not self._task.done()

    @property
    def failure(self) -> str | None:
        """Why the loop's rounds fail (the store is unreachable, ...), or why the loop ended
        if it ever did otherwise than by a cancel; None while it works (or never ran)."""
        task = self._task
        if task is not None and task.done() and not task.cancelled():
            ended = task.exception()
            why = failure_reason(ended) if ended is not None else "it returned"
            return f"the worker loop stopped: {why}"
        return self.supervisor.failure

    def start(self) -> None:
        """Run the claim/renew/deliver loop in the background."""
        self._listen()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def _listen(self) -> None:
        """Be poked by other processes sharing the store (PostgreSQL's LISTEN/NOTIFY) instead
        of finding their starts, stops and callbacks at the next poll; the poll stays."""
        if self._unlisten is not None:
            return
        loop = asyncio.get_running_loop()

        def wake(kind: str) -> None:  # on the listener's thread
            claim, events = kind != "events", kind != "claim"
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody to wake
                loop.call_soon_threadsafe(lambda: self.poke(claim=claim, events=events))

        self._unlisten = self.store.listen(wake) or _nothing_to_stop

    def poke(self, *, claim: bool = True, events: bool = True) -> None:
        """Something changed in the store: look now, not at the next poll.

        `claim`: an execution was started (claim runnable executions); `events`: an event was
        posted to an inbox (stop, callback, redrive). A poke does only the work it names; the
        periodic poll does everything.
        """
        self._want_claim = self._want_claim or claim
        self._want_events = self._want_events or events
        self._poke.set()

    async def run_until_idle(self) -> None:
        """Claim and drive everything runnable; return when nothing is runnable or waiting.

        Idle means: the runtime has nothing to apply, write, run or wait for, no held
        execution can move on its own, and a confirming round found nothing more in the store
        to claim or deliver. A round that claimed a batch is never the confirming one (the
        store may hold more than one batch).
        """
        self._listen()
        while True:
            found = await self.tick()
            if self.runtime.error is not None:
                raise self.runtime.error
            if not found and self.runtime.idle and not self._has_work():
                found = await self.tick()
                if not found and self.runtime.idle and not self._has_work():
                    return
            await self._nap(until_settled=True)

    async def aclose(self) -> None:
        if self._unlisten is not None:
            await asyncio.to_thread(self._unlisten)  # joins the listener thread
            self._unlisten = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        held = list(self.held)
        if held:
            try:
                await self.journal.call(self.store.release, self.worker_id, held)
            except StoreError as exc:  # shutting down anyway: the leases lapse instead
                _log.warning("could not release %d leases on close: %s", len(held), exc.message)
        self.held.clear()
        self._delivered.clear()

    async def renew_leases(self) -> None:
        """Extend the leases of the executions driven here (the loop does it periodically).

        Every lease this worker holds, in one statement, but those that must lapse: one the
        runtime dropped (its commit was refused) or whose takeover failed, so that a worker
        resumes it from its last commit. An execution that closed lost its lease with its
        closing commit.
        """
        for arn in self.held:
            if arn not in self.runtime.executions:
                self._lapse(arn)
        horizon = time.monotonic() - 2 * self.lease_seconds  # lapsed by now, or taken again
        self._lapsing = {a: t for a, t in self._lapsing.items() if t >= horizon}
        now = self.runtime.clock.now()
        await self.journal.call(
            self.store.renew_held, self.worker_id, list(self._lapsing), now, self.lease_seconds
        )

    def _lapse(self, arn: str) -> None:
        """Let the lease of `arn` lapse: renewals leave it out (see `renew_leases`)."""
        self._lapsing.setdefault(arn, time.monotonic())

    # -- the loop ---------------------------------------------------------------------------------

    async def _loop(self) -> None:
        """Claim, deliver and renew until cancelled. Supervised: a round that fails (a
        `StoreError`, or any bug) is retried after a bounded back-off, logged once when the
        loop starts failing and once when it recovers; the loop itself never ends on an error
        (a dead loop left the API accepting starts that nothing drove)."""
        renew_every = max(self.lease_seconds / 3.0, 0.05)
        last_renew = 0.0
        full = True
        while True:
            try:
                await self.tick(full=full, paced=True)
                now = self.runtime.clock.now()
                if now - last_renew >= renew_every:
                    await self.renew_leases()
                    last_renew = now
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # supervised loop edge: survive, back off, log once
                await asyncio.sleep(self.supervisor.failed(exc))
                full = True
                self._next_periodic_claim = 0.0  # a round after a failure tries everything
                continue
            self.supervisor.succeeded()
            full = not await self._nap()

    async def _nap(self, *, until_settled: bool = False) -> bool:
        """Wait for a poke or the poll interval (`until_settled`: or for the runtime to have
        nothing left to do); True when woken before the interval. Work asked for during the
        round just run (a poke, or a full claim batch) is done at once, without waiting."""
        self._poke.clear()
        if self._want_claim or self._want_events:
            await asyncio.sleep(0)  # let the runtime step what the round adopted
            return True
        wakers = [asyncio.ensure_future(self._poke.wait())]
        if until_settled:
            wakers.append(asyncio.ensure_future(self.runtime.settled.wait()))
        try:
            done, _ = await asyncio.wait(
                wakers, timeout=self.poll_seconds, return_when="FIRST_COMPLETED"
            )
        finally:
            for waker in wakers:
                waker.cancel()
        return bool(done)

    async def tick(self, *, full: bool = True, paced: bool = False) -> bool:
        """One round: drop closed executions, take over dead leases, claim, deliver events.

        `full=False` (after a poke) does only what the pokes asked for: each store round trip
        costs as much as many transitions. `paced` (the background loop): a periodic claim is
        put off while claims find nothing and take long (see `_claim`). Returns whether the
        round found work: executions claimed or inbox events handed to the runtime.
        """
        for arn in self._closed_held():
            if arn not in self.runtime.executions:
                self._lapse(arn)  # dropped, not closed: its lease must lapse
            self.held.discard(arn)
            self._delivered.pop(arn, None)
            self.runtime.forget(arn)
        due = not paced or time.monotonic() >= self._next_periodic_claim
        claim, events = self._want_claim or (full and due), self._want_events or full
        self._want_claim = self._want_events = False
        if full and time.monotonic() >= self._next_lease_check:
            began = time.monotonic()
            await self._expire_dead_leases()
            # Each second, or nine times as long as the look took (it reads the leases of the
            # host: ~25 ms with 100,000 executions waiting), as the periodic claim is paced.
            took = time.monotonic() - began
            self._next_lease_check = began + max(min(1.0, self.lease_seconds), 9 * took)
        found = 0
        if claim:
            found += await self._claim()
        if events:
            found += await self._deliver_events()
        return found > 0

    async def _claim(self) -> int:
        now = self.runtime.clock.now()
        began = time.monotonic()
        claimed = await self.journal.call(
            self.store.claim,
            self.worker_id,
            self.host,
            self.pid,
            now,
            self.lease_seconds,
            self.claim_batch,
        )
        # A claim that found nothing still counts the executions alive and looks for a lapsed
        # lease (SqlStore._may_claim: ~15-100 ms with 100,000 waiting on SQLite): the periodic
        # one then waits EMPTY_CLAIM_PACE times as long as it took, so it takes a small fixed
        # share of the store's thread however many wait; pokes still claim at once.
        took = time.monotonic() - began
        pause = EMPTY_CLAIM_PACE * took if not claimed else 0.0
        self._next_periodic_claim = time.monotonic() + pause
        unwanted = [r.arn for r in claimed if self.only is not None and r.arn not in self.only]
        if unwanted:
            await self.journal.call(self.store.release, self.worker_id, unwanted)
        elif len(claimed) >= self.claim_batch:
            # A full batch: the store may hold more runnable executions; claim again at once,
            # not a poll later (a worker draining a backlog would idle between batches). Not
            # when some were handed back: the same ones would come again.
            self._want_claim = True
        fresh = [r for r in claimed if r.arn not in self.held and r.arn not in unwanted]
        return await self._adopt(fresh) if fresh else 0

    def _closed_held(self) -> list[str]:
        """The held executions that closed, or that the runtime no longer has.

        Those the runtime let go of since the last round, in O(closed): it looked at every
        held execution each round (4 rounds a second), which with 100,000 executions waiting
        cost more than the starts. Every held execution is still looked at as often as leases
        are renewed (an execution whose takeover failed half-way never reached the runtime,
        so it is never let go of).
        """
        let_go, self._let_go = self._let_go, set()
        now = time.monotonic()
        if now - self._last_sweep >= self.lease_seconds / 3.0:
            self._last_sweep = now
            return [arn for arn in self.held if self._closed(arn)]
        return [arn for arn in let_go if arn in self.held and self._closed(arn)]

    def _closed(self, arn: str) -> bool:
        live = self.runtime.executions.get(arn)
        return live is None or live.done.done()

    def _has_work(self) -> bool:
        """Whether a held execution can still move without an outside event.

        One whose every open frame waits for a callback, an activity worker or a stop (a
        `.waitForTaskToken` task after TaskSubmitted, an activity) is parked: `--until-idle`
        must not wait for it (docs/cli.md). A frame about to run, or with a task in flight or
        about to be invoked (its commit may still be being written), is work.
        """
        if self._adopting:
            return True  # the background loop is taking executions over (it may close one)
        for arn in self.held:
            live = self.runtime.executions.get(arn)
            if live is None or live.done.done():
                continue
            for frame in live.state.frames.values():
                if frame.phase in (Phase.ENTER, Phase.RETRY):
                    return True
                if frame.phase is Phase.TASK and frame.task_id is not None:
                    return True
        return False

    async def _expire_dead_leases(self) -> None:
        # the pids only: reading every lease each second cost ~1 s of the store thread per
        # second once 100,000 executions waited here
        pids = await self.journal.call(self.store.lease_pids_on_host, self.host)
        dead = [pid for pid in pids if not process_alive(pid)]
        if dead:
            await self.journal.call(self.store.expire_leases, self.host, dead)

    async def _deliver_events(self) -> int:
        arns = await self.journal.call(self.store.executions_with_events)
        sent = 0
        for arn in arns:
            if arn in self.held:
                sent += self._send_pending(
                    arn, await self.journal.call(self.store.pending_events, arn)
                )
        return sent

    # -- recovery ---------------------------------------------------------------------------------

    async def _adopt(self, records: list[ExecutionRecord]) -> int:
        """Resume claimed executions from their last commits (see the module docstring);
        returns how many were handed to the runtime.

        A batch costs a fixed number of store round trips, not some per execution: the
        machines and roles are loaded first (`prepare`, off the event loop), then every
        execution's inbox events and timers in one read. Then each execution and the events it
        was sent (a stop, a callback) reach the runtime together, with no await in between, so
        no Wait or task can run ahead of an event accepted before the takeover. An event posted
        while this reads waits for it in `deliver_now`.
        """
        adopting = asyncio.Event()
        observer = self.runtime.observer
        if observer is not None:
            # Driven before (a commit, or a claim before this one): a lease taken over; else
            # the execution waited for a worker since its start (queue lag).
            now = self.runtime.clock.now()
            fresh = [r for r in records if r.state is None and r.claims <= 1]
            observer.claimed([max(0.0, now - r.start) for r in fresh], len(records) - len(fresh))
        for record in records:
            self._adopting[record.arn] = adopting
            self.held.add(record.arn)
            self._lapsing.pop(record.arn, None)  # claimed again: driven here again
        adopted = 0
        try:
            await self.prepare(records)
            arns = [r.arn for r in records]
            pending, timers = await self.journal.call(self._adoption_reads, arns)
            # Drives lost while it waited (parked) are no sign that it crashes the engine: it is
            # not closed, and its count starts over, or an event arriving after many restarts
            # (a stop, a callback) would find it past CRASH_LIMIT and fail it, not apply.
            parked = {
                r.arn
                for r in records
                if r.claims > 1
                and not r.sync
                and self._parked(r, pending.get(r.arn, []), timers.get(r.arn, []))
            }
            if parked:
                await self.journal.call(self.store.forgive_claims, self.worker_id, sorted(parked))
            for record in records:
                try:
                    await self._take_over(
                        record,
                        pending.get(record.arn, []),
                        timers.get(record.arn, []),
                        parked=record.arn in parked,
                    )
                except StoreError:
                    raise  # the store, not this execution: the loop backs off
                except Exception as exc:  # one execution this worker cannot resume, not all
                    self.held.discard(record.arn)
                    self._lapse(record.arn)
                    _log.error(
                        "could not resume %s: %s; its lease lapses and it is claimed again "
                        "(closed as FAILED once it failed %d times in a row)",
                        record.arn,
                        failure_reason(exc),
                        CRASH_LIMIT,
                    )
                    continue
                adopted += 1
        except BaseException:
            # Not handed to the runtime: let go of them here, so a later claim adopts them.
            for record in records:
                if record.arn not in self.runtime.executions:
                    self.held.discard(record.arn)
                    self._lapse(record.arn)
            raise
        finally:
            for record in records:
                self._adopting.pop(record.arn, None)
            adopting.set()
        return adopted

    def _adoption_reads(
        self, arns: list[str]
    ) -> tuple[dict[str, list[InboxEvent]], dict[str, list[TimerRecord]]]:
        """What a claimed batch needs from the store, in one trip to the store thread."""
        return self.store.pending_events_of(arns), self.store.timers_of(arns)

    async def _take_over(
        self,
        record: ExecutionRecord,
        pending: list[InboxEvent],
        timers: list[TimerRecord],
        *,
        parked: bool,
    ) -> None:
        if record.claims > CRASH_LIMIT and not record.sync and not parked:
            await self._fail_crashed(record)
            return
        machine = self.load_machine(record.revision_id)
        now = self.runtime.clock.now()
        if record.machine_type == "EXPRESS":
            if record.sync:
                await self.journal.write(
                    [
                        Commit(
                            execution_arn=record.arn,
                            state=None,
                            status="FAILED",
                            stop=now,
                            error=STATES_RUNTIME,
                            cause=SYNC_LOST_CAUSE,
                        )
                    ]
                )
                self.held.discard(record.arn)
                return
            info = self._info(record)
            self.runtime.start(machine, info, durable=False)
            self._send_pending(record.arn, pending)
            return
        if record.state is None:
            self.runtime.start(machine, self._info(record), durable=True)
            self._send_pending(record.arn, pending)
            return
        state = state_from_json(record.state)
        self.runtime.adopt(
            machine,
            state,
            durable=True,
            timers=tuple((t.timer_id, t.due) for t in timers),
        )
        if state.next_event_id == 1:
            self.runtime.send(record.arn, Start(now=self.runtime.start_time(state.info)))
        # Events accepted before the crash (a stop, a callback) go first: a lost task's outcome
        # is only learned now, after them (a stopped execution ends ABORTED, not FAILED).
        self._send_pending(record.arn, pending)
        for frame_id, frame in state.frames.items():
            if frame.phase is Phase.TASK and frame.task_id is not None:
                lost = TaskFailure(STATES_TASK_FAILED, LOST_TASK_CAUSE)
                self.runtime.send(record.arn, TaskFinished(frame_id, frame.task_id, lost, now))

    def _parked(
        self, record: ExecutionRecord, pending: list[InboxEvent], timers: list[TimerRecord]
    ) -> bool:
        """Whether the execution had nothing to do when its drives were lost: every open frame
        waits for a timer not yet due, its children or a callback, and no event but a stop
        waits for it.

        Its lost drives are then no sign that it crashes the engine (its workers were killed
        while it waited, e.g. restarted by kill -9 during a Wait of days), so it is not closed
        and its claims count starts over (`_adopt`). One that crashes when its timer fires is
        not parked when claimed after that crash: the timer is due."""
        if record.state is None or record.machine_type != "STANDARD":
            return False
        state = state_from_json(record.state)
        for frame in state.frames.values():
            if frame.phase in (Phase.ENTER, Phase.RETRY):
                return False
            if frame.phase is Phase.TASK and frame.task_id is not None:
                return False
        now = self.runtime.clock.now()
        if any(timer.due <= now for timer in timers):
            return False
        # A stop waiting for it only ends it (ABORTED, as the caller asked): it runs nothing
        return all(isinstance(e.payload, dict) and e.payload.get("kind") == "stop" for e in pending)

    async def _fail_crashed(self, record: ExecutionRecord) -> None:
        """Close an execution whose drives were lost CRASH_LIMIT times in a row (a poison
        execution: it kills its worker, or its runtime drops it, every time) as FAILED with
        `States.Runtime`, without running it: it was claimed again every lease, for ever.

        Closed through the runtime, with its history (`Runtime.fail`), from its last commit.
        If even that did not stick (the claim after it finds it still RUNNING), the close is
        written directly, without reading its state."""
        _log.error("%s: %s; it is closed as FAILED (States.Runtime)", record.arn, CRASH_MESSAGE)
        if record.claims == CRASH_LIMIT + 1:
            try:
                machine = self.load_machine(record.revision_id)
                durable = record.machine_type == "STANDARD"
                state = (
                    state_from_json(record.state)
                    if durable and record.state is not None
                    else new_execution(self._info(record), machine.root.start_at)
                )
                self.runtime.fail(machine, state, EngineCrashed(CRASH_MESSAGE), durable=durable)
                return
            except StoreError:
                raise
            except Exception as exc:  # it cannot even be read: close it without its state
                _log.error("%s cannot be resumed to close it: %s", record.arn, failure_reason(exc))
        self.held.discard(record.arn)
        now = self.runtime.clock.now()
        # Its history still ends with the event of its status, after its newest event (and
        # begins with ExecutionStarted, even when it never ran a step).
        newest = await self.journal.call(self.store.get_history, record.arn, limit=1, reverse=True)
        last_id = newest[0].id if newest else 0
        events: list[HistoryEvent] = []
        if last_id == 0:
            info = self._info(record)
            started: Details = {"input": Payload(info.input), "roleArn": info.role_arn}
            events.append(HistoryEvent(1, 0, record.start, "ExecutionStarted", started))
            last_id = 1
        failed: Details = {"error": STATES_RUNTIME, "cause": CRASH_CAUSE}
        events.append(HistoryEvent(last_id + 1, last_id, now, "ExecutionFailed", failed))
        await self.journal.write(
            [
                Commit(
                    execution_arn=record.arn,
                    state=None,
                    events=tuple(stored_event(record.arn, e) for e in events),
                    # a child's parent waiting on it learns that it failed
                    callbacks=parent_callbacks(
                        self._info(record),
                        Finish("FAILED", error=STATES_RUNTIME, cause=CRASH_CAUSE),
                        now,
                    ),
                    status="FAILED",
                    stop=now,
                    error=STATES_RUNTIME,
                    cause=CRASH_CAUSE,
                )
            ]
        )

    def _send_pending(self, arn: str, pending: list[InboxEvent]) -> int:
        """Hand the runtime the inbox events it was not given yet; returns how many."""
        delivered = self._delivered.setdefault(arn, set())
        sent = 0
        for inbox in pending:
            if inbox.seq not in delivered:
                delivered.add(inbox.seq)
                self.runtime.send(arn, event_from_json(inbox.payload), inbox_seq=inbox.seq)
                sent += 1
        return sent

    def _info(self, record: ExecutionRecord) -> ExecutionInfo:
        machine_name = record.machine_arn.split(":stateMachine:", 1)[-1].split(":", 1)[0]
        role = self.role_of(record.machine_arn)
        return ExecutionInfo(
            execution_arn=record.arn,
            name=record.name,
            state_machine_arn=record.machine_arn,
            state_machine_name=machine_name,
            input=record.input,
            start_time=record.start,
            redrive_count=record.redrive_count,
            execution_type=record.machine_type,
            test_case=record.test_case,
            parent_execution_arn=record.parent_arn,
            parent_token=record.parent_token,
            parent_pattern=record.parent_pattern,
            # The durable service runs a Standard parent's Distributed Map items as child
            # executions. An Express parent's steps are not committed (only its close), so
            # it has no Map Run to record and no committed step to start children from: its
            # items run in it, as the in-process engine runs them (they waited forever).
            map_children=record.machine_type == "STANDARD",
            map_run_arn=record.map_run_arn,
            **({"role_arn": role} if role else {}),
            # A fixed seed still gives every execution its own draws (task tokens, jitter).
            seed=zlib.crc32(f"{self.seed}:{record.arn}".encode())
            if self.seed is not None
            else zlib.crc32(record.arn.encode()),
        )
