"""The 18 `States.*` intrinsic functions: one small function per intrinsic, in one table.

Owns: what each intrinsic computes from its already-evaluated argument values, its static arity
(`INTRINSIC_ARITY`), and the short AWS wording of each runtime failure (`IntrinsicFault.detail`).
Must never: parse intrinsic text or evaluate paths (intrinsics.py does both), or build the full
AWS cause (intrinsics.py wraps `detail` as "The function '<call>' had the following error: ...").

AWS behaviours pinned here (conformance cases under localstack/intrinsic_functions unless noted):
- Failures are `States.Runtime` with "Invalid arguments in States.<Name>": test suites run
  against real AWS assert `error == 'States.Runtime'` and that wording (MathAdd, StringToJson,
  ArrayRange); none records `States.IntrinsicFailure`. The exact wording past "Invalid
  arguments in States.<Name>" is not recorded anywhere we could find.
- States.MathAdd rounds each operand like Java's Math.round, half up: 0.5 -> 1, 2.5 -> 3,
  -1.5 -> -1, -2.5 -> -2 (test_math_add cases 9..19).
- ArrayRange / ArrayPartition / ArrayGetItem / MathRandom truncate a non-integer number toward
  zero (Java `intValue`); AWS runs ArrayRange(5.4, -0.6, -2.4) as ArrayRange(5, 0, -2).
- States.Format renders a JSON object as Java's Map.toString, `{Arg1=1, Arg2=[]}`, null as
  `null`, numbers as Java prints them (test_format_2 cases 3..7).
- States.StringSplit splits on every character of its second argument and drops empty tokens,
  like Java's StringTokenizer: ",,,," -> [] (test_string_split cases 1..6).
- Equality (ArrayContains, ArrayUnique) is Jackson's JsonNode equality: booleans are not numbers
  and an integer never equals a float (1 != 1.0); object key order does not matter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from engine.definition.scope import Scope
from engine.values import JSON, dumps

__all__ = [
    "FUNCTIONS",
    "INTRINSIC_ARITY",
    "FormatTemplate",
    "Function",
    "IntrinsicFault",
    "compile_format_template",
    "format_value",
    "json_equal",
]

MAX_RANGE_ITEMS = 1000
"""AWS: "The newly generated array can't contain more than 1000 items" (States.ArrayRange)."""

MAX_STRING_CHARS = 10_000
"""AWS: Base64Encode/Base64Decode/Hash take "a data string of up to 10,000 characters"."""

HASH_ALGORITHMS: Mapping[str, str] = MappingProxyType(
    {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
)
"""AWS's algorithm names (case-sensitive) to hashlib's."""


class IntrinsicFault(Exception):
    """An intrinsic failed at run time; `detail` is AWS's wording after "had the following error: ".

    Internal to the intrinsics: `IntrinsicCall.evaluate` turns it into a `StatesError`.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


Function = Callable[[list[JSON], Scope], JSON]
"""An intrinsic's implementation: evaluated argument values (arity already checked) -> result."""


def _invalid(name: str) -> IntrinsicFault:
    return IntrinsicFault(f"Invalid arguments in {name}")


def _is_number(value: JSON) -> bool:
    """A finite JSON number. An input like `1e400` reads as infinity, which no function takes:
    it is an invalid argument, never an arithmetic exception escaping the interpreter."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _truncated(value: JSON, name: str) -> int:
    """A number as Java's `intValue` sees it (toward zero); anything else is invalid."""
    if not _is_number(value):
        raise _invalid(name)
    assert isinstance(value, int | float)
    return int(value)


def _java_round(value: float | int) -> int:
    """Java's Math.round: the nearest integer, halves rounded up (-2.5 -> -2, 2.5 -> 3)."""
    if isinstance(value, int):
        return value
    floor = math.floor(value)
    return floor + 1 if value - floor >= 0.5 else floor


# ---------------------------------------------------------------------------------------------
# Rendering and equality shared by several functions
# ---------------------------------------------------------------------------------------------


def _java_double(value: float) -> str:
    """A float as Java's Double.toString writes it (1.1, 1.0, 1.0E20, 1.0E-5)."""
    magnitude = abs(value)
    if magnitude == 0 or 1e-3 <= magnitude < 1e7:
        # repr is plain decimal notation in this range and keeps a ".0" on whole numbers.
        return repr(value)
    # Shortest round-tripping digits (as repr picks them) in Java's d.dddE<n> layout.
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) - 1 + exponent
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def format_value(value: JSON) -> str:
    """A value as States.Format writes it: strings bare, containers as Java's toString."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, list):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{key}={format_value(item)}" for key, item in value.items()) + "}"


def json_equal(left: JSON, right: JSON) -> bool:
    """Jackson JsonNode equality: same JSON type, ints and floats apart, key order ignored."""
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        assert isinstance(right, list)
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict):
        assert isinstance(right, dict)
        return left.keys() == right.keys() and all(json_equal(v, right[k]) for k, v in left.items())
    return left == right


def _identity_key(value: JSON) -> object:
    """A hashable key with `json_equal`'s notion of sameness (for ArrayUnique)."""
    if isinstance(value, dict | list):
        # sort_keys makes key order irrelevant; json renders 1 and 1.0 and true differently.
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return (type(value), value)


# ---------------------------------------------------------------------------------------------
# States.Format templates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormatTemplate:
    """A parsed States.Format template: literal text around `{}` placeholders.

    `parts` alternates literal text and placeholders: `parts[0] {} parts[1] {} ... parts[-1]`,
    so `placeholders == len(parts) - 1`. `error` is set instead when the template is malformed
    (a lone `{` or `}`); AWS accepts such a definition and fails when the state runs.
    """

    parts: tuple[str, ...]
    error: str | None = None

    @property
    def placeholders(self) -> int:
        return len(self.parts) - 1


_TEMPLATE_CHARS = re.compile(r"[{}\\]")


def compile_format_template(text: str, escaped: frozenset[int] = frozenset()) -> FormatTemplate:
    """Split a template at its `{}` placeholders.

    `escaped` holds the offsets in `text` of braces written with a backslash in an intrinsic
    string literal (`\\{`), which are literal text. A template read from the input at run time
    has no escapes left, so its braces all count.
    """
    if _TEMPLATE_CHARS.search(text) is None:
        return FormatTemplate((text,))
    parts: list[str] = []
    current: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "{" and i not in escaped:
            if i + 1 < n and text[i + 1] == "}" and i + 1 not in escaped:
                parts.append("".join(current))
                current = []
                i += 2
                continue
            return FormatTemplate((), "Invalid arguments in States.Format")
        if char == "}" and i not in escaped:
            return FormatTemplate((), "Invalid arguments in States.Format")
        current.append(char)
        i += 1
    parts.append("".join(current))
    return FormatTemplate(tuple(parts))


def render_format(template: FormatTemplate, values: Sequence[JSON]) -> str:
    """Fill a template's placeholders with `values` (one per placeholder, else a fault)."""
    if template.error is not None:
        raise IntrinsicFault(template.error)
    parts = template.parts
    if len(values) != len(parts) - 1:
        raise _invalid("States.Format")
    if not values:
        return parts[0]
    out = [parts[0]]
    for value, part in zip(values, parts[1:], strict=True):
        out.append(value if isinstance(value, str) else format_value(value))
        out.append(part)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------------------------


def states_format(args: list[JSON], scope: Scope) -> JSON:
    """States.Format(template, value...): the template with each `{}` replaced in order."""
    template = args[0]
    if not isinstance(template, str):
        raise _invalid("States.Format")
    return render_format(compile_format_template(template), args[1:])


def _reject_constant(token: str) -> JSON:
    raise ValueError(token)


_JSON_WHITESPACE = " \t\n\r"


def states_string_to_json(args: list[JSON], scope: Scope) -> JSON:
    """States.StringToJson(text): the JSON value `text` encodes.

    Text with nothing but JSON whitespace decodes to null, as Jackson's readTree reads no
    content (recorded: test_string_to_json, inputs "" and " ").
    """
    text = args[0]
    if not isinstance(text, str):
        raise _invalid("States.StringToJson")
    if not text.strip(_JSON_WHITESPACE):
        return None
    try:
        value: JSON = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _invalid("States.StringToJson") from None
    return value


def states_json_to_string(args: list[JSON], scope: Scope) -> JSON:
    """States.JsonToString(value): compact JSON text (`{"a":1,"b":[]}`)."""
    return dumps(args[0])


def states_array(args: list[JSON], scope: Scope) -> JSON:
    """States.Array(value...): the arguments as an array."""
    return args


def _array(value: JSON, name: str) -> list[JSON]:
    if not isinstance(value, list):
        raise _invalid(name)
    return value


def states_array_partition(args: list[JSON], scope: Scope) -> JSON:
    """States.ArrayPartition(array, size): consecutive chunks of `size` (the last may be short)."""
    array = _array(args[0], "States.ArrayPartition")
    size = _truncated(args[1], "States.ArrayPartition")
    if size <= 0:
        raise _invalid("States.ArrayPartition")
    return [array[i : i + size] for i in range(0, len(array), size)]


def states_array_contains(args: list[JSON], scope: Scope) -> JSON:
    """States.ArrayContains(array, value): whether some element equals `value`."""
    array = _array(args[0], "States.ArrayContains")
    wanted = args[1]
    if not isinstance(wanted, dict | list):
        kind = type(wanted)
        return any(type(item) is kind and item == wanted for item in array)
    return any(json_equal(item, wanted) for item in array)


def states_array_range(args: list[JSON], scope: Scope) -> JSON:
    """States.ArrayRange(first, last, step): first, first+step, ... up to and including last."""
    start = _truncated(args[0], "States.ArrayRange")
    end = _truncated(args[1], "States.ArrayRange")
    step = _truncated(args[2], "States.ArrayRange")
    if step == 0:
        raise _invalid("States.ArrayRange")
    if (step > 0 and start > end) or (step < 0 and start < end):
        return []
    # Count before building, so a huge range fails fast instead of allocating.
    count = (end - start) // step + 1
    if count > MAX_RANGE_ITEMS:
        raise _invalid("States.ArrayRange")
    return list(range(start, end + (1 if step > 0 else -1), step))


def states_array_get_item(args: list[JSON], scope: Scope) -> JSON:
    """States.ArrayGetItem(array, index): the element at `index` (0-based)."""
    array = _array(args[0], "States.ArrayGetItem")
    index = _truncated(args[1], "States.ArrayGetItem")
    if not 0 <= index < len(array):
        raise _invalid("States.ArrayGetItem")
    return array[index]


def states_array_length(args: list[JSON], scope: Scope) -> JSON:
    """States.ArrayLength(array): the number of elements."""
    return len(_array(args[0], "States.ArrayLength"))


def states_array_unique(args: list[JSON], scope: Scope) -> JSON:
    """States.ArrayUnique(array): the array without repeats, keeping first occurrences."""
    array = _array(args[0], "States.ArrayUnique")
    seen: set[object] = set()
    unique: list[JSON] = []
    for item in array:
        key = _identity_key(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _bounded_string(value: JSON, name: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_STRING_CHARS:
        raise _invalid(name)
    return value


def states_base64_encode(args: list[JSON], scope: Scope) -> JSON:
    """States.Base64Encode(text): base64 (RFC 4648, padded) of the UTF-8 bytes of `text`."""
    text = _bounded_string(args[0], "States.Base64Encode")
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


def states_base64_decode(args: list[JSON], scope: Scope) -> JSON:
    """States.Base64Decode(text): the UTF-8 text whose base64 is `text`."""
    text = _bounded_string(args[0], "States.Base64Decode")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _invalid("States.Base64Decode") from None
    # Java's new String(bytes, UTF_8) replaces malformed sequences with U+FFFD.
    return raw.decode("utf-8", "replace")


def states_hash(args: list[JSON], scope: Scope) -> JSON:
    """States.Hash(text, algorithm): lowercase hex digest of the UTF-8 bytes of `text`."""
    text = _bounded_string(args[0], "States.Hash")
    algorithm = args[1]
    if not isinstance(algorithm, str) or algorithm not in HASH_ALGORITHMS:
        raise _invalid("States.Hash")
    digest = hashlib.new(HASH_ALGORITHMS[algorithm], usedforsecurity=False)
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def states_json_merge(args: list[JSON], scope: Scope) -> JSON:
    """States.JsonMerge(left, right, false): shallow merge, `right`'s keys winning.

    AWS supports only the shallow mode: the third argument must be the boolean false.
    """
    left, right, deep = args
    if not isinstance(left, dict) or not isinstance(right, dict) or deep is not False:
        raise _invalid("States.JsonMerge")
    return {**left, **right}


def states_math_random(args: list[JSON], scope: Scope) -> JSON:
    """States.MathRandom(start, end[, seed]): a random integer with start <= n < end.

    Unseeded draws come from `scope.rng`, so a seeded execution reproduces; a seed argument
    gives the same number for the same seed, as AWS documents.
    """
    start = _truncated(args[0], "States.MathRandom")
    end = _truncated(args[1], "States.MathRandom")
    if start >= end:
        raise _invalid("States.MathRandom")
    if len(args) == 3:
        seed = _truncated(args[2], "States.MathRandom")
        return random.Random(seed).randrange(start, end)  # noqa: S311 - AWS: not for security
    return scope.rng.randrange(start, end)


def states_math_add(args: list[JSON], scope: Scope) -> JSON:
    """States.MathAdd(a, b): a + b, each operand first rounded half up (Java Math.round)."""
    left, right = args
    if not _is_number(left) or not _is_number(right):
        raise _invalid("States.MathAdd")
    assert isinstance(left, int | float)
    assert isinstance(right, int | float)
    return _java_round(left) + _java_round(right)


def states_string_split(args: list[JSON], scope: Scope) -> JSON:
    """States.StringSplit(text, delimiters): the non-empty runs between delimiter characters."""
    text, delimiters = args
    if not isinstance(text, str) or not isinstance(delimiters, str):
        raise _invalid("States.StringSplit")
    if len(delimiters) == 1:
        return [token for token in text.split(delimiters) if token]
    if not delimiters:
        return [text] if text else []
    pattern = "[" + re.escape(delimiters) + "]"
    return [token for token in re.split(pattern, text) if token]


def states_uuid(args: list[JSON], scope: Scope) -> JSON:
    """States.UUID(): a version 4 UUID drawn from `scope.rng` (reproducible when seeded)."""
    return str(uuid.UUID(int=scope.rng.getrandbits(128), version=4))


FUNCTIONS: Mapping[str, tuple[Function, int, int | None]] = MappingProxyType(
    {
        "States.Format": (states_format, 1, None),
        "States.StringToJson": (states_string_to_json, 1, 1),
        "States.JsonToString": (states_json_to_string, 1, 1),
        "States.Array": (states_array, 0, None),
        "States.ArrayPartition": (states_array_partition, 2, 2),
        "States.ArrayContains": (states_array_contains, 2, 2),
        "States.ArrayRange": (states_array_range, 3, 3),
        "States.ArrayGetItem": (states_array_get_item, 2, 2),
        "States.ArrayLength": (states_array_length, 1, 1),
        "States.ArrayUnique": (states_array_unique, 1, 1),
        "States.Base64Encode": (states_base64_encode, 1, 1),
        "States.Base64Decode": (states_base64_decode, 1, 1),
        "States.Hash": (states_hash, 2, 2),
        "States.JsonMerge": (states_json_merge, 3, 3),
        "States.MathRandom": (states_math_random, 2, 3),
        "States.MathAdd": (states_math_add, 2, 2),
        "States.StringSplit": (states_string_split, 2, 2),
        "States.UUID": (states_uuid, 0, 0),
    }
)
"""Every intrinsic: implementation, minimum and maximum argument count (None: unbounded)."""

INTRINSIC_ARITY: Mapping[str, tuple[int, int | None]] = MappingProxyType(
    {name: (low, high) for name, (_, low, high) in FUNCTIONS.items()}
)
"""(min, max) argument count per intrinsic name, max None when unbounded; for the validator."""
