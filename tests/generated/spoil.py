"""Now and then, one path of a generated machine selects nothing or the wrong kind of value.

Owns: `spoil_one_path`, the last touch `machines()` gives a definition: in about one machine in
`RATE`, one reference path (InputPath, OutputPath, ResultPath, ItemsPath, SecondsPath,
TimestampPath, ErrorPath, CausePath, the Map and Task `…Path` fields, a Choice Variable or
`…Path` operand, a `.$` value of Parameters, ResultSelector, ItemSelector or Assign, a path
argument of an intrinsic there) or one JSONata `$states.input.…` read is pointed at data that
is not there. The state must then fail
with an ASL error (States.Runtime, States.ResultPathMatchFailure, States.QueryEvaluationError),
never with an engine fault: those error paths are where the engine is least exercised.
Must never: touch the loops' counters (builder.py relies on them to end every execution) or
make a definition invalid.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from hypothesis import strategies as st

from engine.values import JSON
from tests.generated.expressions import Body

RATE: Final = 4

PATH_FIELDS: Final = (
    "InputPath",
    "OutputPath",
    "ResultPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "TimeoutSecondsPath",
    "Variable",
)
TEMPLATE_FIELDS: Final = ("Parameters", "ResultSelector", "ItemSelector", "Assign", "Arguments")
MISSING: Final = ("$.nothing", "$.obj.nothing", "$.s.length", "$.plan.first")
_JSONATA_READ = re.compile(r"\$states\.input\.(\w+)")
_PATH_ARGUMENT = re.compile(r"\$\.\w+(\.\w+)*")  # a path argument of an intrinsic call

Spot = tuple[dict[str, JSON], str]  # the object holding a path, and the key of the path


def spoil_one_path(draw: st.DrawFn, definition: Body, features: set[str]) -> None:
    """In about one machine in RATE, point one path at data that is not there (in place)."""
    found = list(_spots(definition))
    if not found or draw(st.integers(0, RATE - 1)) != RATE - 1:
        return
    # Pick a field first, then one of its places: rare fields (ErrorPath) get their turn as
    # often as the many `.$` values and JSONata reads.
    by_field: dict[str, list[Spot]] = {}
    for holder, key in found:
        field = "JSONata" if str(holder[key]).startswith("{%") else key
        by_field.setdefault(field, []).append((holder, key))
    fields = list(by_field)
    spots = by_field[fields[draw(st.integers(0, len(fields) - 1))]]
    holder, key = spots[draw(st.integers(0, len(spots) - 1))]
    value = holder[key]
    assert isinstance(value, str)
    if value.startswith("{%"):
        holder[key] = _JSONATA_READ.sub("$states.input.nothing", value, count=1)
        features.add("odd_path.JSONata")
    elif value.startswith("States."):
        holder[key] = _PATH_ARGUMENT.sub("$.nothing", value, count=1)
        features.add(f"odd_path.{key.removesuffix('.$')}")
    else:
        # ResultPath cannot select nothing: writing through a string fails instead.
        missing = "$.s.into" if key == "ResultPath" else draw(st.sampled_from(MISSING))
        holder[key] = missing
        features.add(f"odd_path.{key.removesuffix('.$')}")


def _spots(node: JSON, in_template: bool = False) -> Iterator[Spot]:
    if isinstance(node, list):
        for item in node:
            yield from _spots(item, in_template)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if isinstance(value, str) and _spoilable(key, value, in_template):
            yield node, key
        elif isinstance(value, dict | list):
            yield from _spots(value, in_template or key in TEMPLATE_FIELDS)


def _spoilable(key: str, value: str, in_template: bool) -> bool:
    if "loop" in value:
        return False  # a loop's counter: builder.py counts on it
    if value.startswith("{%"):
        return _JSONATA_READ.search(value) is not None
    if value.startswith("States."):
        if _PATH_ARGUMENT.search(value) is None:
            return False
    elif not value.startswith("$."):
        return False  # `$`, `$$…` and variables stay as they are
    if in_template:
        return key.endswith(".$")
    return key in PATH_FIELDS or key.endswith("Path")
