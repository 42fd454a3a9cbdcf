"""JSONata-mode data flow through a state: `$states`, Arguments, Output, typed fields, Assign.

Owns: what a JSONata state computes from its compiled fields (compile.py's `State.jsonata`),
with AWS's defaults and checks, so that states.py only says *when* each step happens:

- `$states.input` is the state's raw input; `$states.result` the Task/Parallel/Map result;
  `$states.errorOutput` the error a Catch handles; `$states.context` the context object.
- Arguments default to the state input; Output defaults to the result where the state has one
  (Task, Parallel, Map) and to the input otherwise (Pass, Choice, Wait, Succeed); a Catch's Output
  defaults to the error output.
- Assign is evaluated before Output, both reading the variables as they were on entry.
- Typed fields (Items, Seconds, Timestamp, TimeoutSeconds, MaxConcurrency, ...) must give a value
  of the right JSON type: otherwise States.QueryEvaluationError with AWS's "returned an
  unexpected result type" cause (recorded: test_map_state_items_*), or AWS's field-specific cause
  (Timestamp: recorded test_wait_timestamp_jsonata.*; Map input: test_map_state_items_input_types).

The state handlers at the end (`run_pass`, `finish`, `task_request`, `map_setup`...) are what
states.py calls for a JSONata state where its data flow differs from JSONPath's. Must never:
handle JSONPath fields (dataflow.py does), emit history events, or move frames (core.py does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import cast

from engine.definition.compile import (
    ChoiceBranch,
    ChoiceState,
    MapState,
    State,
    TaskState,
    WaitState,
)
from engine.definition.jsonata_value import MISSING, QueryEvaluationError, states_binding
from engine.definition.scope import Scope
from engine.definition.timestamps import parse_timestamp
from engine.errors import STATES_NO_CHOICE_MATCHED
from engine.interpreter.core import Done, Failed, Step
from engine.interpreter.dataflow import INSPECTION
from engine.interpreter.failures import Failure
from engine.interpreter.frames import Frame
from engine.interpreter.variables import evaluate_assign
from engine.values import JSON, dumps

Outcome = Done | Failed

__all__ = [
    "assign_jsonata",
    "evaluate_field",
    "jsonata_states",
    "map_items",
    "non_negative_integer",
    "output_jsonata",
    "positive_seconds",
    "text_field",
    "timestamp_due",
    "wait_seconds",
]


def jsonata_states(
    state_input: JSON,
    scope: Scope,
    *,
    result: object = MISSING,
    error_output: object = MISSING,
) -> dict[str, object]:
    """The `$states` binding for one evaluation."""
    return states_binding(state_input, scope.context, result=result, error_output=error_output)


def evaluate_field(
    state: State, name: str, states: Mapping[str, object], scope: Scope, now: float, default: JSON
) -> JSON:
    """A JSONata field's value, or `default` when the state does not have the field."""
    compiled = state.jsonata.get(name)
    if compiled is None:
        return default
    return compiled.evaluate(states, scope, now)


def output_jsonata(
    state: State, states: Mapping[str, object], scope: Scope, now: float, default: JSON
) -> JSON:
    """The state's output: its Output field evaluated, or `default` (see the module docstring)."""
    return evaluate_field(state, "Output", states, scope, now, default)


def assign_jsonata(
    state: State, states: Mapping[str, object], scope: Scope, now: float
) -> dict[str, JSON] | None:
    """The variables a JSONata state's Assign sets, None when it has no Assign."""
    program = state.assign_program
    if program is None:
        return None
    return evaluate_assign(program, None, states, scope, now)


def _typed(
    state: State, name: str, states: Mapping[str, object], scope: Scope, now: float, expected: str
) -> JSON:
    compiled = state.jsonata[name]
    return compiled.evaluate_typed(states, scope, expected, now)


def map_items(state: State, states: Mapping[str, object], scope: Scope, now: float) -> list[JSON]:
    """The Map's items: its Items field (an array or an expression giving one), else its input."""
    if "Items" in state.jsonata:
        items = _typed(state, "Items", states, scope, now, "array")
        if isinstance(items, list):
            return items
        location = "Items"
        raise QueryEvaluationError(
            f"The Items field must be a JSON array, but was: {dumps(items)}", location
        )
    value = states.get("input")
    if not isinstance(value, list):
        # Recorded: localstack/scenarios/test_base_scenarios/test_map_state_items_input_types.
        raise QueryEvaluationError(
            f"Map state input must be an array but was: {dumps(value)}",  # type: ignore[arg-type]
            "Items",
        )
    return value


def non_negative_integer(
    state: State,
    name: str,
    states: Mapping[str, object],
    scope: Scope,
    now: float,
    *,
    maximum: float | None = None,
) -> int | float | None:
    """A numeric JSONata field (MaxConcurrency, ToleratedFailure*) or None when absent."""
    if name not in state.jsonata:
        return None
    value = _typed(state, name, states, scope, now, "number")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise QueryEvaluationError(f"The {name} field must be a number", name)
    if value < 0 or (maximum is not None and value > maximum):
        raise QueryEvaluationError(f"The {name} field has an invalid value: {dumps(value)}", name)
    return value


def positive_seconds(
    state: State, name: str, states: Mapping[str, object], scope: Scope, now: float
) -> float | None:
    """TimeoutSeconds / HeartbeatSeconds given as JSONata (None when absent or a literal)."""
    compiled = state.jsonata.get(name)
    if compiled is None or compiled.constant:
        return None
    value = compiled.evaluate_typed(states, scope, "number", now)
    assert isinstance(value, int | float)
    if isinstance(value, float) and not value.is_integer():
        raise QueryEvaluationError(
            f"The {name} field cannot be parsed as an integer: {dumps(value)}", name
        )
    if not 0 < value <= 99_999_999:
        raise QueryEvaluationError(
            f"The {name} field must be a positive integer between 1 and 99999999, got "
            f"{dumps(value)}",
            name,
        )
    return float(value)


def wait_seconds(state: State, states: Mapping[str, object], scope: Scope, now: float) -> float:
    """A Wait state's Seconds given as JSONata: a non-negative integer number of seconds."""
    value = _typed(state, "Seconds", states, scope, now, "number")
    assert isinstance(value, int | float)
    if isinstance(value, float) and not value.is_integer():
        raise QueryEvaluationError(
            f"The Seconds field cannot be parsed as an integer: {dumps(value)}", "Seconds"
        )
    if value < 0:
        raise QueryEvaluationError(
            f"The Seconds field must be a non-negative integer, got {dumps(value)}", "Seconds"
        )
    return float(value)


def timestamp_due(state: State, states: Mapping[str, object], scope: Scope, now: float) -> float:
    """A Wait state's Timestamp given as JSONata, as epoch seconds."""
    value = _typed(state, "Timestamp", states, scope, now, "string")
    moment = parse_timestamp(value) if isinstance(value, str) else None
    if moment is None:
        raise QueryEvaluationError(
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
            f"format string: {value}",
            "Timestamp",
        )
    return moment.timestamp()


def text_field(
    state: State, name: str, states: Mapping[str, object], scope: Scope, now: float
) -> str | None:
    """A Fail state's Error or Cause: a literal string or an expression giving one."""
    compiled = state.jsonata.get(name)
    if compiled is None:
        return None
    value = compiled.evaluate_typed(states, scope, "string", now)
    return value if isinstance(value, str) else None


# -- state handlers (JSONata mode) ----------------------------------------------------------------
# Called by states.py where a JSONata state's data flow differs from JSONPath's; each returns the
# same outcomes (`Done`, `Failed`) the JSONPath handlers do.


def finish(
    run: Step,
    frame: Frame,
    state: State,
    scope: Scope,
    *,
    result: object = MISSING,
    next_state: str | None = None,
    use_next: bool = False,
) -> Done:
    """A JSONata state's completion: Assign, then Output (default: the result, else the input)."""
    states = jsonata_states(frame.state_input, scope, result=result)
    assigned = assign_jsonata(state, states, scope, run.now)
    default = frame.state_input if result is MISSING else cast(JSON, result)
    output = output_jsonata(state, states, scope, run.now, default)
    return Done(output, next_state if use_next else state.next, assigned)


def run_pass(run: Step, frame: Frame, state: State) -> Outcome:
    return finish(run, frame, state, run.scope(frame, state))


def run_succeed(run: Step, frame: Frame, state: State) -> Outcome:
    return finish(run, frame, state, run.scope(frame, state), next_state=None, use_next=True)


def run_fail(run: Step, frame: Frame, state: State) -> Outcome:
    scope = run.scope(frame, state)
    states = jsonata_states(frame.state_input, scope)
    error = text_field(state, "Error", states, scope, run.now)
    cause = text_field(state, "Cause", states, scope, run.now)
    return Failed(Failure(error or "", cause))


def run_choice(run: Step, frame: Frame, state: State) -> Outcome:
    """Conditions in order; a matching rule's Assign/Output, else the state's (Default)."""
    assert isinstance(state, ChoiceState)
    scope = run.scope(frame, state)
    states = jsonata_states(frame.state_input, scope)
    for branch in state.choices:
        condition = branch.condition_value
        if condition is None:
            continue
        if condition.evaluate_typed(states, scope, "boolean", run.now) is True:
            return _choice_done(run, frame, state, scope, states, branch, branch.next)
    if state.default is not None:
        return _choice_done(run, frame, state, scope, states, None, state.default)
    return Failed(Failure(STATES_NO_CHOICE_MATCHED, "No Matches!"))


def _choice_done(
    run: Step,
    frame: Frame,
    state: ChoiceState,
    scope: Scope,
    states: Mapping[str, object],
    branch: ChoiceBranch | None,
    target: str,
) -> Done:
    program = branch.assign_program if branch is not None else None
    if program is None:
        program = state.assign_program
    assigned = None if program is None else evaluate_assign(program, None, states, scope, run.now)
    output_value = branch.output_value if branch is not None else None
    if output_value is not None:
        output = output_value.evaluate(states, scope, run.now)
    else:
        output = output_jsonata(state, states, scope, run.now, frame.state_input)
    return Done(output, target, assigned)


def wait_due(run: Step, frame: Frame, state: State, scope: Scope) -> float:
    """When a JSONata Wait state ends: Seconds or Timestamp, literal or expression."""
    assert isinstance(state, WaitState)
    states = jsonata_states(frame.state_input, scope)
    if "Seconds" in state.jsonata:
        return run.now + wait_seconds(state, states, scope, run.now)
    if "Timestamp" in state.jsonata:
        return timestamp_due(state, states, scope, run.now)
    return run.now


def task_request(
    run: Step, frame: Frame, state: State, scope: Scope
) -> tuple[JSON, float | None, float | None]:
    """A JSONata Task's payload (Arguments, default the input), timeout and heartbeat."""
    assert isinstance(state, TaskState)
    states = jsonata_states(frame.state_input, scope)
    payload = evaluate_field(state, "Arguments", states, scope, run.now, frame.state_input)
    if INSPECTION.record is not None:
        INSPECTION.record["afterArguments"] = payload
    timeout = positive_seconds(state, "TimeoutSeconds", states, scope, run.now)
    heartbeat = positive_seconds(state, "HeartbeatSeconds", states, scope, run.now)
    return (
        payload,
        state.timeout_seconds if timeout is None else timeout,
        state.heartbeat_seconds if heartbeat is None else heartbeat,
    )


def branch_input(run: Step, frame: Frame, state: State, scope: Scope) -> JSON:
    """A JSONata Parallel state's branch input: Arguments, default the state input."""
    states = jsonata_states(frame.state_input, scope)
    branch = evaluate_field(state, "Arguments", states, scope, run.now, frame.state_input)
    if INSPECTION.record is not None:
        INSPECTION.record["afterArguments"] = branch
    return branch


def map_setup(run: Step, frame: Frame, state: State, scope: Scope) -> list[JSON]:
    """A JSONata Map's items and MaxConcurrency (set on the frame)."""
    assert isinstance(state, MapState)
    states = jsonata_states(frame.state_input, scope)
    items = map_items(state, states, scope, run.now)
    concurrency = non_negative_integer(state, "MaxConcurrency", states, scope, run.now)
    frame.max_concurrency = state.max_concurrency if concurrency is None else int(concurrency)
    return items


def map_tolerance(run: Step, frame: Frame, state: State, scope: Scope, total: int) -> None:
    """A JSONata Map's tolerated failures (count and percentage: the lower limit wins)."""
    assert isinstance(state, MapState)
    states = jsonata_states(frame.state_input, scope)
    count: float | None = state.tolerated_failure_count
    value = non_negative_integer(state, "ToleratedFailureCount", states, scope, run.now)
    if value is not None:
        count = int(value)
    percentage = state.tolerated_failure_percentage
    value = non_negative_integer(
        state, "ToleratedFailurePercentage", states, scope, run.now, maximum=100
    )
    if value is not None:
        percentage = float(value)
    limit = math.inf
    if count is not None:
        limit = min(limit, count)
    if percentage is not None:
        limit = min(limit, math.floor(total * percentage / 100.0))
    frame.tolerance_set = count is not None or percentage is not None
    frame.tolerated_count = limit if frame.tolerance_set else 0.0


def item_input(run: Step, frame: Frame, state: State, index: int, item: JSON) -> JSON:
    """One Map iteration's input: ItemSelector (with `$states.context.Map.Item`), else the item."""
    compiled = state.jsonata.get("ItemSelector")
    if compiled is None:
        return item
    scope = run.scope(frame, state, {"Map": {"Item": {"Index": index, "Value": item}}})
    states = jsonata_states(frame.state_input, scope)
    return compiled.evaluate(states, scope, run.now)
