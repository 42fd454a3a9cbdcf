"""Assertions on executions whose failure messages say what happened, not just `False`.

Owns: readers of an execution's history (`states_entered`, `state_input`, `state_output`,
`task_calls`, `event_types`) and the assertions over them and over an outcome (`assert_path`,
`assert_state_output`, `assert_task_calls`, `assert_history_shape`, `assert_succeeded`,
`assert_failed`), plus the idempotency checks of StartExecution (`assert_idempotent_start`,
`assert_name_taken`, `assert_not_idempotent_start`) and of a crash (`assert_resumed`). Must
never: decide semantics (it reads what the engine recorded) or import pytest.

A history is any of: an `ExecutionResult` (`Engine.run`, `asl_engine.run`), its `events`, or
the list of events `asl history --json`, `ServiceSession.history` and `CrashHarness.history`
return. Every reader works on AWS's GetExecutionHistory shape, so one assertion serves all.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias, TypeVar

from engine.values import JSON, NO_INPUT, Omitted

if TYPE_CHECKING:
    from engine.embedded import ExecutionResult
    from engine.interpreter.history import HistoryEvent
    from engine.testing.crash import CrashHarness

    # What the readers accept (see the module docstring).
    History: TypeAlias = ExecutionResult | Sequence[HistoryEvent] | Sequence[Mapping[str, JSON]]

__all__ = [
    "assert_failed",
    "assert_history_shape",
    "assert_idempotent_start",
    "assert_name_taken",
    "assert_not_idempotent_start",
    "assert_path",
    "assert_resumed",
    "assert_state_output",
    "assert_succeeded",
    "assert_task_calls",
    "event_types",
    "history_events",
    "state_input",
    "state_output",
    "states_entered",
    "task_calls",
]


# The events by which a Task hands work to its resource: one per call (retries included).
SCHEDULED: Final = frozenset({"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"})
_MISSING: Final = object()


class Outcome(Protocol):
    """What `assert_succeeded`/`assert_failed` read: an `ExecutionResult` or an
    `ExecutionRecord` (`ServiceSession.run`)."""

    @property
    def status(self) -> str: ...
    @property
    def output(self) -> JSON: ...
    @property
    def error(self) -> str | None: ...
    @property
    def cause(self) -> str | None: ...


M = TypeVar("M", contravariant=True)


class Starter(Protocol[M]):
    """What starts executions: an `EngineSession` or a `ServiceSession`."""

    def start(
        self, machine: M, execution_input: JSON | Omitted = NO_INPUT, *, name: str | None = None
    ) -> str: ...


# -- reading a history ----------------------------------------------------------------------------


def history_events(history: History) -> list[Mapping[str, JSON]]:
    """The events in AWS's GetExecutionHistory shape, oldest first."""
    from engine.embedded import ExecutionResult

    events = history.events if isinstance(history, ExecutionResult) else history
    shaped: list[Mapping[str, JSON]] = []
    for event in events:
        shaped.append(event if isinstance(event, Mapping) else event.as_json())
    return shaped


def _details(event: Mapping[str, JSON], key: str) -> Mapping[str, JSON] | None:
    details = event.get(key)
    return details if isinstance(details, Mapping) else None


def event_types(history: History) -> list[str]:
    """The type of each event, in order (`ExecutionStarted`, `PassStateEntered`, ...)."""
    return [str(event["type"]) for event in history_events(history)]


def states_entered(history: History) -> list[str]:
    """The path taken: the name of each state entered, in the order entered (the states of
    Parallel branches and Map iterations interleave as they ran)."""
    names = []
    for event in history_events(history):
        details = _details(event, "stateEnteredEventDetails")
        if details is not None:
            names.append(str(details["name"]))
    return names


def _payloads(
    history: History,
    state: str,
    key: str,
    field: str,
) -> list[JSON]:
    found = []
    for event in history_events(history):
        details = _details(event, key)
        if details is not None and details.get("name") == state and field in details:
            text = details[field]
            found.append(json.loads(text) if isinstance(text, str) else text)
    return found


def state_input(
    history: History,
    state: str,
    occurrence: int = -1,
) -> JSON:
    """The input `state` was entered with (the last time, or the `occurrence`-th, from 0)."""
    return _pick(
        history, state, _payloads(history, state, "stateEnteredEventDetails", "input"), occurrence
    )


def state_output(
    history: History,
    state: str,
    occurrence: int = -1,
) -> JSON:
    """The output `state` exited with (the last time, or the `occurrence`-th, from 0)."""
    return _pick(
        history, state, _payloads(history, state, "stateExitedEventDetails", "output"), occurrence
    )


def _pick(
    history: History,
    state: str,
    values: list[JSON],
    occurrence: int,
) -> JSON:
    if not values:
        raise AssertionError(
            f"state {state!r} has no such event in this history; the path taken: "
            f"{_arrow(states_entered(history))}"
        )
    try:
        return values[occurrence]
    except IndexError:
        raise AssertionError(
            f"state {state!r} has {len(values)} such event(s), no occurrence {occurrence}"
        ) from None


def task_calls(history: History) -> dict[str, int]:
    """How many times each Task state called its resource (retries count), by state name.

    A scheduled event belongs to the Task state it follows: its `previousEventId` chain leads
    back to that state's `TaskStateEntered` (through the failures of earlier attempts)."""
    events = history_events(history)
    by_id = {event["id"]: event for event in events}
    tally: Counter[str] = Counter()
    for event in events:
        if event["type"] not in SCHEDULED:
            continue
        cursor: Mapping[str, JSON] | None = event
        while cursor is not None and cursor["type"] != "TaskStateEntered":
            cursor = by_id.get(cursor["previousEventId"])
        details = _details(cursor, "stateEnteredEventDetails") if cursor is not None else None
        tally[str(details["name"]) if details is not None else "?"] += 1
    return dict(sorted(tally.items()))


# -- assertions -----------------------------------------------------------------------------------


def _arrow(names: Sequence[str]) -> str:
    return " → ".join(names) if names else "(no state entered)"


def _verdict(history: object) -> str:
    status = getattr(history, "status", None)
    if status is None:
        return ""
    line = f"\n  status:   {status}"
    error = getattr(history, "error", None)
    if error is not None:
        line += f" ({error}: {getattr(history, 'cause', None)})"
    return line


def assert_path(
    history: History,
    expected: Sequence[str],
) -> None:
    """The states entered were exactly `expected`, in this order."""
    taken = states_entered(history)
    if taken == list(expected):
        return
    step = next(
        (i for i, (a, b) in enumerate(zip(taken, expected, strict=False)) if a != b),
        min(len(taken), len(expected)),
    )
    got = taken[step] if step < len(taken) else "(the end)"
    wanted = expected[step] if step < len(expected) else "(the end)"
    raise AssertionError(
        "the execution took another path:\n"
        f"  taken:    {_arrow(taken)}\n"
        f"  expected: {_arrow(expected)}\n"
        f"  first difference at step {step + 1}: {got}, expected {wanted}" + _verdict(history)
    )


def assert_state_output(
    history: History,
    state: str,
    expected: JSON,
    occurrence: int = -1,
) -> None:
    """`state` exited with exactly `expected` (the last time, or the `occurrence`-th)."""
    actual = state_output(history, state, occurrence)
    if actual != expected:
        raise AssertionError(
            f"state {state!r} output:\n  actual:   {json.dumps(actual, sort_keys=True)}\n"
            f"  expected: {json.dumps(expected, sort_keys=True)}"
        )


def assert_task_calls(
    history: History,
    expected: Mapping[str, int],
) -> None:
    """Each Task state named in `expected` called its resource exactly that many times
    (0 for one never run); Task states not named are not checked."""
    counts = task_calls(history)
    actual = {state: counts.get(state, 0) for state in expected}
    if actual != dict(expected):
        wrong = ", ".join(
            f"{state}: {actual[state]} (expected {times})"
            for state, times in expected.items()
            if actual[state] != times
        )
        raise AssertionError(f"task calls differ: {wrong}\n  all task calls: {counts}")


def assert_history_shape(
    history: History,
    expected: Sequence[str],
) -> None:
    """The events' types are exactly `expected`, in order (a diff shows where they part)."""
    actual = event_types(history)
    if actual != list(expected):
        diff = difflib.unified_diff(list(expected), actual, "expected", "actual", lineterm="", n=2)
        raise AssertionError("the history has another shape:\n" + "\n".join(diff))


def assert_succeeded(outcome: Outcome, output: JSON | object = _MISSING) -> None:
    """The execution SUCCEEDED (with exactly `output`, when given)."""
    if outcome.status != "SUCCEEDED":
        raise AssertionError(
            f"the execution {outcome.status}, expected SUCCEEDED"
            + (f": {outcome.error}: {outcome.cause}" if outcome.error is not None else "")
        )
    if output is not _MISSING and outcome.output != output:
        raise AssertionError(
            f"the execution's output:\n  actual:   {json.dumps(outcome.output, sort_keys=True)}"
            f"\n  expected: {json.dumps(output, sort_keys=True)}"
        )


def assert_failed(
    outcome: Outcome, error: str | None = None, cause: str | None = None, *, status: str = "FAILED"
) -> None:
    """The execution ended with `status` (FAILED, TIMED_OUT, ABORTED), and with `error` and
    `cause` when given."""
    got = (outcome.status, outcome.error, outcome.cause)
    wanted = (
        status,
        outcome.error if error is None else error,
        outcome.cause if cause is None else cause,
    )
    if got != wanted:
        raise AssertionError(
            f"the execution ended {got[0]} (error {got[1]!r}, cause {got[2]!r}); "
            f"expected {wanted[0]}"
            + (f" (error {error!r})" if error is not None else "")
            + (f" (cause {cause!r})" if cause is not None else "")
        )


# -- idempotency ----------------------------------------------------------------------------------


def _conflict_code(exc: BaseException) -> str | None:
    from engine.errors import ResourceConflict

    return exc.code if isinstance(exc, ResourceConflict) else None


def assert_idempotent_start(
    sessions: Starter[M], machine: M, execution_input: JSON, *, name: str
) -> str:
    """AWS's StartExecution rule for a RUNNING Standard execution: the same name and input
    return the same execution; the same name with another input is ExecutionAlreadyExists.
    Starts `name` (unless it runs already) and returns its ARN; the execution must still be
    running when called (on a virtual clock: before anything runs it to its end)."""
    first = sessions.start(machine, execution_input, name=name)
    again = sessions.start(machine, execution_input, name=name)
    if again != first:
        raise AssertionError(
            f"starting {name!r} again with the same input gave another execution:\n"
            f"  first:  {first}\n  second: {again}"
        )
    assert_name_taken(sessions, machine, {"differs from": execution_input}, name=name)
    return first


def assert_name_taken(
    sessions: Starter[M], machine: M, execution_input: JSON, *, name: str
) -> None:
    """Starting `name` with `execution_input` is refused with ExecutionAlreadyExists (a
    closed execution's name, or a running one's with another input)."""
    try:
        arn = sessions.start(machine, execution_input, name=name)
    except Exception as exc:  # the assertion reports whatever else was raised
        if _conflict_code(exc) == "ExecutionAlreadyExists":
            return
        raise AssertionError(
            f"starting {name!r} raised {type(exc).__name__}: {exc}; expected ExecutionAlreadyExists"
        ) from exc
    raise AssertionError(
        f"starting {name!r} with input {json.dumps(execution_input)} started {arn}; "
        "expected ExecutionAlreadyExists"
    )


def assert_not_idempotent_start(
    sessions: Starter[M], machine: M, execution_input: JSON, *, name: str
) -> tuple[str, str]:
    """Express: two starts with the same name and input are two executions (AWS does not
    make StartExecution idempotent for Express). Returns both ARNs."""
    first = sessions.start(machine, execution_input, name=name)
    second = sessions.start(machine, execution_input, name=name)
    if first == second:
        raise AssertionError(
            f"starting {name!r} twice gave one execution {first}; an Express machine starts a "
            "new execution each time"
        )
    return first, second


def assert_resumed(
    harness: CrashHarness,
    execution_arn: str,
    *,
    status: str = "SUCCEEDED",
    entered: Mapping[str, int] | None = None,
) -> None:
    """After a crash and recovery (`CrashHarness.crash_and_recover`): the execution closed
    with `status`, its event ids are 1..N each pointing back, and no completed state ran
    again: every state was entered once (or as often as `entered` says)."""
    from engine.testing.crash import assert_history_ids, entered_counts

    described = harness.describe(execution_arn)
    if described["status"] != status:
        raise AssertionError(
            f"{execution_arn} is {described['status']} after recovery, expected {status} "
            f"(error {described.get('error')!r}, cause {described.get('cause')!r})"
        )
    events = harness.history(execution_arn)
    assert_history_ids(events)
    counts = entered_counts(events)
    wanted = dict(entered) if entered is not None else dict.fromkeys(counts, 1)
    if counts != wanted:
        again = {state: times for state, times in counts.items() if wanted.get(state) != times}
        raise AssertionError(
            f"states were entered {again} times after the crash (expected {wanted}); "
            f"the path taken: {_arrow(states_entered(events))}"
        )
