"""Lambda as Step Functions sees it: function names and ARNs, result shapes, failure texts.

Owns: parsing a Task's Lambda `Resource` ARN and the `FunctionName` of
`arn:aws:states:::lambda:invoke`; the exact values AWS produces around an invocation: the
`lambda:invoke` result (`ExecutedVersion`, `Payload`, `SdkHttpMetadata`, ...), the function error
envelope, the causes of "function not found", Lambda validation errors and oversized results,
the checks Invoke applies to Qualifier/InvocationType/LogType, and the per-call values AWS
generates (request ids, Date, X-Amzn-Trace-Id, LogResult). Must never: run a function or import
user code (python.py does that), or know about executions.

Every shape here is copied from recorded AWS executions in the conformance corpus
(`shared/conformance/cases/exec`, cases tagged `lambda` and `lambda_invoke`); the case that shows
each one is cited beside it.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import os
import random
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from engine.errors import STATES_DATA_LIMIT_EXCEEDED
from engine.interpreter.tasks import TaskFailure
from engine.values import JSON, dumps

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
"""The optimised Lambda integration: its result wraps the payload in the Invoke API response."""

LAMBDA_INVOKE_WAIT_FOR_TASK_TOKEN = LAMBDA_INVOKE + ".waitForTaskToken"
"""The callback form: the function is invoked the same way; the interpreter waits for the token."""

LATEST = "$LATEST"

# The legacy integration: the Task's Resource is the function's own ARN (an optional version or
# alias qualifier may follow). Only the full ARN is accepted there.
_FUNCTION_ARN = re.compile(
    r"arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12})"
    r":function:(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?"
)

# Lambda's own pattern for an Invoke `FunctionName` (API reference, Invoke, "FunctionName"): a
# name, a partial ARN `ACCOUNT:function:NAME`, or a full ARN, each with an optional qualifier.
FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
_FUNCTION_NAME = re.compile(
    r"(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9_.-]+)"
    r"(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9_-]+))?"
)


@dataclass(frozen=True, slots=True)
class FunctionRef:
    """One Lambda function as named by a workflow: which function, where, which version."""

    name: str
    region: str
    account: str
    qualifier: str | None = None
    partition: str = "aws"

    @property
    def arn(self) -> str:
        """The unqualified function ARN."""
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{self.name}"

    @property
    def invoked_arn(self) -> str:
        """The ARN the function was invoked by (with its qualifier when one was given)."""
        return self.arn if self.qualifier is None else f"{self.arn}:{self.qualifier}"

    @property
    def qualified_arn(self) -> str:
        """The ARN with its qualifier, `$LATEST` when none was given (as Lambda's errors say)."""
        return f"{self.arn}:{self.qualifier or LATEST}"

    @property
    def executed_version(self) -> str:
        """The version that runs: a numeric qualifier is a version; anything else is $LATEST.

        Aliases would resolve to a published version on AWS; a functions file has no versions,
        so every alias serves the one handler as `$LATEST`.
        """
        if self.qualifier is not None and self.qualifier.isdigit():
            return self.qualifier
        return LATEST


def parse_function_arn(resource: str) -> FunctionRef | None:
    """The function named by a Task `Resource` of the form `arn:aws:lambda:R:A:function:N[:Q]`."""
    match = _FUNCTION_ARN.fullmatch(resource)
    if match is None:
        return None
    return FunctionRef(
        name=match["name"],
        region=match["region"],
        account=match["account"],
        qualifier=match["qualifier"],
        partition=match["partition"],
    )


def parse_function_name(text: str, *, region: str, account: str) -> FunctionRef | None:
    """The function named by an Invoke `FunctionName` (name, partial ARN or ARN), else None.

    Parts the text leaves out (region, account) are the execution's own, as Lambda resolves a
    bare name in the caller's region and account.
    """
    match = _FUNCTION_NAME.fullmatch(text)
    # 256 characters: Lambda's length limit on FunctionName.
    if match is None or len(text) > 256:
        return None
    return FunctionRef(
        name=match["name"],
        region=match["region"] or region,
        account=match["account"] or account,
        qualifier=match["qualifier"],
        partition=match["partition"] or "aws",
    )


def lambda_client_error(code: str, message: str, status: int, request_id: str) -> TaskFailure:
    """A failure of the Lambda Invoke API call itself, worded as Step Functions reports it.

    Recorded: test_task_service_lambda/test_no_such_function gives
    `Lambda.ResourceNotFoundException` with "Function not found: ARN:$LATEST (Service: AWSLambda;
    Status Code: 404; Error Code: ResourceNotFoundException; Request ID: ...; Proxy: null)".
    """
    details = (
        f"Service: AWSLambda; Status Code: {status}; Error Code: {code}; "
        f"Request ID: {request_id}; Proxy: null"
    )
    return TaskFailure(error=f"Lambda.{code}", cause=f"{message} ({details})")


def function_not_found(function: FunctionRef, request_id: str) -> TaskFailure:
    """What a Task gets when no function of that name exists (both Lambda integrations)."""
    return lambda_client_error(
        "ResourceNotFoundException",
        f"Function not found: {function.qualified_arn}",
        404,
        request_id,
    )


def invalid_function_name(value: str, request_id: str) -> TaskFailure:
    """Lambda's answer to a `FunctionName` that matches none of its accepted forms."""
    return lambda_client_error(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at 'functionName' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}",
        400,
        request_id,
    )


def data_limit_exceeded(label: str) -> TaskFailure:
    """A function result over the 256 KiB payload limit.

    `label` is the resource ARN for the legacy integration and `lambda` for `lambda:invoke`
    (recorded: test_states_errors/test_task_lambda_catch_state_all_data_limit_exceeded_... and
    test_service_task_lambada_data_limit_exceeded_on_large_utf8_response).
    """
    return TaskFailure(
        error=STATES_DATA_LIMIT_EXCEEDED,
        cause=(
            f"The state/task '{label}' returned a result with a size exceeding the maximum "
            "number of bytes service limit."
        ),
    )


def error_envelope(
    error_message: str, error_type: str, request_id: str, stack_trace: list[str]
) -> str:
    """The function error payload, as the cause text AWS records for a raising handler.

    Keys and order as recorded (e.g. test_task_service_lambda/test_raise_exception_catch):
    `{"errorMessage":...,"errorType":...,"requestId":...,"stackTrace":["  File ..."]}`, compact.
    """
    trace: list[JSON] = [*stack_trace]
    envelope: dict[str, JSON] = {
        "errorMessage": error_message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": trace,
    }
    return dumps(envelope)


def function_error(
    error_message: str, error_type: str, request_id: str, stack_trace: list[str]
) -> TaskFailure:
    """A handler that failed: the ASL error is the `errorType`, the cause the whole envelope.

    Both integrations report it this way (recorded: test_lambda_empty_retry for a function ARN,
    test_raise_custom_exception for `lambda:invoke`, whose Catch on "CustomException" matches).
    """
    return TaskFailure(
        error=error_type,
        cause=error_envelope(error_message, error_type, request_id, stack_trace),
    )


@dataclass(frozen=True, slots=True)
class InvokeResponse:
    """What the Lambda Invoke API answered, before Step Functions shapes it."""

    payload: JSON
    content_length: int
    request_id: str
    date: str
    trace_id: str
    executed_version: str | None = LATEST
    status_code: int = 200
    log_result: str | None = None


def invoke_result(response: InvokeResponse) -> dict[str, JSON]:
    """The `lambda:invoke` Task result, field for field as AWS records it.

    Recorded (test_lambda_task_service/test_invoke, .../test_invoke_unsupported_param for
    `LogType: Tail`): header names, their order and list/scalar forms are copied exactly;
    `AllHttpHeaders` holds every value as a list, `HttpHeaders` as a string.
    """
    length = str(response.content_length)
    all_headers: dict[str, JSON] = {}
    headers: dict[str, JSON] = {}
    if response.log_result is not None:
        all_headers["X-Amz-Log-Result"] = [response.log_result]
    if response.executed_version is not None:
        all_headers["X-Amz-Executed-Version"] = [response.executed_version]
    all_headers.update(
        {
            "x-amzn-Remapped-Content-Length": ["0"],
            "Connection": ["keep-alive"],
            "x-amzn-RequestId": [response.request_id],
            "Content-Length": [length],
            "Date": [response.date],
            "X-Amzn-Trace-Id": [response.trace_id],
            "Content-Type": ["application/json"],
        }
    )
    headers.update(
        {
            "Connection": "keep-alive",
            "Content-Length": length,
            "Content-Type": "application/json",
            "Date": response.date,
        }
    )
    if response.executed_version is not None:
        headers["X-Amz-Executed-Version"] = response.executed_version
    if response.log_result is not None:
        headers["X-Amz-Log-Result"] = response.log_result
    headers.update(
        {
            "x-amzn-Remapped-Content-Length": "0",
            "x-amzn-RequestId": response.request_id,
            "X-Amzn-Trace-Id": response.trace_id,
        }
    )
    result: dict[str, JSON] = {}
    if response.executed_version is not None:
        result["ExecutedVersion"] = response.executed_version
    if response.log_result is not None:
        result["LogResult"] = response.log_result
    result["Payload"] = response.payload
    result["SdkHttpMetadata"] = {
        "AllHttpHeaders": all_headers,
        "HttpHeaders": headers,
        "HttpStatusCode": response.status_code,
    }
    result["SdkResponseMetadata"] = {"RequestId": response.request_id}
    result["StatusCode"] = response.status_code
    return result


def _reject_constant(name: str) -> JSON:
    raise ValueError(name)


PAYLOAD_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
"""Made once: `json.loads` with an option builds a new decoder on every call, which costs as
much as parsing a small payload."""


def parse_payload(raw: bytes | str) -> JSON:
    """A function's response payload as the Task sees it: parsed JSON, else the text itself.

    Lambda passes raw bytes through (a Python handler returning bytes); Step Functions parses
    the payload as JSON (recorded: test_invoke_bytes_payload, `b'"HelloWorld!"'` gives the string
    `HelloWorld!`). Text that is not JSON (or NaN/Infinity, which JSON lacks) stays a string, as
    LocalStack does; AWS's behaviour for it is not recorded. `raw` may be given already decoded.
    """
    text = raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
    try:
        value: JSON = PAYLOAD_DECODER.decode(text)
    except ValueError:
        return text
    return value


_INVOCATION_TYPES: Final = ("Event", "RequestResponse", "DryRun")
_LOG_TYPES: Final = ("Tail", "None")


def check_invoke_parameters(
    parameters: dict[str, JSON], function: FunctionRef, request_id: str
) -> tuple[FunctionRef, str, str] | TaskFailure:
    """Qualifier, InvocationType and LogType of a `lambda:invoke`, checked as Invoke does.

    Gives the function with the Qualifier applied, the invocation type and the log type.
    """
    qualifier = parameters.get("Qualifier")
    if qualifier is not None:
        if not isinstance(qualifier, str) or not re.fullmatch(
            r"\$LATEST|[a-zA-Z0-9_-]{1,128}", qualifier
        ):
            return lambda_client_error(
                "ValidationException",
                f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to "
                "satisfy constraint: Member must satisfy regular expression pattern: "
                r"(|[a-zA-Z0-9$_-]+)",
                400,
                request_id,
            )
        if function.qualifier is not None and function.qualifier != qualifier:
            return lambda_client_error(
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified "
                "qualifier.",
                400,
                request_id,
            )
        function = replace(function, qualifier=qualifier)
    invocation_type = parameters.get("InvocationType", "RequestResponse")
    if invocation_type not in _INVOCATION_TYPES:
        return _enum_error("invocationType", invocation_type, _INVOCATION_TYPES, request_id)
    log_type = parameters.get("LogType", "None")
    if log_type not in _LOG_TYPES:
        return _enum_error("logType", log_type, _LOG_TYPES, request_id)
    assert isinstance(invocation_type, str)
    assert isinstance(log_type, str)
    return function, invocation_type, log_type


def _enum_error(field: str, value: JSON, allowed: tuple[str, ...], request_id: str) -> TaskFailure:
    return lambda_client_error(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]",
        400,
        request_id,
    )


# Request ids, log stream and trace ids are random values that only have to be unique, never
# secret: drawn from a private generator, not `uuid.uuid4()`, whose `os.urandom` is a system call
# that lets go of the GIL on every Task call (a handler thread then takes the interpreter from
# the event loop and back). Seeded from the OS; a forked process draws its own.
_ids = random.Random()  # noqa: S311 - unique, not secret (see above)


class _Serials:
    """Ids made per Lambda call, as a random prefix drawn once per process and a counter.

    A request id is a version 4 UUID in its usual text form, as Lambda's are: 74 random bits
    of the process's prefix, then a 48-bit counter in the last group; a log stream's instance
    id is 20 random hex digits and 12 of the counter. Drawing 128 random bits and formatting
    them cost about as much as the rest of the call's bookkeeping; a counter is unique within
    the process for 2**48 calls, and another process (or a forked child, which draws its own
    prefix) differs by its prefix. `next` on `itertools.count` is atomic under the GIL, so
    threads may share it.
    """

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        head = f"{_ids.getrandbits(128) & _UUID4_MASK | _UUID4_BITS:032x}"
        self.request_prefix = f"{head[:8]}-{head[8:12]}-{head[12:16]}-{head[16:20]}-"
        self.stream_prefix = f"{_ids.getrandbits(80):020x}"
        self.counter = itertools.count(_ids.getrandbits(32))


_UUID4_MASK: Final = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_BITS: Final = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant
_COUNTER_MASK: Final = (1 << 48) - 1
_serials = _Serials()


def _after_fork() -> None:
    _ids.seed()
    _serials.renew()


os.register_at_fork(after_in_child=_after_fork)


def request_id() -> str:
    """A new request id: a version 4 UUID in its usual text form, as Lambda's are (unique in
    the process and, by its random prefix, across processes: see `_Serials`)."""
    return f"{_serials.request_prefix}{next(_serials.counter) & _COUNTER_MASK:012x}"


def log_stream_id() -> str:
    """A log stream name's 32 hex digits after `[version]` (unique as `request_id` is)."""
    return f"{_serials.stream_prefix}{next(_serials.counter) & _COUNTER_MASK:012x}"


def random_hex(digits: int) -> str:
    """`digits` random hexadecimal digits (a log stream's instance id, a trace id's parts)."""
    return f"{_ids.getrandbits(digits * 4):0{digits}x}"


def http_date(now: datetime) -> str:
    """An HTTP Date header value: `Wed, 06 Mar 2024 10:29:14 GMT`."""
    # Imported here: email.utils brings socket, random and more (~19 M instructions at start-up)
    # that only a Lambda invocation needs, never `asl run` of a machine without one.
    from email.utils import format_datetime

    return format_datetime(now, usegmt=True)


def trace_id(now: datetime) -> str:
    """An X-Amzn-Trace-Id as Lambda returns it: root=1-<epoch hex>-<24 hex>;parent;sampled."""
    return f"root=1-{int(now.timestamp()):08x}-{random_hex(24)};parent={random_hex(16)};sampled=0"


def log_tail(request_id: str, version: str, elapsed_ms: float, memory_mb: str) -> str:
    """`LogResult` for `LogType: Tail`: base64 of the invocation's START/END/REPORT lines.

    A handler's own prints are not captured (they go to this process's stdout).
    """
    text = (
        f"START RequestId: {request_id} Version: {version}\n"
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
        f"Billed Duration: {max(1, math.ceil(elapsed_ms))} ms\t"
        f"Memory Size: {memory_mb} MB\t\n"
    )
    return base64.b64encode(text.encode()).decode("ascii")
