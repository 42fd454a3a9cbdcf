"""Test helpers for the interpreter: build machines and executions, feed `step`, collect results.

Shipped as code (like Trio's `testing` module) so every interpreter test drives `step` the same
way: values in, values out, no loop, no clock, no backend. `Harness` keeps the execution state
between steps and remembers which tasks and timers are outstanding, so a test can answer a task
or fire a timer by name and assert the exact events and commands each step produced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import cast

from engine.definition.compile import Machine
from engine.embedded import load_machine
from engine.interpreter.core import StepResult, step
from engine.interpreter.frames import ExecutionInfo, ExecutionState, ExecutionStatus, new_execution
from engine.interpreter.history import HistoryEvent, render_details
from engine.interpreter.messages import (
    CancelTask,
    CancelTimer,
    Command,
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
from engine.values import JSON

T0 = 1_700_000_000.0
"""The start time of every test execution: 2023-11-14T22:13:20.000Z."""

T0_ISO = "2023-11-14T22:13:20.000Z"

REGION_ACCOUNT = "us-east-1:111111111111"
MACHINE_ARN = f"arn:aws:states:{REGION_ACCOUNT}:stateMachine:test-machine"
EXECUTION_ARN = f"arn:aws:states:{REGION_ACCOUNT}:execution:test-machine:test-run"
LAMBDA_ARN = f"arn:aws:lambda:{REGION_ACCOUNT}:function:"
"""Prefix of a Lambda function ARN: `LAMBDA_ARN + "name"`."""


Definition = Mapping[str, object]
"""A definition as tests write it: a dict literal (mypy infers narrower types than JSON)."""


def as_json(value: object) -> JSON:
    """A test literal as the JSON value it is (the JSON alias is invariant for mypy)."""
    return cast("JSON", value)


def as_definition(definition: Definition) -> Mapping[str, JSON]:
    """A definition literal typed as the engine expects it."""
    return cast("Mapping[str, JSON]", definition)


def compile_definition(definition: Definition) -> Machine:
    """Validate and compile a definition dict (raises DefinitionInvalid with every diagnostic)."""
    return load_machine(as_definition(definition))


def make_info(
    execution_input: object = None,
    *,
    start_time: float = T0,
    seed: int = 0,
    name: str = "test-run",
) -> ExecutionInfo:
    """The identity of a test execution (input `{}` unless given)."""
    return ExecutionInfo(
        execution_arn=EXECUTION_ARN.replace("test-run", name),
        name=name,
        state_machine_arn=MACHINE_ARN,
        state_machine_name="test-machine",
        input={} if execution_input is None else as_json(execution_input),
        start_time=start_time,
        seed=seed,
    )


def chain(*states: tuple[str, Mapping[str, object]]) -> dict[str, JSON]:
    """A definition running `states` in order: each gets `Next` the following one, the last `End`.

    States that end by themselves (Succeed, Fail, Choice) are left as given.
    """
    built: dict[str, JSON] = {}
    for index, (name, state) in enumerate(states):
        body = cast("dict[str, JSON]", dict(state))
        if body["Type"] not in ("Succeed", "Fail", "Choice") and not {"Next", "End"} & body.keys():
            if index + 1 < len(states):
                body["Next"] = states[index + 1][0]
            else:
                body["End"] = True
        built[name] = body
    return {"StartAt": states[0][0], "States": built}


def event_types(events: Iterable[HistoryEvent]) -> list[str]:
    return [event.type for event in events]


def rendered(event: HistoryEvent) -> dict[str, JSON]:
    """An event's details as AWS renders them (payloads as JSON text)."""
    return render_details(event.details or {})


@dataclass
class Harness:
    """One execution driven by hand: feed events, keep the state, track tasks and timers."""

    machine: Machine
    state: ExecutionState
    history: list[HistoryEvent] = field(default_factory=list)
    tasks: dict[str, InvokeTask] = field(default_factory=dict)
    """Outstanding tasks by task id (invoked, not yet answered or cancelled)."""
    timers: dict[str, StartTimer] = field(default_factory=dict)
    """Outstanding timers by timer id (started, not yet fired or cancelled)."""
    finish: Finish | None = None
    now: float = T0

    @classmethod
    def of(
        cls,
        definition: Definition | Machine,
        execution_input: object = None,
        *,
        seed: int = 0,
        start_time: float = T0,
    ) -> Harness:
        machine = definition if isinstance(definition, Machine) else compile_definition(definition)
        info = make_info(execution_input, seed=seed, start_time=start_time)
        return cls(machine, new_execution(info, machine.root.start_at), now=start_time)

    @property
    def status(self) -> ExecutionStatus:
        return self.state.status

    def feed(self, event: Event) -> StepResult:
        """Apply one event; track the commands it returns."""
        result = step(self.machine, self.state, event)
        self.state = result.state
        self.now = max(self.now, event.now)
        self.history.extend(result.events)
        for command in result.commands:
            self._track(command)
        return result

    def _track(self, command: Command) -> None:
        if isinstance(command, InvokeTask):
            self.tasks[command.task_id] = command
        elif isinstance(command, CancelTask):
            self.tasks.pop(command.task_id, None)
        elif isinstance(command, StartTimer):
            self.timers[command.timer_id] = command
        elif isinstance(command, CancelTimer):
            self.timers.pop(command.timer_id, None)
        elif isinstance(command, Finish):
            assert self.finish is None, "an execution finishes once"
            self.finish = command

    def start(self) -> StepResult:
        return self.feed(Start(self.now))

    def only_task(self) -> InvokeTask:
        assert len(self.tasks) == 1, f"expected one outstanding task, got {list(self.tasks)}"
        return next(iter(self.tasks.values()))

    def answer(
        self, task: InvokeTask, result: TaskResult | object, *, at: float | None = None
    ) -> StepResult:
        """Finish `task` with a result (a bare JSON value means TaskSuccess of it)."""
        if not isinstance(result, TaskSuccess | TaskFailure):
            result = TaskSuccess(as_json(result))
        self.tasks.pop(task.task_id, None)
        return self.feed(
            TaskFinished(task.frame_id, task.task_id, result, self.now if at is None else at)
        )

    def fire(self, timer: StartTimer) -> StepResult:
        """Fire `timer` at its due time."""
        self.timers.pop(timer.timer_id, None)
        return self.feed(TimerFired(timer.timer_id, max(self.now, timer.due)))

    def next_timer(self) -> StartTimer:
        return min(self.timers.values(), key=lambda t: (t.due, t.timer_id))

    def stop(self, error: str | None = None, cause: str | None = None) -> StepResult:
        return self.feed(StopRequested(error, cause, self.now))

    def run(
        self,
        handler: Callable[[TaskRequest], TaskResult | JSON] | None = None,
        *,
        max_steps: int = 10_000,
    ) -> Finish:
        """Drive to the end: answer tasks (oldest first) with `handler`, else fire timers."""
        if self.state.next_event_id == 1 and self.finish is None:
            self.start()
        for _ in range(max_steps):
            if self.finish is not None:
                return self.finish
            if self.tasks:
                assert handler is not None, f"a task needs a handler: {list(self.tasks)}"
                task = next(iter(self.tasks.values()))
                self.answer(task, handler(task.request))
            elif self.timers:
                self.fire(self.next_timer())
            else:
                raise AssertionError("the execution is stuck: no task, no timer, not finished")
        raise AssertionError(f"not finished after {max_steps} steps")


def run_definition(
    definition: Definition,
    execution_input: object = None,
    handler: Callable[[TaskRequest], TaskResult | JSON] | None = None,
) -> Harness:
    """Run a definition to the end with `handler` answering tasks; returns the harness."""
    harness = Harness.of(definition, execution_input)
    harness.run(handler)
    return harness


def echo(request: TaskRequest) -> JSON:
    """A task handler returning its payload."""
    return request.payload


def check_event_chain(events: Iterable[HistoryEvent]) -> None:
    """Ids go 1, 2, 3...; each previousEventId points at an earlier event."""
    for expected_id, event in enumerate(events, start=1):
        assert event.id == expected_id, (event.id, expected_id)
        assert 0 <= event.previous_event_id < event.id, event
