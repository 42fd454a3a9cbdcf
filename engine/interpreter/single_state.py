"""One state run on its own, as AWS's TestState API runs it, on core.py's `Step`.

Owns: running the state under test from a fresh ExecutionState and stopping the main path at
its first transition (the next state is named, never entered); a mock answering the state's
task, or standing for a Map's or Parallel's whole result or failure; the retry count and Map
failure count a test sets (`stateConfiguration`); and reading the outcome back: AWS's status
(SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR), output, error, cause, next state and the
inspection data (what dataflow.py noted while the state ran, plus the task's raw result and the
errorDetails of a Retry or Catch).

Must never: call a backend, read a clock or sleep (the caller runs the invocations it is asked
for and passes the time in, as for `step`), or interpret a state itself: each state's work is
states.py's, each transition core.py's. `SingleStep` only refuses to enter a second state on
the main path and notes the failure a Retry or Catch saw.

Parallel branches and Map iterations of an unmocked state run as in an execution (their Wait
and retry timers are fired at once: the test runs on virtual time). A mocked Map or Parallel
runs no branch: the mock is its result (the list the branches would have produced) or its
failure, and with `mapIterationFailureCount` a Map whose tolerated failure count or percentage
is exceeded fails with States.ExceedToleratedFailureThreshold, as AWS's TestState does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definition.compile import (
    JSONATA,
    Machine,
    MapState,
    ParallelState,
    PassState,
    State,
    TaskState,
)
from engine.interpreter import jsonata_flow
from engine.interpreter.core import Failed, Step, StepResult, engine_fault
from engine.interpreter.dataflow import INSPECTION, apply_input_path, apply_parameters
from engine.interpreter.failures import Failure
from engine.interpreter.frames import (
    ROOT_FRAME,
    ExecutionInfo,
    ExecutionState,
    ExecutionStatus,
    Frame,
    Phase,
    new_execution,
)
from engine.interpreter.history import Details
from engine.interpreter.messages import (
    CancelTask,
    CancelTimer,
    Event,
    InvokeTask,
    ScheduleActivity,
    Start,
    StartTimer,
    TaskCallback,
    TaskFinished,
    TimerFired,
)
from engine.interpreter.retry import match_catcher, match_retrier
from engine.interpreter.states import (
    ATTEMPT,
    Outcome,
    _complete_with_result,
    _map_items,
    _map_max_concurrency,
    _map_tolerance,
)
from engine.interpreter.tasks import TaskFailure, TaskResult, TaskSuccess
from engine.values import JSON, immutable

__all__ = ["Mock", "Settings", "SingleStateRun", "TestOutcome"]

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
RETRIABLE = "RETRIABLE"
CAUGHT_ERROR = "CAUGHT_ERROR"

EXCEED_TOLERATED = "States.ExceedToleratedFailureThreshold"
EXCEED_TOLERATED_CAUSE = "The specified tolerated failure threshold was exceeded"
STUCK_ERROR = "States.Runtime"
STUCK_CAUSE = (
    "The state waits for something no test sends (an activity worker, a task token callback "
    "or a child execution). Give a mock for it."
)


@immutable
class Mock:
    """TestState's `mock`: the state's result, or (when `failure` is set) its failure."""

    result: JSON = None
    failure: Failure | None = None


@immutable
class Settings:
    """TestState's `stateConfiguration` (the ones this engine honours)."""

    retrier_retry_count: int | None = None
    map_iteration_failure_count: int | None = None


@immutable
class TestOutcome:
    """What TestState answers: status, output (when `has_output`), error, cause, next state,
    and the inspection data as JSON values under AWS's names, in AWS's order."""

    __test__ = False  # not a pytest test class, whatever its name

    status: str
    output: JSON = None
    has_output: bool = False
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection: Mapping[str, JSON] = field(default_factory=dict)


class SingleStep(Step):
    """A `Step` whose main path runs one state: the state under test, entered once."""

    def __init__(
        self, machine: Machine, state: ExecutionState, now: float, test: SingleStateRun
    ) -> None:
        super().__init__(machine, state, now)
        self.test = test

    def advance(self, frame_id: str) -> None:
        if frame_id != ROOT_FRAME:
            super().advance(frame_id)  # a Parallel branch or a Map iteration runs as usual
            return
        if not self.test.entering:
            return  # the main path stops at its first transition
        self.test.entering = False
        frame = self.frame(ROOT_FRAME)
        state = self.graph(frame).states[frame.state_name]
        frame.entered_time = self.now
        frame.attempt = 0
        count = self.test.settings.retrier_retry_count
        retry = state.retry if isinstance(state, TaskState | ParallelState | MapState) else ()
        # stateConfiguration.retrierRetryCount: the attempts the matching Retry already made.
        frame.retry_attempts = (count,) * len(retry) if count is not None and retry else ()
        frame.retry_count = count if count is not None and retry else 0
        entered: Details = {"name": state.name, "input": self.payload(frame.state_input)}
        frame.entered_event_id = self.emit(frame, state.entered_type, entered)
        work: Callable[[], Outcome]
        if self.test.mock is not None and isinstance(state, ParallelState | MapState):
            work = functools.partial(self.test.mocked_children, self, frame, state)
        else:
            work = functools.partial(ATTEMPT[state.type], self, frame, state)
        self._settle_outcome(frame, state, work)

    def _settle_outcome(
        self, frame: Frame, state: State, work: Callable[..., Outcome], *args: Any
    ) -> bool:
        if frame.frame_id != ROOT_FRAME:
            return super()._settle_outcome(frame, state, work, *args)
        INSPECTION.record = self.test.inspection  # dataflow.py notes what the state computes
        try:
            return super()._settle_outcome(frame, state, work, *args)
        finally:
            INSPECTION.record = None

    def _handle_failure(
        self,
        frame: Frame,
        state: State,
        failure: Failure,
        closing_event: str | None = None,
    ) -> bool:
        if frame.frame_id != ROOT_FRAME:
            return super()._handle_failure(frame, state, failure, closing_event)
        self.test.note_failure(state, failure)
        moves_on = super()._handle_failure(frame, state, failure, closing_event)
        if frame.phase is Phase.TIMER:  # a Retry took it: no Catch handled the error
            self.test.error_details.pop("catchIndex", None)
        return moves_on


@dataclass(slots=True)
class SingleStateRun:
    """The state under test as values: feed it time and task results, read its outcome.

    `start(now)`, then, while not `done`: run each invocation of `pending` and `answer` it,
    or, when none is pending, `fire_next_timer()` (False: nothing can move the state on, as a
    callback-waiting Task without a mock). `outcome()` reads the result.
    """

    machine: Machine
    state_name: str
    info: ExecutionInfo
    variables: Mapping[str, JSON] = field(default_factory=dict)
    mock: Mock | None = None
    settings: Settings = field(default_factory=Settings)
    inspection: dict[str, JSON] = field(default_factory=dict)
    pending: list[InvokeTask] = field(default_factory=list)
    entering: bool = True
    failure: Failure | None = None
    error_details: dict[str, JSON] = field(default_factory=dict)
    state: ExecutionState | None = None
    timers: dict[str, float] = field(default_factory=dict)
    now: float = 0.0  # the latest time an event brought (timers move it on)

    # -- driving ----------------------------------------------------------------------------------

    def start(self, now: float) -> None:
        execution = new_execution(self.info, self.state_name)
        root = execution.frames[ROOT_FRAME]
        root.variables = dict(self.variables)
        self._apply(execution, Start(now))

    @property
    def tested(self) -> State:
        return self.machine.root.states[self.state_name]

    @property
    def done(self) -> bool:
        state = self.state
        if state is None:
            return False
        if state.status is not ExecutionStatus.RUNNING:
            return True
        root = state.frames[ROOT_FRAME]
        if root.phase is Phase.ENTER:
            return True  # moved on to the next state (or a Catch's)
        return root.phase is Phase.TIMER and "|retry|" in (root.timer_id or "")

    def answer(self, invoke: InvokeTask, result: TaskResult, now: float) -> None:
        """The result of one invocation from `pending`."""
        if invoke in self.pending:
            self.pending.remove(invoke)
        if invoke.frame_id == ROOT_FRAME:
            self._note_result(result)
        assert self.state is not None
        self._apply(self.state, TaskFinished(invoke.frame_id, invoke.task_id, result, now))

    def fire_next_timer(self) -> bool:
        """Fire the earliest timer (a Wait, a branch's retry back-off); False when none."""
        if self.state is None or not self.timers:
            return False
        timer_id = min(self.timers, key=lambda key: self.timers[key])
        due = self.timers.pop(timer_id)
        self._apply(self.state, TimerFired(timer_id, due))
        return True

    def _apply(self, execution: ExecutionState, event: Event) -> None:
        self.now = max(self.now, event.now)
        try:
            run = SingleStep(self.machine, execution, event.now, self)
            run.apply(event)
            run.drain()
            result = run.result()
        except Exception as exc:  # an engine bug: the test fails as an execution would
            result = engine_fault(execution, event, exc)
        self.state = result.state
        self._carry_out(result, event.now)

    def _carry_out(self, result: StepResult, now: float) -> None:
        followups: list[Event] = []
        for command in result.commands:
            if isinstance(command, InvokeTask):
                if command.frame_id == ROOT_FRAME and self.mock is not None:
                    answer = self._mocked_result()
                    self._note_result(answer)
                    followups.append(TaskFinished(command.frame_id, command.task_id, answer, now))
                else:
                    self.pending.append(command)
            elif isinstance(command, ScheduleActivity):
                if command.frame_id == ROOT_FRAME and self.mock is not None:
                    answer = self._mocked_result()
                    self._note_result(answer)
                    followups.append(TaskCallback(command.token, answer, now))
                # Unmocked, or in a branch: no worker ever takes it here (the outcome says so).
            elif isinstance(command, StartTimer):
                if command.timer_id.startswith(f"{ROOT_FRAME}|retry|"):
                    seconds = max(0, round(command.due - now))
                    self.error_details["retryBackoffIntervalSeconds"] = seconds
                else:
                    self.timers[command.timer_id] = command.due
            elif isinstance(command, CancelTimer):
                self.timers.pop(command.timer_id, None)
            elif isinstance(command, CancelTask):
                self.pending = [p for p in self.pending if p.task_id != command.task_id]
        for event in followups:
            assert self.state is not None
            self._apply(self.state, event)

    def _mocked_result(self) -> TaskResult:
        assert self.mock is not None
        if self.mock.failure is not None:
            return TaskFailure(self.mock.failure.error, self.mock.failure.cause)
        return TaskSuccess(self.mock.result, final=True)

    def _note_result(self, result: TaskResult) -> None:
        if isinstance(result, TaskSuccess):
            self.inspection["result"] = result.output

    # -- hooks SingleStep calls -------------------------------------------------------------------

    def note_failure(self, state: State, failure: Failure) -> None:
        """A failure of the state under test, before its Retry and Catch apply."""
        self.failure = failure
        self.error_details = {}
        if not isinstance(state, TaskState | ParallelState | MapState):
            return
        retry_index = match_retrier(state.retry, failure)
        if retry_index is not None:
            self.error_details["retryIndex"] = retry_index
        catcher = match_catcher(state.catch, failure)
        if catcher is not None:
            self.error_details["catchIndex"] = state.catch.index(catcher)

    def mocked_children(self, run: Step, frame: Frame, state: ParallelState | MapState) -> Outcome:
        """A mocked Map or Parallel: its input processing, then the mock as its result."""
        assert self.mock is not None
        scope = run.scope(frame, state)
        if isinstance(state, MapState):
            self._map_setup(run, frame, state)
        elif state.query_language == JSONATA:
            jsonata_flow.branch_input(run, frame, state, scope)
        else:
            effective = apply_input_path(state.input_path, frame.state_input, scope)
            if state.parameters is not None:
                apply_parameters(state.parameters, effective, scope)
        if self.mock.failure is not None:
            return Failed(self.mock.failure)
        failures = self.settings.map_iteration_failure_count
        if (
            isinstance(state, MapState)
            and failures is not None
            and frame.tolerance_set
            and failures > frame.tolerated_count
        ):
            return Failed(Failure(EXCEED_TOLERATED, EXCEED_TOLERATED_CAUSE))
        return _complete_with_result(run, frame, state, self.mock.result)

    def _map_setup(self, run: Step, frame: Frame, state: MapState) -> None:
        scope = run.scope(frame, state)
        if state.query_language == JSONATA:
            items = jsonata_flow.map_setup(run, frame, state, scope)
            jsonata_flow.map_tolerance(run, frame, state, scope, len(items))
            frame.effective_input = frame.state_input
        else:
            effective = apply_input_path(state.input_path, frame.state_input, scope)
            frame.effective_input = effective
            items = _map_items(state, effective, scope)
            self.inspection["afterItemsPath"] = items
            frame.max_concurrency = _map_max_concurrency(state, effective, scope)
            _map_tolerance(frame, state, effective, scope, len(items))
        if state.item_selector is not None or "ItemSelector" in state.jsonata:
            # Each iteration's input, as the iterations would get them (states.py's rule).
            self.inspection["afterItemSelector"] = [
                _item_input(run, frame, state, index, item) for index, item in enumerate(items)
            ]
        self.inspection["maxConcurrency"] = frame.max_concurrency
        if state.tolerated_failure_count is not None:
            self.inspection["toleratedFailureCount"] = state.tolerated_failure_count
        if state.tolerated_failure_percentage is not None:
            self.inspection["toleratedFailurePercentage"] = state.tolerated_failure_percentage

    # -- the outcome ------------------------------------------------------------------------------

    def outcome(self) -> TestOutcome:
        """The test's answer once `done` (before that: FAILED, the state could not finish)."""
        state = self.state
        assert state is not None
        inspection = self._inspection(state)
        failure = self.failure
        if state.status is ExecutionStatus.SUCCEEDED:
            return TestOutcome(SUCCEEDED, state.output, True, inspection=inspection)
        if state.status is not ExecutionStatus.RUNNING:
            failed = state.failure or failure or Failure("States.Runtime", None)
            return TestOutcome(
                FAILED, error=failed.error, cause=failed.cause, inspection=inspection
            )
        root = state.frames[ROOT_FRAME]
        if root.phase is Phase.ENTER:
            if failure is not None:
                return TestOutcome(
                    CAUGHT_ERROR,
                    root.state_input,
                    True,
                    failure.error,
                    failure.cause,
                    root.state_name,
                    inspection,
                )
            return TestOutcome(
                SUCCEEDED, root.state_input, True, next_state=root.state_name, inspection=inspection
            )
        if failure is None or not self.done:
            return TestOutcome(FAILED, error=STUCK_ERROR, cause=STUCK_CAUSE, inspection=inspection)
        return TestOutcome(
            RETRIABLE, error=failure.error, cause=failure.cause, inspection=inspection
        )

    def _inspection(self, state: ExecutionState) -> dict[str, JSON]:
        noted = self.inspection
        tested = self.tested
        ordered: dict[str, JSON] = {"input": self.info.input}
        if tested.query_language != JSONATA and "afterInputPath" in noted:
            ordered["afterInputPath"] = noted["afterInputPath"]
            if "afterParameters" in noted:
                ordered["afterParameters"] = noted["afterParameters"]
            elif isinstance(tested, TaskState | ParallelState | PassState) and (
                tested.parameters is None
            ):  # no Parameters: the effective input is the input after InputPath
                ordered["afterParameters"] = noted["afterInputPath"]
        for name in ("afterArguments", "afterItemsPath", "afterItemSelector", "result"):
            if name in noted:
                ordered[name] = noted[name]
        if tested.query_language != JSONATA and "afterResultPath" in noted:
            if "afterResultSelector" in noted:
                ordered["afterResultSelector"] = noted["afterResultSelector"]
            elif "result" in noted:
                ordered["afterResultSelector"] = noted["result"]
            elif isinstance(tested, PassState) and "afterParameters" in ordered:
                # A Pass state's result: its Result field, else its effective input.
                ordered["afterResultSelector"] = (
                    tested.result if tested.has_result else ordered["afterParameters"]
                )
            ordered["afterResultPath"] = noted["afterResultPath"]
        for name in ("maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage"):
            if name in noted:
                ordered[name] = noted[name]
        root = state.frames.get(ROOT_FRAME)
        if root is not None and (root.variables or self.variables):
            ordered["variables"] = dict(root.variables)
        if self.error_details:
            ordered["errorDetails"] = dict(self.error_details)
        return ordered


def _item_input(run: Step, frame: Frame, state: MapState, index: int, item: JSON) -> JSON:
    """One Map iteration's input: its ItemSelector with `$$.Map.Item` (JSONPath or JSONata)."""
    if state.query_language == JSONATA:
        return jsonata_flow.item_input(run, frame, state, index, item)
    assert state.item_selector is not None
    scope = run.scope(frame, state, {"Map": {"Item": {"Index": index, "Value": item}}})
    return state.item_selector.evaluate(frame.effective_input, scope)
