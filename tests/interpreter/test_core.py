"""`step` called with values: the exact events, commands and state of each transition.

No loop, no clock, no backend: time arrives inside the events (see helpers.T0). Event type
sequences follow the recorded AWS cases named beside them (shared/conformance/cases/exec).
"""

from __future__ import annotations

import pytest

from engine.errors import STATES_RUNTIME, STATES_TIMEOUT
from engine.interpreter.core import EXECUTION_TIMEOUT_TIMER, MAX_HISTORY_EVENTS, step
from engine.interpreter.frames import ROOT_FRAME, ExecutionStatus, Phase
from engine.interpreter.history import HistoryEvent, Payload
from engine.interpreter.messages import (
    CancelTask,
    CancelTimer,
    Finish,
    InvokeTask,
    Start,
    StartTimer,
    TaskFinished,
    TimerFired,
)
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskSuccess
from engine.values import JSON
from tests.interpreter.helpers import (
    EXECUTION_ARN,
    LAMBDA_ARN,
    T0,
    Harness,
    chain,
    check_event_chain,
    event_types,
    rendered,
)

ROLE = "arn:aws:iam::111111111111:role/asl-engine"
FN = LAMBDA_ARN + "fn"
PASS_CHAIN = chain(
    ("One", {"Type": "Pass", "Result": {"n": 1}}),
    ("Two", {"Type": "Pass", "ResultPath": "$.two", "Result": 2}),
    ("Three", {"Type": "Pass"}),
)
TASK = chain(("Work", {"Type": "Task", "Resource": FN}))
WAIT = chain(("Nap", {"Type": "Wait", "Seconds": 30}), ("After", {"Type": "Pass"}))


def test_start_on_a_pass_chain_emits_every_event_and_one_finish() -> None:
    harness = Harness.of(PASS_CHAIN, {"in": 0})
    result = harness.start()
    assert result.events == (
        HistoryEvent(1, 0, T0, "ExecutionStarted", {"input": Payload({"in": 0}), "roleArn": ROLE}),
        HistoryEvent(2, 0, T0, "PassStateEntered", {"name": "One", "input": Payload({"in": 0})}),
        HistoryEvent(3, 2, T0, "PassStateExited", {"name": "One", "output": Payload({"n": 1})}),
        HistoryEvent(4, 3, T0, "PassStateEntered", {"name": "Two", "input": Payload({"n": 1})}),
        HistoryEvent(
            5, 4, T0, "PassStateExited", {"name": "Two", "output": Payload({"n": 1, "two": 2})}
        ),
        HistoryEvent(
            6, 5, T0, "PassStateEntered", {"name": "Three", "input": Payload({"n": 1, "two": 2})}
        ),
        HistoryEvent(
            7, 6, T0, "PassStateExited", {"name": "Three", "output": Payload({"n": 1, "two": 2})}
        ),
        HistoryEvent(8, 7, T0, "ExecutionSucceeded", {"output": Payload({"n": 1, "two": 2})}),
    )
    assert result.commands == (Finish("SUCCEEDED", output={"n": 1, "two": 2}),)
    assert result.state.status is ExecutionStatus.SUCCEEDED
    assert result.state.output == {"n": 1, "two": 2}
    assert result.state.next_event_id == 9
    assert result.state.failure is None


def test_events_render_as_aws_shapes() -> None:
    result = Harness.of(PASS_CHAIN, {"in": 0}).start()
    assert [event.as_json() for event in result.events[:3]] == [
        {
            "id": 1,
            "previousEventId": 0,
            "timestamp": "2023-11-14T22:13:20.000Z",
            "type": "ExecutionStarted",
            "executionStartedEventDetails": {
                "input": '{"in":0}',
                "inputDetails": {"truncated": False},
                "roleArn": ROLE,
            },
        },
        {
            "id": 2,
            "previousEventId": 0,
            "timestamp": "2023-11-14T22:13:20.000Z",
            "type": "PassStateEntered",
            "stateEnteredEventDetails": {
                "name": "One",
                "input": '{"in":0}',
                "inputDetails": {"truncated": False},
            },
        },
        {
            "id": 3,
            "previousEventId": 2,
            "timestamp": "2023-11-14T22:13:20.000Z",
            "type": "PassStateExited",
            "stateExitedEventDetails": {
                "name": "One",
                "output": '{"n":1}',
                "outputDetails": {"truncated": False},
            },
        },
    ]
    assert result.events[1].as_json(include_execution_data=False)["stateEnteredEventDetails"] == {
        "name": "One"
    }


def test_a_task_is_invoked_with_the_exact_request_and_completed_by_task_finished() -> None:
    harness = Harness.of(TASK, {"x": 1})
    started = harness.start()
    assert event_types(started.events) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
    ]
    assert rendered(started.events[2]) == {
        "resource": FN,
        "input": '{"x":1}',
        "inputDetails": {"truncated": False},
    }
    assert started.events[3].details is None
    assert started.commands == (
        InvokeTask(
            ROOT_FRAME,
            "root|task|1",
            TaskRequest(
                resource=FN,
                payload={"x": 1},
                execution_arn=EXECUTION_ARN,
                state_name="Work",
                attempt=0,
            ),
        ),
    )
    assert started.state.status is ExecutionStatus.RUNNING
    assert started.state.frames[ROOT_FRAME].phase is Phase.TASK

    done = harness.answer(harness.only_task(), TaskSuccess({"y": 2}), at=T0 + 4)
    assert [(e.id, e.previous_event_id, e.timestamp, e.type) for e in done.events] == [
        (5, 4, T0 + 4, "LambdaFunctionSucceeded"),
        (6, 5, T0 + 4, "TaskStateExited"),
        (7, 6, T0 + 4, "ExecutionSucceeded"),
    ]
    assert rendered(done.events[0]) == {"output": '{"y":2}', "outputDetails": {"truncated": False}}
    assert done.commands == (Finish("SUCCEEDED", output={"y": 2}),)


def test_a_task_failure_fails_the_execution_with_its_error_and_cause() -> None:
    harness = Harness.of(TASK)
    harness.start()
    failed = harness.answer(harness.only_task(), TaskFailure("Boom", '{"errorMessage":"x"}'))
    assert event_types(failed.events) == ["LambdaFunctionFailed", "ExecutionFailed"]
    assert rendered(failed.events[0]) == {"error": "Boom", "cause": '{"errorMessage":"x"}'}
    assert rendered(failed.events[1]) == {"error": "Boom", "cause": '{"errorMessage":"x"}'}
    assert failed.commands == (Finish("FAILED", error="Boom", cause='{"errorMessage":"x"}'),)
    assert failed.state.status is ExecutionStatus.FAILED


def test_an_integration_task_records_task_events_with_service_and_action() -> None:
    # Recorded: timeouts/test_timeouts/test_fixed_timeout_service_lambda (TaskScheduled...).
    definition = chain(
        (
            "Invoke",
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "fn", "Payload.$": "$"},
            },
        )
    )
    harness = Harness.of(definition, {"k": "v"})
    started = harness.start()
    assert event_types(started.events)[2:] == ["TaskScheduled", "TaskStarted"]
    assert rendered(started.events[2]) == {
        "resourceType": "lambda",
        "resource": "invoke",
        "region": "us-east-1",
        "parameters": '{"FunctionName":"fn","Payload":{"k":"v"}}',
    }
    assert rendered(started.events[3]) == {"resourceType": "lambda", "resource": "invoke"}
    done = harness.answer(harness.only_task(), {"Payload": 1})
    assert event_types(done.events) == ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    assert rendered(done.events[0]) == {
        "resourceType": "lambda",
        "resource": "invoke",
        "output": '{"Payload":1}',
        "outputDetails": {"truncated": False},
    }


def test_a_wait_starts_a_timer_due_at_the_exact_time_and_the_timer_completes_it() -> None:
    harness = Harness.of(WAIT, {"w": 1})
    started = harness.start()
    assert event_types(started.events) == ["ExecutionStarted", "WaitStateEntered"]
    assert started.commands == (StartTimer("root|wait|1", T0 + 30),)
    assert started.state.frames[ROOT_FRAME].phase is Phase.TIMER
    fired = harness.feed(TimerFired("root|wait|1", T0 + 30))
    assert [(e.id, e.previous_event_id, e.timestamp, e.type) for e in fired.events] == [
        (3, 2, T0 + 30, "WaitStateExited"),
        (4, 3, T0 + 30, "PassStateEntered"),
        (5, 4, T0 + 30, "PassStateExited"),
        (6, 5, T0 + 30, "ExecutionSucceeded"),
    ]
    assert fired.commands == (Finish("SUCCEEDED", output={"w": 1}),)


@pytest.mark.parametrize(
    ("wait", "due"),
    [
        ({"Seconds": 0}, None),
        ({"Seconds": 86_400}, T0 + 86_400),
        ({"SecondsPath": "$.s"}, T0 + 7),
        ({"Timestamp": "2030-01-15T09:00:00Z"}, 1_894_698_000.0),
        ({"TimestampPath": "$.t"}, 1_894_698_000.5),
        ({"Timestamp": "2020-01-01T00:00:00Z"}, None),
    ],
    ids=["zero", "one-day", "seconds-path", "timestamp", "timestamp-path-ms", "past"],
)
def test_wait_due_times(wait: dict[str, JSON], due: float | None) -> None:
    definition = chain(("W", {"Type": "Wait", **wait}))
    execution_input: JSON = {"s": 7, "t": "2030-01-15T09:00:00.500Z"}
    started = Harness.of(definition, execution_input).start()
    if due is None:  # due now or in the past: no timer, the Wait exits at once
        assert event_types(started.events)[-2:] == ["WaitStateExited", "ExecutionSucceeded"]
        assert started.commands == (Finish("SUCCEEDED", output=execution_input),)
    else:
        assert started.commands == (StartTimer("root|wait|1", due),)


def test_stale_and_unknown_messages_change_nothing() -> None:
    harness = Harness.of(TASK)
    harness.start()
    task = harness.only_task()
    before = harness.state
    for event in (
        TaskFinished(ROOT_FRAME, "root|task|999", TaskSuccess(1), T0),  # not the awaited task
        TaskFinished("no-such-frame", task.task_id, TaskSuccess(1), T0),
        TimerFired("root|wait|1", T0),  # no such timer
        TimerFired("root|timeout|5", T0),
        TimerFired(EXECUTION_TIMEOUT_TIMER, T0),  # the machine has no TimeoutSeconds
        Start(T0),  # already started
    ):
        result = step(harness.machine, before, event)
        assert (result.events, result.commands) == ((), ()), event
        assert result.state.frames[ROOT_FRAME] == before.frames[ROOT_FRAME]
        assert result.state.next_event_id == before.next_event_id


def test_a_task_answered_twice_is_completed_once() -> None:
    definition = chain(
        ("Work", {"Type": "Task", "Resource": FN}), ("Nap", {"Type": "Wait", "Seconds": 30})
    )
    harness = Harness.of(definition)
    harness.start()
    task = harness.only_task()
    first = harness.answer(task, 1)
    assert event_types(first.events) == [
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "WaitStateEntered",
    ]
    again = harness.answer(task, 2)
    assert (again.events, again.commands) == ((), ())


def test_a_finished_execution_ignores_every_event() -> None:
    harness = Harness.of(PASS_CHAIN)
    harness.start()
    for event in (
        Start(T0),
        TimerFired("root|wait|1", T0),
        TaskFinished("root", "t", TaskSuccess(1), T0),
    ):
        result = step(harness.machine, harness.state, event)
        assert (result.events, result.commands) == ((), ())
        assert result.state == harness.state
    stopped = harness.stop("E", "c")
    assert (stopped.events, stopped.commands) == ((), ())
    assert stopped.state.status is ExecutionStatus.SUCCEEDED


def test_stop_during_a_task_aborts_the_state_and_cancels_the_task_and_its_timer() -> None:
    definition = chain(("Work", {"Type": "Task", "Resource": FN, "TimeoutSeconds": 60}))
    harness = Harness.of(definition)
    started = harness.start()
    assert started.commands[1] == StartTimer("root|timeout|2", T0 + 60)
    harness.now = T0 + 5
    stopped = harness.stop("Operator", "stopped by hand")
    assert [(e.id, e.previous_event_id, e.type) for e in stopped.events] == [
        (5, 4, "TaskStateAborted"),
        (6, 5, "ExecutionAborted"),
    ]
    assert rendered(stopped.events[0]) == {"name": "Work"}
    assert rendered(stopped.events[1]) == {"error": "Operator", "cause": "stopped by hand"}
    assert stopped.commands == (
        CancelTask("root|task|1"),
        CancelTimer("root|timeout|2"),
        Finish("ABORTED", error="Operator", cause="stopped by hand"),
    )
    assert stopped.state.status is ExecutionStatus.ABORTED
    assert stopped.state.frames[ROOT_FRAME].phase is Phase.ABORTED
    # The late answer of the cancelled task is ignored.
    task = started.commands[0]
    assert isinstance(task, InvokeTask)
    late = harness.answer(task, 1)
    assert (late.events, late.commands) == ((), ())


def test_stop_during_a_wait_without_error_or_cause() -> None:
    harness = Harness.of(WAIT)
    harness.start()
    stopped = harness.stop()
    assert event_types(stopped.events) == ["WaitStateAborted", "ExecutionAborted"]
    assert rendered(stopped.events[1]) == {}
    assert stopped.commands == (CancelTimer("root|wait|1"), Finish("ABORTED"))
    assert stopped.state.failure is None


def test_machine_timeout_seconds_times_the_execution_out() -> None:
    definition = {**TASK, "TimeoutSeconds": 100}
    harness = Harness.of(definition)
    started = harness.start()
    assert started.commands == (
        StartTimer(EXECUTION_TIMEOUT_TIMER, T0 + 100),
        InvokeTask(
            ROOT_FRAME,
            "root|task|1",
            TaskRequest(resource=FN, payload={}, execution_arn=EXECUTION_ARN, state_name="Work"),
        ),
    )
    assert started.state.timeout_timer_id == EXECUTION_TIMEOUT_TIMER
    timed_out = harness.fire(harness.timers[EXECUTION_TIMEOUT_TIMER])
    # AWS records no per-state abort event when the execution times out.
    assert [(e.id, e.previous_event_id, e.timestamp, e.type) for e in timed_out.events] == [
        (5, 4, T0 + 100, "ExecutionTimedOut"),
    ]
    assert rendered(timed_out.events[0]) == {
        "error": STATES_TIMEOUT,
        "cause": "The execution timed out.",
    }
    assert timed_out.commands == (
        CancelTask("root|task|1"),
        Finish("TIMED_OUT", error=STATES_TIMEOUT, cause="The execution timed out."),
    )
    assert timed_out.state.status is ExecutionStatus.TIMED_OUT


def test_machine_timeout_timer_is_cancelled_when_the_execution_ends_first() -> None:
    finished = Harness.of({**PASS_CHAIN, "TimeoutSeconds": 5}).start()
    assert finished.commands == (
        StartTimer(EXECUTION_TIMEOUT_TIMER, T0 + 5),
        CancelTimer(EXECUTION_TIMEOUT_TIMER),
        Finish("SUCCEEDED", output={"n": 1, "two": 2}),
    )
    assert finished.state.timeout_timer_id is None


@pytest.mark.parametrize(
    ("resource", "timed_out_type", "details"),
    [
        # Recorded: timeouts/test_timeouts/test_fixed_timeout_lambda.
        (FN, "LambdaFunctionTimedOut", {"error": STATES_TIMEOUT}),
        # Recorded: timeouts/test_timeouts/test_fixed_timeout_service_lambda.
        (
            "arn:aws:states:::lambda:invoke",
            "TaskTimedOut",
            {"resourceType": "lambda", "resource": "invoke", "error": STATES_TIMEOUT},
        ),
    ],
    ids=["lambda-arn", "lambda-invoke"],
)
def test_task_timeout_seconds(resource: str, timed_out_type: str, details: dict[str, JSON]) -> None:
    definition = chain(
        # FunctionName: `asl validate` refuses a lambda:invoke without one, as AWS does.
        (
            "Slow",
            {
                "Type": "Task",
                "Resource": resource,
                "TimeoutSeconds": 5,
                "Parameters": {"FunctionName": "slow"},
            },
        )
    )
    harness = Harness.of(definition)
    started = harness.start()
    task = harness.only_task()
    assert task.request.timeout_seconds == 5.0
    timer = harness.timers["root|timeout|2"]
    assert timer == StartTimer("root|timeout|2", T0 + 5)
    scheduled = rendered(started.events[2])
    assert scheduled["timeoutInSeconds"] == 5
    timed_out = harness.fire(timer)
    assert event_types(timed_out.events) == [timed_out_type, "ExecutionFailed"]
    assert rendered(timed_out.events[0]) == details
    assert rendered(timed_out.events[1]) == {"error": STATES_TIMEOUT}
    assert timed_out.commands == (
        CancelTask(task.task_id),
        Finish("FAILED", error=STATES_TIMEOUT, cause=None),
    )
    late = harness.answer(task, {"too": "late"})
    assert (late.events, late.commands) == ((), ())


def test_timeout_seconds_path_is_read_from_the_effective_input() -> None:
    definition = chain(("Slow", {"Type": "Task", "Resource": FN, "TimeoutSecondsPath": "$.limit"}))
    harness = Harness.of(definition, {"limit": 12})
    started = harness.start()
    assert started.commands[1] == StartTimer("root|timeout|2", T0 + 12)


def test_a_task_timeout_is_retried_and_caught_as_states_timeout() -> None:
    definition = chain(
        (
            "Slow",
            {
                "Type": "Task",
                "Resource": FN,
                "TimeoutSeconds": 5,
                "Retry": [
                    {"ErrorEquals": [STATES_TIMEOUT], "MaxAttempts": 1, "IntervalSeconds": 1}
                ],
                "Catch": [{"ErrorEquals": [STATES_TIMEOUT], "Next": "Caught"}],
                "End": True,
            },
        ),
        ("Caught", {"Type": "Pass"}),
    )
    harness = Harness.of(definition, {"a": 1})
    harness.start()
    harness.fire(harness.timers["root|timeout|2"])  # attempt 0 times out
    retry = harness.next_timer()
    assert retry.due == T0 + 5 + 1
    harness.fire(retry)
    assert harness.only_task().request.attempt == 1
    harness.fire(harness.next_timer())  # attempt 1 times out: caught
    assert harness.finish == Finish("SUCCEEDED", output={"Error": STATES_TIMEOUT})
    assert event_types(harness.history).count("LambdaFunctionTimedOut") == 2


def test_history_limit_fails_the_execution() -> None:
    looping = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
                "Default": "A",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    result = Harness.of(looping).start()
    assert result.commands == (
        Finish(
            "FAILED",
            error=STATES_RUNTIME,
            cause=(
                f"The execution reached the maximum number of history events "
                f"({MAX_HISTORY_EVENTS})."
            ),
        ),
    )
    # AWS: event 25,000 may only close the execution ("Avoid reaching the history quota").
    assert result.events[-1].type == "ExecutionFailed"
    assert result.events[-1].id == MAX_HISTORY_EVENTS
    check_event_chain(result.events)
