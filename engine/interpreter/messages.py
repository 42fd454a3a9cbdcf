"""What goes into the interpreter and what comes out of it.

Owns: the events fed to `step` (start, task finished, timer fired, stop) and the commands it
returns (invoke a task, start or cancel a timer, cancel a task, finish the execution). All are
frozen values; `now` is epoch seconds and always arrives with the event, never from a clock.
Must never: carry behaviour; they are messages.
"""

from __future__ import annotations

from engine.interpreter.tasks import TaskRequest, TaskResult
from engine.values import JSON, immutable

# -- events in -------------------------------------------------------------------------------


@immutable
class Start:
    """Begin the execution (its input and identity are already in the ExecutionState)."""

    now: float


@immutable
class TaskFinished:
    """A backend returned for the task `task_id` that the frame `frame_id` waits on."""

    frame_id: str
    task_id: str
    result: TaskResult
    now: float


@immutable
class TaskCallback:
    """SendTaskSuccess / SendTaskFailure for a `.waitForTaskToken` task, by its token."""

    token: str
    result: TaskResult
    now: float


@immutable
class TaskHeartbeat:
    """SendTaskHeartbeat: the worker holding `token` is alive; restart the heartbeat timer."""

    token: str
    now: float


@immutable
class ActivityStarted:
    """GetActivityTask handed the activity task with this token to a worker."""

    token: str
    worker_name: str | None
    now: float


@immutable
class TimerFired:
    """The timer `timer_id` came due (Wait, retry back-off, task timeout, heartbeat...)."""

    timer_id: str
    now: float


@immutable
class StopRequested:
    """StopExecution: abort with an optional error and cause."""

    error: str | None
    cause: str | None
    now: float


@immutable
class Redrive:
    """RedriveExecution: restart a FAILED, ABORTED or TIMED_OUT execution at its failed state.
    `parent_token`: a Map Run's child redriven by its redriven parent answers this token (the
    parent's new Task for the item) when it closes again."""

    now: float
    parent_token: str | None = None


@immutable
class MapRunUpdate:
    """UpdateMapRun: new MaxConcurrency and tolerances for the running Map Run `map_run_arn`
    (None: unchanged), applied to the Map at once (more children start, or fewer)."""

    map_run_arn: str
    max_concurrency: int | None
    tolerated_failure_count: int | None
    tolerated_failure_percentage: float | None
    now: float


Event = (
    Start
    | Redrive
    | MapRunUpdate
    | TaskFinished
    | TaskCallback
    | TaskHeartbeat
    | ActivityStarted
    | TimerFired
    | StopRequested
)

# -- commands out ----------------------------------------------------------------------------


@immutable
class InvokeTask:
    """Command: call the backend of a Task (its id answers with TaskFinished)."""

    frame_id: str
    task_id: str
    request: TaskRequest


@immutable
class ScheduleActivity:
    """Record an activity task for workers to take (GetActivityTask); no backend is called."""

    frame_id: str
    token: str
    activity_arn: str
    input: JSON


@immutable
class CancelTask:
    """Command: cancel a running Task call (a timeout, a stop, a failed sibling)."""

    task_id: str


@immutable
class StartTimer:
    """Command: wake this execution with TimerFired at `due`."""

    timer_id: str
    due: float


@immutable
class CancelTimer:
    """Command: drop a timer that is no longer needed."""

    timer_id: str


@immutable
class StopChild:
    """Stop the child execution that the `startExecution.sync` Task holding `token` waits on:
    the Task was aborted or timed out, or its execution closed (AWS stops the child, with no
    error and this cause)."""

    token: str
    cause: str


@immutable
class RecordMapRun:
    """A Distributed Map's Map Run started, changed or closed: the record DescribeMapRun
    reads, written with the step's commit (the embedded runtime keeps none). `total_items`
    counts items, `total_executions` child runs (batches with an ItemBatcher);
    `results_written`: the closed run's results went to its ResultWriter or the Map's output."""

    map_run_arn: str
    status: str  # RUNNING | SUCCEEDED | FAILED | ABORTED
    start: float
    stop: float | None
    total_items: int
    max_concurrency: int
    tolerated_failure_count: int
    tolerated_failure_percentage: float
    redrive_count: int = 0
    redrive_date: float | None = None
    total_executions: int = 0
    results_written: bool = False


@immutable
class StoreMapItems:
    """A Distributed Map run as child executions started (or was redriven): the input of
    each child run, in order (the item after ItemSelector, or the ItemBatcher batch), written
    with the step's commit under the Map Run's ARN, where each child's start reads its own
    (`Store.map_run_items`). Written once, not in every snapshot of the parent."""

    map_run_arn: str
    inputs: tuple[JSON, ...]


@immutable
class Finish:
    """The execution closed: SUCCEEDED (with output), FAILED, TIMED_OUT or ABORTED."""

    status: str
    output: JSON = None
    error: str | None = None
    cause: str | None = None


Command = (
    InvokeTask
    | ScheduleActivity
    | CancelTask
    | StartTimer
    | CancelTimer
    | StopChild
    | RecordMapRun
    | StoreMapItems
    | Finish
)
