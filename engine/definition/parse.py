"""Definition text to a JSON value: JSON first, YAML as a fallback.

Owns: turning the text of a state machine definition into the plain JSON value the validator,
the model and the compiler read, and reporting unreadable text with its line and column.
Must never: judge the definition itself (validate.py does), run YAML's full loader (only
`yaml.safe_load`-grade construction), or let a parser exception escape unlocated.

Duplicate object keys are an error, not "last one wins": AWS's parser rejects a definition
that repeats a field (INVALID_JSON_DESCRIPTION), and a silently dropped duplicate `Next` or
`Type` would change the machine's meaning without a word.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, cast

import yaml

from engine.errors import ExpressionSyntaxError
from engine.values import JSON

__all__ = ["DefinitionSyntaxError", "parse_text"]


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
    """SafeLoader that keeps timestamps as text and rejects duplicate mapping keys.

    ASL fields such as `Timestamp` are strings; YAML's implicit timestamp type would turn
    `2016-03-14T01:59:00Z` into a datetime that is not JSON.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[str, Any]:
    loader.flatten_mapping(node)
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = key if isinstance(key, str) else json.dumps(key) if key is not None else "null"
        if key in result:
            mark = key_node.start_mark
            raise DefinitionSyntaxError(
                f"Duplicate field '{key}'", mark.line + 1, mark.column + 1, mark.index
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    cast(Callable[[yaml.SafeLoader, yaml.Node], Any], _construct_mapping),
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
    """Parse definition text: JSON, or YAML when the text is not JSON.

    Raises DefinitionSyntaxError (with line and column) when the text is neither, or when an
    object repeats a key. Text starting with `{` or `[` is JSON only. The JSON error is the one
    reported when YAML does not yield a mapping either: JSON is the language AWS documents.
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
    except RecursionError:
        raise DefinitionSyntaxError("The definition is nested too deeply", 1, 1, 0) from None
    if text.lstrip()[:1] in ("{", "["):
        # Text that opens like JSON is JSON: YAML's flow style would accept broken JSON
        # (`{"b": }` is the YAML mapping {b: null}) and change what the author wrote.
        raise _json_error(json_error)
    try:
        loaded = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except DefinitionSyntaxError:
        raise
    except (yaml.YAMLError, RecursionError, ValueError, TypeError):
        loaded = None
    if isinstance(loaded, dict):
        return _to_json(loaded)
    raise _json_error(json_error)


def _json_error(error: json.JSONDecodeError) -> DefinitionSyntaxError:
    return DefinitionSyntaxError(f"Invalid JSON: {error.msg}", error.lineno, error.colno, error.pos)
