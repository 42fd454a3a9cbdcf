"""CreateStateMachine and UpdateStateMachine refuse Parallel/Map states nested past 100 levels.

Regression tests for issue 13: a Parallel nested 2,000 deep was accepted (after blocking the
event loop 24-30 s while it compiled) and then crashed the runtime that ran it. It is now refused
at once, with the diagnostic located at the 101st state; a machine at the limit runs.
"""

from __future__ import annotations

import json

import pytest

from engine.errors import DefinitionInvalid, InvalidRequest
from engine.service import Service
from engine.values import JSON
from tests.service.helpers import finish, machine_arn, pass_machine, run

TOO_DEEP = (
    "This Parallel state would be level 101 of nested Parallel and Map states; at most 100 "
    "levels may nest. Move the inner levels into a state machine of their own (a Task with "
    "Resource arn:aws:states:::states:startExecution.sync) or flatten them"
)


def nested_parallels(depth: int) -> str:
    graph: dict[str, JSON] = {
        "StartAt": "Leaf",
        "States": {"Leaf": {"Type": "Pass", "Result": "leaf", "End": True}},
    }
    for level in range(depth, 0, -1):
        name = f"P{level}"
        graph = {
            "StartAt": name,
            "States": {name: {"Type": "Parallel", "Branches": [graph], "End": True}},
        }
    return json.dumps(graph)


def location_of_level(level: int) -> str:
    return "".join(f"/States/P{i}/Branches/0" for i in range(1, level)) + f"/States/P{level}"


def test_create_refuses_a_parallel_nested_2000_deep_at_its_101st_level() -> None:
    async def main(service: Service) -> DefinitionInvalid:
        with pytest.raises(DefinitionInvalid) as caught:
            await service.create_state_machine("deep", nested_parallels(2_000))
        assert await service.list_state_machines() == []
        return caught.value

    error = run(main)
    assert [(d.code, d.location, d.message) for d in error.diagnostics] == [
        ("NESTING_LIMIT_EXCEEDED", location_of_level(101), TOO_DEEP)
    ]


def test_update_refuses_101_levels_and_keeps_the_definition() -> None:
    async def main(service: Service) -> tuple[DefinitionInvalid, str]:
        await service.create_state_machine("m", pass_machine())
        with pytest.raises(DefinitionInvalid) as caught:
            await service.update_state_machine(machine_arn("m"), definition=nested_parallels(101))
        return caught.value, (await service.describe_state_machine(machine_arn("m"))).definition

    error, definition = run(main)
    assert [(d.code, d.location) for d in error.diagnostics] == [
        ("NESTING_LIMIT_EXCEEDED", location_of_level(101))
    ]
    assert definition == pass_machine()


def test_a_machine_nested_100_deep_is_created_and_runs_to_its_nested_output() -> None:
    async def main(service: Service) -> tuple[str, JSON]:
        machine, _ = await service.create_state_machine("deep", nested_parallels(100))
        started = await service.start_execution(machine.arn, name="run", input_text="{}")
        done = await finish(service, started.arn)
        return done.status, done.output

    expected: JSON = "leaf"
    for _ in range(100):
        expected = [expected]
    assert run(main) == ("SUCCEEDED", expected)


def test_validate_refuses_text_longer_than_aws_allows_and_reads_the_rest() -> None:
    async def main(service: Service) -> None:
        padded = pass_machine() + " " * (1_048_576 - len(pass_machine()))
        assert service.validate(padded) == []  # exactly the limit: validated
        with pytest.raises(InvalidRequest) as caught:
            service.validate(padded + " ")
        assert (caught.value.code, caught.value.message) == (
            "ValidationException",
            "1 validation error detected: Value at 'definition' failed to satisfy constraint: "
            "Member must have length less than or equal to 1048576",
        )

    run(main)
