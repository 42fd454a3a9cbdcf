"""The sample project's own tests: only the asl-engine plugin's fixtures and engine.testing."""

from pathlib import Path

import pytest

from engine.testing import (
    assert_failed,
    assert_history_shape,
    assert_idempotent_start,
    assert_name_taken,
    assert_not_idempotent_start,
    assert_path,
    assert_resumed,
    assert_state_output,
    assert_succeeded,
    assert_task_calls,
)

MACHINE = Path(__file__).with_name("order.asl.json")
APPROVAL = Path(__file__).with_name("approval.asl.json")
ORDER = {"orderId": "o-1", "amount": 25, "card": "4242"}


def test_an_order_is_charged_then_confirmed_a_day_later(asl_engine):
    machine = asl_engine.load(MACHINE)  # named "order", after its file
    result = asl_engine.run(machine, ORDER)

    assert_succeeded(result, {"orderId": "o-1", "charged": "ch-o-1"})
    assert_path(result, ["Check", "Charge", "Settle", "Confirm"])
    assert_state_output(
        result, "Charge", {**ORDER, "payment": {"chargeId": "ch-o-1", "amount": 25}}
    )
    assert_task_calls(result, {"Charge": 1, "Confirm": 1})
    # the day-long Wait took no real time: the virtual clock jumped over it
    assert result.stop_date - result.start_date >= 86400


def test_a_flaky_provider_is_retried(asl_engine):
    result = asl_engine.run(asl_engine.load(MACHINE), {**ORDER, "card": "flaky"})

    assert_succeeded(result)
    assert_task_calls(result, {"Charge": 2, "Confirm": 1})
    assert_history_shape(
        result,
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionFailed",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ],
    )


@pytest.mark.parametrize(
    ("order", "path", "error"),
    [
        ({**ORDER, "card": "0000"}, ["Check", "Charge", "Declined"], "Order.Declined"),
        ({**ORDER, "amount": 0}, ["Check", "Rejected"], "Order.Rejected"),
    ],
    ids=["declined", "nothing to charge"],
)
def test_orders_that_fail(asl_engine, order, path, error):
    result = asl_engine.run(asl_engine.load(MACHINE), order)

    assert_failed(result, error)
    assert_path(result, path)


def test_the_mock_config_test_case_replaces_the_charge(asl_engine):
    result = asl_engine.run(asl_engine.load(MACHINE), ORDER, test_case="ProviderDown")

    assert_failed(result, "ProviderUnavailable", "the payment provider timed out")
    assert_task_calls(result, {"Charge": 3, "Confirm": 0})


@pytest.mark.parametrize("session", ["asl_engine", "asl_service"])
def test_a_duplicate_start_while_waiting_is_the_same_execution(request, session):
    """AWS's StartExecution rule, on the in-memory engine and on the durable service alike."""
    sessions = request.getfixturevalue(session)
    machine = sessions.load(APPROVAL)
    # the same name and input while it waits: the same execution; another input: refused
    arn = assert_idempotent_start(sessions, machine, ORDER, name="approve-o-1")

    sessions.send_task_success(sessions.task_token(arn), {"approved": True})
    assert sessions.result(arn).output == {"approved": True}
    assert_name_taken(sessions, machine, ORDER, name="approve-o-1")  # closed: still taken


def test_express_starts_are_never_idempotent(asl_engine):
    machine = asl_engine.load(MACHINE, machine_type="EXPRESS")
    first, second = assert_not_idempotent_start(asl_engine, machine, ORDER, name="order-o-1")
    assert_succeeded(asl_engine.result(first))
    assert_succeeded(asl_engine.result(second))


@pytest.mark.anyio
async def test_the_async_engine(asl_async_engine):
    machine = asl_async_engine.load(MACHINE.read_text(), name="order")
    result = await asl_async_engine.run(machine, ORDER)
    assert_path(result, ["Check", "Charge", "Settle", "Confirm"])


@pytest.mark.anyio
async def test_the_async_service(asl_async_service):
    machine, _ = await asl_async_service.create_state_machine("order", MACHINE.read_text())
    started = await asl_async_service.start_execution(machine.arn, input_text='{"amount": 0}')
    assert_failed(await asl_async_service.wait_for(started.arn), "Order.Rejected")
    history = await asl_async_service.get_history(started.arn)
    assert [event.type for event in history][-1] == "ExecutionFailed"


def test_a_charge_is_never_repeated_after_a_crash(asl_crash_harness, asl_call_ledger):
    arn = asl_crash_harness.start(MACHINE, ORDER)
    # kill -9 the worker after `charge` returned but before its result was committed
    asl_crash_harness.crash_and_recover("after_task:1")

    asl_call_ledger.invoked_once("charge", orderId="o-1")
    assert_resumed(asl_crash_harness, arn, status="FAILED", entered={"Check": 1, "Charge": 1})
