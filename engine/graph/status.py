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

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.graph.model import Graph
from engine.history_events import SUCCESS_EVENTS
from engine.values import JSON

__all__ = ["STATUSES", "StateStatus", "StatusFold", "state_statuses"]

STATUSES = ("running", "succeeded", "failed", "caught", "cancelled", "not-run")

_CATCHING = frozenset({"Task", "Parallel", "Map"})


@dataclass(frozen=True, slots=True)
class StateStatus:
    status: str
    entered: int
    """How many times the state was entered (a Map's inner states once per iteration)."""
    input: JSON = None
    """The latest visit's input, output, error and cause as the history records them (JSON
    text for input and output)."""
    output: JSON = None
    error: JSON = None
    cause: JSON = None
    iterations: tuple[int, int, int] = (0, 0, 0)
    """A Map's iterations: started, succeeded, failed (MapIteration* events)."""
    map_run: JSON = None
    """A Distributed Map's Map Run ARN (MapRunStarted), whose child executions run its items."""


_ITERATION_EVENTS = {"MapIterationStarted": 0, "MapIterationSucceeded": 1, "MapIterationFailed": 2}


def state_statuses(graph: Graph, events: Iterable[Mapping[str, JSON]]) -> dict[str, StateStatus]:
    """The status of every state of `graph` after `events` (a GetExecutionHistory list)."""
    fold = StatusFold(graph)
    fold.feed(events)
    return fold.statuses()


class StatusFold:
    """`state_statuses` kept up to date event by event: feed it the events past `last_id` as
    they are written, and read the statuses at any point, all of them or only those that
    changed after a given event. What the console keeps between polls, so that a poll reads
    and folds only the new events of a long history, not the whole of it again.

    It remembers each event's kind and state (an event's `previousEventId` may name any earlier
    one), so it grows with the history: about 100 bytes an event (2.6 MB at 25,000). Events at
    or before `last_id` are skipped, so feeding overlapping reads (two polls racing) is harmless.
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.last_id = 0
        """The id of the last event folded in."""
        self._types = {node.name: node.type for node in graph.states()}
        self._owner: dict[int, str | None] = {}
        self._kinds: dict[int, str] = {}
        self._status: dict[str, str] = {}
        self._entered: dict[str, int] = {}
        self._seen: dict[str, dict[str, JSON]] = {}
        self._iterations: dict[str, list[int]] = {}
        self._map_runs: dict[str, JSON] = {}
        self._changed: dict[str, int] = {}
        """Each state's (by name) last event that changed what `statuses` says of it."""

    def feed(self, events: Iterable[Mapping[str, JSON]]) -> None:
        """Fold in `events` (oldest first); those at or before `last_id` are skipped."""
        owner, kinds, status, seen = self._owner, self._kinds, self._status, self._seen
        changed = self._changed
        for event in events:
            kind = str(event.get("type", ""))
            event_id = event.get("id")
            previous = event.get("previousEventId")
            if not isinstance(event_id, int) or event_id <= self.last_id:
                continue
            self.last_id = event_id
            kinds[event_id] = kind = sys.intern(kind)  # one copy of each kind kept
            name = owner.get(previous) if isinstance(previous, int) else None
            if kind.endswith("StateEntered"):
                details = event.get("stateEnteredEventDetails")
                entered_name = details.get("name") if isinstance(details, dict) else None
                name = entered_name if isinstance(entered_name, str) else None
                if name is not None:
                    status[name] = "running"
                    self._entered[name] = self._entered.get(name, 0) + 1
                    seen[name] = {"input": _detail(details, "input")}
                    changed[name] = event_id
            elif kind.startswith("Execution"):
                for closed in _close(status, kind):
                    changed[closed] = event_id
            elif name is not None and kind.endswith("StateExited"):
                before = kinds.get(previous) if isinstance(previous, int) else None
                caught = self._types.get(name) in _CATCHING and before not in SUCCESS_EVENTS
                status[name] = "caught" if caught else "succeeded"
                seen.setdefault(name, {})["output"] = _detail(
                    event.get("stateExitedEventDetails"), "output"
                )
                changed[name] = event_id
                # the next state entered in this branch follows this event, not this state
                owner[event_id] = None
                continue
            elif name is not None and kind == "MapRunStarted":
                self._map_runs[name] = _detail(event.get("mapRunStartedEventDetails"), "mapRunArn")
                changed[name] = event_id
            elif name is not None and kind in _ITERATION_EVENTS:
                self._iterations.setdefault(name, [0, 0, 0])[_ITERATION_EVENTS[kind]] += 1
                changed[name] = event_id
            elif name is not None and kind.endswith(("Scheduled", "Started", "Submitted")):
                status[name] = "running"  # a new attempt (after a Retry, a failed one came before)
                changed[name] = event_id
            elif name is not None and kind.endswith("StateAborted"):
                # a branch's failing Task is aborted after its failure (with its siblings): the
                # failure is what it shows
                if status.get(name) != "failed":
                    status[name] = "cancelled"
                    changed[name] = event_id
            elif name is not None and _is_failure(event, kind):
                status[name] = "failed"
                details = next((v for k, v in event.items() if k.endswith("EventDetails")), None)
                visit = seen.setdefault(name, {})
                visit["error"] = _detail(details, "error")
                visit["cause"] = _detail(details, "cause")
                changed[name] = event_id
            owner[event_id] = name

    def statuses(self, *, changed_after: int = 0) -> dict[str, StateStatus]:
        """Every state's status by its key in the graph; with `changed_after`, only the states
        that an event past that id changed (0: every state, those not run too)."""
        result: dict[str, StateStatus] = {}
        for node in self.graph.states():
            if changed_after and self._changed.get(node.name, 0) <= changed_after:
                continue
            visit = self._seen.get(node.name, {})
            started, succeeded, failed = self._iterations.get(node.name, (0, 0, 0))
            result[node.id] = StateStatus(
                self._status.get(node.name, "not-run"),
                self._entered.get(node.name, 0),
                visit.get("input"),
                visit.get("output"),
                visit.get("error"),
                visit.get("cause"),
                (started, succeeded, failed),
                self._map_runs.get(node.name),
            )
        return result


def _detail(details: JSON, key: str) -> JSON:
    return details.get(key) if isinstance(details, dict) else None


def _is_failure(event: Mapping[str, JSON], kind: str) -> bool:
    if kind in ("MapRunFailed", "MapIterationFailed"):
        return False  # the Map's own MapStateFailed (or a Catch) decides the state
    return kind.endswith(("Failed", "TimedOut")) or kind == "EvaluationFailed"


def _close(status: dict[str, str], kind: str) -> list[str]:
    """The execution ended: what still runs ran into the end. The states it changed."""
    final = {
        "ExecutionFailed": "failed",
        "ExecutionTimedOut": "failed",
        "ExecutionAborted": "cancelled",
    }.get(kind)
    if final is None:
        return []
    closed = [name for name, current in status.items() if current == "running"]
    for name in closed:
        status[name] = final
    return closed
