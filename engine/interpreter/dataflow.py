"""JSONPath-mode data flow through a state: InputPath, Parameters, ResultSelector, ResultPath,
OutputPath, as pure functions over compiled paths and templates.

Owns: AWS's per-step semantics and the exact error names and causes when a step fails. AWS's
order for a state is InputPath -> Parameters -> (the state's work) -> ResultSelector ->
ResultPath -> OutputPath; the caller (the state handlers) runs them in that order. Must never:
parse path or template text (everything arrives compiled), mutate a value it is given, or know
about frames, history or backends.

Errors are raised as `StatesError` for the state boundary to turn into a `Failure` value. The
causes are AWS's text *after* its state prefix: for States.Runtime AWS prefixes the cause with
"An error occurred while executing the state '<name>' (entered at the event id #<id>). ", which
the interpreter adds because only it knows the state and the event id. Recorded AWS causes
(conformance cases localstack/scenarios/test_base_scenarios/test_invalid_jsonpath.* and
.../test_catch_states_runtime), all with error States.Runtime:

    InputPath/OutputPath: Invalid path '$.NoSuchInputPath' : No results for path:
                          $['NoSuchInputPath']  (one line; a missing leaf)
                          Invalid path '$.no.such.result.path' : Missing property in path
                          $['no']  (one line; a missing intermediate property)
    Parameters/selectors: The JSONPath '$.x' specified for the field 'x.$' could not be found
                          in the input '{...}'  (one line; see templates.py)

ResultPath failures are States.ResultPathMatchFailure (no recorded cause; see apply_result_path).

Inspection (AWS's TestState `inspectionData`): while `INSPECTION.record` holds a dict, each step
stores what it produced there under AWS's name (afterInputPath, afterParameters, ...). Only
single_state.py sets it, around the synchronous work of the one state it tests; otherwise it is
None and the cost is one attribute read per step.
"""

from __future__ import annotations

from engine.definition.paths import Path, PathNoMatch, set_reference_path
from engine.definition.scope import Scope
from engine.definition.templates import Template
from engine.errors import STATES_RESULT_PATH_MATCH_FAILURE, STATES_RUNTIME, StatesError
from engine.values import JSON, dumps

__all__ = [
    "INSPECTION",
    "apply_input_path",
    "apply_output_path",
    "apply_parameters",
    "apply_result_path",
    "apply_result_selector",
    "invalid_path_cause",
]


class Inspection:
    """Where the data flow notes its intermediate values for TestState (see the docstring)."""

    __slots__ = ("record",)

    def __init__(self) -> None:
        self.record: dict[str, JSON] | None = None


INSPECTION = Inspection()


def invalid_path_cause(path: Path, reason: str) -> str:
    """AWS's cause for an InputPath/OutputPath (or other plain path field) that failed."""
    return f"Invalid path '{path.text}' : {reason}"


def _select(path: Path | None, data: JSON, scope: Scope) -> JSON:
    if path is None:
        # `"InputPath": null` / `"OutputPath": null`: the state sees / emits `{}`.
        return {}
    if path.steps == () and path.root == "data":
        return data  # "$", the default: nothing to walk
    try:
        return path.find(data, scope)
    except PathNoMatch as exc:
        raise StatesError(STATES_RUNTIME, invalid_path_cause(path, exc.reason)) from None


def apply_input_path(path: Path | None, data: JSON, scope: Scope) -> JSON:
    """The state's effective input: `data` filtered by InputPath (None means `{}`)."""
    selected = _select(path, data, scope)
    if INSPECTION.record is not None:
        INSPECTION.record["afterInputPath"] = selected
    return selected


def apply_parameters(template: Template | None, data: JSON, scope: Scope) -> JSON:
    """Parameters (or ItemSelector) applied to the effective input; None passes `data` through."""
    if template is None:
        return data
    effective = template.evaluate(data, scope)
    if INSPECTION.record is not None:
        INSPECTION.record["afterParameters"] = effective
    return effective


def apply_result_selector(template: Template | None, result: JSON, scope: Scope) -> JSON:
    """ResultSelector applied to the state's raw result; None passes `result` through."""
    if template is None:
        return result
    selected = template.evaluate(result, scope)
    if INSPECTION.record is not None:
        INSPECTION.record["afterResultSelector"] = selected
    return selected


def apply_result_path(path: Path | None, state_input: JSON, result: JSON) -> JSON:
    """The state input combined with `result` at ResultPath (a compiled reference path).

    None is `"ResultPath": null` (the input passes through and the result is dropped); the
    default `"$"` (which callers pass compiled when the field is absent) replaces the input.
    Intermediate objects are created as needed; writing through a non-object, or to an array
    element that does not exist, is States.ResultPathMatchFailure.
    """
    if path is None:
        combined = state_input
    elif path.steps == ():
        combined = result
    else:
        try:
            combined = set_reference_path(state_input, path, result)
        except PathNoMatch:
            # No recorded case covers this; the wording is unconfirmed against AWS (see report).
            raise StatesError(
                STATES_RESULT_PATH_MATCH_FAILURE,
                f"Unable to apply ReferencePath {path.text} to input {dumps(state_input)}",
            ) from None
    if INSPECTION.record is not None:
        INSPECTION.record["afterResultPath"] = combined
    return combined


def apply_output_path(path: Path | None, data: JSON, scope: Scope) -> JSON:
    """The state's output: `data` (after ResultPath) filtered by OutputPath (None means `{}`)."""
    return _select(path, data, scope)
