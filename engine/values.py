"""JSON values as the engine sees them: the type alias, canonical text, and payload size.

Owns: the one `JSON` alias every layer uses for state input/output, the AWS notion of a
payload's size, and `immutable`, the decorator of the value classes that every step creates by
the dozen (history events, task requests, messages). Must never: import from any other engine
module (everything imports this).
"""

from __future__ import annotations

import enum
import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias, TypeVar, dataclass_transform

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
"""A JSON value. Objects keep insertion order (AWS preserves key order in outputs)."""


class Omitted(enum.Enum):
    """An execution input the caller did not give. AWS's StartExecution then runs with `{}`,
    while an input given as JSON `null` stays `null` (LocalStack's AWS recording
    test_lambda_task.py::test_invoke_json_values[None]); `None` cannot say "not given"."""

    INPUT = "omitted"


NO_INPUT: Final = Omitted.INPUT
"""The default of `execution_input` parameters: no input given, so `{}`."""

PAYLOAD_LIMIT_BYTES = 256 * 1024
"""AWS's limit on a state's input/output and an execution's input: 256 KiB of UTF-8 text."""

_Value = TypeVar("_Value")


@dataclass_transform(frozen_default=True)
def immutable(cls: type[_Value]) -> type[_Value]:
    """A slotted dataclass that is frozen to the type checker: a value, never changed.

    `@dataclass(frozen=True)` checks every assignment at run time, and pays for it in its
    constructor: each field is set through `object.__setattr__`, four times the cost of a
    plain slotted one (670 against 150 ns for a five-field history event). A Task transition
    makes about twenty such values (five history events, their payloads, the request, the
    messages, the new state), so the check cost more than a whole Pass transition. Here
    mypy (`strict`, over engine/, api/ and the tests) rejects any assignment to a field, as
    for a frozen dataclass; equality and hashing are a frozen dataclass's (by fields).
    """
    return dataclass(slots=True, unsafe_hash=True)(cls)


def compact_encoder(
    *, ensure_ascii: bool, separators: tuple[str, str] = (",", ":")
) -> Callable[[object], str]:
    """`json.dumps(value, separators=separators, ensure_ascii=...)`, its encoder built once.

    `json.dumps` with any argument builds a JSONEncoder, and `JSONEncoder.encode` a C
    encoder, on every call: three times the cost of the encoding itself for the small
    payloads every history event renders (a profile of a durable worker showed a sixth of
    its event-loop time there). The C encoder is made once and called directly; it keeps
    the circular-reference check (`markers`), and it runs holding the GIL, so threads can
    share it. Same text, same errors as `json.dumps`. `separators=(", ", ": ")` with
    `ensure_ascii=True` is `json.dumps(value)` with no options at all (`DEFAULT_DUMPS`)."""
    item_separator, key_separator = separators
    options = json.JSONEncoder(separators=separators, ensure_ascii=ensure_ascii)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (not CPython): the library's own path
        return options.encode
    escape = (
        json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    )
    chunks = make(
        {}, options.default, escape, None, key_separator, item_separator, False, False, True
    )

    def encode(value: object) -> str:
        if isinstance(value, str):  # as JSONEncoder.encode: a bare string is one chunk
            return escape(value)
        return "".join(chunks(value, 0))

    return encode


DEFAULT_DUMPS: Final = compact_encoder(ensure_ascii=True, separators=(", ", ": "))
"""`json.dumps(value)`, defaults and all (the text the AWS Lambda Python runtime sends and
reads), at a third of its cost on a small value: json.dumps reaches the C encoder through two
Python calls that each check every option."""

_dumps = compact_encoder(ensure_ascii=False)


def dumps(value: JSON) -> str:
    """Compact JSON text as AWS renders payloads (no spaces, non-ASCII kept as is)."""
    return _dumps(value)


def payload_size(value: JSON) -> int:
    """Size in bytes of `value` rendered as AWS counts it (UTF-8 of the compact JSON text).

    A lone surrogate (a handler may return one) counts its 3 bytes instead of failing."""
    return len(dumps(value).encode("utf-8", "surrogatepass"))


def type_name(value: JSON) -> str:
    """The JSON type name of a value, as AWS's messages name types."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# -- bounds on JSON from outside ----------------------------------------------------------------
# AWS documents no nesting or number-length limit for execution input; its JSON front end
# (Jackson) bounds both: numbers of 1,000 characters, nesting 1,000 deep (500 from Jackson 3).
# The engine takes 512 levels: deep enough for any real document, and shallow enough that every
# recursive walk of a value (json.dumps, the store's codec, JSONata, Python's 1,000-frame
# recursion limit under an ASGI stack) renders and evaluates it (docs/api.md, "Limits").
MAX_NESTING_DEPTH = 512
"""The deepest JSON value accepted from outside: 512 nested arrays or objects."""

MAX_NUMBER_LENGTH = 1000
"""The longest JSON number accepted from outside, in characters (Jackson's default)."""

_BIG = 10**MAX_NUMBER_LENGTH
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# a lone surrogate in a str, or a \uD800-\uDFFF escape in JSON text (paired ones are checked
# after parsing: json.loads joins them into one code point)
_SURROGATE_IN_TEXT = re.compile(r"[\ud800-\udfff]|\\u[dD][89abcdefABCDEF]")


class JsonRefused(ValueError):
    """JSON outside the engine's bounds; `reason` says which bound, in words for a message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _constant(name: str) -> JSON:
    raise JsonRefused(f"{name} is not a JSON value (JSON has no NaN or Infinity)")


def _integer(text: str) -> JSON:
    if len(text) > MAX_NUMBER_LENGTH:
        raise JsonRefused(f"a number has more than {MAX_NUMBER_LENGTH} characters")
    return int(text)


def _decimal(text: str) -> JSON:
    if len(text) > MAX_NUMBER_LENGTH:
        raise JsonRefused(f"a number has more than {MAX_NUMBER_LENGTH} characters")
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"the number {text[:40]} is out of range (a 64-bit float)")
    return value


def parse_json(text: str, *, max_depth: int = MAX_NESTING_DEPTH, unicode: bool = True) -> JSON:
    """JSON text from outside as a value, within the engine's bounds.

    Raises `json.JSONDecodeError` for text that is not JSON and `JsonRefused` for JSON the
    engine does not take: NaN or Infinity, a number longer than MAX_NUMBER_LENGTH characters
    or out of a float's range, nesting deeper than `max_depth`, a lone UTF-16 surrogate
    (`"\\ud800"`: not Unicode, so no store or client could encode it; `unicode=False` leaves
    that to the caller, which checks each member with its own error).
    """
    try:
        value: JSON = json.loads(
            text, parse_constant=_constant, parse_int=_integer, parse_float=_decimal
        )
    except RecursionError:
        raise JsonRefused(f"the value nests deeper than {max_depth} levels") from None
    strings = unicode and _SURROGATE_IN_TEXT.search(text) is not None
    if strings or text.count("[") + text.count("{") > max_depth:
        _walk(value, max_depth, strings=strings, numbers=False)
    return value


def check_value(value: object, *, max_depth: int = MAX_NESTING_DEPTH) -> None:
    """A value that arrived already parsed (a REST body) within the bounds of `parse_json`."""
    _walk(value, max_depth, strings=True, numbers=True)


def check_unicode(value: object) -> None:
    """Every string and key of a parsed document is Unicode (JsonRefused otherwise); for
    documents with bounds of their own (definitions), whatever their depth."""
    _walk(value, sys.maxsize, strings=True, numbers=False)


def _walk(value: object, max_depth: int, *, strings: bool, numbers: bool) -> None:
    """Iterative (a value too deep for recursion is what it looks for)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                raise JsonRefused(f"the value nests deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    if strings and isinstance(key, str) and _SURROGATE.search(key):
                        raise JsonRefused(SURROGATE_REASON)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if strings and _SURROGATE.search(item):
                raise JsonRefused(SURROGATE_REASON)
        elif numbers and isinstance(item, float) and not math.isfinite(item):
            raise JsonRefused("NaN and Infinity are not JSON values")
        elif numbers and isinstance(item, int) and item.bit_length() > 3000 and abs(item) >= _BIG:
            raise JsonRefused(f"a number has more than {MAX_NUMBER_LENGTH} characters")


SURROGATE_REASON = "a string holds a lone UTF-16 surrogate (U+D800 to U+DFFF), which is not Unicode"


def printable(text: str, limit: int = 200) -> str:
    """`text` safe to quote in a message: lone surrogates as U+FFFD, at most `limit` chars."""
    shown = _SURROGATE.sub("\ufffd", text)
    return shown if len(shown) <= limit else shown[:limit] + "..."


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a lone UTF-16 surrogate (not Unicode: it cannot be encoded)."""
    return not text.isascii() and _SURROGATE.search(text) is not None
