"""Deep Parallel/Map nesting: the interpreter walks frames with work lists, never recursion.

Regression tests for issue 13: a Parallel nested ~2,000 deep recursed through
`_child_finished -> _settle -> finish_frame` (and `abort_frame`, the removal of a finished
frame's children) to a RecursionError. Validation now refuses more than 100 levels
(tests/definition/test_nesting.py); these tests build deeper machines by hand, past the
validator, to show that the walk itself no longer depends on the depth.
"""

from __future__ import annotations

from dataclasses import replace

from engine.definition.compile import Graph, Machine, ParallelState
from engine.errors import STATES_RUNTIME
from engine.interpreter.core import ENGINE_FAULT_PREFIX, step
from engine.interpreter.frames import ExecutionStatus, new_execution
from engine.interpreter.messages import Finish, Start
from tests.interpreter.helpers import T0, Harness, as_json, compile_definition, make_info

DEEP = 2_000
"""Deeper than Python's recursion limit allows a recursive walk (jsonata-python sets 10,000;
each level of the old walk took 6 frames)."""


def deep_parallel_machine(depth: int, leaf: dict[str, object]) -> Machine:
    """`depth` Parallel states, each the only state of its parent's only branch; the innermost
    branch runs `leaf`. Built from one compiled level, so no validation limit applies."""
    template = compile_definition(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "Leaf", "States": {"Leaf": leaf}}],
                    "End": True,
                }
            },
        }
    )
    parallel = template.root.states["P"]
    assert isinstance(parallel, ParallelState)
    inner = replace(parallel.branches[0], key=f"/level{depth}")
    graphs = {inner.key: inner}
    for level in range(depth, 0, -1):
        key = "" if level == 1 else f"/level{level - 1}"
        name = f"P{level}"
        outer = Graph(key, name, {name: replace(parallel, name=name, branches=(inner,))})
        graphs[key] = outer
        inner = outer
    return replace(template, root=inner, graphs=graphs)


def nested_list(depth: int, leaf: object) -> object:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def test_a_parallel_nested_2000_deep_succeeds_with_its_nested_output() -> None:
    machine = deep_parallel_machine(DEEP, {"Type": "Pass", "Result": "leaf", "End": True})
    harness = Harness.of(machine)
    finish = harness.run()
    assert finish == Finish("SUCCEEDED", output=as_json(nested_list(DEEP, "leaf")))
    types = [event.type for event in harness.history]
    assert types.count("ParallelStateSucceeded") == DEEP
    assert types[-3:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]


def test_a_failure_2000_levels_down_fails_every_parallel_and_the_execution() -> None:
    machine = deep_parallel_machine(DEEP, {"Type": "Fail", "Error": "Deep", "Cause": "bottom"})
    harness = Harness.of(machine)
    assert harness.run() == Finish("FAILED", error="Deep", cause="bottom")
    assert [event.type for event in harness.history].count("ParallelStateFailed") == DEEP


def test_stopping_an_execution_waiting_2000_levels_down_aborts_every_level() -> None:
    # The old recursive abort took one Python frame a level, so 2,000 passed before too: this
    # pins the order of the iterative walk (children before their parent, innermost first).
    machine = deep_parallel_machine(DEEP, {"Type": "Wait", "Seconds": 60, "End": True})
    harness = Harness.of(machine)
    harness.start()
    assert harness.status is ExecutionStatus.RUNNING
    result = harness.stop("Stopped", "by the test")
    assert harness.finish == Finish("ABORTED", error="Stopped", cause="by the test")
    aborted = [event.type for event in result.events]
    # Innermost first, as AWS records aborts: the Wait, then each Parallel outwards.
    assert aborted[0] == "WaitStateAborted"
    assert aborted[1:-1] == ["ParallelStateAborted"] * DEEP
    assert aborted[-1] == "ExecutionAborted"
    assert harness.timers == {}  # the Wait's timer was cancelled


def test_a_recursion_error_inside_step_is_an_engine_fault_not_an_exception() -> None:
    # An input far deeper than json.dumps recurses: measuring the Pass state's output raises
    # RecursionError inside `step`, which must close the execution like any engine bug.
    pass_state = {"Type": "Pass", "Parameters": {"value.$": "$"}, "End": True}
    machine = compile_definition({"StartAt": "P", "States": {"P": pass_state}})
    info = make_info(nested_list(50_000, 1))
    result = step(machine, new_execution(info, "P"), Start(T0))
    assert result.state.status is ExecutionStatus.FAILED
    assert result.fault is not None
    assert "RecursionError" in result.fault
    finish = result.commands[-1]
    assert isinstance(finish, Finish)
    assert finish.error == STATES_RUNTIME
    assert finish.cause is not None
    assert finish.cause.startswith(ENGINE_FAULT_PREFIX)
    assert [event.type for event in result.events] == ["ExecutionStarted", "ExecutionFailed"]
