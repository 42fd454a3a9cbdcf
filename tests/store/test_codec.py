"""The stored form of task results: every field survives the round trip through JSON."""

from __future__ import annotations

import json

import pytest

from engine.interpreter.messages import Redrive, TaskCallback, TaskFinished
from engine.interpreter.tasks import TaskFailure, TaskResult, TaskSuccess
from engine.store.codec import event_from_json, event_to_json, result_from_json, result_to_json


@pytest.mark.parametrize(
    "result",
    [
        TaskSuccess({"a": [1, None]}),
        TaskSuccess({"approved": True}, final=True),  # a mocked .waitForTaskToken outcome
        TaskFailure("Lambda.TimeoutException", "Lambda timed out."),
        TaskFailure("E"),
    ],
    ids=["success", "final", "failure", "no-cause"],
)
def test_results_round_trip(result: TaskResult) -> None:
    stored = json.loads(json.dumps(result_to_json(result)))
    assert result_from_json(stored) == result
    finished = TaskFinished("root", "root|task|3", result, 12.5)
    assert event_from_json(json.loads(json.dumps(event_to_json(finished)))) == finished
    callback = TaskCallback("token", result, 1.0)
    assert event_from_json(event_to_json(callback)) == callback


def test_a_plain_success_is_stored_as_before() -> None:
    assert result_to_json(TaskSuccess(1)) == {"ok": True, "output": 1}


@pytest.mark.parametrize(
    ("event", "stored"),
    [
        (Redrive(3.0), {"kind": "redrive", "now": 3.0}),  # RedriveExecution, stored as before
        # a Map Run's child redriven by its parent: whom it answers now
        (Redrive(3.0, "tok"), {"kind": "redrive", "now": 3.0, "parent_token": "tok"}),
    ],
    ids=["execution", "map-run-child"],
)
def test_redrives_round_trip(event: Redrive, stored: dict[str, object]) -> None:
    assert event_to_json(event) == stored
    assert event_from_json(json.loads(json.dumps(stored))) == event
