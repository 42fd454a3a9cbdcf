"""The execution state: a tree of frames, one per thread of control.

Owns: `ExecutionInfo` (who the execution is: ARN, name, input, start time...), `Frame` (the main
path, a Parallel branch or a Map iteration: its graph, current state, input, retry counters and
what it waits on) and `ExecutionState` (all frames plus counters). Must never: contain
behaviour beyond copying; core.py owns every transition.

Frames are plain slotted objects so that `step` can work on copies cheaply: `step` never changes a
frame it was given; it clones a frame the first time it writes to it (copy-on-write), so the
state passed in is untouched and the function stays pure.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum

from engine.interpreter.failures import Failure
from engine.values import JSON, immutable


class Phase(StrEnum):
    ENTER = "ENTER"  # runnable: enter `state_name` with `state_input`
    RETRY = "RETRY"  # runnable: re-attempt the current state (after a retry back-off)
    TASK = "TASK"  # waiting for `task_id`
    TIMER = "TIMER"  # waiting for `timer_id` (Wait state or retry back-off)
    CHILDREN = "CHILDREN"  # waiting for Parallel branches / Map iterations
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.ABORTED})


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """What an execution was started with: its names, input, type and parent."""

    execution_arn: str
    name: str
    state_machine_arn: str
    state_machine_name: str
    input: JSON
    start_time: float
    role_arn: str = "arn:aws:iam::111111111111:role/asl-engine"
    redrive_count: int = 0
    execution_type: str = "STANDARD"
    seed: int = 0
    test_case: str | None = None  # Step Functions Local test case: selects mocked responses
    # A child started by a parent's `states:startExecution` Task (docs/nested-executions.md):
    # the parent's ARN; for `.sync`/`.sync:2` also the token of the parent's waiting Task and
    # the pattern ("sync" or "sync:2"), which say whom to answer, and how, when this closes.
    parent_execution_arn: str | None = None
    parent_token: str | None = None
    parent_pattern: str | None = None
    # Run a Distributed Map's items as child executions (the durable service does; the
    # embedded Engine runs them as silent iterations of this execution). `map_run_arn`: this
    # execution is such a child, of that Map Run.
    map_children: bool = False
    map_run_arn: str | None = None

    @property
    def region(self) -> str:
        """The region in the execution ARN (`arn:aws:states:REGION:ACCOUNT:execution:...`)."""
        return region_and_account(self.execution_arn)[0]

    @property
    def account(self) -> str:
        """The account in the execution ARN."""
        return region_and_account(self.execution_arn)[1]


@functools.lru_cache(maxsize=1024)  # every Task's request asks; splitting cost more
def region_and_account(arn: str) -> tuple[str, str]:
    """The region and account of an execution ARN (`ExecutionInfo.region` and `.account`;
    called directly, one Python call less for a Task's request that needs both)."""
    return _arn_field(arn, 3, "us-east-1"), _arn_field(arn, 4, "111111111111")


def _arn_field(arn: str, index: int, default: str) -> str:
    parts = arn.split(":", index + 1)
    return parts[index] if len(parts) > index + 1 and parts[index] else default


@dataclass(slots=True)
class Frame:
    """Where one path of an execution is: the main path, a Parallel branch or a Map item."""

    frame_id: str
    parent_id: str | None
    graph_key: str
    index: int = -1
    state_name: str = ""
    state_input: JSON = None
    phase: Phase = Phase.ENTER
    entered_event_id: int = 0
    last_event_id: int = 0
    entered_time: float = 0.0
    retry_attempts: tuple[int, ...] = ()
    retry_count: int = 0
    task_id: str | None = None
    timer_id: str | None = None
    timeout_timer_id: str | None = None
    heartbeat_timer_id: str | None = None
    # set while a .waitForTaskToken task awaits its callback, or a startExecution.sync task
    # its child execution's close (which answers it as a callback)
    task_token: str | None = None
    heartbeat_seconds: float = 0.0
    # A redriven Map's item whose child execution was still running (started by the Map's
    # run before the redrive) waits for that child's answer; if it fails, the item's start
    # is made again, which redrives the child (core.py `_task_callback`).
    awaits_earlier_child: bool = False
    effective_input: JSON = None
    # Parallel branches / Map iterations.
    child_ids: tuple[str, ...] = ()
    items: tuple[JSON, ...] = ()
    # A Map whose items run as child executions writes their inputs to the store once, when
    # its run starts (states.py `_items_stored`): `items` then stays empty (but with a
    # ResultWriter, whose records are made from them) and `batch_sizes` keeps the items of
    # each ItemBatcher batch (the tolerated failures count items).
    items_stored: bool = False
    batch_sizes: tuple[int, ...] = ()
    started: int = 0
    running: int = 0
    finished: int = 0
    failed: int = 0
    max_concurrency: int = 0
    tolerated_count: float = 0.0
    tolerance_set: bool = False
    attempt: int = 0
    silent: bool = False  # a Distributed Map child run: its events stay out of this history
    # Outputs (by item index) of the Map iterations that had succeeded when the Map failed;
    # a redrive re-runs only the others (AWS, "Redriving executions").
    # A Map whose items run as child executions keeps, instead of an output, the redrive
    # count the item's child succeeded in: the output is the child's, in the store
    # (states.py `_outputs_stored`).
    kept_results: dict[str, JSON] = field(default_factory=dict)
    redriving: bool = False
    # A Distributed Map's I/O (map_io.py): "read" while its ItemReader's items are read, "write"
    # while its ResultWriter writes; the Map Run's ARN; a child run's start and stop times.
    map_io: str = ""
    map_run_arn: str = ""
    started_time: float = 0.0
    stopped_time: float = 0.0
    # The Map Run's record (DescribeMapRun): its start, redrives, the tolerances as declared
    # (`tolerated_count` is the limit they make).
    map_run_start: float = 0.0
    map_run_redrives: int = 0
    map_run_redriven_at: float | None = None
    # The Map Run's totals: items, and child runs (batches with an ItemBatcher).
    map_run_items: int = 0
    map_run_runs: int = 0
    declared_failure_count: int = 0
    declared_failure_percentage: float = 0.0
    # Outcome of a finished frame.
    output: JSON = None
    failure: Failure | None = None
    variables: Mapping[str, JSON] = field(default_factory=dict)

    def clone(self) -> Frame:
        """A shallow copy (replaced below by a generated constructor call: 5x copy.copy)."""
        return copy.copy(self)


def _fast_clone_source() -> str:
    copies = "".join(f"    new.{f.name} = self.{f.name}\n" for f in fields(Frame))
    return f"def clone(self):\n    new = _new(Frame)\n{copies}    return new\n"


# copy.copy on a slotted dataclass goes through __reduce_ex__ (~5.6 µs); calling the
# constructor with every field took ~1 µs (45 arguments bound, default factories checked);
# a bare instance with each slot copied takes a third of that, and every transition clones
# its frame. A shallow copy, as both were.
_namespace: dict[str, object] = {"Frame": Frame, "_new": object.__new__}
exec(_fast_clone_source(), _namespace)  # noqa: S102  (generated from our own field names)
Frame.clone = _namespace["clone"]  # type: ignore[assignment, method-assign]


@immutable
class ExecutionState:
    """An execution between two steps: its start, its frames and its status."""

    info: ExecutionInfo
    frames: Mapping[str, Frame]
    status: ExecutionStatus = ExecutionStatus.RUNNING
    next_event_id: int = 1
    sequence: int = 0
    output: JSON = None
    failure: Failure | None = None
    timeout_timer_id: str | None = None


ROOT_FRAME = "root"


def new_execution(info: ExecutionInfo, start_at: str) -> ExecutionState:
    """The state of an execution that has not started yet (feed it a `Start` event)."""
    root = Frame(frame_id=ROOT_FRAME, parent_id=None, graph_key="", state_name=start_at)
    root.state_input = info.input
    return ExecutionState(info=info, frames={ROOT_FRAME: root})
