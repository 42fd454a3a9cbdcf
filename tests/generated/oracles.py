"""What must hold of any execution's history: its shape, thread by thread.

Owns: `check_history`, over AWS's GetExecutionHistory shape, so that any path is checked the
same way (in-process `HistoryEvent`s, `HistoryEvent.as_json()` dicts, boto3's `events` with
datetime timestamps): ids 1, 2, 3...; each previousEventId the last event of the same thread of
control (for a branch's or iteration's first event, its parent's ParallelStateStarted or
MapIterationStarted); every `…StateEntered` closed by its `…StateExited` or `…StateAborted`
before the thread enters another state, left open only by a failure; no event on a branch or
iteration after its Parallel or Map moved on; one closing event, last, matching the status;
timestamps never decreasing. The `Walk` it returns (threads and state visits) is what
outcomes.py checks further. Raises `AssertionError` naming the event.

Must never: import the engine's own matching or data-flow code (an oracle that reuses the code
it checks proves nothing).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from engine.interpreter.history import HistoryEvent, Payload, details_key
from engine.values import JSON

CLOSING = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}
_PAYLOAD_FIELDS = ("input", "output", "parameters")


@dataclass(frozen=True, slots=True)
class Event:
    """One history event, normalised: payload fields are JSON values, the time a float."""

    id: int
    previous: int
    time: float
    type: str
    details: Mapping[str, JSON]

    @property
    def name(self) -> str | None:
        """The state an event names (EvaluationFailed names it as `state`)."""
        value = self.details.get("name", self.details.get("state"))
        return value if isinstance(value, str) else None


def normalise(events: Iterable[HistoryEvent | Mapping[str, object] | JSON]) -> list[Event]:
    return [_normalise(event) for event in events]


def _normalise(event: HistoryEvent | Mapping[str, object] | JSON) -> Event:
    assert isinstance(event, HistoryEvent | Mapping), event
    if isinstance(event, HistoryEvent):
        details = {
            key: value.value if isinstance(value, Payload) else value
            for key, value in (event.details or {}).items()
        }
        return Event(event.id, event.previous_event_id, event.timestamp, event.type, details)
    kind = str(event["type"])
    raw = event.get(details_key(kind)) or {}
    assert isinstance(raw, Mapping)
    parsed: dict[str, JSON] = {}
    for key, value in raw.items():
        if key in _PAYLOAD_FIELDS and isinstance(value, str):
            parsed[key] = json.loads(value)
        else:
            parsed[key] = value
    stamp = event["timestamp"]
    if isinstance(stamp, datetime):
        moment = stamp.timestamp()
    elif isinstance(stamp, str):
        moment = rendered_time(stamp)
    else:
        assert isinstance(stamp, int | float)
        moment = float(stamp)
    identifier, previous = event["id"], event.get("previousEventId", 0)
    assert isinstance(identifier, int)
    assert isinstance(previous, int)
    return Event(identifier, previous, moment, kind, parsed)


_RENDERED = re.compile(r"([+-]?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z\Z")


def rendered_time(text: str) -> float:
    """Seconds since the epoch of a rendered history timestamp, `2024-03-06T10:29:14.123Z`,
    also past the year 9999 (ISO 8601's expanded year, `+33712-...`), which datetime cannot
    hold."""
    match = _RENDERED.match(text)
    assert match is not None, f"not a history timestamp: {text!r}"
    year, month, day, hour, minute, second, fraction = match.groups()
    days = _days_from_civil(int(year), int(month), int(day))
    seconds = days * 86_400 + int(hour) * 3600 + int(minute) * 60 + int(second)
    return seconds + int((fraction or "0").ljust(9, "0")) / 1e9


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


# -- the definition, indexed ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateInfo:
    name: str
    body: Mapping[str, JSON]
    graph: str  # JSON pointer of the graph holding the state ("" for the top level)
    parent: str | None  # the Parallel or Map state whose branch/processor holds it
    language: str
    start: bool  # the StartAt of its graph

    @property
    def type(self) -> str:
        return str(self.body["Type"])


def index_states(definition: Mapping[str, JSON]) -> dict[str, StateInfo]:
    """Every state of a definition by name (names are unique across the whole machine)."""
    found: dict[str, StateInfo] = {}
    top = str(definition.get("QueryLanguage", "JSONPath"))

    def walk(graph: Mapping[str, JSON], key: str, parent: str | None) -> None:
        states = graph["States"]
        assert isinstance(states, dict)
        for name, body in states.items():
            assert isinstance(body, dict)
            language = str(body.get("QueryLanguage", top))
            found[name] = StateInfo(name, body, key, parent, language, name == graph["StartAt"])
            for number, branch in enumerate(body.get("Branches") or []):  # type: ignore[arg-type]
                assert isinstance(branch, dict)
                walk(branch, f"{key}/States/{name}/Branches/{number}", name)
            processor = body.get("ItemProcessor") or body.get("Iterator")
            if isinstance(processor, dict):
                walk(processor, f"{key}/States/{name}/ItemProcessor", name)

    walk(definition, "", None)
    return found


# -- threads --------------------------------------------------------------------------------------


@dataclass
class Visit:
    """One entry into a state on one thread, and the events it recorded until it closed."""

    state: StateInfo
    events: list[Event]
    closed_by: Event | None = None  # its Exited or Aborted event
    next_state: str | None = None  # the state entered next on the thread


@dataclass
class Thread:
    graph: str
    parent: Thread | None
    last: int  # id of the last event on this thread
    visits: list[Visit] = field(default_factory=list)
    children: list[Thread] = field(default_factory=list)
    finished: bool = False  # its parent state moved on: no event may join it any more
    iteration: object = None  # the Map item index of an iteration's thread

    @property
    def open(self) -> Visit | None:
        visit = self.visits[-1] if self.visits else None
        return visit if visit is not None and visit.closed_by is None else None


@dataclass
class Walk:
    """The history split into threads of control and state visits."""

    events: list[Event]
    states: dict[str, StateInfo]
    threads: list[Thread]
    status: str

    def visits(self) -> Iterator[Visit]:
        for thread in self.threads:
            yield from thread.visits


def check_history(
    definition: Mapping[str, JSON],
    history: Iterable[HistoryEvent | Mapping[str, object] | JSON],
    status: str,
) -> Walk:
    """Assert the history is well formed (see the module docstring); returns its threads."""
    events = normalise(history)
    states = index_states(definition)
    assert events, "an execution records at least ExecutionStarted"
    for expected, event in enumerate(events, start=1):
        assert event.id == expected, f"event ids are not contiguous at {event}"
        assert 0 <= event.previous < event.id, f"previousEventId out of range: {event}"
    for before, after in itertools.pairwise(events):
        assert after.time >= before.time, f"time goes back: {before} then {after}"
    closing = [event for event in events if event.type in CLOSING]
    assert len(closing) == 1, f"expected one closing event, got {[e.type for e in closing]}"
    assert events[-1] is closing[0], f"the closing event is not last: {events[-1]}"
    assert CLOSING[closing[0].type] == status, f"{closing[0].type} but the status is {status}"
    assert events[0].type == "ExecutionStarted", events[0]
    # AWS links the first state's Entered event to no event (previousEventId 0), and so an
    # EvaluationFailed of that state, which links where its Entered does: read them as
    # linked to ExecutionStarted, on the main thread
    events = [events[0], *(replace(e, previous=e.previous or 1) for e in events[1:])]
    root = Thread(graph="", parent=None, last=1)
    threads = [root]
    thread_of: dict[int, Thread] = {1: root}
    by_id = {event.id: event for event in events}
    for event in events[1:]:
        thread = _place(event, by_id, thread_of, states, threads)
        thread_of[event.id] = thread
        thread.last = event.id
    walk = Walk(events, states, threads, status)
    _check_open_states(walk)
    return walk


def _place(
    event: Event,
    by_id: Mapping[int, Event],
    thread_of: Mapping[int, Thread],
    states: Mapping[str, StateInfo],
    threads: list[Thread],
) -> Thread:
    """The thread an event belongs to, asserting it links to the right earlier event."""
    previous = by_id[event.previous]
    parent = thread_of[previous.id]
    state = states.get(event.name) if event.name else None
    container = parent.open.state if parent.open else None
    forks = previous.type in ("ParallelStateStarted", "MapIterationStarted")
    if (
        forks
        and event.type.endswith("StateEntered")
        and state is not None
        and container is not None
        and state.parent == container.name
    ):
        assert state.start, f"a branch or iteration starts at {state.name}, not its StartAt"
        child = Thread(graph=state.graph, parent=parent, last=previous.id)
        if previous.type == "MapIterationStarted":
            child.iteration = previous.details.get("index")
        parent.children.append(child)
        threads.append(child)
        _visit(child, event, state)
        return child
    thread = parent
    if event.type == "EvaluationFailed":
        # AWS links EvaluationFailed to the event before the state's Entered when both are
        # recorded in one go (core.py, evaluation_failure), else to the thread's last event.
        thread = _evaluation_thread(event, threads)
    assert not thread.finished, f"{event} joins a branch or iteration that had ended"
    if event.type != "EvaluationFailed":
        assert event.previous == thread.last, (
            f"{event} links to event {event.previous}, but the last event of its thread is "
            f"{thread.last}"
        )
    if event.type == "ExecutionStarted" or event.type in CLOSING:
        assert thread.parent is None, f"{event} is not on the main thread"
        return thread
    if event.type.endswith("StateEntered"):
        assert state is not None, f"{event} names no state of the definition"
        assert state.graph == thread.graph, f"{event} enters a state of another graph"
        previous_visit = thread.visits[-1] if thread.visits else None
        if previous_visit is not None:
            assert previous_visit.closed_by is not None, (
                f"{event} while {previous_visit.state.name} is still open on the same thread"
            )
            previous_visit.next_state = state.name
        _visit(thread, event, state)
        return thread
    visit = thread.open
    assert visit is not None, f"{event} happens outside any state"
    visit.events.append(event)
    if event.name is not None and not event.type.startswith("MapIteration"):
        assert event.name == visit.state.name, f"{event} names another state than {visit.state}"
    expected_type = _owner_type(event.type)
    if expected_type is not None:
        assert visit.state.type == expected_type, f"{event} in a {visit.state.type} state"
    if event.type.endswith(("StateExited", "StateAborted")):
        assert event.type.removesuffix("Exited").removesuffix("Aborted") == (
            visit.state.type + "State"
        ), f"{event} closes a {visit.state.type} state"
        visit.closed_by = event
        _finish_children(thread)
    elif event.type in ("ParallelStateStarted", "MapStateStarted"):
        _finish_children(thread)  # a retry: the previous attempt's threads are done
    elif event.type == "MapStateSucceeded":
        _finish_children(thread)  # each iteration was checked at its MapIterationSucceeded
    elif event.type == "ParallelStateSucceeded":
        for child in thread.children:
            assert child.open is None, (
                f"{event} while {child.open.state.name if child.open else ''} is open in a "
                "branch or iteration"
            )
        _finish_children(thread)
    elif event.type == "MapIterationSucceeded":
        for child in thread.children:
            if child.iteration == event.details.get("index") and not child.finished:
                assert child.open is None, f"{event} while the iteration has an open state"
    return thread


def _evaluation_thread(event: Event, threads: list[Thread]) -> Thread:
    for thread in threads:
        visit = thread.open
        if (
            visit is not None
            and not thread.finished
            and visit.state.name == event.name
            and event.previous in (thread.last, visit.events[0].previous)
        ):
            return thread
    raise AssertionError(f"{event} is linked to no open visit of its state")


def _visit(thread: Thread, event: Event, state: StateInfo) -> None:
    thread.visits.append(Visit(state, [event]))


def _finish_children(thread: Thread) -> None:
    for child in thread.children:
        child.finished = True
    thread.children = []


def _owner_type(event_type: str) -> str | None:
    if event_type.startswith(("LambdaFunction", "Task")) and "State" not in event_type:
        return "Task"
    if event_type.startswith("MapRun") or event_type in (
        "MapStateStarted",
        "MapStateSucceeded",
        "MapStateFailed",
    ):
        return "Map"
    if event_type.startswith("MapIteration"):
        return "Map"
    if event_type in ("ParallelStateStarted", "ParallelStateSucceeded", "ParallelStateFailed"):
        return "Parallel"
    return None


def _check_open_states(walk: Walk) -> None:
    """A state left open must have failed: not on the main thread of a SUCCEEDED execution."""
    root = walk.threads[0]
    if walk.status == "SUCCEEDED" and root.open is not None:
        raise AssertionError(f"the execution succeeded, but {root.open.state.name} never exited")


def count(walk: Walk, suffix: str) -> int:
    return sum(1 for event in walk.events if event.type.endswith(suffix))
