"""A step runs at most SILENT_STEP_BUDGET states in silent frames, then pauses.

Regression tests for issue 13: a Distributed Map whose child workflow loops (a Choice back to a
Pass) records no history events, so nothing bounded it and `step` never returned, freezing
every execution in the process. Past the budget a step now ends with a continuation timer due at
once; firing it runs the paused frames on.
"""

from __future__ import annotations

import asyncio

import pytest

from engine.embedded import Engine
from engine.interpreter.core import CONTINUE_TIMER_PREFIX, SILENT_STEP_BUDGET
from engine.interpreter.frames import ExecutionStatus
from engine.interpreter.messages import Finish, StartTimer
from engine.runtime.clock import VirtualClock
from tests.interpreter.helpers import T0, Harness, as_json


def distributed_map(processor_states: dict[str, object], start_at: str) -> dict[str, object]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": start_at,
                    "States": processor_states,
                },
                "End": True,
            }
        },
    }


LOOP_FOR_EVER = distributed_map(
    {
        "Loop": {"Type": "Pass", "Next": "Again"},
        "Again": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "IsPresent": True, "Next": "Loop"}],
            "Default": "Out",
        },
        "Out": {"Type": "Succeed"},
    },
    "Loop",
)


def continuations(result_commands: tuple[object, ...]) -> list[StartTimer]:
    return [
        c
        for c in result_commands
        if isinstance(c, StartTimer) and c.timer_id.startswith(CONTINUE_TIMER_PREFIX)
    ]


def test_a_child_workflow_looping_for_ever_pauses_each_step_and_can_be_stopped() -> None:
    harness = Harness.of(LOOP_FOR_EVER, [1])
    first = harness.start()
    assert harness.status is ExecutionStatus.RUNNING
    [pause] = continuations(first.commands)
    assert pause.due == T0  # due at once: the runtime runs other work first, then resumes
    second = harness.fire(pause)
    assert harness.status is ExecutionStatus.RUNNING
    [again] = continuations(second.commands)
    assert again.timer_id != pause.timer_id
    harness.stop("Stopped", "looping")
    assert harness.finish == Finish("ABORTED", error="Stopped", cause="looping")


def test_a_distributed_map_past_the_budget_finishes_with_every_item_in_order() -> None:
    # 3 states an item: 9,000 states take one pause at a budget of 5,000.
    items = list(range(3_000))
    definition = distributed_map(
        {
            "Double": {
                "Type": "Pass",
                "Parameters": {"v.$": "States.MathAdd($, $)"},
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.v", "NumericGreaterThanEquals": 0, "Next": "Out"}],
            },
            "Out": {"Type": "Pass", "OutputPath": "$.v", "End": True},
        },
        "Double",
    )
    assert 3 * len(items) > SILENT_STEP_BUDGET
    harness = Harness.of(definition, items)
    paused = 0
    result = harness.start()
    while harness.finish is None:
        [pause] = continuations(result.commands)
        paused += 1
        result = harness.fire(pause)
    assert paused == 3 * len(items) // SILENT_STEP_BUDGET
    assert harness.finish == Finish("SUCCEEDED", output=as_json([2 * i for i in items]))


@pytest.mark.timeout(30)  # before the fix the loop never yields: only this ends the test
def test_a_child_workflow_looping_for_ever_leaves_the_process_to_the_others() -> None:
    """The runtime fired the looping execution's continuation timers round after round without
    awaiting, so the paused step still froze the event loop: nothing else ran, not even the
    execution next to it. Now it yields between rounds."""

    async def main() -> tuple[str, object]:
        engine = Engine(clock=VirtualClock(T0))
        try:
            looping = engine.start(engine.load(LOOP_FOR_EVER, name="loop"), [1])
            other = engine.load({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
            result = await asyncio.wait_for(engine.run(other, {"n": 1}), 5.0)
            assert engine.runtime.executions[looping].done.done() is False  # still looping
            return result.status, result.output
        finally:
            await asyncio.wait_for(engine.aclose(), 5.0)

    assert asyncio.run(main()) == ("SUCCEEDED", {"n": 1})
