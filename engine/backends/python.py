"""Python functions as Lambda functions: the backend that runs handlers in this process.

Owns: loading the operator's functions file or module (`load_functions`), the Lambda context
object handlers receive, and `PythonFunctionBackend`, which serves both Lambda integrations (a
function ARN as `Resource`, and `arn:aws:states:::lambda:invoke`) by calling
`handler(event, context)` as the AWS Lambda Python runtime does: the event is parsed from JSON
text (so each call gets its own copy), the return value is JSON-encoded (bytes pass through
raw), an exception becomes the Lambda error envelope.

Blocking handlers run on a bounded pool of daemon threads, so the event loop stays free, no call
ever gets a thread beyond the bound, and a handler still running never holds up shutdown.
Coroutine handlers are awaited on the loop.

Must never: raise from `invoke` (failures come back as `TaskFailure`), decide retries or
timeouts (the interpreter does: a Task past its TimeoutSeconds is cancelled there), or import
anything an API client names. Only operator configuration (the CLI's `--functions`, the config
file) reaches `load_functions`; workflow definitions can only name functions already loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.machinery
import importlib.util
import inspect
import itertools
import json
import logging
import os
import queue
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Final

from engine.backends.base import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.backends.lambda_arn import (
    LAMBDA_INVOKE,
    LAMBDA_INVOKE_WAIT_FOR_TASK_TOKEN,
    FunctionRef,
    InvokeResponse,
    check_invoke_parameters,
    data_limit_exceeded,
    function_error,
    function_not_found,
    http_date,
    invalid_function_name,
    invoke_result,
    log_tail,
    parse_function_arn,
    parse_function_name,
    parse_payload,
    trace_id,
)
from engine.errors import STATES_RUNTIME, InvalidRequest
from engine.values import JSON, PAYLOAD_LIMIT_BYTES

__all__ = [
    "DEFAULT_MAX_WORKERS",
    "INVALID_FUNCTIONS_FILE",
    "Handler",
    "LambdaContext",
    "PythonFunctionBackend",
    "functions_of",
    "load_functions",
]

_log = logging.getLogger(__name__)

Handler = Callable[..., object]
"""A Lambda handler: `handler(event, context)`, plain or `async def`."""

DEFAULT_MAX_WORKERS: Final = min(32, (os.cpu_count() or 1) + 4)
"""Threads for blocking handlers by default (the bound `ThreadPoolExecutor` uses)."""

DEFAULT_REMAINING_SECONDS: Final = 900.0
"""Remaining time a handler sees when its state sets no TimeoutSeconds: Lambda's maximum
function timeout (15 minutes), since a functions file configures no per-function timeout."""

MEMORY_LIMIT_IN_MB: Final = "128"
"""Lambda's default memory size. A string, as the Python runtime's `context.memory_limit_in_mb`
is (it is read from the AWS_LAMBDA_FUNCTION_MEMORY_SIZE environment variable)."""

INVALID_FUNCTIONS_FILE: Final = "InvalidFunctionsFile"
"""`InvalidRequest.code` of every `load_functions` failure."""


# --------------------------------------------------------------------------- loading functions


_module_numbers = itertools.count(1)
_FILE_MODULE_PREFIX = "_asl_functions_"


def load_functions(path_or_module: str) -> dict[str, Handler]:
    """The functions a file (`handlers.py`) or a dotted module name (`app.handlers`) defines.

    Every top-level callable defined in the module itself serves the Lambda function of the same
    name; imported names, classes and dunder names are left out. A file is loaded by path under
    a unique module name (loading it twice gives two independent modules) and its folder is
    appended to `sys.path`, as Lambda puts the function's folder on the path, so it can import
    its siblings. Raises `InvalidRequest` (code `InvalidFunctionsFile`) with a message naming
    the file and the problem (missing, syntax error with its line, an exception while importing,
    no functions), never with a traceback.
    """
    if _looks_like_path(path_or_module):
        module = _load_file(path_or_module)
    else:
        module = _import_module(path_or_module)
    functions = functions_of(module)
    if not functions:
        if module.__name__.startswith(_FILE_MODULE_PREFIX):
            del sys.modules[module.__name__]  # a refused file leaves nothing behind
        raise _invalid(
            path_or_module,
            "it defines no functions (expected top-level `def NAME(event, context)`)",
        )
    return functions


def functions_of(module: ModuleType) -> dict[str, Handler]:
    """Top-level callables defined in `module` (not imported there, not classes), by name."""
    found: dict[str, Handler] = {}
    for name, value in vars(module).items():
        if name.startswith("__") or inspect.isclass(value) or not callable(value):
            continue
        # A function's (or a callable instance's class's) __module__ says where it was
        # defined: names imported from elsewhere carry their home module.
        if getattr(value, "__module__", None) != module.__name__:
            continue
        found[name] = value
    return found


def _looks_like_path(text: str) -> bool:
    return text.endswith(".py") or "/" in text or os.sep in text or Path(text).is_file()


def _invalid(source: str, problem: str) -> InvalidRequest:
    return InvalidRequest(
        INVALID_FUNCTIONS_FILE, f"Cannot load functions from '{source}': {problem}"
    )


def _load_file(text: str) -> ModuleType:
    path = Path(text)
    if not path.exists():
        raise _invalid(text, "no such file")
    if not path.is_file():
        raise _invalid(text, "not a file")
    stem = re.sub(r"\W", "_", path.stem)
    name = f"{_FILE_MODULE_PREFIX}{next(_module_numbers)}_{stem}"
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None:  # pragma: no cover - a given loader always yields a spec
        raise _invalid(text, "not loadable as Python source")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.append(folder)
    # Registered before running, as an import would: dataclasses and pickling look it up.
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        raise _invalid(text, f"line {exc.lineno}: syntax error: {exc.msg}") from None
    except (Exception, SystemExit) as exc:
        del sys.modules[name]
        raise _invalid(text, _import_failure(exc, path)) from None
    return module


def _import_module(name: str) -> ModuleType:
    if not all(part.isidentifier() for part in name.split(".")):
        raise _invalid(name, "neither an existing file nor a dotted module name")
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            raise _invalid(name, f"no module named '{missing}'") from None
        raise _invalid(name, _import_failure(exc, None)) from None
    except SyntaxError as exc:
        raise _invalid(
            name, f"{exc.filename}, line {exc.lineno}: syntax error: {exc.msg}"
        ) from None
    except (Exception, SystemExit) as exc:
        raise _invalid(name, _import_failure(exc, None)) from None


def _import_failure(exc: BaseException, path: Path | None) -> str:
    """`line N: importing it raised Type: message`, N the last line of the file involved."""
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if path is not None:
        ours = [f for f in frames if Path(f.filename) == path]
        if ours:
            where = f"line {ours[-1].lineno}: "
    elif frames:
        where = f"{frames[-1].filename}, line {frames[-1].lineno}: "
    return f"{where}importing it raised {type(exc).__name__}: {_message(exc)}"


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not break the error report
        return repr(exc)


# --------------------------------------------------------------------------- the context object


class LambdaContext:
    """What a handler gets as `context`: the attributes of the AWS Lambda Python runtime's one."""

    __slots__ = (
        "_deadline",
        "aws_request_id",
        "client_context",
        "function_name",
        "function_version",
        "identity",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
    )

    def __init__(
        self,
        *,
        function_name: str,
        function_version: str,
        invoked_function_arn: str,
        aws_request_id: str,
        log_stream_name: str,
        deadline: float,
        memory_limit_in_mb: str = MEMORY_LIMIT_IN_MB,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name
        # Set only for mobile-SDK and Cognito callers, never for Step Functions.
        self.identity: object = None
        self.client_context: object = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the state's TimeoutSeconds (a monotonic-clock deadline)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r})"
        )


# --------------------------------------------------------------------------- calling a handler


@dataclass(frozen=True, slots=True)
class _Returned:
    """The handler returned: the response payload's size in bytes and its parsed value."""

    size: int
    payload: JSON


@dataclass(frozen=True, slots=True)
class _Raised:
    """The handler failed: the fields of Lambda's error envelope (request id aside)."""

    error_type: str
    message: str
    stack_trace: list[str]


_Outcome = _Returned | _Raised


def _returned(
    outcome: _Outcome | TaskFailure, request_id: str, resource: str
) -> _Returned | TaskFailure:
    """A call's returned payload, or the task failure it is: the call could not be made, the
    handler raised (Lambda's error envelope), or its response is over the payload limit
    (`resource` names the state's resource in that cause)."""
    if isinstance(outcome, _Raised):
        return function_error(outcome.message, outcome.error_type, request_id, outcome.stack_trace)
    if isinstance(outcome, _Returned) and outcome.size > PAYLOAD_LIMIT_BYTES:
        return data_limit_exceeded(resource)
    return outcome


def _decode_event(text: str, raw_string: bool) -> JSON:
    """The event, parsed as the runtime parses the request body: a fresh copy for every call.

    `raw_string` marks a `lambda:invoke` string Payload, sent as the body itself; text that is
    not JSON then arrives as the string (LocalStack's reading; AWS's is not recorded).
    """
    if not raw_string:
        value: JSON = json.loads(text)
        return value
    try:
        parsed: JSON = json.loads(text)
    except ValueError:
        return text
    return parsed


def _marshal(result: object) -> _Outcome:
    """The response payload as the runtime sends it, then as Step Functions reads it back."""
    if isinstance(result, bytes | bytearray | memoryview):
        raw = bytes(result)  # the Python runtime passes bytes through unencoded
    else:
        try:
            # The runtime's encoding: json.dumps defaults (", " and ": ", ASCII escapes); the
            # recorded Content-Length headers agree (e.g. 60 for the BASE_TASK_LAMBDA payload).
            raw = json.dumps(result).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            return _Raised("Runtime.MarshalError", f"Unable to marshal response: {exc}", [])
    if len(raw) > PAYLOAD_LIMIT_BYTES:
        return _Returned(len(raw), None)  # refused by the caller; not worth parsing
    return _Returned(len(raw), parse_payload(raw))


def _raised(exc: BaseException) -> _Raised:
    """Lambda's error fields for `exc`; the first traceback frame (our call site) is dropped."""
    tb = exc.__traceback__
    frames = traceback.extract_tb(tb.tb_next if tb is not None else None)
    return _Raised(type(exc).__name__, _message(exc), traceback.format_list(frames))


def _exited(exc: SystemExit, request_id: str) -> _Raised:
    """A handler calling sys.exit(): the runtime dies, Lambda reports Runtime.ExitError."""
    status = exc.code if isinstance(exc.code, int) else 1
    return _Raised(
        "Runtime.ExitError",
        f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}",
        [],
    )


def _call_blocking(
    handler: Handler, event_text: str, raw_string: bool, context: LambdaContext
) -> _Outcome:
    """Runs on a pool thread: decode the event, call, encode the result. Never raises."""
    try:
        event = _decode_event(event_text, raw_string)
        result = handler(event, context)
    except SystemExit as exc:
        return _exited(exc, context.aws_request_id)
    except Exception as exc:
        return _raised(exc)
    return _marshal(result)


async def _call_async(handler: Handler, event: JSON, context: LambdaContext) -> _Outcome:
    """Runs on the loop: call, await what the handler returns, encode. Never raises."""
    try:
        result = handler(event, context)
        if inspect.isawaitable(result):
            result = await result
    except SystemExit as exc:
        return _exited(exc, context.aws_request_id)
    except Exception as exc:
        return _raised(exc)
    return _marshal(result)


def _is_async(handler: Handler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - async __call__ of a callable instance
    )


# --------------------------------------------------------------------------- the thread pool


class _Job:
    __slots__ = ("fn", "future", "loop")

    def __init__(
        self,
        fn: Callable[[], _Outcome],
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[_Outcome],
    ) -> None:
        self.fn = fn
        self.loop = loop
        self.future = future


def _settle(future: asyncio.Future[_Outcome], value: _Outcome) -> None:
    if not future.done():  # the Task may have been cancelled (TimeoutSeconds) meanwhile
        future.set_result(value)


def _settle_error(future: asyncio.Future[_Outcome], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class _DaemonPool:
    """At most `max_workers` daemon threads, started on demand, running jobs from one queue.

    Not `ThreadPoolExecutor`: its threads are joined at interpreter exit, so one handler stuck
    in a 60-second sleep would hold the process for a minute after shutdown. Daemon threads
    are abandoned instead (a Lambda handler past its deadline is frozen, not awaited, on AWS
    too). A thread whose Task was cancelled stays busy until its handler returns: the bound
    counts it, so cancelled calls can never pile up threads.
    """

    def __init__(self, max_workers: int) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self._max_workers = max_workers
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, fn: Callable[[], _Outcome]) -> asyncio.Future[_Outcome]:
        """Queue `fn` for a pool thread; the future settles on the calling loop."""
        if self._closed:
            raise RuntimeError("the function pool is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Outcome] = loop.create_future()
        self._jobs.put(_Job(fn, loop, future))
        # Start a thread only when none is idle, as ThreadPoolExecutor does.
        if not self._idle.acquire(blocking=False):
            with self._lock:
                if len(self._threads) < self._max_workers:
                    thread = threading.Thread(
                        target=self._work,
                        name=f"asl-function-{len(self._threads) + 1}",
                        daemon=True,
                    )
                    self._threads.append(thread)
                    thread.start()
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                value = job.fn()
            except BaseException as exc:  # jobs catch their own errors; this is a safety net
                self._deliver(job, partial(_settle_error, job.future, exc))
            else:
                self._deliver(job, partial(_settle, job.future, value))
            self._idle.release()

    @staticmethod
    def _deliver(job: _Job, settle: Callable[[], None]) -> None:
        # A closed loop raises RuntimeError: nobody is waiting for the result any more.
        with contextlib.suppress(RuntimeError):
            job.loop.call_soon_threadsafe(settle)

    @property
    def thread_count(self) -> int:
        """Threads started so far (never more than `max_workers`)."""
        return len(self._threads)

    def close(self) -> None:
        """Let idle threads exit; busy ones finish their job and exit (never waited for)."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._jobs.put(None)


# --------------------------------------------------------------------------- the backend


@dataclass(frozen=True, slots=True)
class _Function:
    handler: Handler
    is_async: bool


_INTEGRATION_RESOURCES: Final = frozenset({LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT_FOR_TASK_TOKEN})


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PythonFunctionBackend:
    """Serves Lambda functions from Python callables: `handler(event, context)`.

    `functions` maps function names to handlers (usually `load_functions(...)`). Resources
    served: `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` (the result is the
    handler's return value) and `arn:aws:states:::lambda:invoke` (the result is AWS's Invoke
    response shape around it; `.waitForTaskToken` invokes the same way). `now` gives the time
    for the Date header and log stream names only.
    """

    def __init__(
        self,
        functions: Mapping[str, Handler],
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._functions = {
            name: _Function(handler, _is_async(handler)) for name, handler in functions.items()
        }
        self._pool = _DaemonPool(max_workers)
        self._now = now
        self._arns: dict[str, FunctionRef | None] = {}
        self._background: set[asyncio.Task[_Outcome]] = set()

    @property
    def function_names(self) -> list[str]:
        """The names this backend serves, in definition order."""
        return list(self._functions)

    async def invoke(self, request: TaskRequest) -> TaskResult:
        """Run the function the request names; every failure comes back as `TaskFailure`."""
        try:
            resource = request.resource
            if resource in _INTEGRATION_RESOURCES:
                return await self._invoke_integration(request)
            return await self._invoke_function_resource(request)
        except Exception as exc:  # a backend bug must fail the Task, never the interpreter
            _log.exception("Python function backend failed on %s", request.resource)
            return TaskFailure(
                STATES_RUNTIME,
                f"Internal error in the Python function backend while invoking "
                f"'{request.resource}': {type(exc).__name__}: {_message(exc)}",
            )

    def close(self) -> None:
        """Stop taking work. Running handlers are not waited for (their threads are daemons)."""
        self._pool.close()
        for task in list(self._background):
            task.cancel()

    # ------------------------------------------------------------------ the two integrations

    async def _invoke_function_resource(self, request: TaskRequest) -> TaskResult:
        resource = request.resource
        try:
            function = self._arns[resource]
        except KeyError:
            function = self._arns[resource] = parse_function_arn(resource)
        if function is None:
            return TaskFailure(
                STATES_RUNTIME,
                f"The Python function backend cannot serve resource '{resource}': it serves "
                f"Lambda function ARNs (arn:aws:lambda:REGION:ACCOUNT:function:NAME) and "
                f"{LAMBDA_INVOKE}. Map this resource to another backend in the config file.",
            )
        request_id = str(uuid.uuid4())
        # The state's effective input is the event: always a JSON document, never raw text.
        # A null input arrives as {} (an Invoke without a body), as LocalStack sends it.
        payload = {} if request.payload is None else request.payload
        outcome = await self._run(function, json.dumps(payload), False, request_id, request)
        returned = _returned(outcome, request_id, resource)
        if isinstance(returned, TaskFailure):
            return returned
        return TaskSuccess(returned.payload)

    async def _invoke_integration(self, request: TaskRequest) -> TaskResult:
        parameters = request.payload
        if not isinstance(parameters, dict):
            return TaskFailure(
                STATES_RUNTIME,
                f"The parameters of {LAMBDA_INVOKE} must be a JSON object with a FunctionName "
                f"field, got {type(parameters).__name__}.",
            )
        name = parameters.get("FunctionName")
        if not isinstance(name, str):
            return TaskFailure(
                STATES_RUNTIME,
                f"The field 'FunctionName' of {LAMBDA_INVOKE} must be a string naming the "
                f"function (name, partial ARN or ARN), got {json.dumps(name)}.",
            )
        request_id = str(uuid.uuid4())
        function = parse_function_name(name, region=request.region, account=request.account)
        if function is None:
            return invalid_function_name(name, request_id)
        checked = check_invoke_parameters(parameters, function, request_id)
        if isinstance(checked, TaskFailure):
            return checked
        function, invocation_type, log_type = checked

        body = parameters.get("Payload")
        # A string Payload is the request body itself (recorded: Payload "0.0" comes back as
        # the number 0.0, test_lambda_task_service/test_invoke_json_values); none is `{}`
        # (recorded: Payload null comes back as {}, test_invoke).
        raw_string = isinstance(body, str)
        event_text = body if isinstance(body, str) else json.dumps({} if body is None else body)

        now = self._now()
        if invocation_type != "RequestResponse":
            return self._invoke_without_response(
                function, invocation_type, event_text, raw_string, request_id, request, now
            )
        started = time.perf_counter()
        returned = _returned(
            await self._run(function, event_text, raw_string, request_id, request),
            request_id,
            "lambda",
        )
        if isinstance(returned, TaskFailure):
            return returned
        log_result = None
        if log_type == "Tail":
            elapsed_ms = (time.perf_counter() - started) * 1000
            log_result = log_tail(
                request_id, function.executed_version, elapsed_ms, MEMORY_LIMIT_IN_MB
            )
        response = InvokeResponse(
            payload=returned.payload,
            content_length=returned.size,
            request_id=request_id,
            date=http_date(now),
            trace_id=trace_id(now),
            executed_version=function.executed_version,
            log_result=log_result,
        )
        return TaskSuccess(invoke_result(response))

    def _invoke_without_response(
        self,
        function: FunctionRef,
        invocation_type: str,
        event_text: str,
        raw_string: bool,
        request_id: str,
        request: TaskRequest,
        now: datetime,
    ) -> TaskResult:
        """`InvocationType` Event (run in the background, 202) or DryRun (check only, 204)."""
        entry = self._functions.get(function.name)
        if entry is None:
            return function_not_found(function, request_id)
        if invocation_type == "Event":
            task = asyncio.get_running_loop().create_task(
                self._call(entry, function, event_text, raw_string, request_id, request)
            )
            self._background.add(task)
            task.add_done_callback(self._background_done)
        response = InvokeResponse(
            payload="",
            content_length=0,
            request_id=request_id,
            date=http_date(now),
            trace_id=trace_id(now),
            executed_version=None,
            status_code=202 if invocation_type == "Event" else 204,
        )
        return TaskSuccess(invoke_result(response))

    def _background_done(self, task: asyncio.Task[_Outcome]) -> None:
        self._background.discard(task)
        if task.cancelled():
            return
        outcome = task.exception() or task.result()
        if isinstance(outcome, _Raised):
            _log.warning(
                "Asynchronous (Event) invocation failed: %s: %s",
                outcome.error_type,
                outcome.message,
            )
        elif isinstance(outcome, BaseException):
            _log.error("Asynchronous (Event) invocation crashed", exc_info=outcome)

    # ------------------------------------------------------------------ running one call

    async def _run(
        self,
        function: FunctionRef,
        event_text: str,
        raw_string: bool,
        request_id: str,
        request: TaskRequest,
    ) -> _Outcome | TaskFailure:
        entry = self._functions.get(function.name)
        if entry is None:
            return function_not_found(function, request_id)
        return await self._call(entry, function, event_text, raw_string, request_id, request)

    async def _call(
        self,
        entry: _Function,
        function: FunctionRef,
        event_text: str,
        raw_string: bool,
        request_id: str,
        request: TaskRequest,
    ) -> _Outcome:
        timeout = request.timeout_seconds
        remaining = DEFAULT_REMAINING_SECONDS if timeout is None else timeout
        context = LambdaContext(
            function_name=function.name,
            function_version=function.executed_version,
            invoked_function_arn=function.invoked_arn,
            aws_request_id=request_id,
            log_stream_name=(
                f"{self._now():%Y/%m/%d}/[{function.executed_version}]{uuid.uuid4().hex}"
            ),
            deadline=time.monotonic() + remaining,
        )
        if entry.is_async:
            event = _decode_event(event_text, raw_string)
            return await _call_async(entry.handler, event, context)
        return await self._pool.submit(
            partial(_call_blocking, entry.handler, event_text, raw_string, context)
        )
