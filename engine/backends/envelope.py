"""What out-of-process runners share: reading Lambda's error envelope, and their failure texts.

Owns: deciding whether a function's output is Lambda's error envelope (`error_envelope_of`), the
`Runtime.ExitError` a crashed process gives, the `Lambda.Unknown` cause, and the wall-clock form
of an invocation's deadline. `command.py` (a subprocess) and `endpoint.py` (an HTTP endpoint)
both use them, so a function behaves the same whichever way it runs. Must never: run anything,
or decide retries and timeouts (the Lambda layer does).

AWS facts relied on (each verified, source beside it):
- A runtime process that exits during an invocation fails it with `Runtime.ExitError` and the
  message `RequestId: ID Error: Runtime exited with error: exit status N` (or `signal: killed`);
  Step Functions then reports the error `Runtime.ExitError` with the envelope as its cause
  (aws/aws-lambda-runtime-interface-emulator#86 quotes production; a recorded Step Functions
  `Runtime.ExitError` cause with `signal: killed` is in a public test suite). `python.py` gives
  the same for a handler calling `sys.exit()`.
- An error response without an `errorType` is reported as `Lambda.Unknown` with the cause
  "The cause could not be determined because Lambda did not return an error type. Returned
  payload: " followed by the payload (recorded Step Functions causes, e.g. for timeouts:
  `... Returned payload: {"errorMessage":"... Task timed out after 600.15 seconds"}`; the Step
  Functions developer guide, "Handle Lambda service exceptions", says unhandled errors are
  reported as `Lambda.Unknown`).
"""

from __future__ import annotations

import json
import signal
import time
from typing import Final

from engine.backends.runner import Raised
from engine.interpreter.tasks import TaskFailure
from engine.values import JSON

__all__ = [
    "LAMBDA_UNKNOWN",
    "RUNTIME_EXIT_ERROR",
    "UNKNOWN_CAUSE",
    "deadline_epoch_ms",
    "error_envelope_of",
    "lambda_unknown",
    "runtime_exit_error",
    "text_tail",
]

LAMBDA_UNKNOWN: Final = "Lambda.Unknown"
RUNTIME_EXIT_ERROR: Final = "Runtime.ExitError"
UNKNOWN_CAUSE: Final = (
    "The cause could not be determined because Lambda did not return an error type. "
    "Returned payload: "
)
"""Step Functions' cause for `Lambda.Unknown`, up to the payload it quotes."""

_QUOTED_PAYLOAD_CHARS: Final = 2048
"""How much of a payload a cause quotes: enough to recognise it, never a payload dump (a cause
is at most 32,768 characters on AWS)."""


def _strings(value: JSON) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(item for item in value if isinstance(item, str))
    return None


def error_envelope_of(raw: bytes) -> Raised | None:
    """The function error `raw` reports, if it is Lambda's error envelope; else None.

    An envelope is a JSON object with a string `errorType` and a string `errorMessage`, as every
    Lambda runtime writes one (`requestId`, `cause` and other keys may follow and are ignored).
    The stack is `stackTrace` (Python, Java) or `trace` (Node.js: the emulator's issue #20
    shows `{"errorType":"Error","errorMessage":"failure","trace":[...]}`), a list of strings;
    any other shape there is dropped rather than refusing the envelope.
    """
    if not raw.lstrip().startswith(b"{"):
        return None  # the common case, a result that is no object, costs no parse
    try:
        value: JSON = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    error_type = value.get("errorType")
    message = value.get("errorMessage")
    if not isinstance(error_type, str) or not isinstance(message, str):
        return None
    trace = _strings(value.get("stackTrace", value.get("trace")))
    return Raised(error_type, message, trace or ())


def lambda_unknown(payload: bytes | str, detail: str | None = None) -> TaskFailure:
    """`Lambda.Unknown`: a failure that carries no error type, quoting what came back.

    The text is Step Functions' own, then the start of the payload, then (ours, in parentheses)
    `detail`: what the runner saw that AWS has no field for (an HTTP status, where from).
    """
    text = payload if isinstance(payload, str) else payload.decode("utf-8", errors="replace")
    if len(text) > _QUOTED_PAYLOAD_CHARS:
        text = text[:_QUOTED_PAYLOAD_CHARS] + "..."
    cause = UNKNOWN_CAUSE + text
    if detail is not None:
        cause += f" ({detail})"
    return TaskFailure(LAMBDA_UNKNOWN, cause)


def _exit_reason(returncode: int) -> str:
    """`exit status N` or `signal: NAME`, as Lambda words a runtime's exit (Go's wording)."""
    if returncode >= 0:
        return f"exit status {returncode}"
    number = -returncode
    try:
        name = signal.strsignal(number)
    except ValueError:
        name = None
    if not name:
        return f"signal: signal {number}"
    # glibc says "Killed", "Segmentation fault"; Lambda (Go) says "killed", "segmentation fault".
    return "signal: " + name[0].lower() + name[1:]


def runtime_exit_error(request_id: str, returncode: int, stderr_tail: str) -> Raised:
    """A function process that ended (non-zero status or a signal) without an error envelope.

    Error type and message are Lambda's (`Runtime.ExitError`, see the module docstring). The
    stack trace is ours: the last lines of the process's stderr, usually the interpreter's own
    traceback, which AWS leaves in CloudWatch Logs; here it reaches the Task's cause.
    """
    return Raised(
        RUNTIME_EXIT_ERROR,
        f"RequestId: {request_id} Error: Runtime exited with error: {_exit_reason(returncode)}",
        tuple(stderr_tail.splitlines()),
    )


def text_tail(raw: bytes, limit: int) -> str:
    """The last `limit` bytes of `raw` as text, starting at a line boundary when there is one."""
    if len(raw) > limit:
        starts_a_line = raw[-limit - 1] == ord("\n")
        raw = raw[-limit:]
        newline = raw.find(b"\n")
        if not starts_a_line and 0 <= newline < len(raw) - 1:
            raw = raw[newline + 1 :]
    return raw.decode("utf-8", errors="replace")


def deadline_epoch_ms(deadline: float) -> int:
    """A `time.monotonic()` deadline as Unix epoch milliseconds, as Lambda's runtime API gives
    it (`Lambda-Runtime-Deadline-Ms`): a process or a server has no access to our monotonic
    clock. The wall clock is read here only to translate, never to decide anything."""
    return int((time.time() + (deadline - time.monotonic())) * 1000)
