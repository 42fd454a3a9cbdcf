"""Service: RedriveExecution re-runs only what failed, and AWS's rules on what is redrivable."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest

from engine.errors import InvalidRequest, ResourceNotFound
from engine.service import Service
from engine.values import JSON
from tests.service.helpers import (
    BOUND_SECONDS,
    LAMBDA,
    T0,
    Tokens,
    callback_state,
    execution_arn,
    finish,
    pass_machine,
    run,
    text,
    types,
    until,
)

# Three items, one at a time; item 3 fails on its first call only. The Pass after the Map
# reports `$$.Execution.RedriveCount`.
MAP = text(
    {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": f"{LAMBDA}flaky", "End": True}},
                },
                "Next": "Report",
            },
            "Report": {
                "Type": "Pass",
                "Parameters": {"results.$": "$", "redrives.$": "$$.Execution.RedriveCount"},
                "End": True,
            },
        },
    }
)


ASK = text({"StartAt": "Ask", "States": {"Ask": callback_state(End=True)}})


class Flaky:
    """The `flaky` Lambda function: item 3 raises on its first call; counts every call."""

    def __init__(self) -> None:
        self.calls: Counter[int] = Counter()
        self._lock = threading.Lock()

    def flaky(self, event: int, context: object) -> int:
        with self._lock:
            self.calls[event] += 1
            first = self.calls[event] == 1
        if event == 3 and first:
            raise RuntimeError("item 3 is not ready")
        return event * 10


async def closed_again(service: Service, arn: str) -> None:
    """Until a redriven execution closed again (read from the store)."""

    async def closed() -> bool:
        return (await service.describe_execution(arn)).status != "RUNNING"

    await until(closed)


def test_redrive_reruns_only_the_failed_iteration() -> None:
    flaky = Flaky()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", MAP)
        started = await service.start_execution(machine.arn, name="r", input_text="[1, 2, 3]")
        failed = await finish(service, started.arn)
        assert (failed.status, failed.error, failed.redrive_count) == ("FAILED", "RuntimeError", 0)
        assert flaky.calls == Counter({1: 1, 2: 1, 3: 1})
        failed_events = len(await service.get_history(started.arn))

        service.clock.advance_to(T0 + 60)
        redriven = await service.redrive_execution(started.arn)
        assert (redriven.status, redriven.redrive_count, redriven.stop, redriven.error) == (
            "RUNNING",
            1,
            None,
            None,
        )
        await closed_again(service, started.arn)
        closed = await service.describe_execution(started.arn)
        assert (closed.status, closed.redrive_count) == ("SUCCEEDED", 1)
        assert closed.stop is not None
        assert T0 + 60 <= closed.stop < T0 + 61  # the clock follows real time while tasks run
        assert closed.output == {"results": [10, 20, 30], "redrives": 1}
        assert flaky.calls == Counter({1: 1, 2: 1, 3: 2})  # only item 3 ran again

        history = await service.get_history(started.arn)
        assert [e.id for e in history] == list(range(1, len(history) + 1))
        again = history[failed_events:]
        assert (again[0].type, again[0].details, again[0].timestamp) == (
            "ExecutionRedriven",
            {"executionRedrivenEventDetails": {"redriveCount": 1}},
            T0 + 60,
        )
        iterations = [e.details for e in again if e.type == "MapIterationStarted"]
        assert iterations == [{"mapIterationStartedEventDetails": {"name": "Each", "index": 2}}]
        assert types(again)[-1] == "ExecutionSucceeded"
        assert types(history).count("ExecutionStarted") == 1

    run(main, functions={"flaky": flaky.flaky})


def test_wait_for_right_after_redrive_waits_for_the_redriven_run() -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", ASK)
        started = await service.start_execution(machine.arn)
        await tokens.next()
        await service.stop_execution(started.arn)
        assert (await finish(service, started.arn)).status == "ABORTED"

        async def answer() -> None:
            await service.send_task_success(await tokens.next(), '"done"')

        answering = asyncio.ensure_future(answer())
        await service.redrive_execution(started.arn)
        # awaited inline (asyncio.timeout, not wait_for's task): it runs before the worker's
        # next tick, as a caller's `redrive, then wait` does
        async with asyncio.timeout(BOUND_SECONDS):
            closed = await service.wait_for(started.arn)
            await answering
        assert (closed.status, closed.output, closed.redrive_count) == ("SUCCEEDED", "done", 1)

    run(main, functions={"remember": tokens.remember})


def test_a_stopped_execution_can_be_redriven() -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", ASK)
        started = await service.start_execution(machine.arn)
        first = await tokens.next()
        await service.stop_execution(started.arn, error="Oops")
        assert (await finish(service, started.arn)).status == "ABORTED"

        await service.redrive_execution(started.arn)
        second = await tokens.next()  # the aborted task runs again, with a new token
        assert second != first
        await service.send_task_success(second, '"done"')
        await closed_again(service, started.arn)
        closed = await service.describe_execution(started.arn)
        assert (closed.status, closed.output, closed.redrive_count) == ("SUCCEEDED", "done", 1)

    run(main, functions={"remember": tokens.remember})


def not_redrivable(arn: str, why: str) -> tuple[str, str]:
    return ("ExecutionNotRedrivable", f"Execution '{arn}' cannot be redriven: {why}.")


def test_a_succeeded_execution_is_not_redrivable() -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", pass_machine())
        started = await service.start_execution(machine.arn, name="ok")
        await finish(service, started.arn)
        with pytest.raises(InvalidRequest) as caught:
            await service.redrive_execution(started.arn)
        assert (caught.value.code, caught.value.message) == not_redrivable(
            started.arn, "the execution is SUCCEEDED"
        )

    run(main)


def test_a_running_execution_is_not_redrivable() -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", ASK)
        started = await service.start_execution(machine.arn, name="busy")
        await tokens.next()
        with pytest.raises(InvalidRequest) as caught:
            await service.redrive_execution(started.arn)
        assert (caught.value.code, caught.value.message) == not_redrivable(
            started.arn, "the execution is RUNNING"
        )

    run(main, functions={"remember": tokens.remember})


def test_an_express_execution_is_not_redrivable() -> None:
    failing: dict[str, JSON] = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("x", text(failing), machine_type="EXPRESS")
        started = await service.start_execution(machine.arn)
        assert (await finish(service, started.arn)).status == "FAILED"
        with pytest.raises(InvalidRequest) as caught:
            await service.redrive_execution(started.arn)
        assert (caught.value.code, caught.value.message) == not_redrivable(
            started.arn, "Express executions cannot be redriven"
        )

    run(main)


def test_redrive_is_refused_14_days_after_the_execution_closed() -> None:
    flaky = Flaky()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", MAP)
        started = await service.start_execution(machine.arn, input_text="[3]")
        stop = (await finish(service, started.arn)).stop
        assert stop is not None
        service.clock.advance_to(stop + 14 * 86_400 + 1)
        with pytest.raises(InvalidRequest) as caught:
            await service.redrive_execution(started.arn)
        assert (caught.value.code, caught.value.message) == not_redrivable(
            started.arn, "the execution closed more than 14 days ago"
        )
        assert (await service.describe_execution(started.arn)).status == "FAILED"

    run(main, functions={"flaky": flaky.flaky})


def test_redrive_of_an_unknown_execution_is_not_found() -> None:
    async def main(service: Service) -> None:
        with pytest.raises(ResourceNotFound) as caught:
            await service.redrive_execution(execution_arn("m", "nope"))
        assert caught.value.code == "ExecutionDoesNotExist"

    run(main)
