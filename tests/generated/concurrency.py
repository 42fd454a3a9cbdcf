"""What in a generated machine runs concurrently, read from its definition alone.

Owns: `racy` (a Task in a Map or in a Parallel of two or more branches: if two fail, the first
error wins) and `random_order` (a Retry with FULL jitter there: retries wake after random delays
drawn per execution, as on AWS, so two runs may order them differently). Read from the final
definition, not while building it: the builder drops states it generated (unreachable ones), and
a flag set by a dropped state would stop the differential tests from comparing a machine in full.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from engine.values import JSON

State = dict[str, JSON]


def graphs_of(state: State) -> list[State]:
    """The graphs a Parallel (its branches) or a Map (its processor) runs."""
    if state.get("Type") == "Parallel":
        branches = state.get("Branches", [])
        assert isinstance(branches, list)
        return [branch for branch in branches if isinstance(branch, dict)]
    for key in ("ItemProcessor", "Iterator"):
        graph = state.get(key)
        if isinstance(graph, dict):
            return [graph]
    return []


def states_of(graph: State) -> Iterator[State]:
    """Every state of `graph`, those of nested graphs included."""
    states = graph.get("States", {})
    assert isinstance(states, dict)
    for state in states.values():
        if isinstance(state, dict):
            yield state
            for inner in graphs_of(state):
                yield from states_of(inner)


def _concurrently(graph: State, found: Callable[[State], bool]) -> bool:
    """Whether a state `found` selects runs inside a Map or a Parallel of two or more branches."""
    for state in states_of(graph):
        inner = graphs_of(state)
        concurrent = state.get("Type") == "Map" or len(inner) > 1
        if concurrent and any(found(nested) for g in inner for nested in states_of(g)):
            return True
    return False


def _is_task(state: State) -> bool:
    return state.get("Type") == "Task"


def _has_full_jitter(state: State) -> bool:
    retry = state.get("Retry", [])
    assert isinstance(retry, list)
    return any(isinstance(r, dict) and r.get("JitterStrategy") == "FULL" for r in retry)


def racy(definition: State) -> bool:
    return _concurrently(definition, _is_task)


def random_order(definition: State) -> bool:
    return _concurrently(definition, _has_full_jitter)
