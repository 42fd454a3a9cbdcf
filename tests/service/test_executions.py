"""Service: StartExecution (idempotency, Express, input, names, ARNs), retention and
StopExecution."""

from __future__ import annotations

import asyncio
import json

import pytest

from engine.errors import InvalidRequest, ResourceConflict, ResourceNotFound
from engine.service import Service, ServiceConfig
from engine.store.base import ExecutionRecord
from engine.values import PAYLOAD_LIMIT_BYTES
from tests.service.helpers import (
    PREFIX,
    T0,
    VERDICT,
    WAIT_HOUR,
    ManualClock,
    StoreFactory,
    Tokens,
    callback_machine,
    execution_arn,
    finish,
    machine_arn,
    pass_machine,
    public,
    run,
    types,
)

PASS = pass_machine()


# -- StartExecution idempotency (Standard) --------------------------------------------------------


def test_same_name_and_input_while_running_returns_the_same_execution(
    make_store: StoreFactory,
) -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", callback_machine())
        first = await service.start_execution(machine.arn, name="once", input_text='{"a": 1}')
        token = await tokens.next()
        service.clock.advance_to(T0 + 30)
        again = await service.start_execution(machine.arn, name="once", input_text='{"a": 1}')
        assert again.arn == first.arn == execution_arn("m", "once")
        assert (again.start, again.input, again.status) == (T0, {"a": 1}, "RUNNING")
        listed, _ = await service.list_executions(machine.arn)
        assert [e.arn for e in listed] == [first.arn]
        assert types(await service.get_history(first.arn)).count("ExecutionStarted") == 1
        await service.send_task_success(token, "{}")
        assert (await finish(service, first.arn)).status == "SUCCEEDED"
        with pytest.raises(ResourceConflict):  # closed now: the name stays taken
            await service.start_execution(machine.arn, name="once", input_text='{"a": 1}')

    run(main, store=make_store(), functions={"remember": tokens.remember})


def test_same_name_with_other_input_while_running_already_exists() -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", callback_machine())
        first = await service.start_execution(machine.arn, name="once", input_text='{"a": 1}')
        await tokens.next()
        with pytest.raises(ResourceConflict) as caught:
            await service.start_execution(machine.arn, name="once", input_text='{"a": 2}')
        assert (caught.value.code, caught.value.message) == (
            "ExecutionAlreadyExists",
            f"Execution Already Exists: '{first.arn}'",
        )
        assert (await service.describe_execution(first.arn)).input == {"a": 1}

    run(main, functions={"remember": tokens.remember})


@pytest.mark.parametrize("second_input", ['{"a": 1}', '{"a": 2}'], ids=["same", "other"])
def test_same_name_after_the_execution_closed_already_exists(second_input: str) -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", PASS)
        first = await service.start_execution(machine.arn, name="once", input_text='{"a": 1}')
        closed = await finish(service, first.arn)
        assert closed.status == "SUCCEEDED"
        with pytest.raises(ResourceConflict) as caught:
            await service.start_execution(machine.arn, name="once", input_text=second_input)
        assert caught.value.code == "ExecutionAlreadyExists"
        assert public(await service.describe_execution(first.arn)) == closed

    run(main)


def test_a_name_is_free_again_once_its_history_passed_retention(make_store: StoreFactory) -> None:
    config = ServiceConfig(poll_seconds=0.01, retention_seconds=1000)

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", PASS)
        first = await finish(service, (await service.start_execution(machine.arn, name="n")).arn)
        assert (first.status, first.stop) == ("SUCCEEDED", T0)

        service.clock.advance_to(T0 + 999)  # still inside the window
        assert await service.purge_expired() == 0
        with pytest.raises(ResourceConflict):
            await service.start_execution(machine.arn, name="n")

        service.clock.advance_to(T0 + 1001)
        assert await service.purge_expired() == 1
        with pytest.raises(ResourceNotFound) as caught:
            await service.describe_execution(first.arn)
        assert caught.value.code == "ExecutionDoesNotExist"

        second = await service.start_execution(machine.arn, name="n", input_text='{"b": 2}')
        assert (second.arn, second.start, second.input, second.status) == (
            first.arn,
            T0 + 1001,
            {"b": 2},
            "RUNNING",
        )

    run(main, store=make_store(), config=config)


def test_an_execution_reusing_a_purged_name_runs(make_store: StoreFactory) -> None:
    # poll_seconds=60: the worker does not tick between the purge and the new start, as when
    # a start follows the purge closely
    config = ServiceConfig(poll_seconds=60, retention_seconds=1000)

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", pass_machine(result="second"))
        first = await finish(service, (await service.start_execution(machine.arn, name="n")).arn)
        assert first.output == "second"
        service.clock.advance_to(T0 + 1001)
        assert await service.purge_expired() == 1

        second = await service.start_execution(machine.arn, name="n", input_text='{"b": 2}')
        closed = await finish(service, second.arn)
        assert (closed.status, closed.start, closed.stop) == ("SUCCEEDED", T0 + 1001, T0 + 1001)
        assert types(await service.get_history(second.arn)) == [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]

    run(main, store=make_store(), config=config)


def test_a_running_execution_is_never_purged() -> None:
    tokens = Tokens()
    config = ServiceConfig(poll_seconds=0.01, retention_seconds=10)

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", callback_machine())
        started = await service.start_execution(machine.arn, name="n")
        await tokens.next()
        service.clock.advance_to(T0 + 100)
        assert await service.purge_expired() == 0
        assert (await service.describe_execution(started.arn)).status == "RUNNING"

    run(main, functions={"remember": tokens.remember}, config=config)


# -- Express --------------------------------------------------------------------------------------


def test_remembered_starts_stay_bounded_while_executions_run(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: once the bound was reached, each start scanned every remembered start and
    dropped only closed ones, so with executions still running the map grew past its bound and
    every start got slower. Now the oldest is forgotten; waiting for it reads the store."""
    monkeypatch.setattr("engine.service.executions.STARTS_REMEMBERED", 3)
    tokens = Tokens()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", callback_machine())
        arns = []
        for index in range(5):
            started = await service.start_execution(machine.arn, name=f"e{index}")
            arns.append(started.arn)
            assert len(service._started) <= 3  # the bound, whatever is still running
        for _ in arns:
            await service.send_task_success(await tokens.next(), "{}")
        for arn in arns:  # forgotten (e0, e1) and remembered (e2..e4) alike
            closed = await finish(service, arn)
            assert (closed.arn, closed.status, closed.output) == (arn, "SUCCEEDED", "done")

    run(main, store=make_store(), functions={"remember": tokens.remember})


def test_express_start_is_not_idempotent() -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("x", PASS, machine_type="EXPRESS")
        first = await service.start_execution(machine.arn, name="same", input_text="{}")
        second = await service.start_execution(machine.arn, name="same", input_text="{}")
        assert first.arn != second.arn
        for record in (first, second):
            head, uuid_part = record.arn.rsplit(":", 1)
            assert head == f"{PREFIX}:express:x:same"
            assert len(uuid_part) == 36
            assert (record.name, record.machine_type) == ("same", "EXPRESS")
            assert (await finish(service, record.arn)).status == "SUCCEEDED"

    run(main)


def test_start_sync_execution_returns_the_closed_record() -> None:
    async def main(service: Service) -> ExecutionRecord:
        machine, _ = await service.create_state_machine(
            "x", pass_machine(result={"r": 1}), machine_type="EXPRESS"
        )
        return await service.start_sync_execution(machine.arn, name="s", input_text='{"i": 0}')

    record = run(main)
    assert record.arn.startswith(f"{PREFIX}:express:x:s:")
    assert (record.status, record.input, record.output, record.sync) == (
        "SUCCEEDED",
        {"i": 0},
        {"r": 1},
        True,
    )
    assert (record.start, record.stop, record.error, record.cause) == (T0, T0, None, None)


def test_start_sync_execution_of_a_failing_machine_returns_the_failure() -> None:
    async def main(service: Service) -> ExecutionRecord:
        machine, _ = await service.create_state_machine("x", VERDICT, machine_type="EXPRESS")
        return await service.start_sync_execution(machine.arn, input_text='{"ok": false}')

    record = run(main)
    assert (record.status, record.output, record.error, record.cause) == (
        "FAILED",
        None,
        "Rejected",
        "not ok",
    )


def test_start_sync_execution_of_a_standard_machine_is_not_supported() -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", PASS)
        with pytest.raises(InvalidRequest) as caught:
            await service.start_sync_execution(machine.arn, name="s")
        assert (caught.value.code, caught.value.message) == (
            "StateMachineTypeNotSupported",
            "This operation is not supported by this type of state machine",
        )
        listed, _ = await service.list_executions(machine.arn)
        assert listed == []

    run(main)


# -- input, names and ARNs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("input_text", "message"),
    [
        (
            "{not json",
            "Invalid State Machine Execution Input: 'Expecting property name enclosed in double "
            "quotes' at line 1, column 2",
        ),
        ('{"a": 1} x', "Invalid State Machine Execution Input: 'Extra data' at line 1, column 10"),
        (
            json.dumps("x" * PAYLOAD_LIMIT_BYTES),  # the quotes make it 2 bytes too long
            f"The execution input exceeds the {PAYLOAD_LIMIT_BYTES} bytes limit.",
        ),
        (
            json.dumps("é" * (PAYLOAD_LIMIT_BYTES // 2)),  # UTF-8 bytes count, not characters
            f"The execution input exceeds the {PAYLOAD_LIMIT_BYTES} bytes limit.",
        ),
    ],
    ids=["invalid", "trailing", "oversized", "oversized-utf8"],
)
def test_invalid_input_is_rejected(input_text: str, message: str) -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", PASS)
        with pytest.raises(InvalidRequest) as caught:
            await service.start_execution(machine.arn, name="n", input_text=input_text)
        assert (caught.value.code, caught.value.message) == ("InvalidExecutionInput", message)
        with pytest.raises(ResourceNotFound):
            await service.describe_execution(execution_arn("m", "n"))

    run(main)


@pytest.mark.parametrize(
    ("input_text", "expected"),
    [
        (None, {}),
        ("", {}),
        ("[1, 2]", [1, 2]),
        ('"text"', "text"),
        (json.dumps("x" * (PAYLOAD_LIMIT_BYTES - 2)), "x" * (PAYLOAD_LIMIT_BYTES - 2)),
    ],
    ids=["none", "empty", "array", "string", "exactly-the-limit"],
)
def test_valid_input_reaches_the_execution(input_text: str | None, expected: object) -> None:
    async def main(service: Service) -> ExecutionRecord:
        machine, _ = await service.create_state_machine("m", PASS)
        started = await service.start_execution(machine.arn, input_text=input_text)
        return await finish(service, started.arn)

    record = run(main)
    assert (record.status, record.input, record.output) == ("SUCCEEDED", expected, expected)


def test_a_generated_name_is_a_uuid() -> None:
    async def main(service: Service) -> ExecutionRecord:
        machine, _ = await service.create_state_machine("m", PASS)
        return await service.start_execution(machine.arn)

    record = run(main)
    assert len(record.name) == 36
    assert record.arn == execution_arn("m", record.name)


@pytest.mark.parametrize("name", ["a b", "x" * 81, "[x]"], ids=["space", "81-chars", "brackets"])
def test_an_invalid_execution_name_is_rejected(name: str) -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", PASS)
        with pytest.raises(InvalidRequest) as caught:
            await service.start_execution(machine.arn, name=name)
        assert caught.value.code == "InvalidName"
        assert "an execution name has 1 to 80 characters" in caught.value.message

    run(main)


def test_an_unknown_machine_does_not_exist() -> None:
    async def main(service: Service) -> None:
        with pytest.raises(ResourceNotFound) as caught:
            await service.start_execution(machine_arn("nope"), name="n")
        assert (caught.value.code, caught.value.message) == (
            "StateMachineDoesNotExist",
            f"State Machine Does Not Exist: '{machine_arn('nope')}'",
        )

    run(main)


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "",
        f"{PREFIX}:activity:m",
        "arn:aws:lambda:us-east-1:111111111111:function:m",
        "arn:aws:states:us-east-1:111111111111:stateMachine",
        f"{PREFIX}:execution:m:e",
    ],
    ids=["garbage", "empty", "activity", "lambda", "no-name", "execution"],
)
def test_a_malformed_machine_arn_is_invalid(arn: str) -> None:
    async def main(service: Service) -> None:
        for call in (service.start_execution, service.describe_state_machine):
            with pytest.raises(InvalidRequest) as caught:
                await call(arn)
            assert (caught.value.code, caught.value.message) == (
                "InvalidArn",
                f"Invalid Arn: '{arn}'",
            )

    run(main)


def test_describe_execution_checks_the_arn() -> None:
    async def main(service: Service) -> None:
        with pytest.raises(InvalidRequest) as invalid:
            await service.describe_execution(machine_arn("m"))
        assert invalid.value.code == "InvalidArn"
        with pytest.raises(ResourceNotFound) as missing:
            await service.describe_execution(execution_arn("m", "nope"))
        assert (missing.value.code, missing.value.message) == (
            "ExecutionDoesNotExist",
            f"Execution Does Not Exist: '{execution_arn('m', 'nope')}'",
        )

    run(main)


# -- waiting for an execution --------------------------------------------------------------------


@pytest.mark.parametrize(
    "way", ["kept-record", "second-waiter", "runtime-let-go"], ids=lambda way: way
)
def test_wait_for_returns_the_same_closed_record_however_it_learns_the_close(way: str) -> None:
    """`wait_for` learns of a close from the runtime with the record its start kept, or reads
    the store (a second waiter, or once the worker's round let go of the execution). Which way
    is timing (the worker's round), so the record must not differ: it once carried the store's
    interpreter snapshot on the second ways only, and a stop test compared it flakily."""

    async def main(service: Service) -> None:
        # a Wait (instant on the virtual clock): a step before the close, so a snapshot stored
        machine, _ = await service.create_state_machine("m", WAIT_HOUR)
        arn = (await service.start_execution(machine.arn, name="n")).arn
        if way == "kept-record":
            records = [await service.wait_for(arn)]
        elif way == "second-waiter":
            records = list(await asyncio.gather(service.wait_for(arn), service.wait_for(arn)))
        else:
            records = [await service.wait_for(arn)]
            service.runtime.forget(arn)  # what the worker's round does once it closed
            assert arn not in service.runtime.executions
            records.append(await service.wait_for(arn))
        stored = await service.describe_execution(arn)
        assert stored.state is not None  # the store keeps the snapshot; wait_for leaves it out
        assert stored.status == "SUCCEEDED"
        assert records == [public(stored)] * len(records)

    run(main)


# -- StopExecution --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "cause", "details"),
    [
        ("Operator", "stopped by hand", {"error": "Operator", "cause": "stopped by hand"}),
        (None, None, {}),
    ],
    ids=["with-error-and-cause", "bare"],
)
def test_stop_aborts_a_waiting_execution(
    error: str | None, cause: str | None, details: dict[str, str]
) -> None:
    clock = ManualClock()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", WAIT_HOUR)
        started = await service.start_execution(machine.arn, name="n")
        clock.advance_to(T0 + 10)
        # this process drives the execution: the stop is applied before the call returns
        stopped = await service.stop_execution(started.arn, error=error, cause=cause)
        closed = await finish(service, started.arn)
        assert public(stopped) == closed
        assert (closed.status, closed.stop, closed.error, closed.cause, closed.output) == (
            "ABORTED",
            T0 + 10,
            error,
            cause,
            None,
        )
        assert public(await service.describe_execution(started.arn)) == closed
        history = await service.get_history(started.arn)
        assert types(history) == [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateAborted",
            "ExecutionAborted",
        ]
        assert history[-1].details == {"executionAbortedEventDetails": details}
        assert service.store.timers_for(started.arn) == []

    run(main, clock=clock)


def test_stopping_a_closed_execution_returns_it_unchanged() -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", PASS)
        closed = await finish(service, (await service.start_execution(machine.arn)).arn)
        service.clock.advance_to(T0 + 5)
        assert public(await service.stop_execution(closed.arn, error="E", cause="C")) == closed
        assert public(await service.describe_execution(closed.arn)) == closed
        assert types(await service.get_history(closed.arn))[-1] == "ExecutionSucceeded"

    run(main)


def test_stopping_an_unknown_execution_is_not_found() -> None:
    async def main(service: Service) -> None:
        with pytest.raises(ResourceNotFound) as caught:
            await service.stop_execution(execution_arn("m", "nope"))
        assert caught.value.code == "ExecutionDoesNotExist"

    run(main)


# -- an early branch failure with a Catch (issue 12) ----------------------------------------------

EARLY_BRANCH_FAILURE = json.dumps(
    {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
)


def test_a_parallel_whose_first_branch_fails_is_caught_durably(make_store: StoreFactory) -> None:
    """The interpreter crashed (KeyError 'root/0.b1') on this machine; under `asl serve` the
    execution then stayed RUNNING for ever and StopExecution could not end it."""
    store = make_store()

    async def main(service: Service) -> ExecutionRecord:
        machine, _ = await service.create_state_machine("m", EARLY_BRANCH_FAILURE)
        started = await service.start_execution(machine.arn, name="early")
        return await finish(service, started.arn)

    closed = run(main, store=store)
    assert (closed.status, closed.output) == ("SUCCEEDED", {"Error": "E", "Cause": "c"})
