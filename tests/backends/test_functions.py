"""The Lambda layer: timeouts, concurrency and throttling, faults, cold starts, memory size.

Runners here are scripted (they wait on a gate the test opens), so every count is exact; the
runners themselves have their own tests (test_python.py, test_command_runner.py, ...).
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from engine.backends.functions import (
    Fault,
    FunctionSettings,
    LambdaBackend,
    LambdaFunction,
)
from engine.backends.runner import Invocation, Outcome, Raised, Returned
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.values import JSON, PAYLOAD_LIMIT_BYTES
from tests.backends.calls import VIAS, call_via

ARN = "arn:aws:lambda:us-east-1:111111111111:function:"
INVOKE = "arn:aws:states:::lambda:invoke"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
T = TypeVar("T")


class Scripted:
    """A runner that records its calls, waits for `gate` (when given) and answers `outcome`."""

    def __init__(self, outcome: Outcome | None = None, gate: asyncio.Event | None = None) -> None:
        self.outcome = outcome
        self.gate = gate
        self.calls: list[Invocation] = []
        self.closed = False

    async def run(self, invocation: Invocation) -> Outcome:
        self.calls.append(invocation)
        if self.gate is not None:
            await self.gate.wait()
        if self.outcome is not None:
            return self.outcome
        return Returned(len(invocation.event_text), {"echo": invocation.event_text})

    def close(self) -> None:
        self.closed = True


class Submitting(Scripted):
    """A `Scripted` runner that can also `submit` (as a runner of blocking Python handlers
    does), so the Lambda layer serves function ARNs through `start_invoke` without a
    coroutine."""

    submits = True

    def submit(
        self, invocation: Invocation, on_done: Callable[[asyncio.Future[Outcome]], None]
    ) -> asyncio.Future[Outcome]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()

        async def settle() -> None:
            outcome = await self.run(invocation)
            if not future.done():
                future.set_result(outcome)

        running = loop.create_task(settle())

        def done(settled: asyncio.Future[Outcome]) -> None:
            if settled.cancelled():
                running.cancel()
            on_done(settled)

        future.add_done_callback(done)
        return future


def scripted(
    via: str, outcome: Outcome | None = None, gate: asyncio.Event | None = None
) -> Scripted:
    return Submitting(outcome, gate) if via == "start_invoke" else Scripted(outcome, gate)


def request(resource: str, payload: JSON = None) -> TaskRequest:
    return TaskRequest(
        resource=resource,
        payload={} if payload is None else payload,
        execution_arn="arn:aws:states:us-east-1:111111111111:execution:m:e",
        state_name="Call",
    )


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until `condition` holds (the calls under test make progress)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def rid_of(cause: str | None) -> str:
    assert cause is not None
    found = re.search(UUID, cause)
    assert found is not None
    return found[0]


# --------------------------------------------------------------------------- timeout


@pytest.mark.parametrize("via", VIAS)
def test_a_function_past_its_timeout_fails_with_sandbox_timedout(via: str) -> None:
    runner = scripted(via, gate=asyncio.Event())  # never opened
    backend = LambdaBackend({"slow": LambdaFunction(runner, FunctionSettings(timeout=0.05))})

    result = run(lambda: call_via(backend, via, request(ARN + "slow")))

    assert isinstance(result, TaskFailure)
    rid = rid_of(result.cause)
    assert result == TaskFailure(
        "Sandbox.Timedout",
        '{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: '
        + rid
        + ' Error: Task timed out after 0.05 seconds"}',
    )
    stats = backend.stats("slow")
    assert (stats.invocations, stats.timeouts, stats.running) == (1, 1, 0)


@pytest.mark.parametrize("via", VIAS)
def test_the_timeout_is_lambdas_default_3_seconds_and_the_deadline_reaches_the_runner(
    via: str,
) -> None:
    runner = scripted(via)
    backend = LambdaBackend({"f": LambdaFunction(runner)})

    async def scenario() -> tuple[TaskResult, float, float]:
        before = time.monotonic()
        result = await call_via(backend, via, request(ARN + "f", {"a": 1}))
        return result, before, time.monotonic()

    result, before, after = run(scenario)
    assert result == TaskSuccess({"echo": '{"a": 1}'})
    [call] = runner.calls
    # 3 s from the call's start, which lies between `before` and `after` (a tolerance around
    # `before` alone failed whenever a loaded machine took 0.1 s to get to the call)
    assert before + 3.0 <= call.deadline <= after + 3.0
    assert (call.function_name, call.memory_size, call.region) == ("f", 128, "us-east-1")


# --------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("via", VIAS)
def test_reserved_concurrency_throttles_exactly_the_excess_at_once(via: str) -> None:
    gate = asyncio.Event()
    runner = scripted(via, gate=gate)
    backend = LambdaBackend({"f": LambdaFunction(runner, FunctionSettings(reserved_concurrency=2))})

    async def scenario() -> list[TaskResult]:
        calls = [
            asyncio.create_task(call_via(backend, via, request(ARN + "f", n))) for n in range(5)
        ]
        await until(lambda: backend.stats("f").throttles == 3)
        assert backend.stats("f").running == 2
        gate.set()
        return await asyncio.gather(*calls)

    results = run(scenario)
    throttled = [r for r in results if isinstance(r, TaskFailure)]
    assert [r for r in results if isinstance(r, TaskSuccess)] == [
        TaskSuccess({"echo": "0"}),
        TaskSuccess({"echo": "1"}),
    ]
    assert len(throttled) == 3
    for failure in throttled:
        assert failure == TaskFailure(
            "Lambda.TooManyRequestsException",
            f"Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: "
            f"TooManyRequestsException; Request ID: {rid_of(failure.cause)}; Proxy: null)",
        )
    stats = backend.stats("f")
    assert (stats.invocations, stats.throttles, stats.peak_running, stats.running) == (2, 3, 2, 0)


@pytest.mark.parametrize("via", VIAS)
def test_reserved_concurrency_zero_throttles_every_call(via: str) -> None:
    runner = scripted(via)
    backend = LambdaBackend(
        {"off": LambdaFunction(runner, FunctionSettings(reserved_concurrency=0))}
    )
    result = run(lambda: call_via(backend, via, request(ARN + "off")))
    assert isinstance(result, TaskFailure)
    assert result.error == "Lambda.TooManyRequestsException"
    assert runner.calls == []


@pytest.mark.parametrize("via", VIAS)
def test_unreserved_functions_share_what_the_reservations_leave_of_the_account(via: str) -> None:
    gate = asyncio.Event()
    functions = {
        "reserved": LambdaFunction(
            scripted(via, gate=gate), FunctionSettings(reserved_concurrency=1)
        ),
        "a": LambdaFunction(scripted(via, gate=gate)),
        "b": LambdaFunction(scripted(via, gate=gate)),
    }
    backend = LambdaBackend(functions, account_concurrency=3)  # 2 left for a and b together

    async def scenario() -> list[TaskResult]:
        names = ["a", "b", "a", "reserved"]
        calls = [asyncio.create_task(call_via(backend, via, request(ARN + n))) for n in names]
        await until(lambda: backend.stats("a").throttles == 1)
        await until(lambda: backend.stats("reserved").running == 1)
        gate.set()
        return await asyncio.gather(*calls)

    results = run(scenario)
    assert [r.error if isinstance(r, TaskFailure) else "ok" for r in results] == [
        "ok",
        "ok",
        "Lambda.TooManyRequestsException",
        "ok",
    ]


def test_reservations_over_the_account_limit_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Reserved concurrency \(5\) exceeds the account limit"):
        LambdaBackend(
            {"f": LambdaFunction(Scripted(), FunctionSettings(reserved_concurrency=5))},
            account_concurrency=4,
        )


# --------------------------------------------------------------------------- simulated faults


def test_faults_on_given_calls_give_lambdas_service_errors() -> None:
    runner = Scripted()
    settings = FunctionSettings(faults=(Fault("Lambda.ServiceException", calls=frozenset({1, 3})),))
    backend = LambdaBackend({"f": LambdaFunction(runner, settings)})

    async def scenario() -> list[TaskResult]:
        return [await backend.invoke(request(ARN + "f", n)) for n in range(4)]

    results = run(scenario)
    first, second, third, fourth = results
    assert first == TaskFailure(
        "Lambda.ServiceException",
        "The AWS Lambda service encountered an internal error. (Service: AWSLambda; Status "
        f"Code: 500; Error Code: ServiceException; Request ID: {rid_of(first.cause)}; "  # type: ignore[union-attr]
        "Proxy: null)",
    )
    assert second == TaskSuccess({"echo": "1"})
    assert isinstance(third, TaskFailure)
    assert third.error == "Lambda.ServiceException"
    assert fourth == TaskSuccess({"echo": "3"})
    assert len(runner.calls) == 2  # a service error never reaches the function
    assert backend.stats("f").simulated_faults == 2


def test_faults_by_rate_repeat_with_the_same_seed() -> None:
    def pattern(seed: int) -> list[str]:
        settings = FunctionSettings(faults=(Fault("Lambda.SdkClientException", rate=0.5),))
        backend = LambdaBackend({"f": LambdaFunction(Scripted(), settings)}, seed=seed)

        async def scenario() -> list[str]:
            results = [await backend.invoke(request(ARN + "f")) for _ in range(32)]
            return [r.error if isinstance(r, TaskFailure) else "ok" for r in results]

        return run(scenario)

    first = pattern(7)
    assert first == pattern(7)
    assert 4 < first.count("Lambda.SdkClientException") < 28
    assert set(first) == {"ok", "Lambda.SdkClientException"}


# --------------------------------------------------------------------------- cold starts


def test_cold_starts_only_when_no_instance_is_idle() -> None:
    gate = asyncio.Event()
    gate.set()
    runner = Scripted(gate=gate)
    backend = LambdaBackend({"f": LambdaFunction(runner, FunctionSettings(cold_start=0.001))})

    async def scenario() -> None:
        await backend.invoke(request(ARN + "f"))  # cold
        await backend.invoke(request(ARN + "f"))  # warm: the first instance is idle again
        gate.clear()  # three at once: one takes the idle instance, two start new ones
        calls = [asyncio.create_task(backend.invoke(request(ARN + "f"))) for _ in range(3)]
        await until(lambda: len(runner.calls) == 5)
        gate.set()
        await asyncio.gather(*calls)

    run(scenario)
    stats = backend.stats("f")
    assert (stats.invocations, stats.cold_starts, stats.idle_instances) == (5, 3, 3)


def test_no_cold_start_is_simulated_by_default() -> None:
    backend = LambdaBackend({"f": LambdaFunction(Scripted())})
    run(lambda: backend.invoke(request(ARN + "f")))
    assert backend.stats("f").cold_starts == 0


# --------------------------------------------------------------------------- results


def test_memory_size_reaches_the_runner_and_the_log_tail() -> None:
    runner = Scripted(Returned(2, {}))
    backend = LambdaBackend({"f": LambdaFunction(runner, FunctionSettings(memory_size=512))})
    result = run(lambda: backend.invoke(request(INVOKE, {"FunctionName": "f", "LogType": "Tail"})))
    assert isinstance(result, TaskSuccess)
    assert isinstance(result.output, dict)
    log = base64.b64decode(str(result.output["LogResult"])).decode()
    assert "\tMemory Size: 512 MB\t" in log
    assert runner.calls[0].memory_size == 512


@pytest.mark.parametrize("via", VIAS)
def test_a_raised_error_becomes_the_lambda_error_envelope(via: str) -> None:
    runner = scripted(via, Raised("ValueError", "bad input", ('  File "h.py", line 3\n',)))
    backend = LambdaBackend({"f": LambdaFunction(runner)})
    result = run(lambda: call_via(backend, via, request(ARN + "f")))
    assert isinstance(result, TaskFailure)
    rid = rid_of(result.cause)
    assert result == TaskFailure(
        "ValueError",
        '{"errorMessage":"bad input","errorType":"ValueError","requestId":"'
        + rid
        + '","stackTrace":["  File \\"h.py\\", line 3\\n"]}',
    )


@pytest.mark.parametrize("via", VIAS)
def test_a_runners_own_failure_passes_through(via: str) -> None:
    failure = TaskFailure("Lambda.Unknown", "crashed")
    backend = LambdaBackend({"f": LambdaFunction(scripted(via, failure))})
    assert run(lambda: call_via(backend, via, request(ARN + "f"))) == failure


@pytest.mark.parametrize("via", VIAS)
def test_a_response_over_the_payload_limit_is_refused(via: str) -> None:
    backend = LambdaBackend(
        {"f": LambdaFunction(scripted(via, Returned(PAYLOAD_LIMIT_BYTES + 1, None)))}
    )
    assert run(lambda: call_via(backend, via, request(ARN + "f"))) == TaskFailure(
        "States.DataLimitExceeded",
        f"The state/task '{ARN}f' returned a result with a size exceeding the maximum number "
        "of bytes service limit.",
    )


def test_call_serves_a_service_integration_with_a_function() -> None:
    runner = Scripted(Returned(15, {"MessageId": "m-1"}))
    backend = LambdaBackend({"queue": LambdaFunction(runner)})
    sqs = TaskRequest(
        resource="arn:aws:states:::sqs:sendMessage",
        payload={"QueueUrl": "q", "MessageBody": "hi"},
        execution_arn="arn:aws:states:us-east-1:111111111111:execution:m:e",
        state_name="Send",
    )
    assert run(lambda: backend.call("queue", sqs)) == TaskSuccess({"MessageId": "m-1"})
    assert runner.calls[0].event_text == '{"QueueUrl": "q", "MessageBody": "hi"}'


@pytest.mark.parametrize("via", VIAS)
def test_an_unknown_function_is_lambdas_resource_not_found(via: str) -> None:
    backend = LambdaBackend({})
    result = run(lambda: call_via(backend, via, request(ARN + "nope")))
    assert isinstance(result, TaskFailure)
    assert result.error == "Lambda.ResourceNotFoundException"


def test_close_closes_every_runner() -> None:
    runners = [Scripted(), Scripted()]
    backend = LambdaBackend({"a": LambdaFunction(runners[0]), "b": LambdaFunction(runners[1])})
    backend.close()
    assert [r.closed for r in runners] == [True, True]


def test_aclose_awaits_a_runners_aclose_and_closes_the_others() -> None:
    class Pooled(Scripted):
        def __init__(self) -> None:
            super().__init__()
            self.aclosed = False

        async def aclose(self) -> None:
            await asyncio.sleep(0)
            self.aclosed = True

    pooled, plain = Pooled(), Scripted()
    backend = LambdaBackend({"a": LambdaFunction(pooled), "b": LambdaFunction(plain)})
    run(backend.aclose)
    assert (pooled.aclosed, pooled.closed, plain.closed) == (True, False, True)


# --------------------------------------------------------------------------- start_invoke


class Held(Submitting):
    """A submitting runner whose calls never finish unless their event is "quick"."""

    def submit(
        self, invocation: Invocation, on_done: Callable[[asyncio.Future[Outcome]], None]
    ) -> asyncio.Future[Outcome]:
        self.calls.append(invocation)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        future.add_done_callback(on_done)
        if invocation.event_text == '"quick"':
            future.set_result(Returned(7, "quick"))
        return future


def test_start_invoke_times_each_call_out_at_its_own_deadline() -> None:
    """One timer serves every call of a timeout (functions.py, _Deadlines): a call is never
    timed out before its own deadline, whatever finished or timed out before it."""
    runner = Held()
    backend = LambdaBackend({"f": LambdaFunction(runner, FunctionSettings(timeout=0.05))})

    async def scenario() -> list[tuple[TaskResult, float]]:
        loop = asyncio.get_running_loop()

        async def timed(event: str) -> tuple[TaskResult, float]:
            begun = loop.time()
            answer: asyncio.Future[TaskResult] = loop.create_future()
            started = backend.start_invoke(request(ARN + "f", event), answer.set_result)
            assert isinstance(started, asyncio.Future)
            return await answer, loop.time() - begun

        first = asyncio.ensure_future(timed("hang"))
        await asyncio.sleep(0.02)
        later = [asyncio.ensure_future(timed(event)) for event in ("quick", "hang")]
        await first
        last = await timed("hang")  # started after the first timed out
        return [first.result(), *[await call for call in later], last]

    answers = run(scenario)
    assert [r.error if isinstance(r, TaskFailure) else r for r, _ in answers] == [
        "Sandbox.Timedout",
        TaskSuccess("quick"),
        "Sandbox.Timedout",
        "Sandbox.Timedout",
    ]
    resolution = 0.001
    for result, elapsed in answers:
        if isinstance(result, TaskFailure):
            assert elapsed >= 0.05 - resolution
    stats = backend.stats("f")
    assert (stats.invocations, stats.timeouts, stats.running) == (4, 3, 0)


def test_start_invoke_cancelled_call_frees_its_slot_and_never_answers() -> None:
    runner = Held()
    backend = LambdaBackend(
        {"f": LambdaFunction(runner, FunctionSettings(timeout=0.05, reserved_concurrency=1))}
    )

    async def scenario() -> tuple[list[TaskResult], TaskResult | asyncio.Future[Outcome] | None]:
        answers: list[TaskResult] = []
        first = backend.start_invoke(request(ARN + "f", "hang"), answers.append)
        assert isinstance(first, asyncio.Future)
        assert backend.stats("f").running == 1
        first.cancel()  # as the runtime's CancelTask does
        await until(lambda: backend.stats("f").running == 0)
        second = backend.start_invoke(request(ARN + "f", "quick"), answers.append)
        await asyncio.sleep(0.1)  # past the first call's deadline: its timer finds it done
        return answers, second

    answers, second = run(scenario)
    assert isinstance(second, asyncio.Future)
    assert answers == [TaskSuccess("quick")]  # nothing for the cancelled call, no timeout
    stats = backend.stats("f")
    assert (stats.invocations, stats.timeouts, stats.throttles, stats.running) == (2, 0, 0, 0)
