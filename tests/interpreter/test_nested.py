"""The interpreter's side of nested executions: a `startExecution.sync` Task holds a token
(not in `$$.Task.Token`), records TaskSubmitted, completes on the callback, takes over an
earlier attempt's token, and emits StopChild when it stops waiting; `child_outcome` gives AWS's
shapes (engine/interpreter/nested.py cites the recordings)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from engine.definition.compile import MAP_RUN_CHILD_RESOURCE
from engine.errors import STATES_TASK_FAILED
from engine.interpreter.frames import ExecutionInfo, ExecutionStatus
from engine.interpreter.messages import CancelTimer, Finish, InvokeTask, StopChild, TaskCallback
from engine.interpreter.nested import abandoned_cause, answered_by, child_outcome
from engine.interpreter.tasks import TaskFailure, TaskSuccess
from tests.interpreter.helpers import EXECUTION_ARN, T0, Harness, event_types

CHILD_MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:child"
KID = "arn:aws:states:us-east-1:111111111111:execution:child:kid"
SYNC = {
    "StartAt": "Nest",
    "States": {
        "Nest": {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": CHILD_MACHINE, "Input": {"ctx.$": "$$"}},
            "TimeoutSeconds": 600,
            "End": True,
        }
    },
}
STARTED = {"ExecutionArn": KID, "StartDate": 1_700_000_000_000}
ABANDONED = abandoned_cause(EXECUTION_ARN)


def submitted() -> tuple[Harness, str]:
    harness = Harness.of(SYNC, {})
    harness.start()
    task = harness.only_task()
    token = task.request.task_token
    assert token is not None
    # the token is the child's way back, not the context object's (AWS: .waitForTaskToken only)
    payload = task.request.payload
    assert isinstance(payload, dict)
    assert isinstance(payload["Input"], dict)
    context = payload["Input"]["ctx"]
    assert isinstance(context, dict)
    assert sorted(context) == ["Execution", "State", "StateMachine"]
    result = harness.answer(task, TaskSuccess(STARTED))
    assert event_types(result.events) == ["TaskSubmitted"]
    assert result.commands == ()
    return harness, token


def test_the_childs_answer_completes_the_task() -> None:
    harness, token = submitted()
    done = harness.feed(TaskCallback(token, TaskSuccess({"Status": "SUCCEEDED"}), T0 + 5))
    assert event_types(done.events) == ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    assert done.commands == (
        CancelTimer("root|timeout|2"),
        Finish("SUCCEEDED", output={"Status": "SUCCEEDED"}),
    )


def test_a_taken_over_token_is_the_one_answered() -> None:
    harness = Harness.of(SYNC, {})
    harness.start()
    taken = harness.answer(harness.only_task(), TaskSuccess(STARTED, token="earlier"))
    assert event_types(taken.events) == ["TaskSubmitted"]
    assert harness.state.frames["root"].task_token == "earlier"
    done = harness.feed(TaskCallback("earlier", TaskSuccess(1), T0 + 5))
    assert harness.finish == Finish("SUCCEEDED", output=1)
    assert event_types(done.events)[-1] == "ExecutionSucceeded"


@pytest.mark.parametrize("how", ["stop", "timeout"])
def test_a_task_that_stops_waiting_stops_its_child(how: str) -> None:
    harness, token = submitted()
    if how == "stop":
        result = harness.stop("Halt", "by test")
        assert event_types(result.events) == ["TaskStateAborted", "ExecutionAborted"]
    else:
        result = harness.fire(harness.timers["root|timeout|2"])
        assert event_types(result.events) == ["TaskTimedOut", "ExecutionFailed"]
    assert StopChild(token, ABANDONED) in result.commands
    assert result.commands.index(StopChild(token, ABANDONED)) < len(result.commands) - 1
    assert isinstance(result.commands[-1], Finish)


def test_a_wait_for_task_token_task_leaves_its_child_alone() -> None:
    definition = json.loads(json.dumps(SYNC))
    definition["States"]["Nest"]["Resource"] = (
        "arn:aws:states:::states:startExecution.waitForTaskToken"
    )
    harness = Harness.of(definition, {})
    harness.start()
    harness.answer(harness.only_task(), TaskSuccess(STARTED))
    stopped = harness.stop()
    assert not any(isinstance(c, StopChild) for c in stopped.commands)


CHILD = ExecutionInfo(
    execution_arn=KID,
    name="kid",
    state_machine_arn=CHILD_MACHINE,
    state_machine_name="child",
    input={"n": 1},
    start_time=1_700_000_000.0004,
    parent_execution_arn=EXECUTION_ARN,
    parent_token="tok",
    parent_pattern="sync",
)


def test_child_outcome_of_a_sync_child() -> None:
    outcome = child_outcome(CHILD, "SUCCEEDED", {"ok": True}, None, None, 1_700_000_001.2346)
    assert outcome == TaskSuccess(
        {
            "ExecutionArn": KID,
            "Input": '{"n":1}',
            "InputDetails": {"Included": True},
            "Name": "kid",
            "Output": '{"ok":true}',
            "OutputDetails": {"Included": True},
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
            "StartDate": 1_700_000_000_000,
            "StateMachineArn": CHILD_MACHINE,
            "Status": "SUCCEEDED",
            "StopDate": 1_700_000_001_235,
        }
    )
    assert isinstance(outcome.output, dict)
    assert list(outcome.output) == sorted(outcome.output)  # AWS's alphabetical order


def test_child_outcome_of_a_timed_out_child_is_states_task_failed() -> None:
    outcome = child_outcome(
        CHILD, "TIMED_OUT", None, "States.Timeout", "The execution timed out.", 1_700_000_060.0
    )
    assert isinstance(outcome, TaskFailure)
    assert outcome.error == STATES_TASK_FAILED
    assert json.loads(str(outcome.cause)) == {
        "Cause": "The execution timed out.",
        "Error": "States.Timeout",
        "ExecutionArn": KID,
        "Input": '{"n":1}',
        "InputDetails": {"Included": True},
        "Name": "kid",
        "RedriveCount": 0,
        "RedriveStatus": "REDRIVABLE",
        "StartDate": 1_700_000_000_000,
        "StateMachineArn": CHILD_MACHINE,
        "Status": "TIMED_OUT",
        "StopDate": 1_700_000_060_000,
    }


@pytest.mark.parametrize("pattern", [None, "waitForTaskToken"])
def test_only_a_sync_child_answers(pattern: str | None) -> None:
    from dataclasses import replace

    info = replace(CHILD, parent_pattern=pattern)
    assert child_outcome(info, "SUCCEEDED", 1, None, None, T0) is None


def test_answered_by_names_an_earlier_attempts_token_only() -> None:
    class Start:
        parent_arn = EXECUTION_ARN
        token: str | None = "new"
        pattern: str | None = "sync"

    link = {"parent_arn": EXECUTION_ARN, "pattern": "sync"}
    assert answered_by(Start(), token="old", **link) == "old"
    assert answered_by(Start(), token="new", **link) is None
    assert answered_by(Start(), token="old", parent_arn="other", pattern="sync") is None
    assert answered_by(Start(), token=None, **link) is None


MAP_RUN_CHILDREN = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}


def map_child_start(harness: Harness) -> InvokeTask:
    task = harness.only_task()
    assert task.request.resource == MAP_RUN_CHILD_RESOURCE
    return task


def test_a_child_running_since_before_the_redrive_is_started_again_when_it_fails() -> None:
    """A redriven Map found its item's child still running, started by the Map's run before
    the redrive (the service answers the start with that child's token): if the child then
    fails, the item's start is made again (the service redrives the closed child) instead of
    the failure being the item's; the redriven child's answer is the item's."""
    harness = Harness.of(MAP_RUN_CHILDREN, [7])
    harness.state = replace(
        harness.state, info=replace(harness.state.info, map_children=True, redrive_count=1)
    )
    harness.start()
    first = map_child_start(harness)
    kid = {"ExecutionArn": KID, "StartDate": 1_700_000_000_000}
    harness.answer(first, TaskSuccess(kid, token="before-the-redrive"))
    aborted = harness.feed(TaskCallback("before-the-redrive", TaskFailure("Aborted"), T0 + 5))
    assert harness.status is ExecutionStatus.RUNNING
    again = map_child_start(harness)
    assert again.request.payload == first.request.payload  # the same child, by name
    assert again.request.task_token not in (None, "before-the-redrive")
    assert event_types(aborted.events) == []  # a Map Run's child runs stay out of its history
    harness.answer(again, TaskSuccess(kid))
    token = again.request.task_token
    assert token is not None
    harness.feed(TaskCallback(token, TaskSuccess({"n": 7}), T0 + 6))
    gather = harness.only_task()
    harness.answer(gather, TaskSuccess([{"n": 7}]))
    assert harness.finish == Finish("SUCCEEDED", output=[{"n": 7}])


def test_a_child_running_since_before_the_redrive_answers_its_item_when_it_succeeds() -> None:
    harness = Harness.of(MAP_RUN_CHILDREN, [7])
    harness.state = replace(harness.state, info=replace(harness.state.info, map_children=True))
    harness.start()
    kid = {"ExecutionArn": KID, "StartDate": 1_700_000_000_000}
    harness.answer(map_child_start(harness), TaskSuccess(kid, token="before-the-redrive"))
    harness.feed(TaskCallback("before-the-redrive", TaskSuccess({"n": 7}), T0 + 5))
    gather = harness.only_task()
    assert gather.request.resource != MAP_RUN_CHILD_RESOURCE
    harness.answer(gather, TaskSuccess([{"n": 7}]))
    assert harness.finish == Finish("SUCCEEDED", output=[{"n": 7}])


def test_a_childs_own_failure_is_its_items() -> None:
    """Only a child adopted from before the redrive is asked again: a child this run started
    fails its item (here the one failure fails the Map)."""
    harness = Harness.of(MAP_RUN_CHILDREN, [7])
    harness.state = replace(harness.state, info=replace(harness.state.info, map_children=True))
    harness.start()
    start = map_child_start(harness)
    harness.answer(start, TaskSuccess({"ExecutionArn": KID, "StartDate": 1_700_000_000_000}))
    token = start.request.task_token
    assert token is not None
    harness.feed(TaskCallback(token, TaskFailure("Boom", "no"), T0 + 5))
    assert harness.status is ExecutionStatus.FAILED
    assert harness.tasks == {}
