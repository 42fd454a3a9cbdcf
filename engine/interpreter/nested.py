"""Nested executions: what a parent's `states:startExecution` Task and its child say to each other.

Owns: the integration patterns of `arn:aws:states:::states:startExecution[.sync|.sync:2|
.waitForTaskToken]`, the StartExecution response a Task gets, the outcome a `.sync` Task gets
when its child closes (AWS's DescribeExecution shape), and the cause with which AWS stops a child
whose Task was abandoned. Pure values from values: every entry point (the embedded `Engine`, the
durable `Service`) starts children its own way, and this module is the one place where the shapes
are spelled. Must never: start, stop or look up an execution, or read a clock.

AWS's shapes, as recorded against AWS (hectorvent/floci, "Measured on AWS" in
AslExecutorNestedStartExecutionTest and AslExecutorNestedSyncFailureTest; LocalStack's
state_task_service_sfn.py agrees on the error and on the cause being the description):

- request-response and the TaskSubmitted of `.sync`: `{"ExecutionArn", "StartDate"}`, dates in
  epoch milliseconds (AWS adds `SdkHttpMetadata`/`SdkResponseMetadata` to the Task's output,
  which this engine leaves out: they describe an HTTP exchange that does not happen here);
- `.sync`: the child's DescribeExecution in PascalCase, keys in alphabetical order, `Input` and
  `Output` as JSON text; `.sync:2`: the same with `Input` and `Output` as JSON values;
- a child that ends other than SUCCEEDED fails the Task with `States.TaskFailed`, whatever the
  child's error, and the cause is the child's description as JSON text (`Input` as text in both
  patterns);
- a Task that stops waiting (aborted, timed out, its execution stopped or timed out) stops the
  child with no error and the cause `ABANDONED_CAUSE`.
"""

from __future__ import annotations

from typing import Final, Protocol

from engine.errors import STATES_TASK_FAILED, STATES_TIMEOUT
from engine.interpreter.frames import ExecutionInfo
from engine.interpreter.tasks import TaskFailure, TaskResult, TaskSuccess
from engine.values import JSON, dumps

SYNC: Final = "sync"
SYNC2: Final = "sync:2"
MAP_RUN: Final = "mapRun"
"""The pattern of a Distributed Map item's child execution: it answers its item with its own
output, or its own error and cause (not the `.sync` description)."""
_STATUS_ERRORS: Final = {"TIMED_OUT": STATES_TIMEOUT}


def epoch_millis(seconds: float) -> int:
    """A date as AWS's service integrations write it: integer epoch milliseconds."""
    return round(seconds * 1000)


def start_response(execution_arn: str, start_date: float) -> dict[str, JSON]:
    """The StartExecution response a startExecution Task gets (and `.sync` records as the
    output of TaskSubmitted)."""
    return {"ExecutionArn": execution_arn, "StartDate": epoch_millis(start_date)}


def answered_by(
    start: _ChildLink, *, parent_arn: str | None, token: str | None, pattern: str | None
) -> str | None:
    """The token with which a `.sync` start's child will answer, when not the one `start`
    carried: StartExecution found the child running (idempotent by name and input), started
    by an earlier attempt of the same Task (a Retry after its worker was lost), and linked to
    that parent with `parent_arn`, `token` and `pattern`. None otherwise."""
    if (
        start.token is not None
        and token is not None
        and token != start.token
        and parent_arn == start.parent_arn
        and pattern == start.pattern
    ):
        return token
    return None


class _ChildLink(Protocol):
    """What `answered_by` reads of a start (engine/backends/nested.py `ChildStart`)."""

    @property
    def parent_arn(self) -> str: ...
    @property
    def token(self) -> str | None: ...
    @property
    def pattern(self) -> str | None: ...


def abandoned_cause(parent_arn: str) -> str:
    """The cause of the stop of a child whose `.sync` Task stopped waiting (no error)."""
    return (
        f"The Task state in AWS Step Functions execution [{parent_arn}] which was managing "
        "this resource was aborted"
    )


def child_description(
    info: ExecutionInfo,
    status: str,
    output: JSON,
    error: str | None,
    cause: str | None,
    stop_date: float,
    *,
    as_json: bool,
) -> dict[str, JSON]:
    """The closed child as a `.sync` Task sees it: DescribeExecution in PascalCase, keys in
    alphabetical order; `as_json` (`.sync:2`) puts Input and Output as values, not text."""
    out: dict[str, JSON] = {}
    if cause is not None:
        out["Cause"] = cause
    if error:
        out["Error"] = error
    out["ExecutionArn"] = info.execution_arn
    out["Input"] = info.input if as_json else dumps(info.input)
    out["InputDetails"] = {"Included": True}
    out["Name"] = info.name
    succeeded = status == "SUCCEEDED"
    if succeeded:
        out["Output"] = output if as_json else dumps(output)
        out["OutputDetails"] = {"Included": True}
    out["RedriveCount"] = info.redrive_count
    if succeeded:
        out["RedriveStatus"] = "NOT_REDRIVABLE"
        out["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    else:
        out["RedriveStatus"] = "REDRIVABLE"
    out["StartDate"] = epoch_millis(info.start_time)
    out["StateMachineArn"] = info.state_machine_arn
    out["Status"] = status
    out["StopDate"] = epoch_millis(stop_date)
    return out


def child_failure(status: str, error: str | None, cause: str | None) -> TaskFailure:
    """What a Distributed Map item's Task gets when its child execution closes unsuccessfully:
    the child's own error and cause (States.Timeout for a timeout without an error)."""
    return TaskFailure(error or _STATUS_ERRORS.get(status, STATES_TASK_FAILED), cause)


def child_outcome(
    info: ExecutionInfo,
    status: str,
    output: JSON,
    error: str | None,
    cause: str | None,
    stop_date: float,
) -> TaskResult | None:
    """What the parent's `.sync` Task gets when this child closes; None for an execution that
    no Task waits on (not a child, or a request-response or `.waitForTaskToken` one)."""
    if info.parent_token is None or info.parent_pattern not in (SYNC, SYNC2, MAP_RUN):
        return None
    if info.parent_pattern == MAP_RUN:
        if status == "SUCCEEDED":
            return TaskSuccess(output)
        return child_failure(status, error, cause)
    if status == "SUCCEEDED":
        description = child_description(
            info, status, output, error, cause, stop_date, as_json=info.parent_pattern == SYNC2
        )
        return TaskSuccess(description)
    # AWS: States.TaskFailed, the description as the cause, Input as text in both patterns.
    description = child_description(info, status, None, error, cause, stop_date, as_json=False)
    return TaskFailure(STATES_TASK_FAILED, dumps(description))
