"""Running a generated machine: by hand at the `step` level, and through `Engine`.

Owns: `run_steps` (tests/interpreter/helpers.Harness, each task answered as handlers.py would
answer it, each step checked for purity, for a contained engine fault, and for a state that
survives the store's encoding unchanged) and `run_engine`
(an in-process `Engine` on a `VirtualClock` with the handlers file loaded as the CLI loads it).
Must never: decide what is correct (oracles.py does) beyond what `step` promises of itself.
"""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from engine.backends.python import Handler, load_functions
from engine.embedded import Engine, ExecutionResult
from engine.interpreter.core import ENGINE_FAULT_PREFIX, StepResult, step
from engine.interpreter.messages import (
    Event,
    Finish,
    InvokeTask,
    Start,
    StartTimer,
    StopRequested,
    TaskFinished,
    TimerFired,
)
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.runtime.clock import VirtualClock
from engine.store.codec import state_from_json, state_to_json
from tests.generated.expressions import T0
from tests.generated.handlers import OK, TIMEOUT, Plan
from tests.generated.strategies import FUNCTION_ARN, LAMBDA_INVOKE, GeneratedMachine
from tests.interpreter.helpers import Harness

HANDLERS = Path(__file__).with_name("handlers.py")
"""The functions file every path loads (`--functions tests/generated/handlers.py`)."""

SEED = 7


class FoundBug(AssertionError):
    """The engine did something `step` promises never to do."""


def is_engine_fault(cause: str | None) -> bool:
    return cause is not None and cause.startswith(ENGINE_FAULT_PREFIX)


def answer(request: TaskRequest) -> TaskResult | None:
    """The result handlers.py gives this request; None when the call outlives its timeout."""
    invoke = request.resource.startswith(LAMBDA_INVOKE)
    if invoke:
        payload = request.payload if isinstance(request.payload, dict) else {}
        name = str(payload.get("FunctionName", ""))
        function = name.rsplit(":", 1)[-1] if ":" in name else name
        event = payload.get("Payload")
    else:
        function = request.resource.removeprefix(FUNCTION_ARN)
        event = request.payload
    kind, detail = Plan.outcome(function, event)
    if kind == TIMEOUT:
        return None
    if kind != OK:
        envelope = {"errorMessage": detail, "errorType": kind, "stackTrace": []}
        return TaskFailure(kind, json.dumps(envelope, separators=(",", ":")))
    if invoke:
        return TaskSuccess({"ExecutedVersion": "$LATEST", "Payload": detail, "StatusCode": 200})
    return TaskSuccess(detail)


@dataclass
class StepRun:
    harness: Harness
    steps: int = 0
    invocations: list[InvokeTask] = field(default_factory=list)
    stale: int = 0  # events fed again after they were used up (each must be ignored)


@dataclass(frozen=True, slots=True)
class Schedule:
    """How `run_steps` orders the world: which ready task or timer goes next, when to stop.

    `order[i]` picks, at step i, among the tasks ready to answer (oldest first) and then the
    earliest timer (wrapping around; empty: always the first). `stop_at` requests a stop
    before that step. `stale` feeds each used-up event a second time (a late or duplicated
    delivery), which `step` must ignore.
    """

    order: tuple[int, ...] = ()
    stop_at: int | None = None
    stale: bool = False


def run_steps(
    generated: GeneratedMachine,
    schedule: Schedule = Schedule(),
    *,
    check_purity: bool = True,
) -> StepRun:
    """Drive the machine with `step` alone until it closes (at most `bounds.steps` steps).

    Tasks are answered as handlers.py would answer them; a task that would time out is left
    unanswered, so its TimeoutSeconds timer fires. Raises `FoundBug` when a step is impure or
    contains an engine fault, when a stale event changes anything, when the execution gets
    stuck or runs past its bound, or when it closes with a task or timer not cancelled.
    """
    harness = Harness.of(generated.definition, generated.input, seed=SEED, start_time=T0)
    run = StepRun(harness)
    hung: set[str] = set()
    _checked(run, Start(T0), check_purity)
    while harness.finish is None:
        if run.steps > generated.bounds.steps + 1:
            raise FoundBug(f"more than {generated.bounds.steps} steps: the bound is broken")
        if schedule.stop_at is not None and run.steps >= schedule.stop_at:
            _checked(run, StopRequested("Stopped", "by the schedule", harness.now), check_purity)
            break
        tasks = [t for t in harness.tasks.values() if t.task_id not in hung]
        ready: list[InvokeTask | StartTimer] = list(tasks)
        timer = _next_timer(harness, {t.frame_id for t in tasks})
        if timer is not None:
            ready.append(timer)
        if not ready:
            raise FoundBug("the execution is stuck: no task to answer, no timer, not closed")
        pick = schedule.order[run.steps % len(schedule.order)] if schedule.order else 0
        chosen = ready[pick % len(ready)]
        event: Event
        if isinstance(chosen, InvokeTask):
            result = answer(chosen.request)
            if result is None:
                hung.add(chosen.task_id)
                continue
            harness.tasks.pop(chosen.task_id)
            event = TaskFinished(chosen.frame_id, chosen.task_id, result, harness.now)
        else:
            harness.timers.pop(chosen.timer_id)
            event = TimerFired(chosen.timer_id, max(harness.now, chosen.due))
        _checked(run, event, check_purity)
        if schedule.stale:
            _ignored(run, replace(event, now=harness.now))
    if harness.tasks or harness.timers:
        raise FoundBug(
            f"the execution closed, leaving tasks {list(harness.tasks)} and timers "
            f"{list(harness.timers)} behind (not cancelled)"
        )
    return run


def _next_timer(harness: Harness, answering: set[str]) -> StartTimer | None:
    """The earliest timer, but never the TimeoutSeconds timer of a task about to be answered
    (handlers.py answers at once unless told to sleep: its task does not time out)."""
    timers = [
        timer
        for timer in harness.timers.values()
        if not (
            timer.timer_id.split("|")[1:2] == ["timeout"]
            and timer.timer_id.split("|")[0] in answering
        )
    ]
    return min(timers, key=lambda t: (t.due, t.timer_id)) if timers else None


def _ignored(run: StepRun, event: Event) -> None:
    """Feed an event that is used up; the execution must not change at all."""
    harness = run.harness
    result = step(harness.machine, harness.state, event)
    run.stale += 1
    if result.fault is not None:
        raise FoundBug(f"step contained an engine fault on a stale {event}:\n{result.fault}")
    if result.events or result.commands or result.state != harness.state:
        raise FoundBug(f"a stale {event} changed the execution: {result.events} {result.commands}")


def _checked(run: StepRun, event: Event, check_purity: bool) -> StepResult:
    harness = run.harness
    before = harness.state
    if check_purity:
        snapshot = copy.deepcopy(before)
        again = step(harness.machine, before, event)
    result = harness.feed(event)
    run.steps += 1
    if result.fault is not None:
        raise FoundBug(f"step contained an engine fault on {event}:\n{result.fault}")
    if check_purity:
        if result != again:
            raise FoundBug(f"step is not deterministic on {event}")
        if before != snapshot:
            raise FoundBug(f"step changed the state it was given on {event}")
        # What a store keeps is what a resumed execution continues from: it must be the same.
        stored = state_from_json(json.loads(json.dumps(state_to_json(result.state))))
        if stored != result.state:
            raise FoundBug(f"the stored form of the state differs from it after {event}")
    for recorded in result.events:
        if recorded.timestamp != event.now:
            raise FoundBug(f"{recorded} is not stamped with its step's time {event.now}")
    for command in result.commands[:-1]:
        if isinstance(command, Finish):
            raise FoundBug(f"Finish is not the last command of its step: {result.commands}")
    run.invocations += [c for c in result.commands if isinstance(c, InvokeTask)]
    return result


@cache
def handler_functions() -> dict[str, Handler]:
    """The handlers file loaded as `--functions` loads it (once per process)."""
    return load_functions(str(HANDLERS))


async def run_engine(
    generated: GeneratedMachine, *, copies: int = 1, time_limit: float = 60.0
) -> list[ExecutionResult]:
    """Run the machine in an in-process Engine on a virtual clock starting at T0: `copies`
    executions at once (named generated-0, -1...), which must not disturb one another."""
    engine = Engine(functions=handler_functions(), clock=VirtualClock(start=T0), seed=SEED)
    try:
        machine = engine.load(
            generated.definition, name="generated", machine_type=generated.machine_type
        )
        arns = [
            engine.start(machine, generated.input, name=f"generated-{n}") for n in range(copies)
        ]
        runs = asyncio.gather(*(engine.result(arn) for arn in arns))
        return list(await asyncio.wait_for(runs, time_limit))
    finally:
        await engine.aclose()


def engine_result(generated: GeneratedMachine) -> ExecutionResult:
    return asyncio.run(run_engine(generated))[0]
