"""Definition text to a JSON value: JSON first, YAML 1.2 as a fallback.

Owns: turning the text of a state machine definition into the plain JSON value the validator,
the model and the compiler read, and reporting unreadable text with its line and column: the
JSON error for text that opens like JSON, YAML's own error for other text. YAML is read with
the YAML 1.2 core schema (see `_Loader`), as the tools that deploy YAML definitions read it.
Must never: judge the definition itself (validate.py does), run YAML's full loader (only
`yaml.safe_load`-grade construction), or let a parser exception escape unlocated.

Duplicate object keys are an error, not "last one wins": AWS's parser rejects a definition
that repeats a field (INVALID_JSON_DESCRIPTION), and a silently dropped duplicate `Next` or
`Type` would change the machine's meaning without a word.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from typing import cast

import yaml

from engine.errors import ExpressionSyntaxError
from engine.values import JSON, MAX_NESTING_DEPTH

__all__ = ["MAX_DEFINITION_DEPTH", "DefinitionSyntaxError", "parse_text"]

MAX_DEFINITION_DEPTH = MAX_NESTING_DEPTH
"""The deepest JSON nesting of a definition (arrays and objects) the engine reads: the bound it
puts on all JSON from outside (512); 100 nested Parallels take ~400 levels. validate.py refuses
a deeper definition; text too deep to parse, and YAML nested too deep with brackets, here."""


class DefinitionSyntaxError(ExpressionSyntaxError):
    """Definition text that is neither JSON nor YAML (or repeats a key); `line`/`column` 1-based."""

    def __init__(self, message: str, line: int, column: int, position: int | None = None) -> None:
        super().__init__(f"{message} at line {line}, column {column}", position)
        self.line = line
        self.column = column


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs_no_duplicates(pairs: list[tuple[str, JSON]]) -> dict[str, JSON]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column


_WS = re.compile(r"[ \t\n\r]*")


def _skip(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _locate_duplicate(text: str) -> tuple[str, int]:
    """Find the first repeated key and its offset, with a slow scanner run only on that error.

    The C scanner's `object_pairs_hook` gets no positions, so a duplicate found on the fast
    path is located by re-scanning with a small recursive-descent walk that tracks offsets.
    """
    decoder = json.JSONDecoder()
    scan_string = cast(Callable[[str, int], tuple[str, int]], json.decoder.scanstring)  # type: ignore[attr-defined]

    def value(pos: int) -> int:
        pos = _skip(text, pos)
        char = text[pos : pos + 1]
        if char == "{":
            return obj(pos + 1)
        if char == "[":
            pos = _skip(text, pos + 1)
            if text[pos : pos + 1] == "]":
                return pos + 1
            while True:
                pos = _skip(text, value(pos))
                if text[pos : pos + 1] == "]":
                    return pos + 1
                pos += 1  # the comma
        _, end = decoder.raw_decode(text, pos)
        return int(end)

    def obj(pos: int) -> int:
        seen: set[str] = set()
        pos = _skip(text, pos)
        if text[pos : pos + 1] == "}":
            return pos + 1
        while True:
            key_at = pos
            key, pos = scan_string(text, pos + 1)
            if key in seen:
                raise _Located(key, key_at)
            seen.add(key)
            pos = _skip(text, pos) + 1  # past the colon
            pos = _skip(text, value(pos))
            if text[pos : pos + 1] == "}":
                return pos + 1
            pos = _skip(text, pos + 1)

    try:
        value(0)
    except _Located as found:
        return found.key, found.pos
    return "", 0


class _Located(Exception):
    def __init__(self, key: str, pos: int) -> None:
        super().__init__(key)
        self.key = key
        self.pos = pos


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars, text keys and duplicate keys rejected.

    PyYAML resolves plain scalars by YAML 1.1 rules, where `yes`, `no`, `on`, `off`, `y` and
    `n` are booleans, `0777` is octal, `1_000` and `1:20` are numbers and `2016-03-14` is a
    date. The tools that deploy YAML state machines (serverless, SAM, js-yaml) read YAML 1.2,
    where those are strings: a state named `Yes:` must stay "Yes", and a Choice's
    `StringEquals: no` must compare with "no". The resolver table below is the 1.2 core schema
    (YAML 1.2.2, section 10.3.2) and nothing else; timestamps stay text (ASL's `Timestamp` is
    a string). `<<` merge keys are kept: js-yaml, and so serverless, reads them.
    """


_TAG = "tag:yaml.org,2002:"
_CORE_SCHEMA = (
    (_TAG + "null", r"~|null|Null|NULL|", "~nN"),
    (_TAG + "bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (_TAG + "int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        _TAG + "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+0123456789.",
    ),
    (_TAG + "merge", r"<<", "<"),
)
_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in _CORE_SCHEMA:
    # "" is the first character of the empty scalar (null); the int rule precedes the float
    # rule, so `12` is an integer.
    _first_chars = [*_first, ""] if _tag.endswith("null") else list(_first)
    _Loader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), _first_chars)

_CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(_CORE_SCHEMA[3][1])


def _not_core(node: yaml.Node, kind: str) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(
        None, None, f"{node.value!r} is not a YAML 1.2 {kind}", node.start_mark
    )


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if not _CORE_INT.fullmatch(text):
        raise _not_core(node, "integer")
    try:
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise yaml.constructor.ConstructorError(
            None, None, "the integer has too many digits", node.start_mark
        ) from None


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    if not _CORE_FLOAT.fullmatch(text):
        raise _not_core(node, "float")
    lowered = text.lower()
    if lowered.endswith(".nan"):
        return math.nan
    if lowered.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    return float(text)


def _construct_bool(loader: _Loader, node: yaml.ScalarNode) -> bool:
    text = loader.construct_scalar(node)
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    raise _not_core(node, "boolean")


def _construct_merge(loader: _Loader, node: yaml.ScalarNode) -> str:
    """`<<` anywhere but as a mapping key is the text "<<" (js-yaml reads it so)."""
    return loader.construct_scalar(node)


def _key(loader: _Loader, node: yaml.Node) -> str:
    """A mapping key as the text the author wrote: `1:` is "1", `true:` is "true".

    JSON keys, and state names, are strings. The key is still constructed, so a key with a
    tag no safe constructor knows is rejected like a value would be.
    """
    loader.construct_object(node, deep=True)
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    kind = "sequence" if isinstance(node, yaml.SequenceNode) else "mapping"
    raise yaml.constructor.ConstructorError(
        None, None, f"a mapping key must be a name, not a {kind}", node.start_mark
    )


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[str, object]:
    own = [pair for pair in node.value if pair[0].tag != _TAG + "merge"]
    loader.flatten_mapping(node)  # merged pairs first, then this mapping's own pairs
    merged = node.value[: len(node.value) - len(own)]
    result: dict[str, object] = {}
    for key_node, value_node in merged:  # a later merged value wins, as in PyYAML and js-yaml
        result[_key(loader, key_node)] = loader.construct_object(value_node, deep=True)
    seen: set[str] = set()
    for key_node, value_node in own:  # a mapping's own key overrides a merged one
        key = _key(loader, key_node)
        if key in seen:
            mark = key_node.start_mark
            raise DefinitionSyntaxError(
                f"Duplicate field '{key}'", mark.line + 1, mark.column + 1, mark.index
            )
        seen.add(key)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


for _tag, _constructor in (
    (_TAG + "int", _construct_int),
    (_TAG + "float", _construct_float),
    (_TAG + "bool", _construct_bool),
    (_TAG + "merge", _construct_merge),
    (yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping),
):
    _Loader.add_constructor(
        _tag, cast(Callable[[yaml.SafeLoader, yaml.Node], object], _constructor)
    )


def _to_json(value: object) -> JSON:
    """YAML may produce values JSON has no word for (bytes, sets); render them as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    return str(value)


def parse_text(text: str) -> JSON:
    """Parse definition text: JSON, or YAML (1.2 core schema) when the text is not JSON.

    Raises DefinitionSyntaxError (with line and column) when the text is neither, or when an
    object repeats a key. Text starting with `{` or `[` is JSON only. Other text that is not
    JSON is YAML: a YAML syntax error is reported with YAML's message and position. Text that
    is valid YAML but not a mapping (a bare word, a list) gets the JSON error: JSON is the
    language AWS documents, and a definition is an object.
    """
    try:
        return cast(JSON, json.loads(text, object_pairs_hook=_pairs_no_duplicates))
    except _DuplicateKey as dup:
        key, pos = _locate_duplicate(text)
        line, column = _line_col(text, pos)
        raise DefinitionSyntaxError(
            f"Duplicate field '{key or dup.key}'", line, column, pos
        ) from None
    except json.JSONDecodeError as error:
        json_error = error
    except ValueError:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        raise _too_many_digits(text) from None
    except RecursionError:
        raise _too_deep(text) from None
    if text.lstrip()[:1] in ("{", "["):
        # Text that opens like JSON is JSON: YAML's flow style would accept broken JSON
        # (`{"b": }` is the YAML mapping {b: null}) and change what the author wrote.
        raise _json_error(json_error)
    # PyYAML slows down with each level of flow nesting (`[[[...`: seconds before it recurses
    # too deep), so text nested past the limit with brackets is refused before it is read.
    overflow = _bracket_overflow(text)
    if overflow is not None:
        raise _too_deep(text, overflow)
    try:
        loaded = _to_json(yaml.load(text, Loader=_Loader))  # noqa: S506 - a SafeLoader
    except DefinitionSyntaxError:
        raise
    except yaml.MarkedYAMLError as error:
        raise _yaml_error(error) from None
    except yaml.reader.ReaderError as error:
        line, column = _line_col(text, error.position)
        code = ord(error.character) if isinstance(error.character, str) else error.character
        message = f"Invalid YAML: unacceptable character #x{code:04x}: {error.reason}"
        raise DefinitionSyntaxError(message, line, column, error.position) from None
    except RecursionError:
        raise _too_deep(text) from None
    if isinstance(loaded, dict):
        return loaded
    raise _json_error(json_error)


def _yaml_error(error: yaml.MarkedYAMLError) -> DefinitionSyntaxError:
    """YAML's own message, at the problem's position; the context names where it started."""
    problem, mark = error.problem or str(error), error.problem_mark or error.context_mark
    message = f"Invalid YAML: {problem}"
    context = error.context_mark
    if error.context and context is not None and (mark is None or context.line != mark.line):
        where = f"line {context.line + 1}, column {context.column + 1}"
        if error.context.startswith("while "):  # "while parsing a block mapping"
            message += f" ({error.context} at {where})"
        else:  # "expected a single document in the stream" + "but found another document"
            message = f"Invalid YAML: {error.context} ({where}), {problem}"
    if mark is None:
        return DefinitionSyntaxError(message, 1, 1, 0)
    return DefinitionSyntaxError(message, mark.line + 1, mark.column + 1, mark.index)


_BRACKET_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[\[\]{}]""")
"""A quoted string (JSON's double quotes, YAML's single quotes) or a bracket."""


def _bracket_overflow(text: str) -> int | None:
    """Where brackets outside quoted strings first open more than `MAX_DEFINITION_DEPTH`
    levels, or None (a scan, not a parse)."""
    depth = 0
    for token in _BRACKET_TOKEN.finditer(text):
        bracket = token.group()
        if bracket in ("[", "{"):
            depth += 1
            if depth > MAX_DEFINITION_DEPTH:
                return token.start()
        elif bracket in ("]", "}"):
            depth -= 1
    return None


def _too_deep(text: str, pos: int | None = None) -> DefinitionSyntaxError:
    """Text nested deeper than the engine reads: located at the first bracket past the limit
    when brackets nest it (block-style YAML is reported at its start)."""
    if pos is None:
        pos = _bracket_overflow(text) or 0
    line, column = _line_col(text, pos)
    return DefinitionSyntaxError(
        f"The definition is nested too deeply: more than {MAX_DEFINITION_DEPTH} levels of "
        "arrays and objects (the engine's limit)",
        line,
        column,
        pos,
    )


def _too_many_digits(text: str) -> DefinitionSyntaxError:
    found = re.search(f"[0-9]{{{sys.get_int_max_str_digits() + 1},}}", text)
    pos = found.start() if found else 0
    line, column = _line_col(text, pos)
    return DefinitionSyntaxError("Invalid JSON: the number has too many digits", line, column, pos)


def _json_error(error: json.JSONDecodeError) -> DefinitionSyntaxError:
    return DefinitionSyntaxError(f"Invalid JSON: {error.msg}", error.lineno, error.colno, error.pos)
