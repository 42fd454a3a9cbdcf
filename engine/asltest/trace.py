"""What one execution's history says about each state it ran: a `Trace` of `Visit`s.

Owns: reading an execution's history events (AWS's shapes, history.py) into visits: one per
state entry, with the visit's input and output, its Task calls, the errors it met and how each
ended (retried, caught, uncaught), the state it went to next, the workflow variables it saw,
and the Parallel/Map visit it ran inside. Events of concurrent branches and Map iterations
interleave; each event's `previousEventId` names the event before it in the same branch, which
is how every event is given to its visit. Must never: run anything or decide semantics (it
reads what the interpreter recorded; where the history does not say, e.g. the error of a Fail
state inside a branch, it says "unknown" rather than guess).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.definition.compile import FailState, Machine, MapState, State
from engine.history_events import SUCCESS_EVENTS
from engine.interpreter.history import HistoryEvent, Payload
from engine.values import JSON

__all__ = ["Failure", "Trace", "Visit", "read_trace", "states_by_name"]

_ATTEMPT_STARTS = frozenset({"ParallelStateStarted", "MapStateStarted"})


@dataclass(slots=True)
class Failure:
    """An error a visit met: its name (None when the history does not record it) and what
    followed: "retried", "caught" or "uncaught"."""

    error: str | None
    cause: str | None
    outcome: str = "uncaught"


@dataclass(slots=True, eq=False)
class Visit:
    """One entry into a state, and what the history records of it."""

    state: str
    entered_id: int
    input: JSON
    variables: Mapping[str, JSON]
    parent: Visit | None
    entered_time: float
    output: JSON = None
    exited: bool = False
    aborted: bool = False
    caught: bool = False
    next_state: str | None = None
    calls: int = 0
    failures: list[Failure] = field(default_factory=list)
    attempts: int = 0
    """Parallel/Map: the runs of its branches started (a Retry starts them again)."""
    child_failures: dict[int, Failure] = field(default_factory=dict)
    """Parallel/Map: the first failure of a branch or iteration in each attempt."""
    parent_attempt: int = 0
    """The attempt of the parent Parallel/Map this visit belongs to (from 1)."""
    map_run: bool = False
    """A Distributed Map whose child runs started (their states are not in this history)."""


@dataclass(frozen=True, slots=True)
class Trace:
    """The visits of one execution, in the order they were entered."""

    visits: tuple[Visit, ...]
    status: str
    error: str | None

    def path(self) -> list[str]:
        """The states entered, in history order (Map iterations and branches included)."""
        return [visit.state for visit in self.visits]

    def visits_of(self, state: str) -> list[Visit]:
        return [visit for visit in self.visits if visit.state == state]


def states_by_name(machine: Machine) -> dict[str, State]:
    """Every state of the machine, nested ones included (state names are unique machine-wide)."""
    found: dict[str, State] = {}
    for graph in machine.graphs.values():
        found.update(graph.states)
    return found


def _value(details: Mapping[str, object] | None, key: str) -> JSON:
    value = (details or {}).get(key)
    if isinstance(value, Payload):
        return value.value
    return value  # type: ignore[return-value]


def read_trace(machine: Machine, events: Iterable[HistoryEvent]) -> Trace:
    """The visits an execution's history records, with their failures resolved."""
    states = states_by_name(machine)
    owner: dict[int, Visit | None] = {}
    variables: dict[int, Mapping[str, JSON]] = {}
    types: dict[int, str] = {}
    error_events: set[int] = set()
    visits: list[Visit] = []
    status, error = "RUNNING", None
    for event in events:
        kind = event.type
        types[event.id] = kind
        previous = event.previous_event_id
        seen = variables.get(previous, {})
        details = event.details
        if kind.endswith("StateEntered"):
            before = owner.get(previous)
            if types.get(previous, "").endswith("StateExited") and before is not None:
                before.next_state = str(_value(details, "name"))
                parent = before.parent
            else:
                parent = before
            entered = Visit(
                state=str(_value(details, "name")),
                entered_id=event.id,
                input=_value(details, "input"),
                variables=seen,
                parent=parent,
                entered_time=event.timestamp,
                parent_attempt=parent.attempts if parent is not None else 0,
            )
            visits.append(entered)
            owner[event.id] = entered
            variables[event.id] = seen
            continue
        visit = owner.get(previous)
        if kind == "EvaluationFailed":
            # Its previousEventId is the one before the state's Entered event (AWS's, see
            # core.py `evaluation_failure`): the state it names tells the visit.
            named = _value(details, "state")
            visit = next((v for v in reversed(visits) if v.state == named), visit)
        owner[event.id] = visit
        variables[event.id] = seen
        if kind.startswith("Execution"):
            if kind != "ExecutionStarted":
                status = _STATUS.get(kind, status)
                error = _opt_str(_value(details, "error"))
                if (
                    visit is not None
                    and kind == "ExecutionFailed"
                    and not visit.exited
                    and previous not in error_events  # the failure it closes is recorded
                ):
                    _fail(visit, error, _opt_str(_value(details, "cause")))
            continue
        if visit is None:
            continue
        if kind.endswith("StateExited"):
            visit.exited = True
            visit.output = _value(details, "output")
            visit.caught = types.get(previous) not in SUCCESS_EVENTS and _can_catch(
                states.get(visit.state)
            )
            assigned = _value(details, "assignedVariables")
            if isinstance(assigned, dict):
                merged = dict(seen)
                for name, text in assigned.items():
                    merged[name] = json.loads(text) if isinstance(text, str) else text
                variables[event.id] = merged
        elif kind.endswith("StateAborted"):
            visit.aborted = True
        elif kind.endswith("Scheduled"):
            visit.calls += 1
        elif kind in _ATTEMPT_STARTS:
            visit.attempts += 1
        elif kind == "MapRunStarted":
            visit.map_run = True
        elif details is not None and "error" in details and kind != "MapRunFailed":
            error_events.add(event.id)
            _fail(visit, _opt_str(_value(details, "error")), _opt_str(_value(details, "cause")))
    _resolve(visits, states)
    return Trace(tuple(visits), status, error)


_STATUS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


def _opt_str(value: JSON) -> str | None:
    return value if isinstance(value, str) else None


def _can_catch(state: State | None) -> bool:
    return state is not None and state.type in ("Task", "Parallel", "Map")


def _fail(visit: Visit, error: str | None, cause: str | None) -> None:
    visit.failures.append(Failure(error, cause))


def _resolve(visits: list[Visit], states: Mapping[str, State]) -> None:
    """How each failure ended, and the errors that branches hand to their Parallel or Map."""
    for visit in visits:
        state = states.get(visit.state)
        if (
            visit.parent is not None
            and not visit.exited
            and not visit.aborted
            and (visit.failures or isinstance(state, FailState))
        ):
            failure = visit.failures[-1] if visit.failures else _fail_state_failure(state)
            visit.parent.child_failures.setdefault(max(visit.parent_attempt, 1), failure)
    for visit in visits:
        state = states.get(visit.state)
        if state is not None and state.type in ("Parallel", "Map"):
            # Each attempt that did not succeed failed with its first failing branch's error;
            # a Map's last attempt that exited normally tolerated its failed iterations.
            succeeded = visit.exited and not visit.caught
            errors = [
                visit.child_failures[a]
                for a in sorted(visit.child_failures)
                if a < visit.attempts or not succeeded
            ]
            if isinstance(state, MapState) and _tolerates(state):
                errors = [Failure("States.ExceedToleratedFailureThreshold", None) for _ in errors]
            own = visit.failures
            visit.failures = [Failure(f.error, f.cause) for f in errors] + own
        for index, failure in enumerate(visit.failures):
            last = index == len(visit.failures) - 1
            if not last:
                failure.outcome = "retried"
            elif visit.caught:
                failure.outcome = "caught"
            elif visit.exited:
                failure.outcome = "retried"  # a later attempt succeeded
            else:
                failure.outcome = "uncaught"
        if visit.caught and not visit.failures:
            visit.failures.append(Failure(None, None, "caught"))


def _fail_state_failure(state: State | None) -> Failure:
    if isinstance(state, FailState) and isinstance(state.error, str):
        return Failure(state.error, state.cause if isinstance(state.cause, str) else None)
    return Failure(None, None)


def _tolerates(state: MapState) -> bool:
    return (
        state.tolerated_failure_count is not None
        or state.tolerated_failure_percentage is not None
        or state.tolerated_failure_count_path is not None
        or state.tolerated_failure_percentage_path is not None
        or "ToleratedFailurePercentage" in state.jsonata
        or "ToleratedFailureCount" in state.jsonata
    )
