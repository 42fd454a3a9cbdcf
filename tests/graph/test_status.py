"""engine/graph/status.py: each state's status from a real execution's history."""

from __future__ import annotations

import asyncio

from engine.embedded import Engine
from engine.graph.model import build_graph
from engine.graph.status import StatusFold, state_statuses
from engine.runtime.clock import VirtualClock
from engine.values import JSON

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:"

DEFINITION: dict[str, JSON] = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.kind", "StringEquals": "fan", "Next": "Fan"}],
            "Default": "Skipped",
        },
        "Skipped": {"Type": "Pass", "End": True},
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "ItemProcessor": {
                                "StartAt": "Double",
                                "States": {
                                    "Double": {
                                        "Type": "Task",
                                        "Resource": FUNCTION + "double",
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Explode",
                    "States": {
                        "Explode": {"Type": "Task", "Resource": FUNCTION + "explode", "End": True}
                    },
                },
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
            "Next": "Unreached",
        },
        "Unreached": {"Type": "Pass", "End": True},
        "Recover": {"Type": "Pass", "End": True},
    },
}


def double(event: int, context: object) -> int:
    return event * 2


def explode(event: object, context: object) -> None:
    raise ValueError("boom")


def run(definition: dict[str, JSON], execution_input: JSON) -> list[dict[str, JSON]]:
    async def main() -> list[dict[str, JSON]]:
        engine = Engine(functions={"double": double, "explode": explode}, clock=VirtualClock())
        result = await engine.run(engine.load(definition), execution_input)
        await engine.aclose()
        return [event.as_json() for event in result.events]

    return asyncio.run(main())


def test_a_caught_parallel_its_map_and_the_path_taken() -> None:
    events = run(DEFINITION, {"kind": "fan", "items": [1, 2, 3]})
    statuses = state_statuses(build_graph(DEFINITION), events)
    shown = {key: (value.status, value.entered) for key, value in statuses.items()}
    each = "/States/Fan/Branches/0/States/Each"
    assert shown == {
        "/States/Route": ("succeeded", 1),
        "/States/Skipped": ("not-run", 0),
        "/States/Fan": ("caught", 1),
        # the branch beside the failing one was stopped, with every Map iteration in it
        each: ("cancelled", 1),
        each + "/ItemProcessor/States/Double": ("cancelled", 3),
        "/States/Fan/Branches/1/States/Explode": ("failed", 1),
        "/States/Unreached": ("not-run", 0),
        "/States/Recover": ("succeeded", 1),
    }


def test_an_uncaught_failure_fails_the_state_that_was_running() -> None:
    definition: dict[str, JSON] = {
        "StartAt": "Explode",
        "States": {"Explode": {"Type": "Task", "Resource": FUNCTION + "explode", "End": True}},
    }
    statuses = state_statuses(build_graph(definition), run(definition, {}))
    explode = statuses["/States/Explode"]
    assert (explode.status, explode.input, explode.output, explode.error) == (
        "failed",
        "{}",
        None,
        "ValueError",
    )
    assert '"errorMessage":"boom"' in str(explode.cause)


def test_map_iterations_are_counted_and_outputs_kept() -> None:
    definition: dict[str, JSON] = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Double",
                    "States": {
                        "Double": {"Type": "Task", "Resource": FUNCTION + "double", "End": True}
                    },
                },
                "End": True,
            }
        },
    }
    statuses = state_statuses(build_graph(definition), run(definition, [1, 2, 3]))
    each = statuses["/States/Each"]
    assert (each.status, each.iterations, each.output) == ("succeeded", (3, 3, 0), "[2,4,6]")
    double = statuses["/States/Each/ItemProcessor/States/Double"]
    assert (double.status, double.entered) == ("succeeded", 3)


def test_a_running_state_and_a_stopped_execution() -> None:
    graph = build_graph(
        {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 5, "End": True}}}
    )
    entered: list[dict[str, JSON]] = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted"},
        {
            "id": 2,
            "previousEventId": 1,
            "type": "WaitStateEntered",
            "stateEnteredEventDetails": {"name": "Hold"},
        },
    ]
    assert state_statuses(graph, entered)["/States/Hold"].status == "running"
    stopped = [*entered, {"id": 3, "previousEventId": 2, "type": "ExecutionAborted"}]
    assert state_statuses(graph, stopped)["/States/Hold"].status == "cancelled"


def test_a_distributed_map_names_its_map_run() -> None:
    definition: dict[str, JSON] = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "Label": "Doubling",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Double",
                    "States": {
                        "Double": {"Type": "Task", "Resource": FUNCTION + "double", "End": True}
                    },
                },
                "End": True,
            }
        },
    }
    each = state_statuses(build_graph(definition), run(definition, [1, 2]))["/States/Each"]
    assert each.status == "succeeded"
    assert isinstance(each.map_run, str)
    assert ":mapRun:" in each.map_run
    assert each.map_run.split(":mapRun:")[1].split("/")[1].startswith("Doubling:")


def test_a_fold_fed_in_pieces_says_what_the_whole_history_says() -> None:
    """The console's polls: any split of the history, reads overlapping (racing polls)."""
    events = run(DEFINITION, {"kind": "fan", "items": [1, 2, 3]})
    graph = build_graph(DEFINITION)
    whole = state_statuses(graph, events)
    for cut in range(len(events) + 1):
        fold = StatusFold(graph)
        fold.feed(events[:cut])
        assert fold.last_id == cut
        fold.feed(events[max(cut - 3, 0) :])  # from before the cut: the known ones are skipped
        assert (cut, fold.statuses()) == (cut, whole)
        assert fold.last_id == len(events)


def test_a_fold_names_the_states_changed_after_an_event() -> None:
    graph = build_graph(DEFINITION)
    events = run(DEFINITION, {"kind": "fan", "items": [1, 2, 3]})
    fold = StatusFold(graph)
    fold.feed(events)
    assert fold.statuses() == state_statuses(graph, events)  # every state, those not run too
    assert fold.statuses(changed_after=len(events)) == {}
    # the last events: Recover entered and left, then the execution succeeded
    assert [e["type"] for e in events[-3:]] == [
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert list(fold.statuses(changed_after=len(events) - 3)) == ["/States/Recover"]
    changed = fold.statuses(changed_after=len(events) - 4)
    assert list(changed) == ["/States/Fan", "/States/Recover"]  # Fan left through its Catch
    assert changed["/States/Fan"].status == "caught"


def test_a_stopped_execution_changes_the_states_that_were_running() -> None:
    graph = build_graph(
        {
            "StartAt": "Start",
            "States": {
                "Start": {"Type": "Pass", "Next": "Hold"},
                "Hold": {"Type": "Wait", "Seconds": 5, "End": True},
            },
        }
    )
    fold = StatusFold(graph)
    fold.feed(
        [
            {"id": 1, "previousEventId": 0, "type": "ExecutionStarted"},
            {
                "id": 2,
                "previousEventId": 1,
                "type": "PassStateEntered",
                "stateEnteredEventDetails": {"name": "Start"},
            },
            {
                "id": 3,
                "previousEventId": 2,
                "type": "PassStateExited",
                "stateExitedEventDetails": {"name": "Start"},
            },
            {
                "id": 4,
                "previousEventId": 3,
                "type": "WaitStateEntered",
                "stateEnteredEventDetails": {"name": "Hold"},
            },
        ]
    )
    assert {k: v.status for k, v in fold.statuses(changed_after=3).items()} == {
        "/States/Hold": "running"
    }
    fold.feed([{"id": 5, "previousEventId": 4, "type": "ExecutionAborted"}])
    assert {k: v.status for k, v in fold.statuses(changed_after=4).items()} == {
        "/States/Hold": "cancelled"
    }
