"""Hypothesis explores start / stop / callback / crash / restart on one durable SQLite store.

In process: a `Service` over a SQLite file, driven with `worker.run_until_idle()` on a shared
VirtualClock. A crash abandons the Service without letting it release anything: its held leases
are forgotten, its runtime's tasks are cancelled mid-flight (a commit being written completes,
exactly as a commit either happens or not when a process dies), and a new Service opens on the
same file with a new worker id. Its worker takes the executions over only when their leases
expire (the holder is this very process, so it is not found dead): the clock moves past the
lease first. A `hang` task never returns on its first call, so a crash catches it in flight.

Invariants, after every step: history ids are exactly 1..N; no state is entered twice (the
machines have no loops; a retry does not re-enter its state); each task is invoked at most once
per execution, twice only where a Retry on States.TaskFailed opts in; a terminal execution stays
exactly as it closed; a stop answered while the execution is still RUNNING (queued for the
worker that takes it over) closes it ABORTED; a stop applied here returns the closed record.
At the end, after a last crash and the answer to every callback, every execution is terminal.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
)

from engine.errors import ResourceNotFound
from engine.runtime.clock import VirtualClock
from engine.service import Service, ServiceConfig
from engine.store.base import ExecutionRecord, Store
from engine.store.open import open_store
from engine.testing import TERMINAL, CallLedger, assert_history_ids, entered_counts
from engine.values import JSON

pytestmark = pytest.mark.slow

LEASE_SECONDS = 5.0
WATCHDOG_SECONDS = 30.0
_T = TypeVar("_T")

PARAMETERS = {"execution.$": "$$.Execution.Name", "state.$": "$$.State.Name"}
LOST_RETRY = [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "MaxAttempts": 1}]


def lam(function: str, **fields: JSON) -> dict[str, JSON]:
    return {
        "Type": "Task",
        "Resource": f"arn:aws:lambda:us-east-1:111111111111:function:{function}",
        "Parameters": PARAMETERS,
        **fields,
    }


MACHINES: dict[str, dict[str, JSON]] = {
    "chain": {
        "StartAt": "One",
        "States": {"One": lam("work", Next="Two"), "Two": lam("work", End=True)},
    },
    "wait": {
        "StartAt": "Nap",
        "States": {
            "Nap": {"Type": "Wait", "Seconds": 60, "Next": "After"},
            "After": lam("work", End=True),
        },
    },
    "callback": {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "remember",
                    "Payload": {**PARAMETERS, "token.$": "$$.Task.Token"},
                },
                "Next": "Answered",
            },
            "Answered": lam("work", End=True),
        },
    },
    "hang": {
        "StartAt": "Stuck",
        "States": {
            "Stuck": lam("hang", Retry=LOST_RETRY, Next="Then"),
            "Then": lam("work", End=True),
        },
    },
    "hang_no_retry": {
        "StartAt": "Stuck",
        "States": {"Stuck": lam("hang", End=True)},
    },
}
# states whose task a Retry on States.TaskFailed may invoke a second time
RETRIED = frozenset({("hang", "Stuck")})


_TEMPLATE = tempfile.TemporaryDirectory(prefix="asl-stateful-template-")


def migrated_template() -> Path:
    """An empty, migrated SQLite store, made once: migrating costs ~1 s, copying ~3 ms."""
    path = Path(_TEMPLATE.name) / "asl.db"
    if not path.exists():
        open_store(f"sqlite:///{path}").close()
    return path


class CrashMachine(RuleBasedStateMachine):
    executions = Bundle("executions")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="asl-stateful-"))
        shutil.copy(migrated_template(), self.folder / "asl.db")
        self.url = f"sqlite:///{self.folder / 'asl.db'}"
        self.ledger = CallLedger(self.folder / "calls.jsonl")
        self.loop = asyncio.new_event_loop()
        self.clock = VirtualClock(1_700_000_000.0)
        self.generation = 0
        self.kind_of: dict[str, str] = {}  # execution ARN -> machine name
        self.closed: dict[str, tuple[str, int]] = {}  # ARN -> (status, history length)
        self.stopped: set[str] = set()  # stopped while RUNNING
        self.store: Store = open_store(self.url)
        self.service = self._open()
        self.runner: asyncio.Task[None] | None = None
        self.machine_arns = {
            name: self.run(self._create(name, definition)) for name, definition in MACHINES.items()
        }

    # -- plumbing -----------------------------------------------------------------------------

    def run(self, work: Awaitable[_T]) -> _T:
        return self.loop.run_until_complete(work)

    def _open(self) -> Service:
        self.generation += 1
        self.hanging = asyncio.Event()  # set while a `hang` task is in flight: only a crash helps
        ledger, hanging = self.ledger, self.hanging

        async def work(event: dict[str, JSON], context: object) -> JSON:
            ledger.record("work", event)
            return {"done": event["state"]}

        async def remember(event: dict[str, JSON], context: object) -> JSON:
            ledger.record("remember", event)
            return {"waiting": True}

        async def hang(event: dict[str, JSON], context: object) -> JSON:
            ledger.record("hang", event)
            if ledger.count("hang", execution=event["execution"]) == 1:
                hanging.set()
                await asyncio.Event().wait()  # in flight until the crash cancels it
            return {"done": event["state"]}

        # no fixed seed: with one, every execution would draw the same task tokens (see report)
        config = ServiceConfig(lease_seconds=LEASE_SECONDS, poll_seconds=0.005)
        functions = {"work": work, "remember": remember, "hang": hang}
        service = Service(self.store, functions=functions, clock=self.clock, config=config)
        service.worker.worker_id = f"stateful-worker-{self.generation}"
        return service

    async def _create(self, name: str, definition: dict[str, JSON]) -> str:
        record, _ = await self.service.create_state_machine(name, json.dumps(definition))
        return record.arn

    def drive(self) -> None:
        """Run the worker until nothing is runnable, or until a `hang` task is in flight."""
        assert not self.stuck, "drive() would wait for a task that never returns"
        if self.runner is None or self.runner.done():
            self.runner = self.loop.create_task(self.service.worker.run_until_idle())

        async def until_idle_or_hung() -> None:
            assert self.runner is not None
            hung = asyncio.ensure_future(self.hanging.wait())
            # a guard, not a timing: a worker that never settles fails here instead of hanging
            done, _ = await asyncio.wait(
                {self.runner, hung}, timeout=WATCHDOG_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            hung.cancel()
            if not done:
                raise AssertionError(f"the worker did not settle: {self.live()}")
            if self.runner.done():
                self.runner.result()  # an engine error surfaces here

        self.run(until_idle_or_hung())

    @property
    def stuck(self) -> bool:
        return self.hanging.is_set()

    def crash(self) -> None:
        """Abandon the service mid-flight (no lease released) and open a new one."""
        old = self.service
        old.worker.held.clear()  # a dead process releases nothing: its leases must expire
        if self.runner is not None:
            self.runner.cancel()
            self.run(asyncio.gather(self.runner, return_exceptions=True))
            self.runner = None
        self.run(old.aclose())  # cancels in-flight tasks; a commit being written completes
        self.run(asyncio.sleep(0))  # one loop turn: the cancelled tasks unwind
        self.clock.advance_to(self.clock.now() + LEASE_SECONDS + 1)
        self.service = self._open()

    def live(self) -> dict[str, object]:
        """What the runtime holds: each execution's open frames (for a failure message)."""
        return {
            arn.rsplit(":", 2)[-2] + ":" + arn[-6:]: [
                (f.state_name, str(f.phase), f.task_id)
                for f in live.state.frames.values()
                if not live.done.done()
            ]
            for arn, live in self.service.runtime.executions.items()
        } | {"idle": self.service.runtime.idle, "held": len(self.service.worker.held)}

    def records(self) -> list[ExecutionRecord]:
        found = [self.store.get_execution(arn) for arn in self.kind_of]
        return [r for r in found if r is not None]

    # -- rules --------------------------------------------------------------------------------

    @rule(target=executions, kind=st.sampled_from(sorted(MACHINES)))
    def start(self, kind: str) -> str:
        record = self.run(self.service.start_execution(self.machine_arns[kind], input_text="{}"))
        self.kind_of[record.arn] = kind
        return record.arn

    @rule(arn=executions)
    def stop(self, arn: str) -> None:
        after = self.run(self.service.stop_execution(arn, error="Test.Stop", cause="stopped"))
        if after.status == "RUNNING":  # queued for the worker that will take the execution over
            self.stopped.add(arn)
        elif after.arn not in self.closed:  # applied here, or it had closed first: final now
            self.closed[after.arn] = (after.status, len(self.store.get_history(arn, limit=100_000)))

    @rule(arn=executions)
    def callback(self, arn: str) -> None:
        name = arn.rsplit(":", 1)[-1]
        tokens = [c.event["token"] for c in self.ledger.calls("remember", execution=name)]
        for token in tokens:
            assert isinstance(token, str)
            try:
                self.run(self.service.send_task_success(token, '{"answer": 42}'))
            except ResourceNotFound as exc:  # the task closed (answered, stopped, failed)
                closed = exc.code
            else:
                closed = "TaskDoesNotExist"
            assert closed == "TaskDoesNotExist"

    # No precondition may read what the runtime did (a hang, a runner still going): that depends
    # on timing, and hypothesis must draw the same rules when it replays a case.
    @rule()
    def work(self) -> None:
        if not self.stuck:  # a hung task needs a crash first
            self.drive()

    @rule()
    def restart(self) -> None:
        self.crash()
        self.drive()

    @rule()
    def crash_in_flight(self) -> None:
        """Crash without driving after: mid-flight when a runner is still going."""
        self.crash()

    @rule(arn=consumes(executions))
    def forget(self, arn: str) -> None:
        """Let hypothesis stop picking an execution (it stays checked by the invariants)."""

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def durable_history_is_consistent(self) -> None:
        for record in self.records():
            events = [
                {"id": e.id, "previousEventId": e.previous_event_id, "type": e.type}
                | ({"stateEnteredEventDetails": e.details} if e.type.endswith("Entered") else {})
                for e in self.store.get_history(record.arn, limit=100_000)
            ]
            assert_history_ids(events)
            entered = entered_counts(events)
            assert all(count == 1 for count in entered.values()), (record.arn, entered)
            kind = self.kind_of[record.arn]
            calls = self.ledger.counts()  # quick reject before the per-execution count
            for state in MACHINES[kind]["States"]:  # type: ignore[union-attr]
                for function in ("work", "hang", "remember"):
                    if calls.get(function, 0) == 0:
                        continue
                    count = self.ledger.count(function, execution=record.name, state=state)
                    limit = 2 if (kind, state) in RETRIED else 1
                    assert count <= limit, (record.arn, state, function, count)
            if record.status in TERMINAL:
                seen = self.closed.setdefault(record.arn, (record.status, len(events)))
                assert seen == (record.status, len(events)), (record.arn, seen)
                if record.arn in self.stopped:
                    assert record.status == "ABORTED", (record.arn, record.status)

    # -- the end ------------------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            # Finish everything: a crash frees a hung task, callbacks answer waiting ones; a
            # `hang` first called in a round needs the next round's crash, and a drive ends as
            # soon as one task hangs, so each round may leave a few for the next.
            running = [r.arn for r in self.records() if r.status not in TERMINAL]
            for _ in range(2 * len(self.kind_of) + 3):
                if not running:
                    break
                self.crash()
                self.drive()
                for arn in list(self.kind_of):
                    self.callback(arn)
                if not self.stuck:
                    self.drive()
                running = [r.arn for r in self.records() if r.status not in TERMINAL]
            self.durable_history_is_consistent()
            assert running == [], {arn: self.kind_of[arn] for arn in running}
        finally:
            if self.runner is not None:
                self.runner.cancel()
                self.run(asyncio.gather(self.runner, return_exceptions=True))
            self.run(self.service.aclose())
            self.store.close()
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)


CrashMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCrashRecovery = CrashMachine.TestCase
