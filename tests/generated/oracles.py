"""What must hold of any execution's history: checks that need no expected output.

Owns: the invariants the generated-machine tests assert on a history, written over AWS's
GetExecutionHistory shape so that any path can be checked the same way (in-process
`HistoryEvent`s, `HistoryEvent.as_json()` dicts, or boto3's `events` with datetime timestamps):

- `check_history`: ids 1, 2, 3...; each previousEventId an earlier event of the same thread of
  control (or, for a branch's or iteration's first event, of its parent); every
  `…StateEntered` closed by its `…StateExited` or `…StateAborted`, or left open only by a
  failure; one closing event, last, matching the status; timestamps never decreasing.
- `check_tasks`: every Task attempt did what handlers.py says for its event, the attempt number
  is `$$.State.RetryCount`, retries happen exactly as the Retry field declares (count and
  back-off), and a caught failure's output is `{Error, Cause}` at the catcher's ResultPath.
- `check_catches`: a caught Parallel or Map failure went to the first catcher matching it.
- `check_timing`: a Wait ends when Seconds/SecondsPath/Timestamp/TimestampPath say, and no
  execution outlives the machine's TimeoutSeconds (a TIMED_OUT one closes right at it).
- `check_maps`: an inline Map never has more iterations in flight than MaxConcurrency, and a
  Map attempt that succeeds ran every item.

Each raises `AssertionError` naming the event. Must never: import the engine's own matching
or data-flow code (an oracle that reuses the code it checks proves nothing).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from engine.interpreter.history import HistoryEvent, Payload, details_key
from engine.values import JSON
from tests.generated.handlers import OK, TIMEOUT, Plan
from tests.generated.strategies import FUNCTION_ARN, LAMBDA_INVOKE

CLOSING = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}
_PAYLOAD_FIELDS = ("input", "output", "parameters")
_TASK_FAILURES = frozenset(
    {"LambdaFunctionFailed", "LambdaFunctionTimedOut", "TaskFailed", "TaskTimedOut"}
)
_FAILURE_EVENTS = _TASK_FAILURES | {
    "ParallelStateFailed",
    "MapStateFailed",
    "MapRunFailed",
    "EvaluationFailed",
}


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


def normalise(events: Iterable[HistoryEvent | Mapping[str, object]]) -> list[Event]:
    return [_normalise(event) for event in events]


def _normalise(event: HistoryEvent | Mapping[str, object]) -> Event:
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
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    else:
        assert isinstance(stamp, int | float)
        moment = float(stamp)
    identifier, previous = event["id"], event.get("previousEventId", 0)
    assert isinstance(identifier, int)
    assert isinstance(previous, int)
    return Event(identifier, previous, moment, kind, parsed)


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
    history: Iterable[HistoryEvent | Mapping[str, object]],
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


# -- Task attempts, Retry and Catch ----------------------------------------------------------------


def error_matches(names: JSON, error: str) -> bool:
    """ErrorEquals as AWS's guide states it ("Error handling in Step Functions"): States.ALL
    matches all but States.Runtime; States.TaskFailed all but States.Timeout (and its
    heartbeat kind) and States.Runtime; States.Timeout also a heartbeat timeout."""
    if error == "States.Runtime" or not isinstance(names, list):
        return False
    for name in names:
        if name in (error, "States.ALL"):
            return True
        if name == "States.TaskFailed" and error not in (
            "States.Timeout",
            "States.HeartbeatTimeout",
        ):
            return True
        if name == "States.Timeout" and error == "States.HeartbeatTimeout":
            return True
    return False


def retry_delay(retrier: Mapping[str, JSON], attempt: int) -> float:
    interval = retrier.get("IntervalSeconds", 1)
    rate = retrier.get("BackoffRate", 2.0)
    assert isinstance(interval, int | float)
    assert isinstance(rate, int | float)
    delay = float(interval) * float(rate) ** attempt
    cap = retrier.get("MaxDelaySeconds")
    if isinstance(cap, int | float):
        delay = min(delay, float(cap))
    return delay


def _function_and_event(state: StateInfo, scheduled: Event) -> tuple[str, JSON]:
    resource = str(state.body["Resource"])
    if resource.startswith(LAMBDA_INVOKE):
        parameters = scheduled.details.get("parameters")
        assert isinstance(parameters, dict), scheduled
        name = str(parameters.get("FunctionName", ""))
        return name.rsplit(":", 1)[-1] if ":" in name else name, parameters.get("Payload")
    assert resource.startswith(FUNCTION_ARN), resource
    return resource.removeprefix(FUNCTION_ARN), scheduled.details.get("input")


def set_path(data: JSON, path: JSON, value: JSON) -> tuple[bool, JSON]:
    """ResultPath as the ASL spec defines it for `$`, null and `$.a.b` (False: no match)."""
    if path is None:
        return True, data
    assert isinstance(path, str)
    if path == "$":
        return True, value
    keys = path.removeprefix("$.").split(".")
    if not isinstance(data, dict):
        return False, None
    out = copy.deepcopy(data)
    node: dict[str, JSON] = out
    for key in keys[:-1]:
        child = node.get(key)
        if child is None and key not in node:
            child = {}
            node[key] = child
        if not isinstance(child, dict):
            return False, None
        node = child
    node[keys[-1]] = value
    return True, out


@dataclass(frozen=True, slots=True)
class Timing:
    """How exactly back-off gaps must match: exact at the step level, with slack on a runtime
    (a timer may fire a little late while tasks run on real time)."""

    early: float = 0.002
    late: float = 0.002


EXACT = Timing()
RUNTIME = Timing(early=0.002, late=0.75)


def check_tasks(walk: Walk, timing: Timing = EXACT) -> int:
    """Assert every Task visit followed handlers.py, its Retry and its Catch; returns the number
    of attempts checked."""
    checked = 0
    for visit in walk.visits():
        if visit.state.type == "Task":
            checked += _check_task_visit(visit, timing)
    return checked


def _attempts(visit: Visit) -> list[tuple[Event, Event | None]]:
    """(Scheduled, outcome event or None) for each attempt of a Task visit."""
    attempts: list[tuple[Event, Event | None]] = []
    for event in visit.events:
        if event.type in ("LambdaFunctionScheduled", "TaskScheduled"):
            attempts.append((event, None))
        elif (
            (event.type in _TASK_FAILURES or event.type.endswith("Succeeded"))
            and attempts
            and attempts[-1][1] is None
        ):
            attempts[-1] = (attempts[-1][0], event)
    return attempts


def _check_task_visit(visit: Visit, timing: Timing) -> int:
    state = visit.state
    retriers = _objects(state.body.get("Retry"))
    catchers = _objects(state.body.get("Catch"))
    counts = [0] * len(retriers)
    attempts = _attempts(visit)
    for number, (scheduled, outcome) in enumerate(attempts):
        function, event = _function_and_event(state, scheduled)
        if isinstance(event, dict) and "attempt" in event:
            assert event["attempt"] == number, (
                f"{state.name}: attempt {number} was told it is attempt {event['attempt']} "
                "($$.State.RetryCount)"
            )
        kind, _ = Plan.outcome(function, event)
        if outcome is None:
            assert number == len(attempts) - 1, f"{state.name}: an attempt without an outcome"
            return number + 1  # aborted, or the execution ended while it ran
        if kind == OK:
            assert outcome.type.endswith("Succeeded"), f"{state.name}: {outcome}, expected success"
            assert outcome.details.get("output") is not None
            if number + 1 < len(attempts):
                return number + 1  # ResultSelector/ResultPath/Output failed: retried, not known
            continue
        error = "States.Timeout" if kind == TIMEOUT else kind
        if kind == TIMEOUT:
            assert outcome.type.endswith("TimedOut"), f"{state.name}: {outcome}, expected a timeout"
        else:
            assert outcome.type.endswith("Failed"), f"{state.name}: {outcome}, expected {kind}"
        assert outcome.details.get("error") == error, f"{state.name}: {outcome}, expected {error}"
        matched = next(
            (i for i, r in enumerate(retriers) if error_matches(r["ErrorEquals"], error)), None
        )
        retried = matched is not None and counts[matched] < _max_attempts(retriers[matched])
        if retried:
            assert matched is not None
            delay = retry_delay(retriers[matched], counts[matched])
            counts[matched] += 1
            if number + 1 == len(attempts):
                # No next attempt: only an abort or the end of the execution may have stopped it.
                assert visit.closed_by is None or visit.closed_by.type.endswith("Aborted"), (
                    f"{state.name}: {error} should have been retried (retrier {matched})"
                )
                return number + 1
            gap = attempts[number + 1][0].time - outcome.time
            jitter = retriers[matched].get("JitterStrategy") == "FULL"
            low = -timing.early if jitter else delay - timing.early
            assert low <= gap <= delay + timing.late, (
                f"{state.name}: retry {counts[matched]} of retrier {matched} came after {gap:.3f}"
                f" s, expected {'up to ' if jitter else ''}{delay:.3f} s"
            )
            continue
        assert number + 1 == len(attempts), (
            f"{state.name}: {error} was retried, but no retrier had attempts left for it"
        )
        _check_caught(visit, catchers, error, outcome.details.get("cause"))
    return len(attempts)


def _objects(value: JSON) -> list[dict[str, JSON]]:
    """The objects of a Retry or Catch list."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _max_attempts(retrier: Mapping[str, JSON]) -> int:
    value = retrier.get("MaxAttempts", 3)
    assert isinstance(value, int)
    return value


def _check_caught(visit: Visit, catchers: list[dict[str, JSON]], error: str, cause: JSON) -> None:
    state = visit.state
    catcher = next((c for c in catchers if error_matches(c["ErrorEquals"], error)), None)
    closed = visit.closed_by
    if catcher is None:
        assert closed is None or closed.type.endswith("Aborted"), (
            f"{state.name}: {error} matches no catcher, yet the state exited"
        )
        return
    error_output: dict[str, JSON] = {"Error": error}
    if cause is not None:
        error_output["Cause"] = cause
    expected = _catch_output(visit, catcher, error_output)
    if closed is None:
        return  # the execution ended first (a sibling failed, a timeout, a stop)
    if expected is None:
        assert not closed.type.endswith("Exited"), f"{state.name}: ResultPath could not apply"
        return
    if closed.type.endswith("Aborted"):
        return
    assert closed.details.get("output") == expected[1], (
        f"{state.name}: caught {error}, output {closed.details.get('output')!r}, "
        f"expected {expected[1]!r}"
    )
    if visit.next_state is not None:
        assert visit.next_state == catcher["Next"], (
            f"{state.name}: caught {error} went to {visit.next_state}, not {catcher['Next']}"
        )


def _catch_output(
    visit: Visit, catcher: Mapping[str, JSON], error_output: dict[str, JSON]
) -> tuple[bool, JSON] | None:
    """What the state outputs when `catcher` catches; None when it cannot apply."""
    state_input = visit.events[0].details.get("input")
    if visit.state.language == "JSONata":
        output = catcher.get("Output")
        if output is None:
            return True, error_output
        if isinstance(state_input, dict) and "'err': $states.errorOutput" in str(output):
            return True, {**state_input, "err": error_output}
        return None
    matched, value = set_path(state_input, catcher.get("ResultPath", "$"), error_output)
    return (True, value) if matched else None


def check_catches(walk: Walk) -> int:
    """A Parallel or Map that exited on a failure went to the first catcher matching it."""
    checked = 0
    for visit in walk.visits():
        if visit.state.type not in ("Parallel", "Map") or visit.closed_by is None:
            continue
        if not visit.closed_by.type.endswith("Exited"):
            continue
        succeeded = [e for e in visit.events if e.type.endswith("StateSucceeded")]
        started = [e for e in visit.events if e.type.endswith("StateStarted")]
        if succeeded and started and succeeded[-1].id > started[-1].id:
            continue  # the last attempt succeeded
        catchers = _objects(visit.state.body.get("Catch"))
        output = visit.closed_by.details.get("output")
        found = False
        for catcher in catchers:
            error_output = _error_output_at(visit, catcher, output)
            if error_output is None or visit.next_state not in (None, catcher["Next"]):
                continue
            error = error_output.get("Error")
            if not isinstance(error, str) or not error_matches(catcher["ErrorEquals"], error):
                continue
            first = next(c for c in catchers if error_matches(c["ErrorEquals"], error))
            assert first is catcher, (
                f"{visit.state.name}: {error} was caught by a later catcher than the first match"
            )
            found = True
            break
        assert found or not catchers or _uncheckable(visit, catchers), (
            f"{visit.state.name} exited after a failure, but no catcher explains {output!r}"
        )
        checked += 1
    return checked


def _uncheckable(visit: Visit, catchers: list[dict[str, JSON]]) -> bool:
    """Catchers whose output hides the error (ResultPath null, a JSONata Output of its own)."""
    return any(
        ("ResultPath" in c and c["ResultPath"] is None)
        or (visit.state.language == "JSONata" and "Output" in c)
        for c in catchers
        if visit.next_state in (None, c["Next"])
    )


def _error_output_at(
    visit: Visit, catcher: Mapping[str, JSON], output: JSON
) -> Mapping[str, JSON] | None:
    if visit.state.language == "JSONata":
        if "Output" in catcher:
            found = output.get("err") if isinstance(output, dict) else None
        else:
            found = output
    else:
        path = catcher.get("ResultPath", "$")
        if path is None:
            return None
        found = output
        for key in str(path).removeprefix("$").split("."):
            if key:
                found = found.get(key) if isinstance(found, dict) else None
    return found if isinstance(found, dict) else None


def count(walk: Walk, suffix: str) -> int:
    return sum(1 for event in walk.events if event.type.endswith(suffix))


# -- time and concurrency -------------------------------------------------------------------------


def _moment(value: JSON) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _wait_due(visit: Visit) -> float | None:
    """When a Wait visit should end, from its definition and input (None: not computable)."""
    body, entered = visit.state.body, visit.events[0]
    data = entered.details.get("input")
    fields = data if isinstance(data, dict) else {}
    seconds: JSON = body.get("Seconds")
    stamp: JSON = body.get("Timestamp")
    if body.get("SecondsPath") == "$.secs" or seconds == "{% $states.input.secs %}":
        seconds = fields.get("secs")
    if body.get("TimestampPath") == "$.ts" or stamp == "{% $states.input.ts %}":
        stamp = fields.get("ts")
    if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 0:
        return entered.time + seconds
    moment = _moment(stamp)
    return None if moment is None else max(entered.time, moment)


def check_timing(walk: Walk, definition: Mapping[str, JSON], timing: Timing = EXACT) -> int:
    """Waits end when their Seconds/Timestamp say; the machine's TimeoutSeconds is kept."""
    checked = 0
    for visit in walk.visits():
        if visit.state.type != "Wait" or visit.closed_by is None:
            continue
        if not visit.closed_by.type.endswith("Exited"):
            continue
        due = _wait_due(visit)
        if due is None:
            continue
        ended = visit.closed_by.time
        assert due - timing.early <= ended <= due + timing.late, (
            f"{visit.state.name} ended at +{ended - walk.events[0].time:.3f} s, "
            f"due at +{due - walk.events[0].time:.3f} s"
        )
        checked += 1
    limit = definition.get("TimeoutSeconds")
    if isinstance(limit, int):
        start, end = walk.events[0].time, walk.events[-1]
        assert end.time <= start + limit + timing.late, f"{end} after TimeoutSeconds {limit}"
        if end.type == "ExecutionTimedOut":
            assert end.time >= start + limit - timing.early, f"{end} before TimeoutSeconds"
    return checked


def check_maps(walk: Walk) -> int:
    """Inline Maps: iterations in flight never exceed MaxConcurrency, and an attempt that
    succeeds ran every item (MapStateStarted's length)."""
    checked = 0
    for visit in walk.visits():
        if visit.state.type != "Map":
            continue
        limit = visit.state.body.get("MaxConcurrency")
        running = started = 0
        length: JSON = None
        for event in visit.events:
            if event.type == "MapStateStarted":
                running = started = 0
                length = event.details.get("length")
            elif event.type == "MapIterationStarted":
                running += 1
                started += 1
                if isinstance(limit, int) and limit > 0:
                    assert running <= limit, f"{visit.state.name}: {running} > {limit} at {event}"
            elif (
                event.type in ("MapIterationSucceeded", "MapIterationFailed")
                or event.type == "MapIterationAborted"
            ):
                running -= 1
            elif event.type == "MapStateSucceeded" and not _distributed(visit.state):
                assert started == length, (
                    f"{visit.state.name} succeeded after {started} of {length} iterations"
                )
                checked += 1
    return checked


def _distributed(state: StateInfo) -> bool:
    processor = state.body.get("ItemProcessor")
    config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
    return isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED"
