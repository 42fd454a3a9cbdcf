"""Python functions as Lambda functions: handlers that run in this process.

Owns: loading the operator's functions file or module (`load_functions`), the Lambda context
object handlers receive, `PythonRunner`, which calls `handler(event, context)` as the AWS Lambda
Python runtime does (the event is parsed from JSON text, so each call gets its own copy; the
return value is JSON-encoded, bytes pass through raw; an exception becomes the Lambda error
envelope, but an `engine.errors.TaskError` fails the Task with its own error and cause), and
`PythonFunctionBackend`, the Lambda backend (`engine.backends.functions`) over a set of Python
handlers.

Blocking handlers run on a bounded pool of daemon threads (`engine.backends.pool`, whose names
this module re-exports), so the event loop stays free, no call ever gets a thread beyond the
bound, a handler still running after its call was cancelled (its timeout) gives its place to a
new thread, and a handler still running never holds up shutdown. Coroutine handlers are awaited
on the loop.

Must never: decide Lambda's rules (timeouts, concurrency, result limits: the Lambda layer does)
or import anything an API client names. Only operator configuration (the CLI's `--functions`,
the config file) reaches `load_functions`; workflow definitions can only name functions
already loaded.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.machinery
import importlib.util
import inspect
import itertools
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Final

from engine.backends.functions import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    UNCONFIGURED_TIMEOUT,
    FunctionSettings,
    LambdaBackend,
    LambdaFunction,
)
from engine.backends.lambda_arn import PAYLOAD_DECODER, parse_payload
from engine.backends.pool import (
    DEFAULT_MAX_ABANDONED,
    DEFAULT_MAX_WORKERS,
    HandlerPool,
    PoolStats,
    pool_stats,
)
from engine.backends.runner import Invocation, Outcome, Raised, Returned
from engine.errors import InvalidRequest, TaskError
from engine.interpreter.tasks import TaskFailure
from engine.values import DEFAULT_DUMPS, JSON, PAYLOAD_LIMIT_BYTES

__all__ = [
    "DEFAULT_MAX_ABANDONED",
    "DEFAULT_MAX_WORKERS",
    "INVALID_FUNCTIONS_FILE",
    "Handler",
    "HandlerPool",
    "LambdaContext",
    "PoolStats",
    "PythonFunctionBackend",
    "PythonRunner",
    "functions_of",
    "load_functions",
    "pool_stats",
]

Handler = Callable[..., object]
"""A Lambda handler: `handler(event, context)`, plain or `async def`."""

INVALID_FUNCTIONS_FILE: Final = "InvalidFunctionsFile"
"""`InvalidRequest.code` of every `load_functions` failure."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- loading functions


_module_numbers = itertools.count(1)
_FILE_MODULE_PREFIX = "_asl_functions_"


def load_functions(path_or_module: str, *, private: bool = False) -> dict[str, Handler]:
    """The functions a file (`handlers.py`) or a dotted module name (`app.handlers`) defines.

    Every public top-level callable defined in the module itself serves the Lambda function of
    the same name; names starting with `_` (helpers), names imported from other modules
    (`from json import dumps`), and classes are left out, so a workflow naming one fails as
    for any function nobody defines. `private=True` keeps `_helper` names (never dunders): for
    a handler the operator names explicitly (`[functions.X] handler = "mod._f"`).

    A file is loaded by path under a unique module name (loading it twice gives two independent
    modules) and its folder is appended to `sys.path`, as Lambda puts the function's folder on
    the path, so it can import its siblings. Raises `InvalidRequest` (code
    `InvalidFunctionsFile`) with a message naming the file and the problem (missing, syntax
    error with its line, an exception while importing, no functions), never with a traceback.
    """
    if _looks_like_path(path_or_module):
        module = _load_file(path_or_module)
    else:
        module = _import_module(path_or_module)
    functions = functions_of(module, private=private)
    if not functions:
        if module.__name__.startswith(_FILE_MODULE_PREFIX):
            del sys.modules[module.__name__]  # a refused file leaves nothing behind
        raise _invalid(
            path_or_module,
            "it defines no functions (expected top-level `def NAME(event, context)`)",
        )
    return functions


def functions_of(module: ModuleType, *, private: bool = False) -> dict[str, Handler]:
    """Public top-level callables defined in `module` (not imported there, not classes), by
    name; with `private`, `_helper` names too (dunder names never)."""
    found: dict[str, Handler] = {}
    for name, value in vars(module).items():
        hidden = name.startswith("__") or (name.startswith("_") and not private)
        if hidden or inspect.isclass(value) or not callable(value):
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

    def __init__(self, invocation: Invocation) -> None:
        self.function_name = invocation.function_name
        self.function_version = invocation.function_version
        self.invoked_function_arn = invocation.invoked_function_arn
        # A string, as the runtime reads it from AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
        self.memory_limit_in_mb = str(invocation.memory_size)
        self.aws_request_id = invocation.request_id
        self.log_group_name = invocation.log_group_name
        self.log_stream_name = invocation.log_stream_name
        # Set only for mobile-SDK and Cognito callers, never for Step Functions.
        self.identity: object = None
        self.client_context: object = None
        self._deadline = invocation.deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout (a monotonic-clock deadline)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r})"
        )


# --------------------------------------------------------------------------- calling a handler


_EVENT_DECODER: Final = json.JSONDecoder()
"""`json.loads` without its checks of the argument's type and BOM, for text we encoded."""

_Scan = Callable[[str, int], tuple[JSON, int]]
_scan_event: Final[_Scan] = _EVENT_DECODER.scan_once  # type: ignore[attr-defined]
_scan_payload: Final[_Scan] = PAYLOAD_DECODER.scan_once  # type: ignore[attr-defined]
"""The decoders' scanners (C), called on text `DEFAULT_DUMPS` made: one complete JSON value,
no whitespace around it, so `decode`'s two whitespace matches and its end check (two Python
calls and two regex matches per value) can find nothing. Same values, same errors."""


def _decode_event(text: str, raw_string: bool) -> JSON:
    """The event, parsed as the runtime parses the request body: a fresh copy for every call.

    `raw_string` marks a `lambda:invoke` string Payload, sent as the body itself; text that is
    not JSON then arrives as the string (LocalStack's reading; AWS's is not recorded).
    """
    if not raw_string:  # text the Lambda layer encoded (ASCII JSON): no BOM to refuse
        value: JSON = _scan_event(text, 0)[0]
        return value
    try:
        parsed: JSON = json.loads(text)
    except ValueError:
        return text
    return parsed


_RAW_BYTES: Final = (bytes, bytearray, memoryview)
"""What the runtime passes through unencoded (a tuple: `A | B` builds a union per call)."""


def _marshal(result: object) -> Outcome:
    """The response payload as the runtime sends it, then as Step Functions reads it back."""
    if isinstance(result, _RAW_BYTES):
        raw = bytes(result)  # the Python runtime passes bytes through unencoded
        if len(raw) > PAYLOAD_LIMIT_BYTES:
            return Returned(len(raw), None)  # refused by the Lambda layer; not worth parsing
        return Returned(len(raw), parse_payload(raw))
    try:
        # The runtime's encoding: json.dumps defaults (", " and ": ", ASCII escapes); the
        # recorded Content-Length headers agree (e.g. 60 for the BASE_TASK_LAMBDA payload).
        text = DEFAULT_DUMPS(result)
    except (TypeError, ValueError, RecursionError) as exc:
        return Raised("Runtime.MarshalError", f"Unable to marshal response: {exc}")
    # ASCII only (every other character is escaped), so its length is its size in bytes.
    if len(text) > PAYLOAD_LIMIT_BYTES:
        return Returned(len(text), None)
    try:
        payload: JSON = _scan_payload(text, 0)[0]
    except ValueError:  # NaN or Infinity: the text itself, as parse_payload gives it
        return Returned(len(text), text)
    return Returned(len(text), payload, True)  # bounds_payload (positional: no kwargs dict)


def _raised(exc: BaseException) -> Raised:
    """Lambda's error fields for `exc`; the first traceback frame (our call site) is dropped."""
    tb = exc.__traceback__
    frames = traceback.extract_tb(tb.tb_next if tb is not None else None)
    return Raised(type(exc).__name__, _message(exc), tuple(traceback.format_list(frames)))


def _task_error(exc: TaskError) -> TaskFailure:
    """A handler's `TaskError`: the Task's failure exactly as the handler named it, instead of
    Lambda's envelope (which would carry the class name, `TaskError`, as the error)."""
    return TaskFailure(exc.error, exc.cause)


def _exited(exc: SystemExit, request_id: str) -> Raised:
    """A handler calling sys.exit(): the runtime dies, Lambda reports Runtime.ExitError."""
    status = exc.code if isinstance(exc.code, int) else 1
    return Raised(
        "Runtime.ExitError",
        f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}",
    )


def _call_blocking(handler: Handler, invocation: Invocation) -> Outcome:
    """Runs on a pool thread: decode the event, call, encode the result. Never raises."""
    context = LambdaContext(invocation)
    try:
        text = invocation.event_text
        # `_decode_event`, written out for the Lambda layer's own text (the usual case).
        event = _decode_event(text, True) if invocation.raw_string else _scan_event(text, 0)[0]
        result = handler(event, context)
    except SystemExit as exc:
        return _exited(exc, context.aws_request_id)
    except TaskError as exc:
        return _task_error(exc)
    except Exception as exc:
        return _raised(exc)
    return _marshal(result)


async def _call_async(handler: Handler, invocation: Invocation) -> Outcome:
    """Runs on the loop: call, await what the handler returns, encode. Never raises."""
    context = LambdaContext(invocation)
    try:
        event = _decode_event(invocation.event_text, invocation.raw_string)
        result = handler(event, context)
        if inspect.isawaitable(result):
            result = await result
    except SystemExit as exc:
        return _exited(exc, context.aws_request_id)
    except TaskError as exc:
        return _task_error(exc)
    except Exception as exc:
        return _raised(exc)
    return _marshal(result)


def _is_async(handler: Handler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - async __call__ of a callable instance
    )


# --------------------------------------------------------------------------- the runner


class PythonRunner:
    """Runs one Python handler: blocking ones on `pool`, coroutine ones on the loop.

    A call cancelled at its timeout leaves a blocking handler running in its thread (Python
    cannot stop a thread); the pool abandons that thread and another takes its place.
    """

    def __init__(self, handler: Handler, pool: HandlerPool) -> None:
        self._handler = handler
        self._is_async = _is_async(handler)
        self._pool = pool
        # A blocking handler's call is a pool job, a future the Lambda layer can take as it is
        # (runner.submitter_of); a coroutine handler's call needs `run`.
        self.submits = not self._is_async

    def submit(
        self,
        invocation: Invocation,
        on_done: Callable[[asyncio.Future[Outcome]], None] | None = None,
    ) -> asyncio.Future[Outcome]:
        """Queue a blocking handler's call on the pool (only when `submits`)."""
        return self._pool.submit(partial(_call_blocking, self._handler, invocation), on_done)

    async def run(self, invocation: Invocation) -> Outcome:
        if self._is_async:
            return await _call_async(self._handler, invocation)
        return await self.submit(invocation)

    def close(self) -> None:
        self._pool.close()


class PythonFunctionBackend(LambdaBackend):
    """Serves Lambda functions from Python callables: `handler(event, context)`.

    `functions` maps function names to handlers (usually `load_functions(...)`); all share one
    pool of `max_workers` threads, abandoning at most `max_abandoned` to hung handlers
    (`HandlerPool`). `settings` gives each function's Lambda settings by name;
    the others get `UNCONFIGURED_TIMEOUT` (900 s) and 128 MB. See `LambdaBackend` for the rest.
    """

    def __init__(
        self,
        functions: Mapping[str, Handler],
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        max_abandoned: int = DEFAULT_MAX_ABANDONED,
        now: Callable[[], datetime] = _utc_now,
        settings: Mapping[str, FunctionSettings] | None = None,
        account_concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY,
    ) -> None:
        self._pool = HandlerPool(max_workers, max_abandoned)
        configured = settings or {}
        unconfigured = FunctionSettings(timeout=UNCONFIGURED_TIMEOUT)
        super().__init__(
            {
                name: LambdaFunction(
                    PythonRunner(handler, self._pool), configured.get(name, unconfigured)
                )
                for name, handler in functions.items()
            },
            now=now,
            account_concurrency=account_concurrency,
        )

    def pool_stats(self) -> PoolStats:
        """The use of this backend's thread pool right now."""
        return self._pool.stats()
