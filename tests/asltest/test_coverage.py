"""engine/asltest/trace.py and coverage.py: what an execution exercised, read from its history.

Exact hits on hand-written machines (Choice with variables, a Parallel whose branch ends in a
Fail caught by the Parallel, a Retry on a Parallel, Map iterations, an in-state error caught
without an error event), and invariants over generated machines (tests/generated): every
state entry counted once, every exited Choice and every Catch attributed to exactly one
clause, no percentage above 100.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping

from hypothesis import HealthCheck, given, settings

from engine.asltest.coverage import MachineCoverage, elements_of
from engine.asltest.runner import facts
from engine.asltest.trace import read_trace
from engine.embedded import Engine, ExecutionResult, load_machine
from engine.runtime.clock import VirtualClock
from engine.values import JSON
from tests.generated import drivers
from tests.generated.strategies import GeneratedMachine, machines


def run(
    definition: Mapping[str, JSON], execution_input: JSON, **engine: object
) -> tuple[MachineCoverage, ExecutionResult]:
    machine = load_machine(definition)
    coverage = MachineCoverage("m", machine)

    async def go() -> ExecutionResult:
        engine_ = Engine(clock=VirtualClock(start=0), seed=0, **engine)  # type: ignore[arg-type]
        try:
            loaded = engine_.load(machine, name="m")
            return await engine_.run(loaded, execution_input)
        finally:
            await engine_.aclose()

    result = asyncio.run(go())
    coverage.record(read_trace(machine, result.events), facts(result, "arn", "m"))
    return coverage, result


def hit(coverage: MachineCoverage) -> dict[str, int]:
    return {pointer: n for pointer, n in coverage.hits.items() if n}


CHOICE_WITH_VARIABLES: dict[str, JSON] = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Assign": {"limit": 3}, "Next": "Loop"},
        "Loop": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.n", "NumericGreaterThanEqualsPath": "$limit", "Next": "Done"},
                {"Variable": "$.n", "NumericLessThan": 100, "Next": "Bump"},
            ],
            "Default": "Done",
        },
        "Bump": {
            "Type": "Pass",
            "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
            "Next": "Loop",
        },
        "Done": {"Type": "Succeed"},
    },
}


def test_choice_rules_are_re_evaluated_with_the_variables_the_history_assigned() -> None:
    coverage, result = run(CHOICE_WITH_VARIABLES, {"n": 1})
    assert result.status == "SUCCEEDED"
    assert hit(coverage) == {
        "/States/Init": 1,
        "/States/Loop": 3,
        "/States/Loop/Choices/0": 1,
        "/States/Loop/Choices/1": 2,
        "/States/Bump": 2,
        "/States/Done": 1,
    }
    assert coverage.totals().covered == 6
    assert [e.pointer for e in coverage.uncovered()] == ["/States/Loop/Default"]


PARALLEL_FAIL_CAUGHT: dict[str, JSON] = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "Broken",
                    "States": {"Broken": {"Type": "Fail", "Error": "Oops", "Cause": "branch"}},
                },
            ],
            "Retry": [
                {"ErrorEquals": ["Other"], "MaxAttempts": 1},
                {"ErrorEquals": ["Oops"], "MaxAttempts": 1, "IntervalSeconds": 1},
            ],
            "Catch": [
                {"ErrorEquals": ["Nope"], "Next": "Never"},
                {"ErrorEquals": ["Oops"], "Next": "Recovered"},
            ],
            "Next": "Never",
        },
        "Never": {"Type": "Succeed"},
        "Recovered": {"Type": "Succeed"},
    },
}


def test_a_fail_state_in_a_branch_gives_the_parallel_its_error_for_retry_and_catch() -> None:
    coverage, result = run(PARALLEL_FAIL_CAUGHT, {})
    assert result.status == "SUCCEEDED"
    assert hit(coverage) == {
        "/States/Fan": 1,
        "/States/Fan/Retry/1": 2,  # the first failure is retried, the second exhausts it
        "/States/Fan/Catch/1": 1,
        "/States/Fan/Branches/0": 1,
        "/States/Fan/Branches/0/States/Ok": 2,
        "/States/Fan/Branches/1": 1,
        "/States/Fan/Branches/1/States/Broken": 2,
        "/States/Recovered": 1,
    }


MAP_WITH_CATCH: dict[str, JSON] = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Reject",
                "States": {"Reject": {"Type": "Fail", "ErrorPath": "$.code", "Cause": "item"}},
            },
            "Catch": [
                {"ErrorEquals": ["Nope"], "Next": "Other"},
                {"ErrorEquals": ["States.ALL"], "Next": "Caught"},
            ],
            "End": True,
        },
        "Other": {"Type": "Pass", "End": True},
        "Caught": {"Type": "Pass", "End": True},
    },
}


def test_an_error_the_history_does_not_record_is_attributed_by_the_state_entered_next() -> None:
    # The error of a Fail state with ErrorPath inside an iteration is in no event.
    coverage, result = run(MAP_WITH_CATCH, {"items": [{"code": "E1"}, {"code": "E2"}]})
    assert result.status == "SUCCEEDED"
    assert hit(coverage) == {
        "/States/Each": 1,
        "/States/Each/Catch/1": 1,
        "/States/Each/ItemProcessor": 1,
        "/States/Each/ItemProcessor/States/Reject": 1,  # the first failure ends the Map
        "/States/Caught": 1,
    }


def test_distributed_map_inner_states_are_not_measured() -> None:
    definition: dict[str, JSON] = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Inner",
                    "States": {"Inner": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    coverage, result = run(definition, [1, 2])
    assert result.status == "SUCCEEDED"
    measured = {e.pointer: e.measured for e in coverage.elements}
    assert measured == {
        "/States/Each": True,
        "/States/Each/ItemProcessor": True,
        "/States/Each/ItemProcessor/States/Inner": False,
    }
    assert coverage.totals().covered == coverage.totals().total == 2


# -- invariants over generated machines -----------------------------------------------------


@settings(
    # CI: 40 derandomized examples; ASL_FUZZ_EXAMPLES=N (as for tests/generated) runs N
    # examples from a random seed.
    max_examples=max(40, int(os.environ.get("ASL_FUZZ_EXAMPLES", "0"))),
    deadline=None,
    derandomize=not os.environ.get("ASL_FUZZ_EXAMPLES"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(machines())
def test_coverage_invariants_on_generated_machines(generated: GeneratedMachine) -> None:
    machine = load_machine(generated.definition, machine_type=generated.machine_type)
    result = drivers.engine_result(generated)
    trace = read_trace(machine, result.events)
    coverage = MachineCoverage("generated", machine)
    coverage.record(trace, facts(result, "arn", "generated"))
    elements = {e.pointer: e for e in elements_of(machine)}
    assert len(elements) == len(coverage.elements)  # every pointer names one element
    by_kind: dict[str, int] = {}
    for pointer, count in coverage.hits.items():
        by_kind[elements[pointer].kind] = by_kind.get(elements[pointer].kind, 0) + count
    types = [event.type for event in result.events]
    # Every state entry is counted once, on its own state.
    assert by_kind.get("state", 0) == sum(t.endswith("StateEntered") for t in types)
    # Every Choice that went on to a state is attributed to exactly one rule or the Default.
    choices = [v for v in trace.visits if v.exited and v.next_state is not None]
    chose = [v for v in choices if machine_type_of(machine, v.state) == "Choice"]
    assert by_kind.get("choice rule", 0) == len(chose)
    # Every caught failure is attributed to exactly one catcher.
    assert by_kind.get("catcher", 0) == sum(1 for v in trace.visits if v.caught)
    for kind in (None, "state", "choice rule", "retrier", "catcher", "branch"):
        totals = coverage.totals(kind)
        assert 0 <= totals.covered <= totals.total
        assert 0.0 <= totals.percent <= 100.0


def machine_type_of(machine: object, state: str) -> str:
    from engine.asltest.trace import states_by_name

    return states_by_name(machine).get(state).type  # type: ignore[arg-type, union-attr]
