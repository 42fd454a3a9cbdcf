"""The runtime loop: many executions in one asyncio loop, virtual time, backends, stop.

Backends are fakes (a class with `async def invoke(self, request)`); no monkeypatching, no
sleeps. The clock is virtual: it jumps to the next due timer whenever nothing else can run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from engine.backends.base import Backend
from engine.definition.compile import Machine
from engine.errors import STATES_RUNTIME
from engine.interpreter.messages import Finish
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.runtime.clock import VirtualClock
from engine.runtime.loop import Runtime
from engine.values import JSON
from tests.interpreter.helpers import LAMBDA_ARN, T0, chain, compile_definition, make_info

FN = LAMBDA_ARN + "fn"
T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def wrapped() -> T:
        return await main()

    return asyncio.run(wrapped())


class Echo:
    """Returns the payload; counts calls."""

    def __init__(self) -> None:
        self.calls: list[TaskRequest] = []

    async def invoke(self, request: TaskRequest) -> TaskResult:
        self.calls.append(request)
        return TaskSuccess(request.payload)


class Raises:
    async def invoke(self, request: TaskRequest) -> TaskResult:
        raise RuntimeError("backend bug")


class Gate:
    """Holds every call until `release()`; records cancellations."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.entered = asyncio.Event()
        self.cancelled = asyncio.Event()

    def release(self) -> None:
        self.opened.set()

    async def invoke(self, request: TaskRequest) -> TaskResult:
        self.entered.set()
        try:
            await self.opened.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return TaskSuccess("released")


def resolver(backends: Mapping[str, Backend]) -> Callable[[str], Backend | None]:
    return backends.get


def machine_of(definition: dict[str, JSON]) -> Machine:
    return compile_definition(definition)


WAIT_PASS = chain(
    ("Nap", {"Type": "Wait", "SecondsPath": "$.wait"}),
    ("Done", {"Type": "Pass", "Parameters": {"waited.$": "$.wait"}}),
)


def test_many_executions_in_one_loop_finish_at_their_own_virtual_times() -> None:
    machine = machine_of(WAIT_PASS)
    clock = VirtualClock(T0)

    async def main() -> list[tuple[Finish, float | None]]:
        runtime = Runtime(resolver({}), clock=clock)
        arns = []
        for n in range(500):
            info = make_info({"wait": n % 50 * 60}, name=f"run-{n}", start_time=clock.now())
            runtime.start(machine, info)
            arns.append(info.execution_arn)
        finishes = await asyncio.gather(*(runtime.wait(arn) for arn in arns))
        stops = [runtime.executions[arn].stop_time for arn in arns]
        await runtime.aclose()
        return list(zip(finishes, stops, strict=True))

    results = run(main)
    for n, (finish, stop) in enumerate(results):
        assert finish == Finish("SUCCEEDED", output={"waited": n % 50 * 60})
        assert stop == T0 + n % 50 * 60
    assert clock.now() == T0 + 49 * 60


def test_history_is_kept_per_execution_and_can_be_turned_off() -> None:
    machine = machine_of(chain(("A", {"Type": "Pass"}), ("B", {"Type": "Pass"})))

    async def main() -> tuple[list[str], object]:
        kept = Runtime(resolver({}), clock=VirtualClock(T0))
        dropped = Runtime(resolver({}), clock=VirtualClock(T0), keep_history=False)
        info = make_info({})
        kept.start(machine, info)
        dropped.start(machine, info)
        await kept.wait(info.execution_arn)
        await dropped.wait(info.execution_arn)
        history = kept.executions[info.execution_arn].history or []
        await kept.aclose()
        await dropped.aclose()
        return [e.type for e in history], dropped.executions[info.execution_arn].history

    types, none = run(main)
    assert types == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert none is None


def test_tasks_go_to_the_backend_the_resolver_names() -> None:
    echo = Echo()
    machine = machine_of(
        chain(
            ("T", {"Type": "Task", "Resource": FN, "Parameters": {"n.$": "$.n"}}),
            ("U", {"Type": "Task", "Resource": FN, "ResultSelector": {"twice.$": "$.n"}}),
        )
    )

    async def main() -> Finish:
        runtime = Runtime(resolver({FN: echo}), clock=VirtualClock(T0))
        info = make_info({"n": 3})
        runtime.start(machine, info)
        finish = await runtime.wait(info.execution_arn)
        await runtime.aclose()
        return finish

    assert run(main) == Finish("SUCCEEDED", output={"twice": 3})
    assert [(c.state_name, c.payload) for c in echo.calls] == [("T", {"n": 3}), ("U", {"n": 3})]


def test_a_backend_that_raises_fails_the_task_not_the_loop() -> None:
    broken = LAMBDA_ARN + "broken"
    failing = machine_of(chain(("T", {"Type": "Task", "Resource": broken})))
    healthy = machine_of(chain(("T", {"Type": "Task", "Resource": FN})))

    async def main() -> tuple[Finish, Finish]:
        runtime = Runtime(resolver({broken: Raises(), FN: Echo()}), clock=VirtualClock(T0))
        bad, good = make_info({}, name="bad"), make_info({"ok": 1}, name="good")
        runtime.start(failing, bad)
        runtime.start(healthy, good)
        finishes = (await runtime.wait(bad.execution_arn), await runtime.wait(good.execution_arn))
        await runtime.aclose()
        return finishes

    bad, good = run(main)
    assert bad == Finish(
        "FAILED",
        error=STATES_RUNTIME,
        cause=f"The backend for '{broken}' failed: RuntimeError('backend bug')",
    )
    assert good == Finish("SUCCEEDED", output={"ok": 1})


def test_an_unconfigured_resource_fails_the_task_with_a_clear_message() -> None:
    missing = LAMBDA_ARN + "nowhere"
    machine = machine_of(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": missing,
                    # States.Runtime is neither retried nor caught: the run fails at once.
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                    "End": True,
                },
                "H": {"Type": "Pass", "End": True},
            },
        }
    )

    async def main() -> Finish:
        runtime = Runtime(resolver({}), clock=VirtualClock(T0))
        info = make_info({})
        runtime.start(machine, info)
        finish = await runtime.wait(info.execution_arn)
        await runtime.aclose()
        return finish

    assert run(main) == Finish(
        "FAILED",
        error=STATES_RUNTIME,
        cause=(
            f"No backend serves resource '{missing}'. Define the function 'nowhere': pass "
            "--functions FILE.py defining it, or add [functions.nowhere] with a handler, command "
            "or url to asl.toml."
        ),
    )


def test_the_unconfigured_failure_is_pluggable() -> None:
    machine = machine_of(chain(("T", {"Type": "Task", "Resource": FN})))

    async def main() -> Finish:
        runtime = Runtime(
            resolver({}),
            clock=VirtualClock(T0),
            on_unconfigured=lambda resource: TaskFailure("Custom", resource),
        )
        info = make_info({})
        runtime.start(machine, info)
        finish = await runtime.wait(info.execution_arn)
        await runtime.aclose()
        return finish

    assert run(main) == Finish("FAILED", error="Custom", cause=FN)


def test_a_pending_task_does_not_hold_up_other_executions() -> None:
    gate = Gate()
    slow = LAMBDA_ARN + "slow"
    held = machine_of(chain(("T", {"Type": "Task", "Resource": slow})))
    quick = machine_of(chain(("T", {"Type": "Task", "Resource": FN}), ("P", {"Type": "Pass"})))

    async def main() -> tuple[Finish, bool, Finish]:
        runtime = Runtime(resolver({slow: gate, FN: Echo()}), clock=VirtualClock(T0))
        first, second = make_info({}, name="held"), make_info({"q": 1}, name="quick")
        runtime.start(held, first)
        await gate.entered.wait()
        runtime.start(quick, second)
        quick_finish = await runtime.wait(second.execution_arn)
        held_still_running = not runtime.executions[first.execution_arn].done.done()
        gate.release()
        held_finish = await runtime.wait(first.execution_arn)
        await runtime.aclose()
        return quick_finish, held_still_running, held_finish

    quick_finish, held_still_running, held_finish = run(main)
    assert quick_finish == Finish("SUCCEEDED", output={"q": 1})
    assert held_still_running
    assert held_finish == Finish("SUCCEEDED", output="released")


def test_stop_aborts_a_waiting_execution_and_cancels_its_timer() -> None:
    machine = machine_of(chain(("Nap", {"Type": "Wait", "Seconds": 3600})))
    clock = VirtualClock(T0)

    async def main() -> tuple[Finish, list[str]]:
        runtime = Runtime(resolver({}), clock=clock)
        info = make_info({})
        record = runtime.start(machine, info)
        runtime.stop(info.execution_arn, "Cancelled", "by the test")
        finish = await runtime.wait(info.execution_arn)
        await runtime.aclose()
        return finish, [e.type for e in record.history or []]

    finish, types = run(main)
    assert finish == Finish("ABORTED", error="Cancelled", cause="by the test")
    assert types[-2:] == ["WaitStateAborted", "ExecutionAborted"]
    assert clock.now() == T0  # the cancelled timer never made the clock jump


def test_stop_cancels_the_task_in_flight() -> None:
    gate = Gate()
    machine = machine_of(chain(("T", {"Type": "Task", "Resource": FN})))

    async def main() -> Finish:
        runtime = Runtime(resolver({FN: gate}), clock=VirtualClock(T0))
        info = make_info({})
        runtime.start(machine, info)
        await gate.entered.wait()
        runtime.stop(info.execution_arn, None, None)
        finish = await runtime.wait(info.execution_arn)
        await asyncio.wait_for(gate.cancelled.wait(), 10)  # the backend call was cancelled
        await runtime.aclose()
        return finish

    assert run(main) == Finish("ABORTED")


class GatePerName:
    """Holds each call until its execution's name is released; records which were cancelled."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.entered: dict[str, asyncio.Event] = {}
        self.cancelled: set[str] = set()

    def _event(self, table: dict[str, asyncio.Event], name: str) -> asyncio.Event:
        return table.setdefault(name, asyncio.Event())

    async def invoke(self, request: TaskRequest) -> TaskResult:
        name = str(request.payload)
        self._event(self.entered, name).set()
        try:
            await self._event(self.gates, name).wait()
        except asyncio.CancelledError:
            self.cancelled.add(name)
            raise
        return TaskSuccess(name)


def test_stopping_one_execution_leaves_the_same_task_of_another_running() -> None:
    # Both executions run the same machine, so their tasks carry the same per-execution task id.
    gate = GatePerName()
    machine = machine_of(chain(("T", {"Type": "Task", "Resource": FN, "InputPath": "$.who"})))

    async def main() -> tuple[Finish, Finish, set[str]]:
        runtime = Runtime(resolver({FN: gate}), clock=VirtualClock(T0))
        first, second = make_info({"who": "a"}, name="a"), make_info({"who": "b"}, name="b")
        runtime.start(machine, first)
        runtime.start(machine, second)
        await gate._event(gate.entered, "a").wait()
        await gate._event(gate.entered, "b").wait()
        runtime.stop(first.execution_arn, None, None)
        stopped = await runtime.wait(first.execution_arn)
        gate._event(gate.gates, "b").set()
        finished = await runtime.wait(second.execution_arn)
        await runtime.aclose()
        return stopped, finished, gate.cancelled

    stopped, finished, cancelled = run(main)
    assert stopped == Finish("ABORTED")
    assert finished == Finish("SUCCEEDED", output="b")
    assert cancelled == {"a"}


def test_a_finished_executions_timeout_timer_does_not_move_the_clock() -> None:
    machine = machine_of({**chain(("P", {"Type": "Pass"})), "TimeoutSeconds": 31_536_000})
    clock = VirtualClock(T0)

    async def main() -> Finish:
        runtime = Runtime(resolver({}), clock=clock)
        info = make_info({"a": 1})
        runtime.start(machine, info)
        finish = await runtime.wait(info.execution_arn)
        await runtime.aclose()
        return finish

    assert run(main) == Finish("SUCCEEDED", output={"a": 1})
    assert clock.now() == T0


def test_machine_timeout_fires_on_virtual_time() -> None:
    machine = machine_of(
        {**chain(("Nap", {"Type": "Wait", "Seconds": 7200})), "TimeoutSeconds": 3600}
    )
    clock = VirtualClock(T0)

    async def main() -> tuple[Finish, float | None]:
        runtime = Runtime(resolver({}), clock=clock)
        info = make_info({})
        runtime.start(machine, info)
        finish = await runtime.wait(info.execution_arn)
        stop = runtime.executions[info.execution_arn].stop_time
        await runtime.aclose()
        return finish, stop

    finish, stop = run(main)
    assert finish == Finish("TIMED_OUT", error="States.Timeout", cause="The execution timed out.")
    assert stop == T0 + 3600


def test_retry_back_off_runs_on_virtual_time() -> None:
    flaky = LAMBDA_ARN + "flaky"

    class FailTwice:
        def __init__(self) -> None:
            self.times: list[float] = []

        async def invoke(self, request: TaskRequest) -> TaskResult:
            self.times.append(clock.now())
            if request.attempt < 2:
                return TaskFailure("Flaky", f"attempt {request.attempt}")
            return TaskSuccess({"attempt": request.attempt})

    clock = VirtualClock(T0)
    backend = FailTwice()
    retry = [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 10, "BackoffRate": 3}]
    machine = machine_of(chain(("T", {"Type": "Task", "Resource": flaky, "Retry": retry})))

    async def main() -> Finish:
        runtime = Runtime(resolver({flaky: backend}), clock=clock)
        info = make_info({})
        runtime.start(machine, info)
        finish = await runtime.wait(info.execution_arn)
        await runtime.aclose()
        return finish

    assert run(main) == Finish("SUCCEEDED", output={"attempt": 2})
    assert backend.times == [T0, T0 + 10, T0 + 40]
