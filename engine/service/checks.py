"""The checks a request's arguments pass before an operation runs, with AWS's error codes.

Owns: JSON inputs and outputs within 256 KiB (InvalidExecutionInput, InvalidOutput), task
tokens (InvalidToken, TaskDoesNotExist, TaskTimedOut), ARNs (InvalidArn), qualified machine
ARNs (`name:3`, `name:alias`) and definition revision ids. Must never: read a store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from engine.errors import InvalidRequest, ResourceNotFound
from engine.service.config import MAX_TOKEN_LENGTH
from engine.store.base import TokenRecord
from engine.values import (
    JSON,
    PAYLOAD_LIMIT_BYTES,
    SURROGATE_REASON,
    JsonRefused,
    has_surrogate,
    parse_json,
    printable,
)


def check_json_input(
    text: str | None, code: str = "InvalidExecutionInput", what: str = "input"
) -> JSON:
    """Execution input (or, with code InvalidOutput, a task's output): JSON within 256 KiB and
    the engine's bounds (engine/values.py: nesting, number length, no NaN or Infinity, valid
    Unicode), so whatever is accepted can be stored, run and rendered again."""
    if text is None or text == "":
        return {}
    title = "State Machine Execution Input" if what == "input" else "Output"
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidRequest(code, f"Invalid {title}: '{SURROGATE_REASON}'") from None
    if size > PAYLOAD_LIMIT_BYTES:
        # the same words as Engine.start (asl run and asl start say the same thing)
        subject = "execution input" if what == "input" else what
        raise InvalidRequest(code, f"The {subject} exceeds the {PAYLOAD_LIMIT_BYTES} bytes limit.")
    try:
        value: JSON = parse_json(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            code,
            f"Invalid {title}: '{exc.msg}' at line {exc.lineno}, column {exc.colno}",
        ) from None
    except JsonRefused as exc:
        raise InvalidRequest(code, f"Invalid {title}: '{exc.reason}'") from None
    return value


def check_text(value: str | None, member: str, code: str = "ValidationException") -> None:
    """A free-text member (error, cause, description, tag, trace header...) is Unicode: a lone
    surrogate could be neither stored nor sent back."""
    if value is not None and has_surrogate(value):
        raise InvalidRequest(
            code,
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            "Member must be valid Unicode (it holds a lone UTF-16 surrogate)",
        )


def check_token(token: str) -> None:
    if not token or len(token) > MAX_TOKEN_LENGTH or has_surrogate(token) or "\x00" in token:
        raise InvalidRequest("InvalidToken", "Invalid Token: the task token is malformed")


def open_token(found: TokenRecord | None) -> TokenRecord:
    """The token if it can still be answered; AWS's errors otherwise."""
    if found is None or found.status == "ANSWERED":
        raise ResourceNotFound(
            "TaskDoesNotExist", "Task Does Not Exist: the task token is unknown or closed"
        )
    if found.status == "TIMED_OUT":
        raise InvalidRequest("TaskTimedOut", "Task Timed Out: the task of this token timed out")
    return found


def revision_id(definition: str) -> str:
    return hashlib.sha256(definition.encode("utf-8")).hexdigest()[:32]


def split_qualified(arn: str) -> tuple[str, str | None]:
    """`...:stateMachine:name:3` -> (`...:stateMachine:name`, "3"); aliases alike."""
    head, marker, tail = arn.partition(":stateMachine:")
    if not marker:
        return arn, None
    name, _, qualifier = tail.partition(":")
    return f"{head}{marker}{name}", qualifier or None


def check_arn(arn: str, *kinds: str) -> None:
    parts = arn.split(":")
    if (
        len(parts) < 7
        or parts[0] != "arn"
        or parts[2] != "states"
        or parts[5] not in kinds
        or has_surrogate(arn)
        or "\x00" in arn
    ):
        raise InvalidRequest("InvalidArn", f"Invalid Arn: '{printable(arn, 2048)}'")


def check_logging(level: str, destinations: Sequence[str]) -> None:
    """loggingConfiguration's rules (AWS's API reference): at most one destination, and one
    whenever the level is not OFF; a destination is a CloudWatch Logs log group ARN."""
    if len(destinations) > 1:
        raise InvalidRequest(
            "InvalidLoggingConfiguration",
            "Invalid Logging Configuration: destinations is limited to size 1",
        )
    if level != "OFF" and not destinations:
        raise InvalidRequest(
            "InvalidLoggingConfiguration",
            f"Invalid Logging Configuration: a destination is required when the level is {level}",
        )
    for arn in destinations:
        parts = arn.split(":", 6)
        if len(parts) < 7 or parts[0] != "arn" or parts[2] != "logs" or parts[5] != "log-group":
            raise InvalidRequest(
                "InvalidLoggingConfiguration",
                f"Invalid Logging Configuration: '{printable(arn, 256)}' is not a CloudWatch "
                "Logs log group ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*)",
            )
