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
import re
import sys
from collections.abc import Callable
from typing import cast

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


def line_col(text: str, pos: int) -> tuple[int, int]:
    """The 1-based line and column of offset `pos` (also parse_yaml.py's)."""
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
        line, column = line_col(text, pos)
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
    # Here only: PyYAML and the YAML 1.2 loader cost ~10 ms at start-up that JSON never needs.
    from engine.definition.parse_yaml import load_yaml

    try:
        loaded = load_yaml(text)
    except RecursionError:
        raise _too_deep(text) from None
    if isinstance(loaded, dict):
        return loaded
    raise _json_error(json_error)


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
    line, column = line_col(text, pos)
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
    line, column = line_col(text, pos)
    return DefinitionSyntaxError("Invalid JSON: the number has too many digits", line, column, pos)


def _json_error(error: json.JSONDecodeError) -> DefinitionSyntaxError:
    return DefinitionSyntaxError(f"Invalid JSON: {error.msg}", error.lineno, error.colno, error.pos)
