"""What each state must have done, judged from its definition, its input and its handler.

Owns the checks over a `Walk` (oracles.py) that know ASL semantics:

- `check_tasks`: every Task attempt did what handlers.py says for its event, the attempt
  number is `$$.State.RetryCount`, retries happen exactly as the Retry field declares (count,
  and back-off IntervalSeconds x BackoffRate^n capped by MaxDelaySeconds, within [0, that]
  with FULL jitter), and a caught failure's output is `{Error, Cause}` at the ResultPath.
- `check_catches`: a Parallel or Map that exited on a failure went to the first catcher
  matching its error.
- `check_timing`: a Wait ends when Seconds/SecondsPath/Timestamp/TimestampPath say, and no
  execution outlives the machine's TimeoutSeconds (a TIMED_OUT one closes right at it).
- `check_maps`: an inline Map never has more iterations in flight than MaxConcurrency, and an
  attempt that succeeds ran every item.
- `check_choices`: a JSONPath Choice went where its first matching rule (or Default) points,
  with the rules evaluated here, from the ASL spec (choices.py).
- `dataflow.check_passes`: a JSONPath Pass state's output is its data flow, applied by hand
  (and `check_tasks` does the same for a Task's result: ResultSelector, ResultPath,
  OutputPath).
- `check_failure_events`: ParallelStateFailed/MapStateFailed only for a final failure.
- `check_branch_order`: a Parallel starts its branches in order (`check_maps` also checks
  that Map iterations start in index order).

Must never: reuse the engine's matching, retry or data-flow code.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.values import JSON
from tests.generated import choices
from tests.generated.dataflow import check_task_output, set_path
from tests.generated.handlers import OK, TIMEOUT, Plan
from tests.generated.oracles import Event, StateInfo, Visit, Walk
from tests.generated.strategies import FUNCTION_ARN, LAMBDA_INVOKE

_TASK_FAILURES = frozenset(
    {"LambdaFunctionFailed", "LambdaFunctionTimedOut", "TaskFailed", "TaskTimedOut"}
)


def error_matches(names: JSON, error: str) -> bool:
    """ErrorEquals as docs/semantics.md ("Matching ErrorEquals") promises: States.ALL matches
    every error but States.Runtime; States.TaskFailed every error but States.Timeout and
    States.HeartbeatTimeout (AWS's guide, "Error names"); States.Timeout also matches
    States.HeartbeatTimeout."""
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
            check_task_output(visit, outcome.details.get("output"))
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
    if closed.type.endswith("Aborted") or not expected[0]:
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
    """(True, what the state outputs) when `catcher` catches, (False, None) when it cannot be
    told here (a JSONata Output over input that is no object), None when it cannot apply."""
    state_input = visit.events[0].details.get("input")
    if visit.state.language == "JSONata":
        output = catcher.get("Output")
        if output is None:
            return True, error_output
        if isinstance(state_input, dict) and "'err': $states.errorOutput" in str(output):
            return True, {**state_input, "err": error_output}
        return False, None  # JSONata flattens an array input into $merge's list, and more
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


# -- time and concurrency -------------------------------------------------------------------------


def _moment(value: JSON) -> float | None:
    nanos = choices.timestamp(value)
    return None if nanos is None else nanos / 1e9


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
    """Inline Maps: iterations in flight never exceed MaxConcurrency; an attempt succeeds only
    if it ran every item (MapStateStarted's length) and no more failed than tolerated, and it
    fails as soon as more did."""
    checked = 0
    for visit in walk.visits():
        if visit.state.type != "Map" or _distributed(visit.state):
            continue
        limit = visit.state.body.get("MaxConcurrency")
        running = started = failed = 0
        length: JSON = None
        for event in visit.events:
            if event.type == "MapStateStarted":
                running = started = failed = 0
                length = event.details.get("length")
            elif event.type == "MapIterationStarted":
                index = event.details.get("index")
                assert index == started, (
                    f"{visit.state.name}: iteration {index} started as number {started} "
                    "(iterations start in index order)"
                )
                running += 1
                started += 1
                if isinstance(limit, int) and limit > 0:
                    assert running <= limit, f"{visit.state.name}: {running} > {limit} at {event}"
                tolerated = _tolerated(visit.state.body, length)
                assert tolerated is None or failed <= tolerated, (
                    f"{visit.state.name} started an iteration after {failed} failed, "
                    f"{tolerated} tolerated"
                )
            elif event.type in ("MapIterationSucceeded", "MapIterationAborted"):
                running -= 1
            elif event.type == "MapIterationFailed":
                running -= 1
                failed += 1
            elif event.type == "MapStateSucceeded":
                assert started == length, (
                    f"{visit.state.name} succeeded after {started} of {length} iterations"
                )
                tolerated = _tolerated(visit.state.body, length)
                assert tolerated is None or failed <= tolerated, (
                    f"{visit.state.name} succeeded with {failed} failed, {tolerated} tolerated"
                )
                checked += 1
    return checked


def _tolerated(body: Mapping[str, JSON], length: JSON) -> float | None:
    """How many iterations may fail (ASL: the lower of the count and the percentage), or None
    when a tolerance comes from the data or a JSONata expression."""
    count = body.get("ToleratedFailureCount")
    percentage = body.get("ToleratedFailurePercentage")
    if isinstance(count, str) or isinstance(percentage, str) or not isinstance(length, int):
        return None
    if any(key.startswith("ToleratedFailure") and key.endswith("Path") for key in body):
        return None
    limits: list[float] = []
    if isinstance(count, int | float):
        limits.append(count)
    if isinstance(percentage, int | float):
        limits.append(math.floor(length * percentage / 100))
    return min(limits) if limits else 0


def _distributed(state: StateInfo) -> bool:
    processor = state.body.get("ItemProcessor")
    config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
    return isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED"


def check_choices(walk: Walk) -> int:
    """A JSONPath Choice went where its first matching rule points, else to its Default, and
    failed (with no Exited event) when neither applies or a Variable selects nothing."""
    checked = 0
    for visit in walk.visits():
        state = visit.state
        if state.type != "Choice" or state.language != "JSONPath":
            continue
        if state.body.get("InputPath", "$") != "$" or state.body.get("OutputPath", "$") != "$":
            continue  # the rules read the input as is; an OutputPath may fail after them
        try:
            expected = _choice_target(state.body, visit.events[0].details.get("input"))
        except choices.Unknown:
            continue
        exited = visit.closed_by is not None and visit.closed_by.type.endswith("Exited")
        if expected is None:
            assert not exited, f"{state.name} exited, but no rule matched and it has no Default"
        elif exited and visit.next_state is not None:
            assert visit.next_state == expected, (
                f"{state.name} went to {visit.next_state}, its rules say {expected}"
            )
        elif (
            not exited
            and visit is walk.threads[0].visits[-1]
            and walk.status == "FAILED"
            and "Assign" not in json.dumps(state.body)  # an Assign may fail after the match
        ):
            raise AssertionError(f"{state.name} failed, its rules say it goes to {expected}")
        checked += 1
    return checked


def _choice_target(body: Mapping[str, JSON], data: JSON) -> str | None:
    rules = body.get("Choices")
    assert isinstance(rules, list)
    for rule in rules:
        assert isinstance(rule, dict)
        try:
            if choices.evaluate(rule, data):
                target = rule["Next"]
                assert isinstance(target, str)
                return target
        except choices.MissingPath:
            return None
    default = body.get("Default")
    return default if isinstance(default, str) else None


def check_failure_events(walk: Walk) -> int:
    """ParallelStateFailed and MapStateFailed are recorded only for a final failure: never
    before a retry (another …StateStarted); a Catch may follow (an Exited event), as
    docs/semantics.md and AWS's recordings show."""
    checked = 0
    for visit in walk.visits():
        kind = visit.state.type
        if kind not in ("Parallel", "Map"):
            continue
        types = [event.type for event in visit.events]
        failed = f"{kind}StateFailed"
        for index, event_type in enumerate(types):
            if event_type != failed:
                continue
            later = types[index + 1 :]
            assert f"{kind}StateStarted" not in later, f"{visit.state.name}: {failed} then a retry"
            checked += 1
    return checked


def check_branch_order(walk: Walk) -> int:
    """A Parallel starts its branches in branch order (docs/semantics.md, Parallel)."""
    starts: dict[int, list[int]] = {}
    for thread in walk.threads:
        branch = re.search(r"/Branches/(\d+)\Z", thread.graph)
        if thread.parent is not None and branch is not None and thread.visits:
            fork = thread.visits[0].events[0].previous  # its ParallelStateStarted
            starts.setdefault(fork, []).append(int(branch.group(1)))
    for fork, branches in starts.items():
        assert branches == sorted(branches), f"branches started out of order after event {fork}"
    return len(starts)
