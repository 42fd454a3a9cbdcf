"""The handler pool's batched hand-offs: results of many calls reach the loop together, and
every call in a batch keeps its own outcome (a raise, a timeout, an unserialisable result).

The pool's other promises (the bound, abandoning hung threads, dropping calls cancelled while
queued) are tested through the backend in test_python.py.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from contextvars import Context
from functools import partial

from engine.backends.functions import FunctionSettings
from engine.backends.python import HandlerPool, PoolStats, PythonFunctionBackend
from engine.backends.runner import Outcome, Returned
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.values import JSON

ARN = "arn:aws:lambda:us-east-1:111111111111:function:"


def request(name: str, payload: JSON) -> TaskRequest:
    return TaskRequest(
        resource=ARN + name,
        payload=payload,
        execution_arn="arn:aws:states:us-east-1:111111111111:execution:m:e",
        state_name="Task",
    )


class CountingLoop(asyncio.SelectorEventLoop):
    """An event loop that counts the callbacks other threads hand it."""

    def __init__(self) -> None:
        super().__init__()
        self.handed_over = 0

    def call_soon_threadsafe(
        self, callback: Callable[..., object], *args: object, context: Context | None = None
    ) -> asyncio.Handle:
        self.handed_over += 1
        return super().call_soon_threadsafe(callback, *args, context=context)


def test_results_finished_while_the_loop_is_busy_reach_it_with_one_hand_over() -> None:
    last_running = threading.Event()

    def quick(n: int) -> Outcome:
        return Returned(1, n)

    def last() -> Outcome:
        last_running.set()  # one thread runs the jobs in turn: the others are posted by now
        return Returned(1, "last")

    async def scenario() -> tuple[list[Outcome], int]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, CountingLoop)
        pool = HandlerPool(max_workers=1)
        try:
            handed_before = loop.handed_over
            futures = [pool.submit(partial(quick, n)) for n in range(5)]
            futures.append(pool.submit(last))
            # The loop is busy (blocked here, on purpose) while the thread runs the jobs.
            assert last_running.wait(10)
            outcomes = [await future for future in futures]
            return outcomes, loop.handed_over - handed_before
        finally:
            pool.close()

    with asyncio.Runner(loop_factory=CountingLoop) as runner:
        outcomes, handed_over = runner.run(scenario())
    assert outcomes == [*(Returned(1, n) for n in range(5)), Returned(1, "last")]
    # The five results posted while the loop was blocked came back with one hand-over; the
    # last one joined them, or came back on its own if the loop had drained them first.
    assert handed_over in (1, 2)


def test_a_call_cancelled_after_its_handler_returned_keeps_its_thread() -> None:
    second_running = threading.Event()

    def first() -> Outcome:
        return Returned(1, "first")

    def second() -> Outcome:
        second_running.set()  # the same thread posted the first result before taking this
        return Returned(1, "second")

    async def scenario() -> tuple[bool, Outcome, PoolStats]:
        pool = HandlerPool(max_workers=1)
        try:
            finished = pool.submit(first)
            following = pool.submit(second)
            assert second_running.wait(10)  # the loop is blocked: nothing was drained yet
            finished.cancel()  # its result waits for the loop: nothing to abandon
            return finished.cancelled(), await following, pool.stats()
        finally:
            pool.close()

    cancelled, outcome, stats = asyncio.run(scenario())
    assert cancelled
    assert outcome == Returned(1, "second")
    assert (stats.abandoned, stats.abandoned_total, stats.queued) == (0, 0, 0)


def test_one_batch_keeps_each_calls_outcome_a_raise_a_timeout_and_an_unserialisable_result() -> (
    None
):
    release = threading.Event()

    def echo(event: JSON, context: object) -> JSON:
        return event

    def boom(event: JSON, context: object) -> JSON:
        raise ValueError(f"boom {event}")

    def hang(event: JSON, context: object) -> JSON:
        release.wait(10)
        return event

    def unserialisable(event: JSON, context: object) -> object:
        return {event}

    async def scenario() -> tuple[list[TaskResult], PoolStats]:
        backend = PythonFunctionBackend(
            {"echo": echo, "boom": boom, "hang": hang, "unserialisable": unserialisable},
            max_workers=2,
            settings={
                "hang": FunctionSettings(timeout=0.2),
                "echo": FunctionSettings(timeout=10),
                "boom": FunctionSettings(timeout=10),
                "unserialisable": FunctionSettings(timeout=10),
            },
        )
        names = ["echo", "hang", "boom", "echo", "unserialisable", "echo", "echo"]
        try:
            results = await asyncio.gather(
                *(backend.invoke(request(name, n)) for n, name in enumerate(names))
            )
            return results, backend.pool_stats()
        finally:
            release.set()
            backend.close()

    results, stats = asyncio.run(scenario())
    assert results[0] == TaskSuccess(0)
    assert results[3] == TaskSuccess(3)
    assert results[5] == TaskSuccess(5)
    assert results[6] == TaskSuccess(6)

    hung = results[1]
    assert isinstance(hung, TaskFailure)
    assert hung.error == "Sandbox.Timedout"
    assert hung.cause is not None
    timed_out = json.loads(hung.cause)
    rid = timed_out["errorMessage"].split()[1]
    assert hung.cause == json.dumps(
        {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {rid} Error: Task timed out after 0.20 seconds",
        },
        separators=(",", ":"),
    )

    raised = results[2]
    assert isinstance(raised, TaskFailure)
    assert raised.error == "ValueError"
    assert raised.cause is not None
    envelope = json.loads(raised.cause)
    assert list(envelope) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert (envelope["errorMessage"], envelope["errorType"]) == ("boom 2", "ValueError")
    assert envelope["stackTrace"][-1].endswith('raise ValueError(f"boom {event}")\n')

    marshal = results[4]
    assert isinstance(marshal, TaskFailure)
    assert marshal.error == "Runtime.MarshalError"
    assert marshal.cause is not None
    assert json.loads(marshal.cause)["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )
    # The hung call's thread was abandoned; the bound held for the rest.
    assert (stats.abandoned, stats.abandoned_total) == (1, 1)
    assert stats.busy + stats.idle <= stats.max_workers == 2


def test_a_pool_used_from_a_new_loop_settles_its_calls_on_that_loop() -> None:
    """One pool serves every loop that calls it: a later loop in the same thread, and a loop
    in another thread, get their own results."""
    pool = HandlerPool(2)

    async def call(value: int) -> tuple[asyncio.AbstractEventLoop, Outcome]:
        job = pool.submit(lambda: Returned(1, value))
        assert job.get_loop() is asyncio.get_running_loop()
        return asyncio.get_running_loop(), await job

    try:
        first_loop, first = asyncio.run(call(1))
        second_loop, second = asyncio.run(call(2))
        found: list[tuple[asyncio.AbstractEventLoop, Outcome]] = []
        other = threading.Thread(target=lambda: found.append(asyncio.run(call(3))))
        other.start()
        other.join()
    finally:
        pool.close()
    assert (first, second, found[0][1]) == (Returned(1, 1), Returned(1, 2), Returned(1, 3))
    assert len({id(first_loop), id(second_loop), id(found[0][0])}) == 3
