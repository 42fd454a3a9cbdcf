"""The seam between Lambda semantics and the code that runs a function: `FunctionRunner`.

Owns: what a runner is given for one call (`Invocation`: the values the Lambda runtime hands a
function, and the request body) and what it answers (`Returned`, `Raised`, or a final
`TaskFailure`). Must never: know about Step Functions integrations, concurrency, timeouts or
retries. The Lambda layer (`engine.backends.functions`) decides those around every runner alike,
so a Python handler, a subprocess and an HTTP endpoint behave the same to a workflow.

A runner's `run` may be cancelled at any await (the function's timeout, a Task's TimeoutSeconds,
StopExecution): it must then release what it holds (kill a process, close a request) and let the
`CancelledError` propagate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol, cast

from engine.interpreter.tasks import TaskFailure
from engine.values import JSON, immutable


@immutable
class Invocation:
    """One call of a function: the request body and the values of Lambda's context object.

    `event_text` is the request body exactly as Lambda would deliver it (JSON text, or any text
    for a `lambda:invoke` string Payload, which `raw_string` marks). `deadline` is a
    `time.monotonic()` instant: the function's own timeout (Lambda's `Timeout`), after which
    the Lambda layer cancels the call. `memory_size` is the configured memory in MB.
    """

    function_name: str
    function_version: str
    invoked_function_arn: str
    request_id: str
    memory_size: int
    deadline: float
    log_stream_name: str
    region: str
    event_text: str
    raw_string: bool = False
    traceparent: str | None = None  # the calling Task's W3C trace context, when traced

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"


@immutable
class Returned:
    """The function returned: the response payload's size in bytes and its parsed value.

    A payload over the size limit may come back unparsed (`payload` None): the Lambda layer
    refuses it on `size` alone. `bounds_payload`: `size` is at least the size of `payload` as
    AWS counts a state's output (UTF-8 of its compact JSON), as when `payload` was parsed from
    the ASCII JSON text `size` measured (its escapes and spaces only make it longer).
    """

    size: int
    payload: JSON
    bounds_payload: bool = False


@immutable
class Raised:
    """The function failed: the fields of Lambda's error envelope (the request id aside)."""

    error_type: str
    message: str
    stack_trace: tuple[str, ...] = ()


Outcome = Returned | Raised | TaskFailure
"""A `TaskFailure` is final as it stands: used when no error envelope fits (an HTTP endpoint
answering 500 with no envelope gives `Lambda.Unknown`; one that cannot be reached,
`Lambda.SdkClientException`)."""


class FunctionRunner(Protocol):
    """Runs one function's code. `run` never raises (except `CancelledError`)."""

    async def run(self, invocation: Invocation) -> Outcome: ...

    def close(self) -> None:
        """Release what the runner holds (threads, connections); running calls are abandoned.

        A runner whose release needs the loop (a connection pool) may also define
        `async def aclose()`; the Lambda layer's `aclose` awaits it instead of calling this.
        """
        ...


Submit = Callable[
    [Invocation, Callable[["asyncio.Future[Outcome]"], None]], "asyncio.Future[Outcome]"
]
"""A runner's optional `submit(invocation, on_done)`, offered when its `submits` is true:
start the call and return its future, without a coroutine (the Lambda layer's `start_invoke`
path); `on_done(future)` is called on the loop once the future is done (result or cancelled).
Cancelling the future abandons the call."""


def submitter_of(runner: FunctionRunner) -> Submit | None:
    """The runner's `submit`, when it offers one (a runner of blocking Python handlers);
    None means every call goes through `run`."""
    if not getattr(runner, "submits", False):
        return None
    return cast("Submit", runner.submit)  # type: ignore[attr-defined]
