"""Data flow applied by hand: what a JSONPath state outputs, computed apart from the engine.

Owns: `check_passes` (a JSONPath Pass state's output: InputPath, Parameters with paths and
literals, Result, ResultPath into the raw input, OutputPath), `check_task_output` (a Task's
result through ResultSelector, ResultPath and OutputPath) and `set_path` (ResultPath as the
ASL spec defines it). Where a value is beyond it (an intrinsic call, a variable, an Assign
that may fail), it leaves the state unchecked. Must never: import the engine's data-flow,
path or template code.
"""

from __future__ import annotations

import copy

from engine.values import JSON
from tests.generated import choices
from tests.generated.oracles import StateInfo, Visit, Walk


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


class _Unknowable(Exception):
    """A value this oracle does not compute (an intrinsic call, a variable)."""


def check_task_output(visit: Visit, result: JSON) -> None:
    """A JSONPath Task that succeeded outputs its result through ResultSelector, ResultPath
    (into the raw input) and OutputPath, applied here by hand, or never exits."""
    state, closed = visit.state, visit.closed_by
    if state.language != "JSONPath" or "Assign" in state.body or closed is None:
        return
    try:
        expected = _result_output(state, visit.events[0].details.get("input"), result)
    except _Unknowable:
        return
    exited = closed.type.endswith("Exited")
    if expected is None:
        # The failure (States.Runtime, States.ResultPathMatchFailure) may be caught.
        assert not exited or "Catch" in state.body, (
            f"{state.name} exited, but one of its result paths cannot apply"
        )
    elif exited:
        assert closed.details.get("output") == expected[1], (
            f"{state.name}: output {closed.details.get('output')!r}, expected {expected[1]!r}"
        )


def _result_output(state: StateInfo, state_input: JSON, result: JSON) -> tuple[bool, JSON] | None:
    body = state.body
    if "ResultSelector" in body:
        selected = _template(body["ResultSelector"], result, None, state)
        if selected is None:
            return None
        result = selected[1]
    applied, output = set_path(state_input, body.get("ResultPath", "$"), result)
    if not applied:
        return None
    found, output = _read(body.get("OutputPath", "$"), output, None, state)
    return (True, output) if found else None


def check_passes(walk: Walk) -> int:
    """A JSONPath Pass state's output is its data flow applied by hand: InputPath, Parameters
    (paths and literals), Result, ResultPath into the raw input, OutputPath; or, where a path
    selects nothing or ResultPath cannot apply, it never exits."""
    execution_input = walk.events[0].details.get("input")
    checked = 0
    for visit in walk.visits():
        state = visit.state
        if state.type != "Pass" or state.language != "JSONPath":
            continue
        try:
            expected = _pass_output(state, visit.events[0].details.get("input"), execution_input)
        except _Unknowable:
            continue
        closed = visit.closed_by
        exited = closed is not None and closed.type.endswith("Exited")
        if expected is None:
            assert not exited, f"{state.name} exited, but one of its paths cannot apply"
        elif exited:
            assert closed is not None
            assert closed.details.get("output") == expected[1], (
                f"{state.name}: output {closed.details.get('output')!r}, expected {expected[1]!r}"
            )
        checked += 1
    return checked


def _pass_output(
    state: StateInfo, state_input: JSON, execution_input: JSON
) -> tuple[bool, JSON] | None:
    body = state.body
    if "Assign" in body:
        raise _Unknowable  # an Assign may fail too
    found, effective = _read(body.get("InputPath", "$"), state_input, execution_input, state)
    if not found:
        return None
    if "Parameters" in body:
        built = _template(body["Parameters"], effective, execution_input, state)
        if built is None:
            return None
        effective = built[1]
    result = body.get("Result", effective)
    applied, output = set_path(state_input, body.get("ResultPath", "$"), result)
    if not applied:
        return None
    found, output = _read(body.get("OutputPath", "$"), output, execution_input, state)
    return (True, output) if found else None


def _read(path: JSON, data: JSON, execution_input: JSON, state: StateInfo) -> tuple[bool, JSON]:
    """InputPath/OutputPath/a `.$` value: `null` is {}, `$$…` the context, `$.a.b` the data."""
    if path is None:
        return True, {}
    assert isinstance(path, str)
    if path == "$$.State.Name":
        return True, state.name
    if path.startswith("$$.Execution.Input"):
        return choices.lookup(execution_input, "$" + path.removeprefix("$$.Execution.Input"))
    if path.startswith(("States.", "$$")) or not path.startswith("$"):
        raise _Unknowable(path)
    try:
        return choices.lookup(data, path)
    except choices.Unknown:
        raise _Unknowable(path) from None


def _template(
    template: JSON, data: JSON, execution_input: JSON, state: StateInfo
) -> tuple[bool, JSON] | None:
    """A payload template applied by hand; None when one of its paths selects nothing."""
    if not isinstance(template, dict):
        return True, template
    out: dict[str, JSON] = {}
    for key, value in template.items():
        if key.endswith(".$"):
            found, selected = _read(value, data, execution_input, state)
            if not found:
                return None
            out[key.removesuffix(".$")] = selected
        elif isinstance(value, dict):
            built = _template(value, data, execution_input, state)
            if built is None:
                return None
            out[key] = built[1]
        else:
            out[key] = value
    return True, out
