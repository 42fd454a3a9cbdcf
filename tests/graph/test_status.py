"""engine/graph/status.py: each state's status from a real execution's history."""

from __future__ import annotations

import asyncio

from engine.embedded import Engine
from engine.graph.model import build_graph
from engine.graph.status import state_statuses
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
