"""The interpreter's step function: (machine, execution state, event) -> (state, events, commands).

Owns: every transition of an execution. Must never: sleep, read a clock, call a backend, touch
storage or raise for an ASL error. `step` raising is an engine bug.

Theory of operation
-------------------
An execution is a tree of frames (frames.py): the main path, each Parallel branch and each Map
iteration. A frame is either runnable (ENTER a state, or RETRY one after a back-off) or waiting
(on a task, a timer, or its children), or finished. `step` takes one event, applies it to the
frame it concerns (a task result, a timer), which may make frames runnable, then drains the
runnable frames: each runs state after state synchronously until it has to wait or finishes.
A finished child wakes its parent (the Parallel/Map state completes when all its children have),
a finished root closes the execution. No walk over frames recurses: parents are woken from a
work list and aborts walk an explicit stack, so nesting depth never meets Python's stack (the
validator also caps nesting at 100 levels). A step's work is bounded: frames that record history
by the 25,000-event limit, silent frames (Distributed Map child runs) by `SILENT_STEP_BUDGET`,
after which the step pauses with a continuation timer. Everything the outside world must do
comes back as commands (messages.py): invoke a task, start or cancel a timer, finish.
Everything that happened comes back as AWS-shaped history events (history.py), in AWS's order.

State handlers (states.py) compute one state's work and return an outcome: `Done` (output and
the next state, None for the end), `Blocked` (the frame now waits), or `Failed` (an ASL error
as a value). This module turns outcomes into transitions: Retry, Catch, the Exited event, the
move to the next state, and error propagation to the parent frame.

`step` is pure: the input state is never modified. Frames are cloned the first time this step
writes to them (copy-on-write), everything else is rebuilt.

Engine defects are contained here. An ASL error is a value and never an exception; an exception
escaping the work of a step is a bug of this engine. `step` then discards that step's partial
work and closes the execution as FAILED with `States.Runtime` and a cause that says so
(`ENGINE_FAULT_PREFIX`), cancelling its timers and tasks; the `StepResult` carries the
traceback (`fault`) for the runtime to log. One broken execution never takes the process down.
"""

from __future__ import annotations

import random
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from engine.definition.compile import (
    JSONATA,
    MAP_RUN_CHILD_RESOURCE,
    Catcher,
    Graph,
    Machine,
    MapState,
    ParallelState,
    State,
    TaskState,
)
from engine.definition.jsonata_value import QueryEvaluationError, states_binding
from engine.definition.scope import Scope
from engine.errors import (
    STATES_DATA_LIMIT_EXCEEDED,
    STATES_RUNTIME,
    STATES_TIMEOUT,
    StatesError,
)
from engine.ids import uuid4_text
from engine.interpreter.dataflow import apply_result_path
from engine.interpreter.failures import Failure, in_state_cause
from engine.interpreter.frames import (
    ROOT_FRAME,
    TERMINAL_PHASES,
    ExecutionState,
    ExecutionStatus,
    Frame,
    Phase,
)
from engine.interpreter.history import Details, HistoryEvent, Payload
from engine.interpreter.messages import (
    ActivityStarted,
    CancelTask,
    CancelTimer,
    Command,
    Event,
    Finish,
    MapRunUpdate,
    Redrive,
    Start,
    StartTimer,
    StopChild,
    StopRequested,
    TaskCallback,
    TaskFinished,
    TaskHeartbeat,
    TimerFired,
)
from engine.interpreter.retry import match_catcher, match_retrier, retry_delay
from engine.interpreter.tasks import LOST_TASK_CAUSE, TaskFailure, TaskResult, TaskSuccess
from engine.interpreter.variables import assigned_details, evaluate_assign, merge_variables
from engine.values import JSON, PAYLOAD_LIMIT_BYTES, dumps, immutable

if TYPE_CHECKING:
    from engine.interpreter.states import Outcome

MAX_HISTORY_EVENTS = 25_000
"""AWS's hard limit on the number of events in one execution's history."""

EXECUTION_TIMEOUT_TIMER = "execution|timeout"

CONTINUE_TIMER_PREFIX = "execution|continue|"
"""A timer due at once that resumes an execution whose step ran out of `SILENT_STEP_BUDGET`."""

SILENT_STEP_BUDGET = 5_000
"""The most states one step runs in silent frames (Distributed Map child runs) before it pauses.

Every other frame records history events, so the 25,000-event limit bounds a step's work; a
silent frame records none, and a child workflow that loops (a Choice back to a Pass) ran inside
one `step` for ever, freezing every execution in the process (issue 13). Past the budget the
step ends with a continuation timer due at once: the runtime runs other work, commits, then
fires it, and the frames that were runnable run on (in frame order). 5,000 states take tens of
milliseconds."""

_new_object = object.__new__

_CLOSING_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
)


class LazyRandom(random.Random):
    """A `random.Random` that seeds itself on the first draw (not for security)."""

    def __init__(self, seed: str) -> None:  # no super().__init__: that would seed now
        self._seed_text = seed
        self._seeded = False

    def _ensure(self) -> None:
        if not self._seeded:
            self._seeded = True
            super().seed(self._seed_text)

    def random(self) -> float:
        self._ensure()
        return super().random()

    def getrandbits(self, k: int, /) -> int:
        self._ensure()
        return super().getrandbits(k)


ENGINE_FAULT_PREFIX = "An internal error occurred in asl-engine"
"""How the cause of an execution failed by an engine bug begins (never an ASL error's cause)."""


@immutable
class StepResult:
    """What one step returns: the new state, the events to record, the commands to run."""

    state: ExecutionState
    events: tuple[HistoryEvent, ...]
    commands: tuple[Command, ...]
    # The traceback of an engine bug this step contained (the execution closed FAILED).
    fault: str | None = None


def step(machine: Machine, state: ExecutionState, event: Event) -> StepResult:
    """Apply one event to an execution; see the module docstring. Never raises."""
    try:
        run = Step(machine, state, event.now)
        if state.status is ExecutionStatus.RUNNING:
            run.apply(event)
            run.drain()
        elif isinstance(event, Redrive) and state.status in _REDRIVABLE:
            run.redrive(event.parent_token)
            run.drain()
        return run.result()
    except Exception as exc:  # an engine bug: contained to this one execution
        return engine_fault(state, event, exc)


def engine_fault(state: ExecutionState, event: Event, exc: BaseException) -> StepResult:
    """Close an execution that an engine bug stopped: FAILED with `States.Runtime`.

    Built from the state before the failed step (its partial work is discarded), with nothing
    but plain field reads, so it cannot fail the same way. Every timer and task the execution
    holds is cancelled. A closed execution is returned unchanged.
    """
    fault = "".join(traceback.format_exception(exc))
    if state.status is not ExecutionStatus.RUNNING:
        return StepResult(state, (), (), fault)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    cause = (
        f"{ENGINE_FAULT_PREFIX} while applying a {type(event).__name__} event: {detail}. "
        "This is a bug in the engine, not in the state machine; please report it with the "
        "definition and the input."
    )
    commands: list[Command] = []
    for frame in state.frames.values():
        if frame.task_id is not None:
            commands.append(CancelTask(frame.task_id))
        for timer_id in (frame.timer_id, frame.timeout_timer_id, frame.heartbeat_timer_id):
            if timer_id is not None:
                commands.append(CancelTimer(timer_id))
    if state.timeout_timer_id is not None:
        commands.append(CancelTimer(state.timeout_timer_id))
    commands.append(Finish("FAILED", error=STATES_RUNTIME, cause=cause))
    events: list[HistoryEvent] = []
    event_id = state.next_event_id
    if event_id == 1:  # it failed starting: the history still begins with ExecutionStarted
        info = state.info
        started: Details = {"input": Payload(info.input), "roleArn": info.role_arn}
        events.append(
            HistoryEvent(1, 0, min(info.start_time, event.now), "ExecutionStarted", started)
        )
        event_id = 2
    failed: Details = {"error": STATES_RUNTIME, "cause": cause}
    events.append(HistoryEvent(event_id, event_id - 1, event.now, "ExecutionFailed", failed))
    closed = replace(
        state,
        status=ExecutionStatus.FAILED,
        next_event_id=event_id + 1,
        failure=Failure(STATES_RUNTIME, cause),
        timeout_timer_id=None,
    )
    return StepResult(closed, tuple(events), tuple(commands), fault)


_REDRIVABLE = frozenset(
    {ExecutionStatus.FAILED, ExecutionStatus.ABORTED, ExecutionStatus.TIMED_OUT}
)


@immutable
class Done:
    """A state finished: its output and the state to go to (None: the end)."""

    output: JSON
    next: str | None
    # Variables the state's Assign set; they take effect when the state exits (variables.py).
    assigned: Mapping[str, JSON] | None = None
    # The output's size was checked against the payload limit already (a task's result passed
    # on as it is): rendering it again to measure it would find the same size.
    sized: bool = False


@immutable
class Blocked:
    """A state waits for a message (a task result, a timer, its children)."""


@immutable
class Failed:
    """A state failed: Retry and Catch decide what happens next."""

    failure: Failure
    # Recorded only when the failure is final: AWS writes no MapStateFailed or
    # ParallelStateFailed before a retry, but does before a Catch handles the error.
    closing_event: str | None = None


BLOCKED = Blocked()


class Step:
    """The working copy of one `step` call. States.py drives it through these methods."""

    # Slots: one Step per event applied, its fields read and written throughout the step.
    __slots__ = (
        "_done_frames",
        "_owned",
        "_payload",
        "_plain_scope",
        "_rng",
        "_seed_event",
        "_seed_sequence",
        "_waking",
        "commands",
        "events",
        "failure",
        "frames",
        "history_full",
        "info",
        "machine",
        "next_event_id",
        "now",
        "output",
        "runnable",
        "sequence",
        "silent_work",
        "status",
        "timeout_timer_id",
    )

    def __init__(self, machine: Machine, state: ExecutionState, now: float) -> None:
        self.machine = machine
        self.info = state.info
        self.now = now
        self.frames: dict[str, Frame] = dict(state.frames)
        self._owned: set[str] = set()
        self.events: list[HistoryEvent] = []
        self.commands: list[Command] = []
        self.next_event_id = state.next_event_id
        self.sequence = state.sequence
        self.status = state.status
        self.output = state.output
        self.failure = state.failure
        self.timeout_timer_id = state.timeout_timer_id
        self.runnable: deque[str] = deque()
        self.history_full = False
        self._done_frames: deque[Frame] = deque()  # finished frames whose parent must wake
        self._waking = False
        self.silent_work = 0  # states run in silent frames this step (SILENT_STEP_BUDGET)
        self._rng: random.Random | None = None
        self._seed_sequence = state.sequence
        self._seed_event = state.next_event_id
        self._payload: Payload | None = None  # the last one made (see `payload`)
        self._plain_scope: Scope | None = None  # the last scope without `$$` (see `scope`)

    # -- bookkeeping ---------------------------------------------------------------------------

    @property
    def rng(self) -> random.Random:
        """Deterministic per (execution seed, step): replaying a step gives the same jitter and
        UUIDs. Seeded on first draw: seeding costs more than a whole Pass transition."""
        if self._rng is None:
            self._rng = LazyRandom(f"{self.info.seed}:{self._seed_sequence}:{self._seed_event}")
        return self._rng

    def result(self) -> StepResult:
        # Positional, in the order of ExecutionState's fields (keywords cost a dict per call).
        new_state = ExecutionState(
            self.info,  # info
            self.frames,  # frames
            self.status,  # status
            self.next_event_id,  # next_event_id
            self.sequence,  # sequence
            self.output,  # output
            self.failure,  # failure
            self.timeout_timer_id,  # timeout_timer_id
        )
        return StepResult(new_state, tuple(self.events), tuple(self.commands))

    def frame(self, frame_id: str) -> Frame:
        """The frame, cloned on first write in this step so the input state stays untouched."""
        frame = self.frames[frame_id]
        if frame_id not in self._owned:
            frame = frame.clone()
            self.frames[frame_id] = frame
            self._owned.add(frame_id)
        return frame

    def add_frame(self, frame: Frame) -> None:
        self.frames[frame.frame_id] = frame
        self._owned.add(frame.frame_id)

    def graph(self, frame: Frame) -> Graph:
        return self.machine.graphs[frame.graph_key]

    def new_id(self, frame: Frame, kind: str) -> str:
        self.sequence += 1
        return f"{frame.frame_id}|{kind}|{self.sequence}"

    def payload(self, value: JSON) -> Payload:
        """`value` as a history payload. Consecutive events that show the same value (a
        task's output is its state's output, then the next state's input and its task's
        input) share one wrapper: fewer objects kept with the history for the collector."""
        last = self._payload
        if last is not None and last.value is value:
            return last
        made = self._payload = Payload(value)
        return made

    def new_uuid(self) -> str:
        return uuid4_text(self.rng.getrandbits(128))

    def emit(
        self,
        frame: Frame,
        event_type: str,
        details: Details | None = None,
        *,
        timestamp: float | None = None,
    ) -> int:
        """Append a history event on `frame`'s thread; returns its id (0 for silent frames).

        `timestamp` (default: the step's time) may only be earlier than the step's time."""
        if frame.silent:
            return 0
        event_id = self.next_event_id
        if event_id >= MAX_HISTORY_EVENTS and event_type not in _CLOSING_EVENTS:
            # AWS: event 25,000 may only be ExecutionSucceeded; anything else fails the
            # execution there ("Avoid reaching the history quota", Step Functions guide).
            self.history_full = True
            return 0
        self.next_event_id = event_id + 1
        # HistoryEvent(...), without the class call's generic path (a third of the cost): a
        # transition makes five of these. Every field is set, as its __init__ sets them.
        event = _new_object(HistoryEvent)
        event.id = event_id  # type: ignore[misc]
        event.previous_event_id = frame.last_event_id  # type: ignore[misc]
        event.timestamp = self.now if timestamp is None else min(timestamp, self.now)  # type: ignore[misc]
        event.type = event_type  # type: ignore[misc]
        event.details = details  # type: ignore[misc]
        self.events.append(event)
        frame.last_event_id = event_id
        return event_id

    def scope(self, frame: Frame, state: State, extra: dict[str, JSON] | None = None) -> Scope:
        """The expression scope of a state: `$$` is built only for states that mention it.

        A scope without `$$` is shared by the states of this step that see the same variables
        (a Task's result applied and the next Task's request built are one step)."""
        if not state.uses_context and extra is None:
            plain = self._plain_scope
            if plain is not None and plain.variables is frame.variables:
                return plain
            plain = self._plain_scope = Scope(None, frame.variables, self.rng)
            return plain
        info = self.info
        execution: dict[str, JSON]
        if info.execution_type == "EXPRESS":
            # An Express execution cannot be redriven: no RedriveCount, and AWS's key order
            # differs (LocalStack test_express_sync.py::test_query_runtime_memory).
            execution = {
                "Id": info.execution_arn,
                "Input": info.input,
                "Name": info.name,
                "RoleArn": info.role_arn,
                "StartTime": _iso(info.start_time),
            }
        else:
            # Key order as AWS records it (context_object/test_context_object/test_output_path.p).
            execution = {
                "Id": info.execution_arn,
                "Input": info.input,
                "StartTime": _iso(info.start_time),
                "Name": info.name,
                "RoleArn": info.role_arn,
                "RedriveCount": info.redrive_count,
            }
        context: dict[str, JSON] = {
            "Execution": execution,
            "StateMachine": {
                "Id": info.state_machine_arn,
                "Name": info.state_machine_name,
            },
            "State": _state_context(frame, state),
        }
        if extra:
            context.update(extra)
        return Scope(context, frame.variables, self.rng)

    def in_state_failure(self, frame: Frame, state: State, exc: StatesError) -> Failure:
        """An expression error raised while `state` ran, with AWS's cause prefix."""
        cause = exc.cause
        if not cause.startswith("An error occurred while executing the state"):
            cause = in_state_cause(state.name, frame.entered_event_id, cause)
        return Failure(exc.error, cause)

    # -- events in -----------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        if isinstance(event, Start):
            self._start()
        elif isinstance(event, TaskFinished):
            self._task_finished(event.frame_id, event.task_id, event.result)
        elif isinstance(event, TaskCallback):
            self._task_callback(event.token, event.result)
        elif isinstance(event, TaskHeartbeat):
            self._task_heartbeat(event.token)
        elif isinstance(event, ActivityStarted):
            frame_id = self._token_frame(event.token)
            if frame_id is not None:
                details: Details = {}
                if event.worker_name:
                    details["workerName"] = event.worker_name
                self.emit(self.frame(frame_id), "ActivityStarted", details)
        elif isinstance(event, TimerFired):
            self._timer_fired(event.timer_id)
        elif isinstance(event, StopRequested):
            self._close_aborted(event.error, event.cause)
        elif isinstance(event, MapRunUpdate):
            self._update_map_run(event)

    def _update_map_run(self, event: MapRunUpdate) -> None:
        """UpdateMapRun reaches the Map whose run it names, if that run is still going."""
        for frame_id, frame in list(self.frames.items()):
            if frame.map_run_arn == event.map_run_arn and frame.phase is Phase.CHILDREN:
                state = self.graph(frame).states[frame.state_name]
                if isinstance(state, MapState) and state.distributed:
                    from engine.interpreter.states import update_map_run

                    update_map_run(self, self.frame(frame_id), state, event)
                return

    def redrive(self, parent_token: str | None = None) -> None:
        """Restart a closed execution at the state where its main path stopped.

        Frames below the main path are dropped (their states re-run); a Map re-runs only the
        iterations that had not succeeded (`Frame.kept_results`). AWS: "Redriving executions".
        A Map Run's child redriven by its parent's redrive answers the parent's new Task
        (`parent_token`) when it closes (AWS, "Redriving Map Runs").
        """
        self.info = replace(self.info, redrive_count=self.info.redrive_count + 1)
        _states.keep_for_redrive(self, self.frame(ROOT_FRAME))
        if parent_token is not None:
            self.info = replace(self.info, parent_token=parent_token)
        for frame_id in [f for f in self.frames if f != ROOT_FRAME]:
            self.frames.pop(frame_id)
            self._owned.discard(frame_id)
        root = self.frame(ROOT_FRAME)
        root.child_ids = ()
        root.phase = Phase.ENTER
        root.failure = None
        root.task_id = None
        root.task_token = None
        root.timer_id = None
        root.redriving = True
        self.status = ExecutionStatus.RUNNING
        self.output = None
        self.failure = None
        self.emit(root, "ExecutionRedriven", {"redriveCount": self.info.redrive_count})
        if self.machine.timeout_seconds is not None:
            self.timeout_timer_id = EXECUTION_TIMEOUT_TIMER
            self.commands.append(
                StartTimer(EXECUTION_TIMEOUT_TIMER, self.now + self.machine.timeout_seconds)
            )
        self.runnable.append(ROOT_FRAME)

    def _start(self) -> None:
        root = self.frame(ROOT_FRAME)
        if root.phase is not Phase.ENTER or self.next_event_id != 1:
            return
        # At the execution's startDate, as AWS records it, even when a worker runs it later.
        self.emit(
            root,
            "ExecutionStarted",
            {"input": self.payload(self.info.input), "roleArn": self.info.role_arn},
            timestamp=self.info.start_time,
        )
        # AWS links the first state's event to no event (previousEventId 0), not to
        # ExecutionStarted: every recorded history does (LocalStack's AWS snapshots).
        root.last_event_id = 0
        if self.machine.timeout_seconds is not None:
            self.timeout_timer_id = EXECUTION_TIMEOUT_TIMER
            self.commands.append(
                StartTimer(EXECUTION_TIMEOUT_TIMER, self.now + self.machine.timeout_seconds)
            )
        self.runnable.append(ROOT_FRAME)

    def _task_finished(self, frame_id: str, task_id: str, result: TaskResult) -> None:
        complete_task = _states.complete_task
        current = self.frames.get(frame_id)
        if current is None or current.phase is not Phase.TASK or current.task_id != task_id:
            return  # stale: the task was timed out, aborted or already answered
        frame = self.frame(frame_id)
        frame.task_id = None
        state = self.machine.graphs[frame.graph_key].states[frame.state_name]
        if isinstance(state, MapState):  # a Distributed Map's read or write (map_io.py)
            from engine.interpreter.states import complete_map_io

            if self._settle_outcome(
                frame, state, lambda: complete_map_io(self, frame, state, result)
            ):
                self.runnable.append(frame_id)
            return
        assert isinstance(state, TaskState)
        if (
            state.resource == MAP_RUN_CHILD_RESOURCE
            and isinstance(result, TaskFailure)
            and result.cause == LOST_TASK_CAUSE
        ):
            # A Map Run child's start lost with its worker is made again, as a lost read or
            # write is: the child's name comes from the Map Run and the item, so the start is
            # idempotent (it finds the child started before and waits for its answer). The
            # same token: the child may answer the first request's token, before or after the
            # second request's response.
            token, frame.task_token = frame.task_token, None
            self._cancel_task_timers(frame)
            _states.run_task(self, frame, state, token=token)
            return
        if frame.task_token is not None and isinstance(result, TaskSuccess) and not result.final:
            # .waitForTaskToken: the invocation only hands the token over; the task's result
            # arrives later as a TaskCallback (SendTaskSuccess/Failure). Timers keep running.
            # A `final` result (a mocked response) is the outcome itself: no callback comes.
            details: Details = {"output": self.payload(result.output)}
            submitted_details = task_details(state, details)
            self.emit(frame, "TaskSubmitted", submitted_details)
            if result.token is not None:
                frame.task_token = result.token  # the answer comes with this one
                # a Map Run's child started before the redrive of its Map (map_runs.py)
                frame.awaits_earlier_child = state.resource == MAP_RUN_CHILD_RESOURCE
            return
        frame.task_token = None
        if frame.timeout_timer_id is not None or frame.heartbeat_timer_id is not None:
            self._cancel_task_timers(frame)
        # Through `_settle_outcome` (a TestState run notes what the state computes there),
        # with the work's arguments rather than a closure made for each task's answer.
        if self._settle_outcome(frame, state, complete_task, self, frame, state, result):
            self.runnable.append(frame_id)

    def _token_frame(self, token: str) -> str | None:
        for frame_id, frame in self.frames.items():
            if frame.task_token == token and frame.phase is Phase.TASK:
                return frame_id
        return None

    def _task_callback(self, token: str, result: TaskResult) -> None:
        complete_task = _states.complete_task
        frame_id = self._token_frame(token)
        if frame_id is None:
            return  # unknown or already answered: the service reports TaskDoesNotExist
        frame = self.frame(frame_id)
        if frame.task_id is not None:
            self.commands.append(CancelTask(frame.task_id))
            frame.task_id = None
        frame.task_token = None
        self._cancel_task_timers(frame)
        state = self.graph(frame).states[frame.state_name]
        assert isinstance(state, TaskState)
        if frame.awaits_earlier_child:
            frame.awaits_earlier_child = False
            if isinstance(result, TaskFailure):
                # The child was still running when its Map was redriven (its abort by the
                # failed run not done yet, or its work not): it closed unsuccessfully after
                # the redrive began, so it is redriven as the others were. The start made
                # again finds it closed and redrives it (AWS, "Redriving Map Runs": every
                # unsuccessful child of the Map Run is redriven).
                _states.run_task(self, frame, state)
                return
        if self._settle_outcome(frame, state, lambda: complete_task(self, frame, state, result)):
            self.runnable.append(frame_id)

    def _task_heartbeat(self, token: str) -> None:
        frame_id = self._token_frame(token)
        if frame_id is None:
            return
        frame = self.frame(frame_id)
        state = self.graph(frame).states[frame.state_name]
        if frame.heartbeat_timer_id is None or not isinstance(state, TaskState):
            return
        self.commands.append(CancelTimer(frame.heartbeat_timer_id))
        seconds = frame.heartbeat_seconds
        frame.heartbeat_timer_id = self.new_id(frame, "heartbeat")
        self.commands.append(StartTimer(frame.heartbeat_timer_id, self.now + seconds))

    def _timer_fired(self, timer_id: str) -> None:
        complete_wait, task_timed_out = _states.complete_wait, _states.task_timed_out
        if timer_id == EXECUTION_TIMEOUT_TIMER:
            if self.timeout_timer_id == timer_id:
                self._close_timed_out()
            return
        if timer_id.startswith(CONTINUE_TIMER_PREFIX):
            # A paused step: everything runnable when it paused runs on (see SILENT_STEP_BUDGET).
            self.runnable.extend(
                frame_id
                for frame_id, frame in self.frames.items()
                if frame.phase in (Phase.ENTER, Phase.RETRY)
            )
            return
        frame_id, _, rest = timer_id.partition("|")
        kind = rest.partition("|")[0]
        current = self.frames.get(frame_id)
        if current is None or current.phase in TERMINAL_PHASES:
            return
        if kind in ("timeout", "heartbeat"):
            if current.phase is not Phase.TASK or timer_id not in (
                current.timeout_timer_id,
                current.heartbeat_timer_id,
            ):
                return
            frame = self.frame(frame_id)
            state = self.graph(frame).states[frame.state_name]
            assert isinstance(state, TaskState)
            if frame.task_id is not None:
                self.commands.append(CancelTask(frame.task_id))
            frame.task_id = None
            self._abandon_child(frame)
            frame.task_token = None
            self._cancel_task_timers(frame, keep=timer_id)
            heartbeat = kind == "heartbeat"
            if self._settle_outcome(
                frame, state, lambda: task_timed_out(self, frame, state, heartbeat=heartbeat)
            ):
                self.runnable.append(frame_id)
            return
        if current.phase is not Phase.TIMER or current.timer_id != timer_id:
            return
        frame = self.frame(frame_id)
        frame.timer_id = None
        state = self.graph(frame).states[frame.state_name]
        if kind == "retry":
            frame.phase = Phase.RETRY
            self.runnable.append(frame_id)
        elif self._settle_outcome(frame, state, lambda: complete_wait(self, frame, state)):
            self.runnable.append(frame_id)

    def _cancel_task_timers(self, frame: Frame, keep: str | None = None) -> None:
        for timer_id in (frame.timeout_timer_id, frame.heartbeat_timer_id):
            if timer_id is not None and timer_id != keep:
                self.commands.append(CancelTimer(timer_id))
        frame.timeout_timer_id = None
        frame.heartbeat_timer_id = None

    # -- running frames ------------------------------------------------------------------------

    def drain(self) -> None:
        while self.runnable and self.status is ExecutionStatus.RUNNING and not self.history_full:
            if self.silent_work >= SILENT_STEP_BUDGET:
                self.sequence += 1
                self.commands.append(
                    StartTimer(f"{CONTINUE_TIMER_PREFIX}{self.sequence}", self.now)
                )
                break
            frame_id = self.runnable.popleft()
            # A frame queued earlier in this step may be gone: a failed sibling branch or Map
            # iteration made its Parallel or Map drop its children (with a Catch or Retry, the
            # execution runs on).
            if frame_id in self.frames:
                self.advance(frame_id)
        if self.history_full and self.status is ExecutionStatus.RUNNING:
            self._close_failed(
                STATES_RUNTIME,
                f"The execution reached the maximum number of history events "
                f"({MAX_HISTORY_EVENTS}).",
            )

    def advance(self, frame_id: str) -> None:
        """Run a runnable frame state after state until it waits or finishes."""
        attempt, attempt_resolved = _states.ATTEMPT, _states.ATTEMPT_RESOLVED
        # `frame` and `graph`, written out (the frame is usually owned already)
        frame = self.frames[frame_id] if frame_id in self._owned else self.frame(frame_id)
        graph = self.machine.graphs[frame.graph_key]
        while self.status is ExecutionStatus.RUNNING and not self.history_full:
            if frame.silent:
                if self.silent_work >= SILENT_STEP_BUDGET:
                    self.runnable.appendleft(frame_id)  # drain pauses the step
                    return
                self.silent_work += 1
            state = graph.states[frame.state_name]
            if frame.phase is Phase.ENTER:
                frame.entered_time = self.now
                frame.retry_count = 0
                frame.retry_attempts = ()
                frame.attempt = 0
                frame.entered_event_id = self.emit(
                    frame,
                    state.entered_type,
                    {"name": state.name, "input": self.payload(frame.state_input)},
                )
            elif frame.phase is not Phase.RETRY:
                return
            # `_settle_outcome`, written out: this runs once per state entered.
            handler = (attempt if state.unresolved else attempt_resolved)[state.type]
            try:
                outcome = handler(self, frame, state)
            except QueryEvaluationError as exc:
                outcome = Failed(self.evaluation_failure(frame, state, exc))
            except StatesError as exc:
                outcome = Failed(self.in_state_failure(frame, state, exc))
            if not self._settle(frame, state, outcome):
                return

    def _settle_outcome(
        self, frame: Frame, state: State, work: Callable[..., Outcome], *args: Any
    ) -> bool:
        """Run a state's work (`work(*args)`) and apply its outcome. True when the frame should
        keep running."""
        try:
            outcome = work(*args)
        except QueryEvaluationError as exc:
            outcome = Failed(self.evaluation_failure(frame, state, exc))
        except StatesError as exc:
            outcome = Failed(self.in_state_failure(frame, state, exc))
        return self._settle(frame, state, outcome)

    def evaluation_failure(self, frame: Frame, state: State, exc: QueryEvaluationError) -> Failure:
        """A JSONata evaluation error: AWS records an EvaluationFailed event before the failure.

        Its previousEventId is that of the state's Entered event (recorded in the LocalStack AWS
        snapshots of test_assign_reference_variables.test_undefined_reference).
        """
        failure = self.in_state_failure(frame, state, exc)
        if not frame.silent:
            for event in reversed(self.events):
                if event.id == frame.entered_event_id:
                    frame.last_event_id = event.previous_event_id
                    break
            self.emit(
                frame,
                "EvaluationFailed",
                {
                    "error": failure.error,
                    "cause": failure.cause,
                    "location": exc.location,
                    "state": state.name,
                },
            )
        return failure

    def _settle(self, frame: Frame, state: State, outcome: Outcome) -> bool:
        if isinstance(outcome, Blocked):
            return False
        if isinstance(outcome, Failed):
            return self._handle_failure(frame, state, outcome.failure, outcome.closing_event)
        if (
            outcome.output is not frame.state_input
            and not outcome.sized
            and exceeds_payload_limit(outcome.output)
        ):
            # AWS's 256 KiB quota on a state's output (the input it already passed).
            cause = (
                f"The state/task '{state.name}' returned a result with a size exceeding the "
                "maximum number of bytes service limit."
            )
            return self._handle_failure(frame, state, Failure(STATES_DATA_LIMIT_EXCEEDED, cause))
        exited: Details = {"name": state.name, "output": self.payload(outcome.output)}
        if outcome.assigned:
            exited.update(assigned_details(outcome.assigned))
            frame.variables = merge_variables(frame.variables, outcome.assigned)
        self.emit(frame, state.exited_type, exited)
        if outcome.next is None:
            self.finish_frame(frame, outcome.output)
            return False
        frame.state_name = outcome.next
        frame.state_input = outcome.output
        frame.phase = Phase.ENTER
        return True

    def _handle_failure(
        self,
        frame: Frame,
        state: State,
        failure: Failure,
        closing_event: str | None = None,
    ) -> bool:
        """Retry, then Catch, then fail the frame (AWS's order: Retry is consulted first)."""
        if isinstance(state, TaskState | ParallelState | MapState):
            index = match_retrier(state.retry, failure)
            if index is not None:
                attempts = list(frame.retry_attempts or (0,) * len(state.retry))
                delay = retry_delay(state.retry[index], attempts[index], self.rng)
                if delay is not None:
                    attempts[index] += 1
                    frame.retry_attempts = tuple(attempts)
                    frame.retry_count += 1
                    frame.attempt += 1
                    frame.timer_id = self.new_id(frame, "retry")
                    frame.phase = Phase.TIMER
                    self.commands.append(StartTimer(frame.timer_id, self.now + delay))
                    return False
        catcher = (
            match_catcher(state.catch, failure)
            if isinstance(state, TaskState | ParallelState | MapState)
            else None
        )
        if closing_event is not None:
            self.emit(frame, closing_event)
        if isinstance(state, TaskState | ParallelState | MapState) and catcher is not None:
            try:
                output, assigned = catch_output(self, frame, state, catcher, failure)
            except QueryEvaluationError as exc:
                self.fail_frame(frame, self.evaluation_failure(frame, state, exc))
                return False
            except StatesError as exc:
                self.fail_frame(frame, self.in_state_failure(frame, state, exc))
                return False
            exited: Details = {"name": state.name, "output": self.payload(output)}
            if assigned:
                exited.update(assigned_details(assigned))
                frame.variables = merge_variables(frame.variables, assigned)
            self.emit(frame, state.exited_type, exited)
            frame.state_name = catcher.next
            frame.state_input = output
            frame.phase = Phase.ENTER
            return True
        self.fail_frame(frame, failure)
        return False

    # -- frame lifecycle -----------------------------------------------------------------------

    def finish_frame(self, frame: Frame, output: JSON) -> None:
        frame.phase = Phase.SUCCEEDED
        frame.output = output
        self._frame_done(frame)

    def fail_frame(self, frame: Frame, failure: Failure) -> None:
        frame.phase = Phase.FAILED
        frame.failure = failure
        self._frame_done(frame)

    def _frame_done(self, frame: Frame) -> None:
        """A frame finished: close the execution (the root) or wake its parent.

        A work list, not recursion: the last branch of a Parallel nested N deep finishing
        finishes N frames in a row, and waking each parent from inside its child's finish
        recursed N times (a RecursionError at ~2,000 levels, issue 13). A frame that finishes
        while a parent is being woken is queued and woken by the outermost call once the
        current one has returned. Every caller of `finish_frame`/`fail_frame` returns right
        after it, so the events come out in the order the recursion gave them.
        """
        self._done_frames.append(frame)
        if self._waking:
            return
        self._waking = True
        try:
            while self._done_frames:
                done = self._done_frames.popleft()
                if done.parent_id is not None:
                    self._child_finished(done)
                elif done.phase is Phase.SUCCEEDED:
                    self._close_succeeded(done, done.output)
                else:
                    assert done.failure is not None
                    self._close_failed(done.failure.error, done.failure.cause)
        finally:
            self._waking = False

    def _child_finished(self, child: Frame) -> None:
        child_finished = _states.child_finished
        assert child.parent_id is not None
        parent = self.frame(child.parent_id)
        if parent.phase is not Phase.CHILDREN:
            return
        state = self.graph(parent).states[parent.state_name]
        if self._settle_outcome(parent, state, lambda: child_finished(self, parent, state, child)):
            self.runnable.append(parent.frame_id)

    def abort_frame(self, frame_id: str) -> None:
        """Stop a frame and its children: cancel its task and timers, record the abort.

        Children first (depth first, in order), each before its parent, as AWS records the
        aborts; walked with an explicit stack so that no nesting depth can recurse."""
        stack: list[tuple[str, bool]] = [(frame_id, False)]
        while stack:
            current_id, children_done = stack.pop()
            frame = self.frame(current_id)
            if children_done:
                self._abort_one(frame)
                continue
            if frame.phase in TERMINAL_PHASES:
                continue
            stack.append((current_id, True))
            stack.extend(
                (child_id, False)
                for child_id in reversed(frame.child_ids)
                if child_id in self.frames
            )

    def _abort_one(self, frame: Frame) -> None:
        if frame.task_id is not None:
            self.commands.append(CancelTask(frame.task_id))
            frame.task_id = None
        self._abandon_child(frame)
        frame.task_token = None
        if frame.timer_id is not None:
            self.commands.append(CancelTimer(frame.timer_id))
            frame.timer_id = None
        self._cancel_task_timers(frame)
        if frame.phase in (Phase.TASK, Phase.TIMER, Phase.CHILDREN):
            state = self.graph(frame).states[frame.state_name]
            if (
                frame.phase is Phase.CHILDREN
                and isinstance(state, MapState)
                and state.distributed
                and frame.map_run_arn
            ):
                from engine.interpreter.states import record_map_run

                self.emit(frame, "MapRunAborted")
                record_map_run(self, frame, "ABORTED")
            self.emit(frame, f"{state.type}StateAborted", {"name": state.name})
        frame.phase = Phase.ABORTED

    def _abandon_child(self, frame: Frame) -> None:
        """A `startExecution.sync` Task stops waiting for its child: stop the child, as AWS
        does (engine/interpreter/nested.py)."""
        if frame.task_token is None or frame.phase is not Phase.TASK:
            return
        state = self.graph(frame).states.get(frame.state_name)
        if isinstance(state, TaskState) and state.waits_for_child:
            from engine.interpreter.nested import abandoned_cause

            cause = abandoned_cause(self.info.execution_arn)
            self.commands.append(StopChild(frame.task_token, cause))

    def forget_frame(self, frame_id: str) -> None:
        """A frame dropped from this step's state is no longer this step's to copy."""
        self._owned.discard(frame_id)

    def remove_children(self, frame: Frame) -> None:
        """Drop a frame's children and everything below them (a stack, not recursion)."""
        pending = list(frame.child_ids)
        while pending:
            child_id = pending.pop()
            child = self.frames.pop(child_id, None)
            self._owned.discard(child_id)
            if child is not None:
                pending.extend(child.child_ids)
        frame.child_ids = ()

    # -- closing the execution -----------------------------------------------------------------

    def _close(self, status: ExecutionStatus, finish: Finish) -> None:
        self.status = status
        if self.timeout_timer_id is not None and status is not ExecutionStatus.TIMED_OUT:
            self.commands.append(CancelTimer(self.timeout_timer_id))
        self.timeout_timer_id = None
        self.commands.append(finish)

    def _close_succeeded(self, root: Frame, output: JSON) -> None:
        self.emit(root, "ExecutionSucceeded", {"output": self.payload(output)})
        self.output = output
        self._close(ExecutionStatus.SUCCEEDED, Finish("SUCCEEDED", output=output))

    def _close_failed(self, error: str, cause: str | None) -> None:
        self._abort_all()
        root = self.frame(ROOT_FRAME)
        self.emit(root, "ExecutionFailed", _error_details(error, cause))
        self.failure = Failure(error, cause)
        self._close(ExecutionStatus.FAILED, Finish("FAILED", error=error or None, cause=cause))

    def _close_timed_out(self) -> None:
        self._abort_all(record=False)
        root = self.frame(ROOT_FRAME)
        cause = "The execution timed out."
        self.emit(root, "ExecutionTimedOut", {"error": STATES_TIMEOUT, "cause": cause})
        self.failure = Failure(STATES_TIMEOUT, cause)
        self._close(
            ExecutionStatus.TIMED_OUT, Finish("TIMED_OUT", error=STATES_TIMEOUT, cause=cause)
        )

    def _close_aborted(self, error: str | None, cause: str | None) -> None:
        self._abort_all()
        root = self.frame(ROOT_FRAME)
        details: Details = {}
        if error is not None:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
        self.emit(root, "ExecutionAborted", details)
        self.failure = Failure(error or "", cause) if error or cause else None
        self._close(ExecutionStatus.ABORTED, Finish("ABORTED", error=error, cause=cause))

    def _abort_all(self, record: bool = True) -> None:
        root = self.frames.get(ROOT_FRAME)
        if root is None or root.phase in TERMINAL_PHASES:
            return
        if record:
            self.abort_frame(ROOT_FRAME)
            return
        # Timed out: AWS records no per-state abort events, but running work is still cancelled.
        for frame_id in list(self.frames):
            frame = self.frame(frame_id)
            if frame.task_id is not None:
                self.commands.append(CancelTask(frame.task_id))
            if frame.timer_id is not None:
                self.commands.append(CancelTimer(frame.timer_id))
            self._cancel_task_timers(frame)
            self._abandon_child(frame)
            if frame.phase not in TERMINAL_PHASES:
                frame.phase = Phase.ABORTED


def exceeds_payload_limit(value: JSON) -> bool:
    """Whether a value's JSON text is over 256 KiB (UTF-8 is at most 4 bytes a character)."""
    if value is None or isinstance(value, bool | int | float):
        return False
    text = dumps(value)
    if len(text) * 4 <= PAYLOAD_LIMIT_BYTES:
        return False
    return len(text.encode("utf-8")) > PAYLOAD_LIMIT_BYTES


def _state_context(frame: Frame, state: State) -> dict[str, JSON]:
    context: dict[str, JSON] = {"Name": state.name, "EnteredTime": _iso(frame.entered_time)}
    # Only states that can retry carry RetryCount (recorded case context_object/output_path).
    if isinstance(state, TaskState | ParallelState | MapState):
        context["RetryCount"] = frame.retry_count
    return context


def _error_details(error: str | None, cause: str | None) -> Details:
    details: Details = {}
    if error:  # a Fail state without Error: AWS records no error field
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    return details


def _iso(epoch: float) -> str:
    from engine.interpreter.history import format_time

    return format_time(epoch)


def task_details(state: TaskState, details: Details) -> Details:
    """Task event details: service integrations name their resource, Lambda ARNs do not."""
    if state.is_lambda_function or state.is_activity:
        return details
    from engine.interpreter.history import task_resource_parts

    service, action = task_resource_parts(state.resource)
    return {"resourceType": service, "resource": action, **details}


def task_failure_details(result: TaskFailure) -> Details:
    return _error_details(result.error, result.cause)


def catch_output(
    run: Step, frame: Frame, state: State, catcher: Catcher, failure: Failure
) -> tuple[JSON, Mapping[str, JSON] | None]:
    """A matched Catch: the state's output and the variables the catcher's Assign sets.

    JSONPath: the error output placed at ResultPath; Assign reads the error output as `$`.
    JSONata: the catcher's Output (default: the error output), with `$states.errorOutput`.
    """
    error_output: JSON = dict(failure.as_error_output())
    assigned = None
    if state.query_language == JSONATA:
        scope = run.scope(frame, state)
        states = states_binding(frame.state_input, scope.context, error_output=error_output)
        if catcher.assign_program is not None:
            assigned = evaluate_assign(catcher.assign_program, None, states, scope, run.now)
        if catcher.output_value is None:
            return error_output, assigned
        return catcher.output_value.evaluate(states, scope, run.now), assigned
    if catcher.assign_program is not None:
        scope = run.scope(frame, state)
        assigned = evaluate_assign(catcher.assign_program, error_output, None, scope, run.now)
    return apply_result_path(catcher.result_path, frame.state_input, error_output), assigned


# states.py builds on this module (Step, the outcomes), so it is imported last, once both are
# defined; the methods above read it at call time. An import inside each method instead cost
# about 1 us a call (the import machinery runs every time), twice per Task transition.
from engine.interpreter import states as _states  # noqa: E402
