"""Lambda as a service: the backend that serves Lambda functions, whatever runs their code.

Owns: `LambdaBackend`, which serves both Lambda integrations (a function ARN as `Resource`, and
`arn:aws:states:::lambda:invoke`, `.waitForTaskToken` included) for functions whose code a
`FunctionRunner` runs (a Python handler, a subprocess, an HTTP endpoint), and applies Lambda's
own rules around every call alike: the function's timeout (`Sandbox.Timedout`), reserved and
account concurrency (`Lambda.TooManyRequestsException`), the 256 KiB response limit, the memory
size reported to the function, cold starts when simulated, and Lambda service errors when the
operator configures them to be simulated. Must never: import user code or start processes
(runners do), or decide retries (the workflow's Retry does: a throttled call fails at once, as a
synchronous Invoke on AWS does, and `Lambda.TooManyRequestsException` is retryable).

Concurrency, as Lambda counts it: a function with reserved concurrency K runs at most K calls at
once and the K slots are taken out of the account's pool; every other function shares what is
left of the account limit (1,000 by default). A call over its limit is throttled at once; it
never waits for a slot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

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
    lambda_client_error,
    log_stream_id,
    log_tail,
    parse_function_arn,
    parse_function_name,
    trace_id,
)
from engine.backends.lambda_arn import (
    request_id as new_request_id,
)
from engine.backends.runner import (
    FunctionRunner,
    Invocation,
    Outcome,
    Raised,
    Returned,
    Submit,
    submitter_of,
)
from engine.errors import STATES_RUNTIME
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.values import DEFAULT_DUMPS, JSON, PAYLOAD_LIMIT_BYTES, dumps

__all__ = [
    "DEFAULT_ACCOUNT_CONCURRENCY",
    "DEFAULT_MEMORY_SIZE",
    "DEFAULT_TIMEOUT",
    "MAX_TIMEOUT",
    "SIMULATED_ERRORS",
    "UNCONFIGURED_TIMEOUT",
    "Fault",
    "FunctionSettings",
    "FunctionStats",
    "LambdaBackend",
    "LambdaFunction",
    "throttled",
    "timed_out",
]

_log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 3.0
"""Lambda's default function timeout, in seconds."""

MAX_TIMEOUT: Final = 900.0
"""Lambda's maximum function timeout (15 minutes)."""

UNCONFIGURED_TIMEOUT: Final = MAX_TIMEOUT
"""The timeout of functions no config file describes (`--functions FILE.py` alone, handlers
given in code): Lambda's maximum. Such a file says nothing of the functions' timeouts, and the
recorded AWS executions ran functions whose timeouts exceeded the states' TimeoutSeconds
(test_timeouts/test_fixed_timeout_lambda ends in States.Timeout after 5 s of a 60 s handler).
A config file gives every function Lambda's default, 3 s, unless it says otherwise."""

DEFAULT_MEMORY_SIZE: Final = 128
"""Lambda's default memory size, in MB (allowed: 128 to 10,240)."""

DEFAULT_ACCOUNT_CONCURRENCY: Final = 1000
"""Lambda's default concurrent executions per account and region."""

SIMULATED_ERRORS: Final[Mapping[str, tuple[int, str]]] = {
    # error -> (HTTP status, message) of the Lambda Invoke API errors Step Functions' guide tells
    # workflows to retry ("Handle transient Lambda service exceptions"), worded as Lambda's API
    # reference describes each; the cause is built like the recorded 404 (lambda_client_error).
    "Lambda.ServiceException": (500, "The AWS Lambda service encountered an internal error."),
    "Lambda.AWSLambdaException": (500, "The AWS Lambda service encountered an internal error."),
    "Lambda.SdkClientException": (0, "Unable to execute HTTP request: Connection reset"),
    "Lambda.TooManyRequestsException": (429, "Rate Exceeded."),
    "Lambda.ResourceNotReadyException": (
        502,
        "The function is inactive and its VPC connection is no longer available. Wait for the "
        "VPC connection to reestablish and try again.",
    ),
    "Lambda.EC2ThrottledException": (
        502,
        "Amazon EC2 throttled AWS Lambda during Lambda function initialization using the "
        "execution role provided for the function.",
    ),
}


@dataclass(frozen=True, slots=True)
class Fault:
    """A Lambda service error to simulate for a function: on the given call numbers (1-based,
    counted per function in this process) and/or with a probability per call."""

    error: str
    rate: float = 0.0
    calls: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class FunctionSettings:
    """Lambda's per-function configuration, with Lambda's defaults."""

    timeout: float = DEFAULT_TIMEOUT
    memory_size: int = DEFAULT_MEMORY_SIZE
    reserved_concurrency: int | None = None
    cold_start: float = 0.0  # seconds a new instance takes to start; 0 = not simulated
    faults: tuple[Fault, ...] = ()


@dataclass(frozen=True, slots=True)
class LambdaFunction:
    """One function: what runs its code, and its Lambda settings."""

    runner: FunctionRunner
    settings: FunctionSettings = field(default_factory=FunctionSettings)


@dataclass(slots=True)
class FunctionStats:
    """What happened to one function in this process (for tests, `asl` output and benches)."""

    invocations: int = 0  # calls that ran the function's code
    throttles: int = 0
    timeouts: int = 0
    cold_starts: int = 0
    simulated_faults: int = 0
    # Lambda's Errors metric: calls whose function raised or timed out (not throttles, not
    # simulated service faults: those never ran the function)
    errors: int = 0
    duration: float = 0.0  # seconds the function's calls ran, summed (Lambda's Duration)
    running: int = 0
    peak_running: int = 0
    idle_instances: int = 0


def timed_out(request_id: str, timeout: float) -> TaskFailure:
    """A function past its timeout, as Lambda's payload and Step Functions' error report it.

    Lambda answers `FunctionError: Unhandled` with the payload
    `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: ID Error: Task timed out after
    3.00 seconds"}`; Step Functions takes `errorType` as the error and the payload as the cause.
    """
    message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
    cause = dumps({"errorType": "Sandbox.Timedout", "errorMessage": message})
    return TaskFailure("Sandbox.Timedout", cause)


def throttled(request_id: str) -> TaskFailure:
    """A call over its function's (or the account's) concurrency: Lambda's 429, as Step
    Functions reports it ("Rate Exceeded. (Service: AWSLambda; Status Code: 429; ...)")."""
    return lambda_client_error("TooManyRequestsException", "Rate Exceeded.", 429, request_id)


def _simulated(error: str, request_id: str) -> TaskFailure:
    status, message = SIMULATED_ERRORS.get(
        error, (500, "Simulated failure configured for this function.")
    )
    if status == 0:  # a client-side failure: no response, so no service details
        return TaskFailure(error, message)
    code = error.removeprefix("Lambda.")
    return lambda_client_error(code, message, status, request_id)


def _utc_now() -> datetime:
    return datetime.now(UTC)


_INTEGRATION_RESOURCES: Final = frozenset({LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT_FOR_TASK_TOKEN})


@dataclass(slots=True)
class _Direct:
    """A function ARN `start_invoke` serves, with what each call needs, worked out once."""

    function: FunctionRef
    submit: Submit
    settings: FunctionSettings
    stats: FunctionStats
    version: str
    invoked_arn: str


class _Call:
    """A call `start_invoke` handed to a runner: its deadline, its timeout, its answer.

    One object (its methods are the runner's `on_done` and the deadline's expiry) rather than
    closures: a call in flight then holds three objects for the collector, not a dozen cells.
    """

    __slots__ = (
        "backend",
        "deadlines",
        "direct",
        "fired",
        "job",
        "on_result",
        "request",
        "request_id",
        "started",
        "when",
    )

    def __init__(
        self,
        backend: LambdaBackend,
        direct: _Direct,
        request: TaskRequest,
        request_id: str,
        on_result: Callable[[TaskResult], None],
        started: float,
    ) -> None:
        self.backend = backend
        self.direct = direct
        self.request = request
        self.request_id = request_id
        self.on_result = on_result
        self.fired = False  # its deadline passed while it ran
        self.job: asyncio.Future[Outcome] | None = None  # None once finished
        self.deadlines: _Deadlines | None = None
        self.when = 0.0  # its deadline, in loop time
        self.started = started  # Lambda's Duration runs from here (time.monotonic)

    def expire(self) -> None:
        """Its deadline passed while it ran: cancel it (`finished` then answers)."""
        self.fired = True
        if self.job is not None:
            self.job.cancel()

    def finished(self, job: asyncio.Future[Outcome]) -> None:
        """The runner's `on_done`: release the slot, then answer (unless the caller cancelled
        the call: nobody waits for a result then)."""
        self.job = None
        if self.deadlines is not None:
            self.deadlines.finished()
        backend, direct, request = self.backend, self.direct, self.request
        direct.stats.duration += time.monotonic() - self.started
        result: TaskResult
        try:
            if job.cancelled():
                backend._release(direct.settings, direct.stats, recycle=False)
                if not self.fired:
                    return
                result = backend._timed_out(
                    direct.function, direct.settings, direct.stats, self.request_id
                )
            else:
                # `_release(recycle=True)`, written out: no cold starts are simulated here.
                stats = direct.stats
                stats.running -= 1
                if direct.settings.reserved_concurrency is None:
                    backend._unreserved_running -= 1
                outcome = job.result()
                if isinstance(outcome, Raised):
                    stats.errors += 1
                result = _result(outcome, self.request_id, request.resource, _payload)
        except Exception as exc:  # a bug here or in the runner: the Task fails, never hangs
            result = _internal_error(request, exc)
        self.on_result(result)


class _Deadlines:
    """The function timeouts of calls started by `start_invoke` with one timeout, on one loop.

    Their deadlines never decrease in the order the calls started (one monotonic clock, one
    timeout), so one loop timer, set for the earliest, serves them all: arming and cancelling
    a TimerHandle per call cost 2.4 us, more than the rest of the Lambda layer's work on it.
    A call is expired when its deadline passes as the loop's own timers are (before
    `time() + clock resolution`), so a timeout is as exact as with a timer of its own. A call
    that finished stays queued, done, until it reaches the front (or a compaction drops it),
    so a hung call at the front cannot make the queue hold more than twice the calls running;
    once none runs, the queue and its timer are let go.
    """

    __slots__ = ("_calls", "_live", "_resolution", "_timer", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._calls: deque[_Call] = deque()
        self._live = 0
        self._timer: asyncio.TimerHandle | None = None
        self._resolution = time.get_clock_info("monotonic").resolution  # as BaseEventLoop's

    def add(self, call: _Call) -> None:
        """Queue a running call due at `call.when` (loop time): `call.expire()` is called if
        it still runs then."""
        call.deadlines = self
        self._calls.append(call)
        self._live += 1
        if self._timer is None:
            self._timer = self.loop.call_at(call.when, self._fire)

    def finished(self) -> None:
        """A queued call is done (result or cancelled): it no longer needs its deadline."""
        self._live -= 1
        if self._live == 0:  # nothing runs: hold nothing (a closed backend is freed at once)
            self._calls.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        elif len(self._calls) > 2 * self._live + 64:
            self._calls = deque(call for call in self._calls if call.job is not None)

    def _fire(self) -> None:
        self._timer = None
        end = self.loop.time() + self._resolution
        calls = self._calls
        while calls:
            call = calls[0]
            if call.job is None or call.job.done():
                calls.popleft()
            elif call.when < end:
                calls.popleft()
                call.expire()
            else:
                self._timer = self.loop.call_at(call.when, self._fire)
                return


class LambdaBackend:
    """Serves Lambda functions by name with Lambda's semantics; runners run their code.

    `functions` maps function names to their runner and settings. `now` gives the time for
    the Date header and log stream names only; `seed` makes simulated faults repeatable.
    """

    def __init__(
        self,
        functions: Mapping[str, LambdaFunction],
        *,
        account_concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY,
        now: Callable[[], datetime] = _utc_now,
        seed: int | None = None,
    ) -> None:
        self._functions = dict(functions)
        reserved = sum(f.settings.reserved_concurrency or 0 for f in self._functions.values())
        if reserved > account_concurrency:
            raise ValueError(
                f"Reserved concurrency ({reserved}) exceeds the account limit "
                f"({account_concurrency})."
            )
        self._unreserved_limit = account_concurrency - reserved
        self._unreserved_running = 0
        self._stats = {name: FunctionStats() for name in self._functions}
        self._now = now
        self._random = random.Random(seed)  # noqa: S311 - fault simulation, not security
        self._arns: dict[str, FunctionRef | None] = {}
        self._day: tuple[int, str] = (0, "")  # a date's ordinal and its YYYY/MM/DD
        self._day_ends = 0.0  # when that day ends (epoch seconds), on the real clock
        self._background: set[asyncio.Task[TaskResult]] = set()
        # Functions whose calls `start_invoke` hands straight to their runner: a runner that
        # can `submit` (blocking Python handlers), no simulated faults or cold starts.
        self._submitters: dict[str, Submit] = {}
        self._direct: dict[str, _Direct | None] = {}  # by resource: start_invoke's, or None
        self._deadlines: dict[float, _Deadlines] = {}  # by function timeout
        for name, function in self._functions.items():
            submit = submitter_of(function.runner)
            settings = function.settings
            if submit is not None and not settings.faults and settings.cold_start <= 0:
                self._submitters[name] = submit

    @property
    def function_names(self) -> list[str]:
        """The names this backend serves, in configuration order."""
        return list(self._functions)

    def stats(self, name: str) -> FunctionStats:
        """Counters of the function `name` in this process."""
        return self._stats[name]

    async def invoke(self, request: TaskRequest) -> TaskResult:
        """Run the function the request names; every failure comes back as `TaskFailure`."""
        # `_guarded`, written out: this is every Lambda Task's path, one coroutine less.
        try:
            if request.resource in _INTEGRATION_RESOURCES:
                return await self._invoke_integration(request)
            function = self._function_resource(request.resource)
            if isinstance(function, TaskFailure):
                return function
            return await self._invoke_with_input(function, request)
        except Exception as exc:
            return _internal_error(request, exc)

    def start_invoke(
        self, request: TaskRequest, on_result: Callable[[TaskResult], None]
    ) -> TaskResult | asyncio.Future[Outcome] | None:
        """`invoke` without a coroutine (base.StartInvoke), for a function ARN served by a
        runner that can `submit`: the same rules as `_run`, in callbacks. Anything else
        (`lambda:invoke`, simulated faults or cold starts, coroutine handlers) gives None."""
        try:
            try:
                direct = self._direct[request.resource]
            except KeyError:
                direct = self._direct[request.resource] = self._direct_for(request.resource)
            if direct is None:
                return None
            return self._submit(direct, request, on_result)
        except Exception as exc:
            return _internal_error(request, exc)

    def _direct_for(self, resource: str) -> _Direct | None:
        """What `start_invoke` needs to serve `resource`, or None: the coroutine serves it
        (`lambda:invoke`, functions with simulated faults or cold starts, coroutine handlers,
        and resources or functions that do not exist, which it reports)."""
        if resource in _INTEGRATION_RESOURCES:
            return None
        function = self._function_resource(resource)
        if isinstance(function, TaskFailure):
            return None
        submit = self._submitters.get(function.name)
        if submit is None:
            return None
        return _Direct(
            function=function,
            submit=submit,
            settings=self._functions[function.name].settings,
            stats=self._stats[function.name],
            version=function.executed_version,
            invoked_arn=function.invoked_arn,
        )

    def _submit(
        self, direct: _Direct, request: TaskRequest, on_result: Callable[[TaskResult], None]
    ) -> TaskResult | asyncio.Future[Outcome]:
        """`_invoke_with_input` and `_run` for a submitting runner (no faults, no cold start).

        `_throttled`, `_acquire` and `_invocation` written out: every Python Task's call comes
        this way, and each of those calls cost about as much as the work it does."""
        request_id = new_request_id()
        settings = direct.settings
        stats = direct.stats
        reserved = settings.reserved_concurrency
        if reserved is not None:
            if stats.running >= reserved:
                stats.throttles += 1
                return throttled(request_id)
        elif self._unreserved_running >= self._unreserved_limit:
            stats.throttles += 1
            return throttled(request_id)
        payload = request.payload
        started = time.monotonic()
        version = direct.version
        # Positional, in the order of Invocation's fields (keywords cost a dict per call).
        invocation = Invocation(
            direct.function.name,  # function_name
            version,  # function_version
            direct.invoked_arn,  # invoked_function_arn
            request_id,  # request_id
            settings.memory_size,  # memory_size
            started + settings.timeout,  # deadline
            f"{self._log_day()}/[{version}]{log_stream_id()}",  # log_stream_name
            request.region,  # region
            DEFAULT_DUMPS(payload),  # event_text: a null input is the event null, see below
            False,  # raw_string
            request.traceparent,  # traceparent
        )
        call = _Call(self, direct, request, request_id, on_result, started)
        stats.invocations += 1
        running = stats.running = stats.running + 1
        if running > stats.peak_running:
            stats.peak_running = running
        if reserved is None:
            self._unreserved_running += 1
        try:
            job = call.job = direct.submit(invocation, call.finished)
        except BaseException:
            self._release(settings, stats, recycle=False)
            raise
        loop = job.get_loop()
        deadlines = self._deadlines.get(settings.timeout)
        if deadlines is None or deadlines.loop is not loop:
            deadlines = self._deadlines[settings.timeout] = _Deadlines(loop)
        # The function's timeout, exact as in `_run_until`: the job is cancelled at the deadline.
        call.when = loop.time() + (invocation.deadline - time.monotonic())
        deadlines.add(call)
        return job

    def close(self) -> None:
        """Stop taking work; running calls are abandoned (their runners release them)."""
        self._cancel_background()
        for function in self._functions.values():
            function.runner.close()

    async def aclose(self) -> None:
        """`close`, from a coroutine: runners with an `aclose` (an HTTP connection pool) finish
        closing before this returns, instead of leaving it to the loop's shutdown."""
        self._cancel_background()
        for function in self._functions.values():
            closing = getattr(function.runner, "aclose", None)
            if closing is not None:
                await closing()
            else:
                function.runner.close()

    async def call(self, name: str, request: TaskRequest) -> TaskResult:
        """Invoke the function `name` for a Task whose resource is not Lambda's (a service
        integration mapped to a function): the effective input is the event, the function's
        response is the result."""
        function = FunctionRef(name=name, region=request.region, account=request.account)
        return await self._guarded(request, self._invoke_with_input(function, request))

    def _cancel_background(self) -> None:
        for task in list(self._background):
            task.cancel()

    async def _guarded(self, request: TaskRequest, work: Awaitable[TaskResult]) -> TaskResult:
        """`work`'s result; a bug in this backend fails the Task, never the interpreter."""
        try:
            return await work
        except Exception as exc:
            return _internal_error(request, exc)

    # ------------------------------------------------------------------ the two integrations

    def _function_resource(self, resource: str) -> FunctionRef | TaskFailure:
        """The function a Task's `Resource` ARN names (parsed once per ARN), or its failure."""
        try:
            function = self._arns[resource]
        except KeyError:
            function = self._arns[resource] = parse_function_arn(resource)
        if function is None:
            return TaskFailure(
                STATES_RUNTIME,
                f"The Lambda backend cannot serve resource '{resource}': it serves Lambda "
                f"function ARNs (arn:aws:lambda:REGION:ACCOUNT:function:NAME) and "
                f"{LAMBDA_INVOKE}. Map this resource to a function in the config file "
                f"([resources] in asl.toml).",
            )
        return function

    async def _invoke_with_input(self, function: FunctionRef, request: TaskRequest) -> TaskResult:
        """Call `function` with the state's effective input as the event; its response is the
        result (a function ARN as Resource, or a `[resources]` mapping)."""
        request_id = new_request_id()
        # The event is always a JSON document, never raw text: the effective input as it is, a
        # null one included (AWS recording test_lambda_task.py::test_invoke_json_values[None]:
        # the function gets null and its null is the result). Only lambda:invoke turns a null
        # Payload into {} (`_invoke_integration`).
        outcome = await self._run(
            function, DEFAULT_DUMPS(request.payload), False, request_id, request
        )
        return _result(outcome, request_id, request.resource, _payload)

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
        request_id = new_request_id()
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
        event_text = body if isinstance(body, str) else DEFAULT_DUMPS({} if body is None else body)

        now = self._now()
        if invocation_type != "RequestResponse":
            return self._invoke_without_response(
                function, invocation_type, event_text, raw_string, request_id, request, now
            )
        started = time.perf_counter()
        outcome = await self._run(function, event_text, raw_string, request_id, request)

        def shape(returned: Returned) -> JSON:
            log_result = None
            if log_type == "Tail":
                elapsed_ms = (time.perf_counter() - started) * 1000
                memory = self._functions[function.name].settings.memory_size
                log_result = log_tail(
                    request_id, function.executed_version, elapsed_ms, str(memory)
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
            return invoke_result(response)

        return _result(outcome, request_id, "lambda", shape)

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
        if function.name not in self._functions:
            return function_not_found(function, request_id)
        if invocation_type == "Event":
            task = asyncio.get_running_loop().create_task(
                self._run_in_background(function, event_text, raw_string, request_id, request)
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)
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

    async def _run_in_background(
        self,
        function: FunctionRef,
        event_text: str,
        raw_string: bool,
        request_id: str,
        request: TaskRequest,
    ) -> TaskResult:
        outcome = await self._run(function, event_text, raw_string, request_id, request)
        result = _result(outcome, request_id, "lambda", _payload)
        if isinstance(result, TaskFailure):
            _log.warning(
                "Asynchronous (Event) invocation of %s failed: %s: %s",
                function.name,
                result.error,
                result.cause,
            )
        return result

    # ------------------------------------------------------------------ Lambda's rules

    async def _run(
        self,
        function: FunctionRef,
        event_text: str,
        raw_string: bool,
        request_id: str,
        request: TaskRequest,
    ) -> Outcome:
        entry = self._functions.get(function.name)
        if entry is None:
            return function_not_found(function, request_id)
        settings = entry.settings
        stats = self._stats[function.name]
        fault = self._fault(settings, stats) if settings.faults else None
        if fault is not None:
            stats.simulated_faults += 1
            return _simulated(fault.error, request_id)
        if self._throttled(settings, stats):
            stats.throttles += 1
            return lambda_client_error(
                "TooManyRequestsException", "Rate Exceeded.", 429, request_id
            )
        stats.invocations += 1
        self._acquire(settings, stats)
        recycle = True
        started = time.monotonic()
        try:
            if settings.cold_start > 0:
                if stats.idle_instances > 0:
                    stats.idle_instances -= 1
                else:
                    stats.cold_starts += 1
                    await asyncio.sleep(settings.cold_start)
            invocation = self._invocation(
                function.name,
                function.executed_version,
                function.invoked_arn,
                settings,
                request_id,
                started,
                request,
                event_text,
                raw_string,
            )
            outcome = await _run_until(entry.runner, invocation)
            if outcome is None:
                recycle = False  # Lambda tears down an instance that timed out
                return self._timed_out(function, settings, stats, request_id)
            if isinstance(outcome, Raised):
                stats.errors += 1
            return outcome
        except asyncio.CancelledError:
            recycle = False
            raise
        finally:
            stats.duration += time.monotonic() - started
            self._release(settings, stats, recycle)

    def _invocation(
        self,
        name: str,
        version: str,
        invoked_arn: str,
        settings: FunctionSettings,
        request_id: str,
        started: float,
        request: TaskRequest,
        event_text: str,
        raw_string: bool = False,
    ) -> Invocation:
        """The call a runner gets: Lambda's context values and the request body."""
        return Invocation(
            function_name=name,
            function_version=version,
            invoked_function_arn=invoked_arn,
            request_id=request_id,
            memory_size=settings.memory_size,
            deadline=started + settings.timeout,
            log_stream_name=f"{self._log_day()}/[{version}]{log_stream_id()}",
            region=request.region,
            event_text=event_text,
            raw_string=raw_string,
            traceparent=request.traceparent,
        )

    def _timed_out(
        self,
        function: FunctionRef,
        settings: FunctionSettings,
        stats: FunctionStats,
        request_id: str,
    ) -> TaskFailure:
        """A call cancelled at its function's timeout: counted, logged, Lambda's failure."""
        stats.timeouts += 1
        stats.errors += 1
        _log.warning(
            "Function %s timed out after %.2f seconds (its timeout; Lambda's default is "
            "3 s: set `timeout` for it in asl.toml)",
            function.name,
            settings.timeout,
        )
        return timed_out(request_id, settings.timeout)

    def _log_day(self) -> str:
        """Today as a log stream name starts (`2024/03/06`), formatted once a day."""
        if self._now is _utc_now:  # the real clock: a UTC day ends every 86,400 s of epoch
            wall = time.time()
            if wall < self._day_ends:
                return self._day[1]
            self._day_ends = (wall // 86_400 + 1) * 86_400
            now = datetime.fromtimestamp(wall, UTC)
        else:
            now = self._now()
        day = now.toordinal()
        if day != self._day[0]:
            self._day = (day, f"{now:%Y/%m/%d}")
        return self._day[1]

    def _fault(self, settings: FunctionSettings, stats: FunctionStats) -> Fault | None:
        if not settings.faults:
            return None
        call = stats.invocations + stats.throttles + stats.simulated_faults + 1
        for fault in settings.faults:
            if call in fault.calls or (fault.rate > 0 and self._random.random() < fault.rate):
                return fault
        return None

    def _throttled(self, settings: FunctionSettings, stats: FunctionStats) -> bool:
        if settings.reserved_concurrency is not None:
            return stats.running >= settings.reserved_concurrency
        return self._unreserved_running >= self._unreserved_limit

    def _acquire(self, settings: FunctionSettings, stats: FunctionStats) -> None:
        stats.running += 1
        stats.peak_running = max(stats.peak_running, stats.running)
        if settings.reserved_concurrency is None:
            self._unreserved_running += 1

    def _release(self, settings: FunctionSettings, stats: FunctionStats, recycle: bool) -> None:
        stats.running -= 1
        if settings.reserved_concurrency is None:
            self._unreserved_running -= 1
        if recycle and settings.cold_start > 0:
            stats.idle_instances += 1


async def _run_until(runner: FunctionRunner, invocation: Invocation) -> Outcome | None:
    """The runner's outcome, or None when it was cancelled at `invocation.deadline`.

    What `asyncio.timeout` does, with one timer handle instead of its context object: the
    timeout is armed on every call, and this is a third of a fast handler's cost otherwise.
    """
    task = asyncio.current_task()
    assert task is not None
    loop = task.get_loop()  # not get_running_loop: each of those asks the OS for its pid
    fired = False

    def fire() -> None:
        nonlocal fired
        fired = True
        task.cancel()

    handle = loop.call_at(loop.time() + (invocation.deadline - time.monotonic()), fire)
    try:
        return await runner.run(invocation)
    except asyncio.CancelledError:
        # Ours only if the timer fired and no one else cancelled the task meanwhile.
        if fired and task.uncancel() == 0:
            return None
        raise
    finally:
        handle.cancel()


def _internal_error(request: TaskRequest, exc: Exception) -> TaskFailure:
    """A bug in this backend, as the Task's failure (logged with its traceback)."""
    _log.exception("Lambda backend failed on %s", request.resource)
    return TaskFailure(
        STATES_RUNTIME,
        f"Internal error in the Lambda backend while invoking '{request.resource}': "
        f"{type(exc).__name__}: {exc}",
    )


def _payload(returned: Returned) -> JSON:
    """The result of a call whose response is the result itself (not `lambda:invoke`'s)."""
    return returned.payload


def _result(
    outcome: Outcome, request_id: str, label: str, shape: Callable[[Returned], JSON]
) -> TaskResult:
    """The Task result of a call: Lambda's error envelope for a raised error, the payload limit
    (`label` names the resource in its cause), else the returned payload shaped for the
    integration."""
    if isinstance(outcome, TaskFailure):
        return outcome
    if isinstance(outcome, Raised):
        return function_error(
            outcome.message, outcome.error_type, request_id, list(outcome.stack_trace)
        )
    if outcome.size > PAYLOAD_LIMIT_BYTES:
        return data_limit_exceeded(label)
    if shape is _payload:  # the result is the payload: measured within the limit already
        return TaskSuccess(outcome.payload, False, outcome.bounds_payload)  # final, sized
    return TaskSuccess(shape(outcome))
