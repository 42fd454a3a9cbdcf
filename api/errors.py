"""The one table from an engine error code to an HTTP status and AWS's error body.

Owns: `STATUS` (error code -> the status the AWS JSON protocol answers with, and the one the
REST API answers with), the error body `{"__type": code, "message": text}` both APIs send, and
`ApiError`, which the adapters raise for a request they cannot read (malformed JSON, a wrong type,
a missing field). Must never: decide whether something is an error (the service does) or leak a
traceback into a response.

AWS answers every client error of Step Functions with 400 and names it in `__type` (API
reference, "Errors"; botocore reads `__type`). The REST API keeps the same body but uses the
status a REST client expects (404 for a missing resource, 409 for a conflict). Codes not in the
table are client errors (400) unless they are the server's own (`InternalError`, 500).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from engine.errors import EngineError
from engine.values import printable

LOGGER: Final = logging.getLogger("asl.api")


@dataclass(frozen=True, slots=True)
class Status:
    aws: int  # the AWS JSON 1.0 endpoint: what AWS itself answers
    rest: int  # the REST API under /v1


_CLIENT: Final = Status(400, 400)
_MISSING: Final = Status(400, 404)
_CONFLICT: Final = Status(400, 409)

STATUS: Final[dict[str, Status]] = {
    # the request itself
    "ValidationException": _CLIENT,
    "SerializationException": _CLIENT,
    "UnknownOperationException": Status(400, 404),
    "RequestEntityTooLargeException": Status(413, 413),
    "MissingAuthenticationTokenException": Status(403, 401),
    "UnrecognizedClientException": Status(403, 401),
    "InvalidArn": _CLIENT,
    "InvalidName": _CLIENT,
    "InvalidDefinition": _CLIENT,
    "InvalidExecutionInput": _CLIENT,
    "InvalidOutput": _CLIENT,
    "InvalidToken": _CLIENT,
    "InvalidLoggingConfiguration": _CLIENT,
    "InvalidTracingConfiguration": _CLIENT,
    "StateMachineTypeNotSupported": _CLIENT,
    "TooManyTags": _CLIENT,
    # a resource that is not there
    "StateMachineDoesNotExist": _MISSING,
    "StateMachineDeleting": _CONFLICT,
    "ExecutionDoesNotExist": _MISSING,
    "ActivityDoesNotExist": _MISSING,
    "TaskDoesNotExist": _MISSING,
    "TaskTimedOut": _MISSING,
    "ResourceNotFound": _MISSING,
    # a resource in the way
    "ExecutionAlreadyExists": _CONFLICT,
    "StateMachineAlreadyExists": _CONFLICT,
    "ActivityAlreadyExists": _CONFLICT,
    "ConflictException": _CONFLICT,
    "ExecutionNotRedrivable": _CONFLICT,
    "ExecutionLimitExceeded": Status(400, 429),
    "ActivityWorkerLimitExceeded": Status(400, 429),
    # the server's own
    "ServiceUnavailable": Status(503, 503),
    "InternalError": Status(500, 500),
}


class ApiError(EngineError):
    """A request the adapter cannot read (SerializationException, ValidationException, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def status_for(code: str, *, rest: bool = False) -> int:
    status = STATUS.get(code, _CLIENT)
    return status.rest if rest else status.aws


def error_body(code: str, message: str) -> dict[str, str]:
    """AWS's error body: botocore reads `__type` as the error code and `message` as its text
    (which never holds a lone surrogate: it could not be encoded)."""
    return {"__type": code, "message": printable(message, 100_000)}


# What a client reads for a server-side error: the error's own text (a store's reason, a
# path, another caller's execution) goes to the server log only, under the request id.
_GENERIC: Final = {
    "ServiceUnavailable": "The service is unavailable; retry the request",
    "InternalError": "Internal error",
}


def describe_error(exc: EngineError, request_id: str) -> tuple[str, str]:
    """(code, message) of an engine error, as both APIs report it.

    A server-side error (5xx: the store failed, the worker loop is down) is logged here, once,
    with its own message and the request id, and answered with a generic message naming the
    request id, so the log line can be found and nothing of the server's leaks.
    """
    if status_for(exc.code) < 500:
        return exc.code, exc.message
    LOGGER.error("request %s failed: %s: %s", request_id, exc.code, exc.message)
    generic = _GENERIC.get(exc.code, "Internal error")
    return exc.code, f"{generic} (request {request_id})"


def validation_message(
    field: str, constraint: str, value: str | None = None, *, null: bool = False
) -> str:
    """AWS's wording for one failed model constraint (`1 validation error detected: ...`).

    `null`: the member is missing; `value`: shown quoted (short values only: never a payload).
    """
    shown = "null " if null else "" if value is None else f"'{value}' "
    return (
        f"1 validation error detected: Value {shown}at '{field}' failed to satisfy "
        f"constraint: {constraint}"
    )
