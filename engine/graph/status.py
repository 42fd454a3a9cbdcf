"""Each state's status in one execution, read from its history events (AWS's JSON shapes).

Owns: the statuses the graph is coloured with: "running" (entered, not left, the execution
still running), "succeeded" (left normally), "failed" (met an error nothing caught, or was
running when the execution failed or timed out), "caught" (left through a Catch), "cancelled"
(aborted, or running when the execution was stopped) and "not-run". Events of concurrent
branches and Map iterations interleave; each event's `previousEventId` names the one before it
in the same branch, which is how an event is given to its state (as asltest/trace.py reads
histories). A state entered many times (a Map's iterations, a loop) shows its latest visit and
counts its entries. Must never: run anything, or read a store (the caller hands the events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.graph.model import Graph
from engine.values import JSON

__all__ = ["STATUSES", "StateStatus", "state_statuses"]

STATUSES = ("running", "succeeded", "failed", "caught", "cancelled", "not-run")

_SUCCESS_EVENTS = frozenset(
    {
        "TaskSucceeded",
        "LambdaFunctionSucceeded",
        "ActivitySucceeded",
        "ParallelStateSucceeded",
        "MapStateSucceeded",
    }
)
"""A Task, Parallel or Map left normally when its StateExited follows one of these; any other
StateExited of such a state follows a Catch (the same rule as asltest/trace.py)."""

_CATCHING = frozenset({"Task", "Parallel", "Map"})


@dataclass(frozen=True, slots=True)
class StateStatus:
    status: str
    entered: int
    """How many times the state was entered (a Map's inner states once per iteration)."""


def state_statuses(graph: Graph, events: Iterable[Mapping[str, JSON]]) -> dict[str, StateStatus]:
    """The status of every state of `graph` after `events` (a GetExecutionHistory list)."""
    by_name: dict[str, list[str]] = {}
    for node in graph.states():
        by_name.setdefault(node.name, []).append(node.id)
    types = {node.name: node.type for node in graph.states()}
    owner: dict[int, str | None] = {}
    kinds: dict[int, str] = {}
    status: dict[str, str] = {}
    entered: dict[str, int] = {}
    for event in events:
        kind = str(event.get("type", ""))
        event_id = event.get("id")
        previous = event.get("previousEventId")
        if not isinstance(event_id, int):
            continue
        kinds[event_id] = kind
        name = owner.get(previous) if isinstance(previous, int) else None
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails")
            entered_name = details.get("name") if isinstance(details, dict) else None
            name = entered_name if isinstance(entered_name, str) else None
            if name is not None:
                status[name] = "running"
                entered[name] = entered.get(name, 0) + 1
        elif kind.startswith("Execution"):
            _close(status, kind)
        elif name is not None and kind.endswith("StateExited"):
            before = kinds.get(previous) if isinstance(previous, int) else None
            caught = types.get(name) in _CATCHING and before not in _SUCCESS_EVENTS
            status[name] = "caught" if caught else "succeeded"
            # the next state entered in this branch follows this event, not this state
            owner[event_id] = None
            continue
        elif name is not None and kind.endswith(("Scheduled", "Started", "Submitted")):
            status[name] = "running"  # a new attempt (after a Retry, a failed one came before)
        elif name is not None and kind.endswith("StateAborted"):
            # a branch's failing Task is aborted after its failure (with its siblings): the
            # failure is what it shows
            if status.get(name) != "failed":
                status[name] = "cancelled"
        elif name is not None and _is_failure(event, kind):
            status[name] = "failed"
        owner[event_id] = name
    result: dict[str, StateStatus] = {}
    for node in graph.states():
        result[node.id] = StateStatus(status.get(node.name, "not-run"), entered.get(node.name, 0))
    return result


def _is_failure(event: Mapping[str, JSON], kind: str) -> bool:
    if kind in ("MapRunFailed", "MapIterationFailed"):
        return False  # the Map's own MapStateFailed (or a Catch) decides the state
    return kind.endswith(("Failed", "TimedOut")) or kind == "EvaluationFailed"


def _close(status: dict[str, str], kind: str) -> None:
    """The execution ended: what still runs ran into the end."""
    final = {
        "ExecutionFailed": "failed",
        "ExecutionTimedOut": "failed",
        "ExecutionAborted": "cancelled",
    }.get(kind)
    if final is None:
        return
    for name, current in status.items():
        if current == "running":
            status[name] = final
