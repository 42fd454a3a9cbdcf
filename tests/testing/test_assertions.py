"""engine.testing's assertions and sessions, through the plugin's own fixtures.

Our suite has the plugin loaded like any project (its entry point), so these tests use
`asl_engine` and `asl_service` as a user would, with `asl_functions` overridden here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.errors import ResourceConflict
from engine.testing import (
    EngineSession,
    ServiceSession,
    assert_failed,
    assert_history_shape,
    assert_idempotent_start,
    assert_name_taken,
    assert_not_idempotent_start,
    assert_path,
    assert_state_output,
    assert_succeeded,
    assert_task_calls,
    event_types,
    history_events,
    state_input,
    state_output,
    states_entered,
    task_calls,
)
from engine.values import JSON

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
TRIES: dict[str, int] = {}


def flaky(event: JSON, context: object) -> JSON:
    """Fails the first time for each `key`, then returns the event."""
    assert isinstance(event, dict)
    key = str(event["key"])
    TRIES[key] = TRIES.get(key, 0) + 1
    if TRIES[key] == 1:
        raise RuntimeError("first try")
    return event


def echo(event: JSON, context: object) -> JSON:
    return event


@pytest.fixture
def asl_functions() -> dict[str, Callable[..., object]]:
    """Overrides the plugin's fixture: handlers handed in directly."""
    TRIES.clear()
    return {"flaky": flaky, "echo": echo}


def task(function: str, **fields: JSON) -> dict[str, JSON]:
    return {"Type": "Task", "Resource": LAMBDA + function, **fields}


RETRY = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5}]
FAN_OUT: dict[str, JSON] = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Left",
                    "States": {
                        "Left": task("flaky", Parameters={"key": "l"}, Retry=RETRY, End=True)
                    },
                },
                {"StartAt": "Right", "States": {"Right": task("echo", End=True)}},
            ],
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "Result": "ok", "End": True},
    },
}
CALLBACK: dict[str, JSON] = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "echo", "Payload": {"t.$": "$$.Task.Token"}},
            "End": True,
        }
    },
}


def test_readers_of_a_parallel_with_a_retried_task(asl_engine: EngineSession) -> None:
    result = asl_engine.run(asl_engine.load(FAN_OUT, name="fan"), {"x": 1})
    assert_succeeded(result, "ok")
    assert sorted(states_entered(result)) == ["Both", "Done", "Left", "Right"]
    assert task_calls(result) == {"Left": 2, "Right": 1}
    assert state_input(result, "Right") == {"x": 1}
    assert state_output(result, "Both") == [{"key": "l"}, {"x": 1}]
    assert state_output(result, "Done") == "ok"
    # the same readers over the events, and over their GetExecutionHistory JSON
    assert task_calls(result.events) == task_calls(history_events(result)) == task_calls(result)


def test_a_path_mismatch_says_where_it_parts(asl_engine: EngineSession) -> None:
    result = asl_engine.run(asl_engine.load(FAN_OUT, name="fan"), {"x": 1})
    with pytest.raises(AssertionError) as failed:
        assert_path(result, ["Both"])
    taken = " → ".join(states_entered(result))
    assert str(failed.value) == (
        "the execution took another path:\n"
        f"  taken:    {taken}\n"
        "  expected: Both\n"
        f"  first difference at step 2: {states_entered(result)[1]}, expected (the end)\n"
        "  status:   SUCCEEDED"
    )


def test_output_task_and_shape_mismatches_are_spelled_out(asl_engine: EngineSession) -> None:
    result = asl_engine.run(asl_engine.load(FAN_OUT, name="fan"), {"x": 1})
    with pytest.raises(AssertionError) as output:
        assert_state_output(result, "Done", "not ok")
    assert str(output.value) == ('state \'Done\' output:\n  actual:   "ok"\n  expected: "not ok"')
    with pytest.raises(AssertionError) as missing:
        state_output(result, "Nowhere")
    assert str(missing.value).startswith("state 'Nowhere' has no such event in this history;")
    with pytest.raises(AssertionError) as calls:
        assert_task_calls(result, {"Left": 1, "Right": 1, "Other": 0})
    assert str(calls.value) == (
        "task calls differ: Left: 2 (expected 1)\n  all task calls: {'Left': 2, 'Right': 1}"
    )
    shape = event_types(result)
    with pytest.raises(AssertionError) as wrong_shape:
        assert_history_shape(result, [*shape[:-1], "ExecutionFailed"])
    assert str(wrong_shape.value).splitlines()[-2:] == ["-ExecutionFailed", "+ExecutionSucceeded"]
    assert_history_shape(result, shape)


def test_outcome_assertions(asl_engine: EngineSession) -> None:
    fail = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
    result = asl_engine.run(asl_engine.load(fail, name="f"))
    assert_failed(result, "E", "c")
    with pytest.raises(AssertionError) as not_succeeded:
        assert_succeeded(result)
    assert str(not_succeeded.value) == "the execution FAILED, expected SUCCEEDED: E: c"
    with pytest.raises(AssertionError) as other_error:
        assert_failed(result, "Other")
    assert str(other_error.value) == (
        "the execution ended FAILED (error 'E', cause 'c'); expected FAILED (error 'Other')"
    )


@pytest.fixture(params=["asl_engine", "asl_service"])
def sessions(request: pytest.FixtureRequest) -> EngineSession | ServiceSession:
    session = request.getfixturevalue(request.param)
    assert isinstance(session, EngineSession | ServiceSession)
    return session


def test_start_execution_rule_on_both_sessions(sessions: EngineSession | ServiceSession) -> None:
    """AWS's StartExecution rule (Standard) on the embedded Engine and the durable Service:
    the same answers, the same error code and message."""
    machine = sessions.load(CALLBACK, name="cb")
    arn = assert_idempotent_start(sessions, machine, {"n": 1}, name="same")
    assert arn == "arn:aws:states:us-east-1:111111111111:execution:cb:same"
    with pytest.raises(ResourceConflict) as other_input:
        sessions.start(machine, {"n": 2}, name="same")
    assert (other_input.value.code, other_input.value.message) == (
        "ExecutionAlreadyExists",
        f"Execution Already Exists: '{arn}'",
    )
    sessions.send_task_success(sessions.task_token(arn), {"done": True})
    assert sessions.result(arn).output == {"done": True}
    assert_name_taken(sessions, machine, {"n": 1}, name="same")
    with pytest.raises(AssertionError) as not_taken:
        assert_name_taken(sessions, machine, {"n": 1}, name="fresh")
    assert str(not_taken.value).startswith(
        "starting 'fresh' with input {\"n\": 1} started arn:aws:states:"
    )


def test_express_starts_are_two_executions(sessions: EngineSession | ServiceSession) -> None:
    one_pass = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    machine = sessions.load(one_pass, name="cbx", machine_type="EXPRESS")
    first, second = assert_not_idempotent_start(sessions, machine, {"n": 1}, name="same")
    assert first.startswith("arn:aws:states:us-east-1:111111111111:express:cbx:same:")
    assert second.startswith("arn:aws:states:us-east-1:111111111111:express:cbx:same:")
    with pytest.raises(AssertionError) as standard_rule:
        assert_idempotent_start(sessions, machine, {"n": 1}, name="again")
    assert str(standard_rule.value).startswith(
        "starting 'again' again with the same input gave another execution:"
    )


# FAN_OUT with the Right branch waiting a (virtual) second first: the two branches' Lambda
# calls run at once on the handler threads, so which answer is recorded first is a race on
# AWS as here; after the Wait, Left's failure is in before Right's call starts, and one
# history order is the only one.
FAN_OUT_IN_TURN: dict[str, JSON] = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                FAN_OUT["States"]["Both"]["Branches"][0],  # type: ignore[index]
                {
                    "StartAt": "Later",
                    "States": {
                        "Later": {"Type": "Wait", "Seconds": 1, "Next": "Right"},
                        "Right": task("echo", End=True),
                    },
                },
            ],
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "Result": "ok", "End": True},
    },
}


def test_the_service_history_reads_like_the_engines(
    asl_engine: EngineSession, asl_service: ServiceSession
) -> None:
    on_engine = asl_engine.run(asl_engine.load(FAN_OUT_IN_TURN, name="fan"), {"x": 1})
    TRIES.clear()
    arn = asl_service.start(asl_service.create(FAN_OUT_IN_TURN, name="fan"), {"x": 1})
    record = asl_service.result(arn)
    history = asl_service.history(arn)
    assert_succeeded(record, "ok")
    assert (event_types(history), task_calls(history)) == (
        event_types(on_engine),
        task_calls(on_engine),
    )


def test_a_session_does_not_wait_for_ever(asl_functions: dict[str, Callable[..., object]]) -> None:
    from engine.embedded import Engine

    with EngineSession(Engine.for_testing(functions=asl_functions), timeout=0.2) as session:
        arn = session.start(session.load(CALLBACK, name="cb"), {})
        with pytest.raises(AssertionError) as waited:
            session.result(arn)
    assert str(waited.value) == (
        f"execution {arn} did not close within 0.2 s (real time): is it waiting for a task "
        "token, an activity worker or a real-time Wait?"
    )
