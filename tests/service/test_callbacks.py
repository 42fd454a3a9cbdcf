"""Service: task-token callbacks (success, failure, heartbeat, timeouts) and activities."""

from __future__ import annotations

import json

import pytest

from engine.errors import InvalidRequest, ResourceNotFound
from engine.service import Service, ServiceConfig
from engine.store.base import ActivityRecord
from engine.values import PAYLOAD_LIMIT_BYTES
from tests.service.helpers import (
    PREFIX,
    T0,
    ManualClock,
    Tokens,
    callback_state,
    finish,
    run,
    text,
    types,
    until,
)

ASK = text({"StartAt": "Ask", "States": {"Ask": callback_state(End=True)}})
TWO_ASKS = text(
    {
        "StartAt": "First",
        "States": {"First": callback_state(Next="Second"), "Second": callback_state(End=True)},
    }
)
UNKNOWN = "Task Does Not Exist: the task token is unknown or closed"
TIMED_OUT = "Task Timed Out: the task of this token timed out"
MALFORMED = "Invalid Token: the task token is malformed"
CALLBACK_EVENTS = ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted"]


# -- SendTaskSuccess / SendTaskFailure ------------------------------------------------------------


def test_send_task_success_closes_the_task_with_that_output() -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", ASK)
        started = await service.start_execution(machine.arn, input_text='{"in": 1}')
        token = await tokens.next()
        await service.send_task_success(token, '{"answer": [1, "two"]}')
        closed = await finish(service, started.arn)
        assert (closed.status, closed.output) == ("SUCCEEDED", {"answer": [1, "two"]})
        history = await service.get_history(started.arn)
        assert types(history) == [
            *CALLBACK_EVENTS,
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
        assert history[5].details == {
            "taskSucceededEventDetails": {
                "resourceType": "lambda",
                "resource": "invoke.waitForTaskToken",
                "output": '{"answer":[1,"two"]}',
                "outputDetails": {"truncated": False},
            }
        }

    run(main, functions={"remember": tokens.remember})


@pytest.mark.parametrize(
    ("error", "cause", "details"),
    [
        ("Declined", "card expired", {"error": "Declined", "cause": "card expired"}),
        (None, None, {}),
    ],
    ids=["error-and-cause", "bare"],
)
def test_send_task_failure_fails_the_task_with_that_error(
    error: str | None, cause: str | None, details: dict[str, str]
) -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", ASK)
        started = await service.start_execution(machine.arn)
        await service.send_task_failure(await tokens.next(), error=error, cause=cause)
        closed = await finish(service, started.arn)
        assert (closed.status, closed.error, closed.cause, closed.output) == (
            "FAILED",
            error,
            cause,
            None,
        )
        history = await service.get_history(started.arn)
        assert types(history) == [
            *CALLBACK_EVENTS,
            "TaskSubmitted",
            "TaskFailed",
            "ExecutionFailed",
        ]
        assert history[5].details == {
            "taskFailedEventDetails": {
                "resourceType": "lambda",
                "resource": "invoke.waitForTaskToken",
                **details,
            }
        }

    run(main, functions={"remember": tokens.remember})


def test_an_answered_token_does_not_exist_any_more() -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", TWO_ASKS)
        started = await service.start_execution(machine.arn)
        first = await tokens.next()
        await service.send_task_success(first, '"one"')
        second = await tokens.next()  # the first answer was applied: First closed
        assert first != second
        for call in (
            service.send_task_success(first, '"again"'),
            service.send_task_failure(first, error="E"),
            service.send_task_heartbeat(first),
        ):
            with pytest.raises(ResourceNotFound) as caught:
                await call
            assert (caught.value.code, caught.value.message) == ("TaskDoesNotExist", UNKNOWN)

        await service.send_task_failure(second, error="Late", cause="too late")
        closed = await finish(service, started.arn)
        assert (closed.status, closed.error, closed.cause) == ("FAILED", "Late", "too late")
        with pytest.raises(ResourceNotFound) as caught:
            await service.send_task_success(second, "{}")
        assert caught.value.code == "TaskDoesNotExist"

    run(main, functions={"remember": tokens.remember})


def test_a_token_is_answered_once_also_before_a_worker_applies_the_answer() -> None:
    """`asl send-task-success TOKEN` twice from the command line (no worker in that process):
    the second call got accepted too; it gets TaskDoesNotExist, as the API answers."""
    tokens = Tokens()

    async def main(driver: Service) -> None:
        machine, _ = await driver.create_state_machine("m", ASK)
        started = await driver.start_execution(machine.arn)
        token = await tokens.next()
        # a second process on the same store, as the CLI is: it drives nothing
        async with Service(driver.store, config=ServiceConfig(worker=False)) as cli:
            await cli.send_task_success(token, '"first"')
            for call in (
                cli.send_task_success(token, '"second"'),
                cli.send_task_failure(token, error="E"),
                cli.send_task_heartbeat(token),
            ):
                with pytest.raises(ResourceNotFound) as caught:
                    await call
                assert (caught.value.code, caught.value.message) == ("TaskDoesNotExist", UNKNOWN)
        assert (await driver.describe_execution(started.arn)).status == "RUNNING"

    # The driver polls its store rarely: the first answer waits, unapplied, in its inbox.
    run(main, functions={"remember": tokens.remember}, config=ServiceConfig(poll_seconds=60))


@pytest.mark.parametrize(
    ("token", "code", "message"),
    [
        ("4b8a3c7e-0000-4000-8000-000000000000", "TaskDoesNotExist", UNKNOWN),
        ("x" * 1024, "TaskDoesNotExist", UNKNOWN),
        ("", "InvalidToken", MALFORMED),
        ("x" * 2049, "InvalidToken", MALFORMED),
    ],
    ids=["unknown", "longest-unknown", "empty", "oversized"],
)
def test_a_bad_token_is_refused(token: str, code: str, message: str) -> None:
    async def main(service: Service) -> None:
        for call in (
            service.send_task_success(token, "{}"),
            service.send_task_failure(token, error="E", cause="C"),
            service.send_task_heartbeat(token),
        ):
            with pytest.raises((ResourceNotFound, InvalidRequest)) as caught:
                await call
            assert (caught.value.code, caught.value.message) == (code, message)

    run(main)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            "{oops",
            "Invalid Output: 'Expecting property name enclosed in double quotes' at line 1, "
            "column 2",
        ),
        (
            json.dumps("x" * PAYLOAD_LIMIT_BYTES),
            f"The output exceeds the {PAYLOAD_LIMIT_BYTES} bytes limit.",
        ),
    ],
    ids=["invalid-json", "oversized"],
)
def test_send_task_success_refuses_invalid_output(output: str, message: str) -> None:
    """AWS: SendTaskSuccess answers InvalidOutput; the task keeps waiting."""
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", ASK)
        started = await service.start_execution(machine.arn)
        token = await tokens.next()
        with pytest.raises(InvalidRequest) as caught:
            await service.send_task_success(token, output)
        assert (caught.value.code, caught.value.message) == ("InvalidOutput", message)
        await service.send_task_success(token, '"fine"')
        assert (await finish(service, started.arn)).output == "fine"

    run(main, functions={"remember": tokens.remember})


def test_a_fixed_seed_still_gives_every_execution_its_own_tokens() -> None:
    tokens = Tokens()

    async def main(service: Service) -> tuple[str, str]:
        machine, _ = await service.create_state_machine("m", ASK)
        await service.start_execution(machine.arn, name="one")
        await service.start_execution(machine.arn, name="two")
        return await tokens.next(), await tokens.next()

    first, second = run(
        main,
        functions={"remember": tokens.remember},
        config=ServiceConfig(poll_seconds=0.01, seed=1),
    )
    assert first != second


# -- heartbeats -----------------------------------------------------------------------------------

HEARTBEAT_THEN_ASK = text(
    {
        "StartAt": "Ask",
        "States": {
            "Ask": callback_state(
                HeartbeatSeconds=10,
                Catch=[{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Again"}],
                End=True,
            ),
            "Again": callback_state(ResultPath="$.answer", End=True),
        },
    }
)


def test_a_token_whose_heartbeat_timed_out_gives_task_timed_out() -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", HEARTBEAT_THEN_ASK)
        started = await service.start_execution(machine.arn)
        first = await tokens.next()
        second = await tokens.next()  # the virtual clock jumped past the heartbeat: caught
        for call in (
            service.send_task_success(first, "{}"),
            service.send_task_failure(first, error="E"),
            service.send_task_heartbeat(first),
        ):
            with pytest.raises(InvalidRequest) as caught:
                await call
            assert (caught.value.code, caught.value.message) == ("TaskTimedOut", TIMED_OUT)

        await service.send_task_success(second, '"second"')
        closed = await finish(service, started.arn)
        assert (closed.status, closed.stop) == ("SUCCEEDED", T0 + 10)
        assert closed.output == {"Error": "States.HeartbeatTimeout", "answer": "second"}
        history = await service.get_history(started.arn)
        timed_out = next(e for e in history if e.type == "TaskTimedOut")
        assert (timed_out.timestamp, timed_out.details) == (
            T0 + 10,
            {
                "taskTimedOutEventDetails": {
                    "resourceType": "lambda",
                    "resource": "invoke.waitForTaskToken",
                    "error": "States.HeartbeatTimeout",
                }
            },
        )

    run(main, functions={"remember": tokens.remember})


def test_heartbeats_keep_the_task_alive_past_heartbeat_seconds() -> None:
    """Each heartbeat re-arms the HeartbeatSeconds timer from its own time (ManualClock)."""
    tokens = Tokens()
    clock = ManualClock()
    definition = text(
        {"StartAt": "Ask", "States": {"Ask": callback_state(HeartbeatSeconds=10, End=True)}}
    )

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", definition)
        started = await service.start_execution(machine.arn)
        token = await tokens.next()

        async def heartbeat_due() -> list[float]:
            timers = await service.journal.call(service.store.timers_for, started.arn)
            return [t.due for t in timers]

        assert await heartbeat_due() == [T0 + 10]
        for beat in (1, 2, 3):
            clock.advance_to(T0 + 6 * beat)  # under 10 s since the previous beat
            await service.send_task_heartbeat(token)

            async def rearmed(beat: int = beat) -> bool:
                return await heartbeat_due() == [T0 + 6 * beat + 10]

            await until(rearmed)
            assert (await service.describe_execution(started.arn)).status == "RUNNING"

        await service.send_task_success(token, '"alive"')  # at T0 + 18: past the first 10 s
        closed = await finish(service, started.arn)
        assert (closed.status, closed.output, closed.stop) == ("SUCCEEDED", "alive", T0 + 18)
        assert "TaskTimedOut" not in types(await service.get_history(started.arn))
        assert await heartbeat_due() == []

    run(main, functions={"remember": tokens.remember}, clock=clock)


# -- activities -----------------------------------------------------------------------------------

ACTIVITY_ARN = f"{PREFIX}:activity:work"
ACTIVITY_MACHINE = text(
    {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": ACTIVITY_ARN, "End": True}}}
)
ACTIVITY_EVENTS = ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted"]


def test_create_activity_is_idempotent() -> None:
    async def main(service: Service) -> None:
        first = await service.create_activity("work", tags={"team": "a"})
        assert first == ActivityRecord(ACTIVITY_ARN, "work", T0, {"team": "a"})
        service.clock.advance_to(T0 + 60)
        assert await service.create_activity("work") == first
        assert await service.list_activities() == [first]
        assert await service.describe_activity(ACTIVITY_ARN) == first
        with pytest.raises(InvalidRequest) as caught:
            await service.create_activity("bad name")
        assert caught.value.code == "InvalidName"
        assert "an activity name has 1 to 80 characters" in caught.value.message
        await service.delete_activity(ACTIVITY_ARN)
        with pytest.raises(ResourceNotFound) as missing:
            await service.describe_activity(ACTIVITY_ARN)
        assert (missing.value.code, missing.value.message) == (
            "ActivityDoesNotExist",
            f"Activity Does Not Exist: '{ACTIVITY_ARN}'",
        )

    run(main)


def test_get_activity_task_returns_none_when_nothing_is_scheduled() -> None:
    async def main(service: Service) -> None:
        activity = await service.create_activity("work")
        assert await service.get_activity_task(activity.arn, "w1", wait_seconds=0.1) is None
        with pytest.raises(ResourceNotFound) as caught:
            await service.get_activity_task(f"{PREFIX}:activity:nope", wait_seconds=0.1)
        assert caught.value.code == "ActivityDoesNotExist"

    run(main)


def test_an_activity_task_reaches_a_worker_and_its_success_closes_it() -> None:
    async def main(service: Service) -> None:
        activity = await service.create_activity("work")
        machine, _ = await service.create_state_machine("m", ACTIVITY_MACHINE)
        started = await service.start_execution(machine.arn, input_text='{"x": 1}')
        task = await service.get_activity_task(activity.arn, "w1", wait_seconds=5)
        assert task is not None
        assert (task.activity_arn, task.execution_arn, task.input, task.worker_name) == (
            ACTIVITY_ARN,
            started.arn,
            {"x": 1},
            "w1",
        )
        assert len(task.token) == 36
        # handed out once: another worker finds nothing
        assert await service.get_activity_task(activity.arn, "w2", wait_seconds=0.1) is None

        await service.send_task_success(task.token, '{"done": true}')
        closed = await finish(service, started.arn)
        assert (closed.status, closed.output) == ("SUCCEEDED", {"done": True})
        history = await service.get_history(started.arn)
        assert types(history) == [
            *ACTIVITY_EVENTS,
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
        assert [e.details for e in history[2:5]] == [
            {
                "activityScheduledEventDetails": {
                    "resource": ACTIVITY_ARN,
                    "input": '{"x":1}',
                    "inputDetails": {"truncated": False},
                }
            },
            {"activityStartedEventDetails": {"workerName": "w1"}},
            {
                "activitySucceededEventDetails": {
                    "output": '{"done":true}',
                    "outputDetails": {"truncated": False},
                }
            },
        ]
        with pytest.raises(ResourceNotFound):
            await service.send_task_success(task.token, "{}")

    run(main)


def test_an_activity_failure_fails_the_execution() -> None:
    async def main(service: Service) -> None:
        activity = await service.create_activity("work")
        machine, _ = await service.create_state_machine("m", ACTIVITY_MACHINE)
        started = await service.start_execution(machine.arn)
        task = await service.get_activity_task(activity.arn, wait_seconds=5)
        assert task is not None
        await service.send_task_failure(task.token, error="Broken", cause="disk full")
        closed = await finish(service, started.arn)
        assert (closed.status, closed.error, closed.cause) == ("FAILED", "Broken", "disk full")
        history = await service.get_history(started.arn)
        assert types(history) == [*ACTIVITY_EVENTS, "ActivityFailed", "ExecutionFailed"]
        assert history[3].details == {"activityStartedEventDetails": {}}
        assert history[4].details == {
            "activityFailedEventDetails": {"error": "Broken", "cause": "disk full"}
        }

    run(main)


def test_stopping_an_execution_withdraws_its_activity_task() -> None:
    async def main(service: Service) -> None:
        activity = await service.create_activity("work")
        machine, _ = await service.create_state_machine("m", ACTIVITY_MACHINE)
        started = await service.start_execution(machine.arn)

        async def scheduled() -> bool:
            history = await service.get_history(started.arn)
            return "ActivityScheduled" in types(history)

        await until(scheduled)
        await service.stop_execution(started.arn, error="Stop")
        assert (await finish(service, started.arn)).status == "ABORTED"
        assert await service.get_activity_task(activity.arn, wait_seconds=0.1) is None

    run(main)
