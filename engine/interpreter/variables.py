"""Workflow variables: evaluating Assign, AWS's size limits, scopes, and how history shows them.

Owns: the rules for `Assign` in both query languages and for the variables a frame sees.

- What Assign reads. JSONPath: `$` is the state's result (Task, Parallel, Map: after
  ResultSelector; Pass: its Result or Parameters output, else its effective input; Choice and
  Wait: the effective input after InputPath; a Catch: the error output), `$$` the context object,
  `$name` the variables. JSONata: `$states.input`, `$states.result` (Task, Parallel, Map),
  `$states.errorOutput` (Catch), `$states.context`, and the variables.
- When it takes effect. Every expression of a state (Assign, Output, OutputPath, the next
  Parameters...) reads the variables as they were when the state was entered: the new values
  replace the old ones only when the state exits (recorded case localstack/assign/
  test_assign_reference_variables/test_state_assign_evaluation_order: an OutputPath `$answer`
  in the state that reassigns `answer` still reads 42).
- Scopes. The top level is one scope. Each Parallel branch and inline Map iteration starts with
  a copy of its parent's variables: it reads them, and its own assignments stay in it (they
  never leak out to the parent or to sibling branches). A Distributed Map's child executions
  start with no variables (AWS: child workflows cannot read the parent's variables); its
  ItemSelector, evaluated in the parent, still can.
- Limits (AWS "Passing data between states with variables", size limits): one variable at most
  256 KiB, one Assign at most 256 KiB in total, and all the variables stored at most 10 MiB, as
  serialised JSON; over that the state fails with States.DataLimitExceeded. The 10 MiB are
  counted per scope (the variables a state sees after its Assign): a Parallel branch or Map
  iteration holds its parent's variables plus its own.
- History. The state's Exited event lists each assigned variable as JSON text under
  `assignedVariables`, with `assignedVariablesDetails: {"truncated": false}` (recorded in the
  LocalStack AWS snapshots of test_assign_base / test_assign_reference_variables).

Must never: mutate a variables mapping it was given (frames share them copy-on-write), or know
about frames and events beyond the mapping and the detail fields it returns.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.definition.compile import AssignProgram
from engine.definition.jsonata_value import JsonataValue
from engine.definition.scope import Scope
from engine.definition.templates import Template
from engine.errors import STATES_DATA_LIMIT_EXCEEDED, StatesError
from engine.values import JSON, PAYLOAD_LIMIT_BYTES, dumps

__all__ = [
    "EMPTY_VARIABLES",
    "MAX_ASSIGN_BYTES",
    "MAX_VARIABLE_BYTES",
    "assigned_details",
    "child_variables",
    "evaluate_assign",
    "merge_variables",
]

MAX_VARIABLE_BYTES = PAYLOAD_LIMIT_BYTES
"""AWS's limit on one variable's value: 256 KiB of serialised JSON."""

MAX_ASSIGN_BYTES = PAYLOAD_LIMIT_BYTES
"""AWS's limit on all the values one Assign sets together: 256 KiB of serialised JSON."""

MAX_STORED_BYTES = 10 * 1024 * 1024
"""AWS's limit on all the variables stored in an execution: 10 MiB of serialised JSON."""

EMPTY_VARIABLES: Mapping[str, JSON] = {}


def evaluate_assign(
    program: AssignProgram,
    data: JSON,
    states: Mapping[str, object] | None,
    scope: Scope,
    now: float | None = None,
) -> dict[str, JSON]:
    """The variables an Assign sets, name -> value, checked against AWS's size limits.

    `data` is what `$` means to a JSONPath Assign; `states` the `$states` binding of a JSONata
    one (see the module docstring). Raises `StatesError` (an expression error, or
    States.DataLimitExceeded) for the state to fail with.
    """
    if isinstance(program, JsonataValue):
        value = program.evaluate(states or {}, scope, now)
    else:
        value = _evaluate_template(program, data, scope)
    assigned = value if isinstance(value, dict) else {}
    _check_sizes(assigned)
    if assigned:
        _check_stored(scope.variables, assigned)
    return assigned


def _evaluate_template(program: Template, data: JSON, scope: Scope) -> JSON:
    return program.evaluate(data, scope)


def _check_sizes(assigned: Mapping[str, JSON]) -> None:
    total = 0
    for name, value in assigned.items():
        size = len(dumps(value).encode("utf-8"))
        if size > MAX_VARIABLE_BYTES:
            raise StatesError(
                STATES_DATA_LIMIT_EXCEEDED,
                f"The variable '{name}' has a size of {size} bytes, which exceeds the maximum "
                f"of {MAX_VARIABLE_BYTES} bytes for a single variable.",
            )
        total += size
    if total > MAX_ASSIGN_BYTES:
        raise StatesError(
            STATES_DATA_LIMIT_EXCEEDED,
            f"The variables assigned by this state have a combined size of {total} bytes, which "
            f"exceeds the maximum of {MAX_ASSIGN_BYTES} bytes for one Assign.",
        )


def _check_stored(current: Mapping[str, JSON], assigned: Mapping[str, JSON]) -> None:
    """All the variables after this Assign, within AWS's 10 MiB (values already held are
    counted only when they could reach the limit: at most 256 KiB each, a few dozen cannot)."""
    kept = [value for name, value in current.items() if name not in assigned]
    if (len(kept) + 1) * MAX_VARIABLE_BYTES <= MAX_STORED_BYTES:
        return  # cannot reach 10 MiB: every variable is at most 256 KiB (and this Assign too)
    total = sum(len(dumps(value).encode("utf-8")) for value in kept)
    total += sum(len(dumps(value).encode("utf-8")) for value in assigned.values())
    if total > MAX_STORED_BYTES:
        raise StatesError(
            STATES_DATA_LIMIT_EXCEEDED,
            f"The variables stored by this execution would have a combined size of {total} "
            f"bytes, which exceeds the maximum of {MAX_STORED_BYTES} bytes.",
        )


def merge_variables(current: Mapping[str, JSON], assigned: Mapping[str, JSON]) -> dict[str, JSON]:
    """The frame's variables after a state exits: `current` with `assigned` written over it."""
    merged = dict(current)
    merged.update(assigned)
    return merged


def child_variables(parent: Mapping[str, JSON], *, distributed: bool = False) -> Mapping[str, JSON]:
    """The variables a Parallel branch or Map iteration starts with (see the module docstring).

    Shared by reference: the child copies them only when it first assigns (`merge_variables`).
    """
    return EMPTY_VARIABLES if distributed else parent


def assigned_details(assigned: Mapping[str, JSON]) -> dict[str, JSON]:
    """The Exited event's `assignedVariables` (JSON text per variable) and its details flag."""
    return {
        "assignedVariables": {name: dumps(value) for name, value in assigned.items()},
        "assignedVariablesDetails": {"truncated": False},
    }
