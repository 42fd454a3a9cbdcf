"""The small expressions generated states read their data with: paths, intrinsics, JSONata.

Owns: the data shape a generated state may rely on (`Shape`: top-level key -> kind), the
standard execution input of that shape, and strategies for JSONPath sources (`.$` values),
Choice rules, JSONata expressions and Conditions over a shape. Must never: build states
(strategies.py does) or read anything a shape does not promise, except on purpose (`$.res`
with IsPresent, which a state may or may not have written).

Every value a generated expression reads is in the shape, so most executions run far; states
that deliberately break the shape are marked "disruptive" by strategies.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

from engine.values import JSON
from tests.generated.handlers import ERROR_NAMES, ODD_VALUE, OK

FUNCTION_ARN = "arn:aws:lambda:us-east-1:111111111111:function:"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
JSONPATH = "JSONPath"
JSONATA = "JSONata"

Body = dict[str, JSON]
"""A state (or any object) of a definition being built."""

# Error names a Retrier or Catcher may list: the handlers' errors, a Fail state's, and some
# States.* names (States.Runtime is never caught: listing it checks just that).
FAIL_ERRORS = ("Boom", *ERROR_NAMES)
HANDLER_ERRORS = (*ERROR_NAMES, ODD_VALUE, "States.TaskFailed")
MATCHABLE = (
    *ERROR_NAMES,
    ODD_VALUE,
    "Boom",
    "States.TaskFailed",
    "States.Timeout",
    "States.ResultPathMatchFailure",
    "States.ExceedToleratedFailureThreshold",
    "States.QueryEvaluationError",
    "States.NoChoiceMatched",
    "States.Runtime",
)

INT = "int"
STR = "str"
BOOL = "bool"
TS = "ts"
OBJ = "obj"
PLAN = "plan"
ITEMS = "items"
ANY = "any"  # a variable holding any value

Shape = Mapping[str, str]
"""The keys a state's input is promised to hold, and the kind of each."""

OBJ_SHAPE: Shape = {"a": INT, "b": STR}
"""The shape of `$.obj`."""

T0 = 1_700_000_000.0
"""The execution start every driver uses: 2023-11-14T22:13:20Z (tests/interpreter/helpers.T0)."""

MAX_ARRAY = 3
"""No array in generated data is longer (input lists, literals, Parallel results)."""


def standard_shape(items_depth: int) -> dict[str, str]:
    """The keys of the execution input (and of each Map item, one level of `items` less)."""
    shape = {"n": INT, "s": STR, "flag": BOOL, "secs": INT, "ts": TS, "obj": OBJ, "plan": PLAN}
    if items_depth > 0:
        shape["items"] = ITEMS
    return shape


def iso(epoch: float, *, fraction: str = "", zone: str = "Z") -> str:
    """`epoch` as AWS's timestamp text, in `zone` ("Z" or "+hh:mm"), with a `.fraction`."""
    offset = timedelta(0)
    if zone != "Z":
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        offset = offset if zone[0] == "+" else -offset
    moment = datetime.fromtimestamp(epoch, tz=timezone(offset))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone


timestamps = st.builds(
    iso,
    st.integers(-86_400, 3 * 86_400).map(lambda s: T0 + s),
    fraction=st.sampled_from(["", ".250", ".5", ".000000001", ".123456789"]),
    zone=st.sampled_from(["Z", "+00:00", "+05:30", "-08:00", "-00:00"]),
)
"""Timestamps around the start of an execution (past ones make a Wait end at once)."""

plan_steps = st.sampled_from((OK, *ERROR_NAMES))
plans = st.lists(plan_steps, min_size=1, max_size=3)
"""What gen_plan does on each attempt (data plans never time out: see strategies.py)."""

short_text = st.text(alphabet="abc", max_size=3)


ODD_VALUES: dict[str, tuple[JSON, ...]] = {
    "n": (1.5, "3", None, 2**53 + 1, True),
    "s": (5, None, ["a"]),
    "flag": ("true", None, 0),
    "secs": (-1, 1.5, "5", None, 10**12, 99_999_999),
    "ts": ("not a time", 5, "2023-11-14T22:13:20", "9999-12-31T23:59:59Z", None),
    "obj": ([], None, "obj", {"a": "x"}),
    "plan": ([], "ok", [1, None], None),
    "items": ({}, "x", None),
}
"""Values of the wrong kind (or out of range) that an input may hold instead, now and then:
the states reading them must fail with an ASL error, never with an engine fault."""


@st.composite
def data(
    draw: st.DrawFn,
    items_depth: int,
    max_items: int = MAX_ARRAY,
    *,
    top: bool = True,
    odd: bool = True,
    spoiled_keys: list[str] | None = None,
    excluded: frozenset[tuple[str, int]] = frozenset(),
) -> dict[str, JSON]:
    """A value of `standard_shape(items_depth)`: the execution input or a Map item.

    Nested items derive their text, time and object fields from `n` (fewer draws, faster
    generation); the top level draws each field. With `odd`, one field in about twelve
    objects holds a value of ODD_VALUES instead (but none of `excluded`, (key, value) pairs),
    and its key goes to `spoiled_keys`.
    """
    n = draw(st.integers(-3, 5))
    value: dict[str, JSON] = {
        "n": n,
        "s": draw(short_text) if top else "abc"[: n % 4],
        "flag": draw(st.booleans()),
        "secs": draw(st.integers(0, 120)) if top else n % 7,
        "ts": draw(timestamps) if top else iso(T0 + 600 * n),
        "obj": {"a": draw(st.integers(-2, 5)), "b": draw(short_text)}
        if top
        else {"a": n % 3, "b": "b" * (n % 2)},
        "plan": list(draw(plans)),
    }
    if items_depth > 0:
        size = min(max_items, MAX_ARRAY) if top else 2
        item = data(
            items_depth - 1, top=False, odd=odd, spoiled_keys=spoiled_keys, excluded=excluded
        )
        items = draw(st.lists(item, max_size=size))
        value["items"] = list(items)
    if odd:
        keys = list(value)
        # Counted down, so that it shrinks to "nothing spoiled".
        spoiled = 12 * len(keys) - 1 - draw(st.integers(0, 12 * len(keys) - 1))
        if spoiled < len(keys):
            key = keys[spoiled]
            choices = [v for v in ODD_VALUES[key] if not _excluded(key, v, excluded)]
            value[key] = draw(st.sampled_from(choices))
            if spoiled_keys is not None:
                spoiled_keys.append(key)
    return value


def _excluded(key: str, value: JSON, excluded: frozenset[tuple[str, int]]) -> bool:
    return isinstance(value, int) and (key, value) in excluded


LITERALS: tuple[JSON, ...] = (
    None,
    0,
    True,
    "abc",
    -3,
    9,
    1.5,
    "",
    [],
    {},
    [1, "a", None],
    {"a": 1},
    {"a": [True, None], "b": "c"},
    [{"c": 1.5}, {"a": {}}],
    {"b": {"a": "x", "c": [0, 1]}},
)
literals: st.SearchStrategy[JSON] = st.sampled_from(LITERALS)
"""Constant values for Result, Parameters and Assign (no key a loop counter could use)."""


# -- JSONPath -------------------------------------------------------------------------------------


def paths(shape: Shape, kind: str) -> list[str]:
    """Reference paths to the values of `kind` a shape promises ($.obj.a included)."""
    found = [f"$.{key}" for key, value in shape.items() if value == kind]
    if shape.get("obj") == OBJ:
        found += [f"$.obj.{key}" for key, value in OBJ_SHAPE.items() if value == kind]
    return found


def intrinsics(shape: Shape, int_variables: list[str]) -> list[str]:
    """Intrinsic calls whose arguments the shape provides (they may still fail on values)."""
    calls = [
        "States.Format('{} and {}', 1, 'x')",
        "States.ArrayRange(1, 5, 2)",
        "States.StringToJson('{\"a\": 1}')",
        "States.Array(1, 'two')",
        "States.Hash('abc', 'SHA-256')",
        "States.Base64Encode('hi')",
    ]
    for path in paths(shape, INT):
        calls += [f"States.MathAdd({path}, 1)", f"States.Format('n={{}}', {path})"]
    for path in paths(shape, STR):
        calls += [f"States.StringSplit({path}, 'b')", f"States.Hash({path}, 'MD5')"]
    if "obj" in shape:
        calls += ["States.JsonToString($.obj)", "States.StringToJson(States.JsonToString($.obj))"]
    for path in paths(shape, PLAN):
        calls += [
            f"States.ArrayLength({path})",
            f"States.ArrayContains({path}, 'ok')",
            f"States.ArrayUnique({path})",
            f"States.ArrayPartition({path}, 2)",
            f"States.ArrayGetItem({path}, 0)",
        ]
    calls += [f"States.MathAdd(${name}, 1)" for name in int_variables]
    return calls


def jsonpath_sources(
    shape: Shape, variables: Mapping[str, str], *, context: bool = True
) -> st.SearchStrategy[str]:
    """What a `.$` key may read: a path, an intrinsic call, the context object or a variable."""
    plain = [path for kind in (INT, STR, BOOL, TS, OBJ, PLAN) for path in paths(shape, kind)]
    int_variables = [name for name, kind in variables.items() if kind == INT]
    options: list[st.SearchStrategy[str]] = []
    if plain:
        options.append(st.sampled_from(plain))
    options.append(st.sampled_from(intrinsics(shape, int_variables)))
    if context:
        options.append(st.sampled_from(["$$.State.Name", "$$.Execution.Input.n"]))
    if variables:
        options.append(st.sampled_from([f"${name}" for name in variables]))
    return st.one_of(options)


NUMERIC_OPS = (
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
)
STRING_OPS = ("StringEquals", "StringLessThan", "StringGreaterThanEquals")
TIMESTAMP_OPS = ("TimestampLessThan", "TimestampGreaterThanEquals", "TimestampEquals")
TYPE_TESTS = ("IsNumeric", "IsString", "IsBoolean", "IsNull", "IsTimestamp")


@st.composite
def choice_rules(
    draw: st.DrawFn, shape: Shape, variables: Mapping[str, str], depth: int = 0
) -> dict[str, JSON]:
    """A JSONPath Choice rule (without Next) over values the shape promises."""
    ints = paths(shape, INT)
    kinds = ["present"]
    if ints:
        kinds += ["int", "int_path"]
    if paths(shape, STR):
        kinds += ["str", "match"]
    if paths(shape, BOOL):
        kinds.append("bool")
    if paths(shape, TS):
        kinds.append("ts")
    kinds.append("type")
    if any(kind == INT for kind in variables.values()):
        kinds.append("variable")
        if ints:
            kinds.append("variable_path")
    if depth < 2:
        kinds += ["and", "or", "not"]
    kind = draw(st.sampled_from(kinds))
    if kind == "present":
        return {"Variable": draw(st.sampled_from(["$.res", "$.err", "$.n"])), "IsPresent": True}
    if kind == "int":
        return {
            "Variable": draw(st.sampled_from(ints)),
            draw(st.sampled_from(NUMERIC_OPS)): draw(st.integers(-2, 4)),
        }
    if kind == "int_path":
        return {
            "Variable": draw(st.sampled_from(ints)),
            draw(st.sampled_from(NUMERIC_OPS)) + "Path": draw(st.sampled_from(ints)),
        }
    if kind == "str":
        return {
            "Variable": draw(st.sampled_from(paths(shape, STR))),
            draw(st.sampled_from(STRING_OPS)): draw(short_text),
        }
    if kind == "match":
        return {
            "Variable": draw(st.sampled_from(paths(shape, STR))),
            "StringMatches": draw(st.sampled_from(["a*", "*b", "*"])),
        }
    if kind == "bool":
        return {"Variable": draw(st.sampled_from(paths(shape, BOOL))), "BooleanEquals": True}
    if kind == "ts":
        return {
            "Variable": draw(st.sampled_from(paths(shape, TS))),
            draw(st.sampled_from(TIMESTAMP_OPS)): draw(timestamps),
        }
    if kind == "type":
        plain = [p for k in (INT, STR, BOOL, TS, OBJ, PLAN) for p in paths(shape, k)] or ["$"]
        return {
            "Variable": draw(st.sampled_from(plain)),
            draw(st.sampled_from(TYPE_TESTS)): draw(st.booleans()),
        }
    if kind == "variable":
        names = [name for name, k in variables.items() if k == INT]
        return {
            "Variable": f"${draw(st.sampled_from(names))}",
            draw(st.sampled_from(NUMERIC_OPS)): draw(st.integers(-1, 3)),
        }
    if kind == "variable_path":
        names = [name for name, k in variables.items() if k == INT]
        return {
            "Variable": draw(st.sampled_from(ints)),
            draw(st.sampled_from(NUMERIC_OPS)) + "Path": f"${draw(st.sampled_from(names))}",
        }
    inner = choice_rules(shape, variables, depth + 1)
    if kind == "not":
        return {"Not": draw(inner)}
    return {kind.title(): [draw(inner), draw(inner)]}


# -- JSONata --------------------------------------------------------------------------------------


def jsonata_paths(shape: Shape, kind: str) -> list[str]:
    return ["$states.input" + path[1:] for path in paths(shape, kind)]


def jsonata_values(shape: Shape, variables: Mapping[str, str]) -> st.SearchStrategy[str]:
    """A JSONata expression (without the `{% %}`) giving a value from the shape."""
    options = ["$sum([1, 2])", "$states.context.State.Name", "{'a': 1, 'b': [true, null]}"]
    for path in jsonata_paths(shape, INT):
        options += [path, f"{path} + 1", f"{path} * 2"]
    for path in jsonata_paths(shape, STR):
        options += [f"$uppercase({path})", f"{path} & '!'", f"$hash({path}, 'SHA-256')"]
    for path in jsonata_paths(shape, PLAN):
        options += [f"$count({path})", f"$partition({path}, 2)", f"{path}[0]"]
    for path in jsonata_paths(shape, OBJ):
        options += [path, f"$keys({path})"]
    options += [f"${name}" for name in variables]
    return st.sampled_from(options)


@st.composite
def jsonata_conditions(
    draw: st.DrawFn, shape: Shape, variables: Mapping[str, str], depth: int = 0
) -> str:
    """A JSONata boolean expression (without the `{% %}`) for a Choice Condition."""
    options = ["$exists($states.input.res)", "$exists($states.input.err)"]
    for path in jsonata_paths(shape, INT):
        options += [f"{path} > 0", f"{path} = 1", f"{path} <= 2"]
    for path in jsonata_paths(shape, STR):
        options += [f"{path} = 'a'", f"$length({path}) > 1"]
    for path in jsonata_paths(shape, BOOL):
        options += [path, f"{path} = false"]
    for path in jsonata_paths(shape, PLAN):
        options += [f"$count({path}) > 1", f"'ok' in {path}"]
    options += [f"${name} > 0" for name, kind in variables.items() if kind == INT]
    condition = draw(st.sampled_from(options))
    if depth < 1:
        combine = draw(st.sampled_from(["", "and", "or", "not"]))
        if combine == "not":
            condition = f"$not({condition})"
        elif combine:
            other = draw(jsonata_conditions(shape, variables, depth + 1))
            condition = f"({condition}) {combine} ({other})"
    return condition
