"""The messages a Task state exchanges with whatever does its work.

Owns: `TaskRequest` (one invocation of a Task's resource) and its result, `TaskSuccess` or
`TaskFailure`. The interpreter builds requests and consumes results, so it owns these values;
the backends layer (engine/backends/) imports them, never the other way round. Must never:
carry behaviour or know how a backend works.
"""

from __future__ import annotations

from dataclasses import field

from engine.values import JSON, immutable


@immutable
class TaskRequest:
    """One invocation of a Task state's resource.

    `resource` is the Task's `Resource` ARN; `payload` is the effective input (after InputPath
    and Parameters/Arguments). `timeout_seconds` is the state's TimeoutSeconds if any (Lambda
    backends pass it on as the remaining time in the handler's context). `task_token` is set for
    `.waitForTaskToken` integrations. `test_case` is the execution's Step Functions Local test
    case (StartExecution on `<machine ARN>#<test case>`), which selects its mocked responses.
    """

    resource: str
    payload: JSON
    execution_arn: str
    state_name: str
    attempt: int = 0
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    task_token: str | None = None
    region: str = "us-east-1"
    account: str = "111111111111"
    test_case: str | None = None
    # The W3C trace context of the Task's span when the execution is traced (set by the
    # runtime, never by the interpreter): HTTP backends send it as the `traceparent` header,
    # command functions get it as the TRACEPARENT environment variable.
    traceparent: str | None = None


@immutable
class TaskSuccess:
    """The resource finished; `output` is the Task's raw result (before ResultSelector).

    `final` marks the result of a `.waitForTaskToken` Task as its outcome rather than the
    hand-over of the token: the Task completes with it and waits for no callback (a mocked
    response does this, as Step Functions Local does). `sized`: the backend measured `output`
    within the payload limit as AWS counts it (or a rendering at least as large), so the
    interpreter need not render it again to measure it; it plays no part in equality.
    """

    output: JSON
    final: bool = False
    sized: bool = field(default=False, compare=False)
    # For a Task that waits for its token: the token its answer will come with when it is not
    # the one the Task was given. A `.sync` start that found its child already running, started
    # by an earlier attempt of this Task (a Retry after the worker was lost), waits for that
    # child's answer, which comes with the earlier attempt's token.
    token: str | None = None


@immutable
class TaskFailure:
    """The resource failed with an ASL error name and a cause text (may be JSON text)."""

    error: str
    cause: str | None = None


TaskResult = TaskSuccess | TaskFailure

LOST_TASK_CAUSE = (
    "The outcome of this task is unknown because the worker running it was lost before its "
    "result was recorded. It was not invoked again (Standard workflows invoke a task at most "
    "once); add a Retry on States.TaskFailed to invoke it again."
)
"""The cause a Task fails with when the worker running it was lost (engine/runtime/worker.py
sends it on resume). The interpreter knows it too: the few requests that are safe to make again
(starting a Map Run's child) are made again instead of failing."""
