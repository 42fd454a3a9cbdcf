"""What the generator says about a machine matches the machine itself.

The differential tests compare paths in full unless a machine is `unordered`; a machine wrongly
left ordered is a false disagreement (make fuzz found one: two Map iterations retried with FULL
jitter woke in one order in the Engine and in the other in the Service), one wrongly marked
unordered hides real disagreements.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from engine.values import JSON
from tests.generated import concurrency
from tests.generated.strategies import GeneratedMachine, machines


def task(jitter: str | None = None) -> dict[str, JSON]:
    state: dict[str, JSON] = {"Type": "Task", "Resource": "arn:aws:lambda:f", "End": True}
    if jitter is not None:
        state["Retry"] = [{"ErrorEquals": ["E"], "JitterStrategy": jitter}]
    return state


def graph(*states: dict[str, JSON]) -> dict[str, JSON]:
    names = [f"S{i}" for i in range(len(states))]
    return {"StartAt": names[0], "States": dict(zip(names, states, strict=True))}


def parallel(*branches: dict[str, JSON]) -> dict[str, JSON]:
    return {"Type": "Parallel", "Branches": list(branches), "End": True}


def inline_map(processor: dict[str, JSON], key: str = "ItemProcessor") -> dict[str, JSON]:
    return {"Type": "Map", key: processor, "End": True}


PASS: dict[str, JSON] = {"Type": "Pass", "End": True}


@pytest.mark.parametrize(
    ("definition", "racy", "random_order"),
    [
        (graph(task("FULL")), False, False),  # alone: one retry at a time
        (graph(parallel(graph(task("FULL")))), False, False),  # one branch is not concurrent
        (graph(parallel(graph(task("NONE")), graph(PASS))), True, False),
        (graph(parallel(graph(task("FULL")), graph(PASS))), True, True),
        (graph(inline_map(graph(task()))), True, False),
        (graph(inline_map(graph(task("FULL")), "Iterator")), True, True),
        # a container retried with jitter inside a Map: its whole retries race
        (
            graph(inline_map(graph({**parallel(graph(PASS)), "Retry": task("FULL")["Retry"]}))),
            False,
            True,
        ),
        (graph(inline_map(graph(PASS))), False, False),
    ],
)
def test_concurrency_is_read_from_the_definition(
    definition: dict[str, JSON], racy: bool, random_order: bool
) -> None:
    assert concurrency.racy(definition) is racy
    assert concurrency.random_order(definition) is random_order


@settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated=machines(allow_express=True, allow_timeouts=True))
def test_a_generated_machine_carries_what_its_definition_says(
    generated: GeneratedMachine,
) -> None:
    assert generated.racy == concurrency.racy(generated.definition)
    assert generated.random_order == concurrency.random_order(generated.definition)
    assert generated.unordered == (
        generated.random_order or (generated.racy and generated.real_time)
    )
