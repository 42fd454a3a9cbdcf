"""Where each state sits in the definition's text: line spans for highlighting the source.

Owns: a scan of JSON text that records, for every member, the offsets from its key to the end
of its value, keyed by JSON pointer (the ids graph nodes and diagnostics use), and turning them
into 1-based line spans. Must never: judge the definition, or guess for text that is not JSON
(a YAML definition gets no spans, and the console then highlights nothing).
"""

from __future__ import annotations

import bisect
import json
import re

from engine.definition.diagnostics import escape_pointer_token

__all__ = ["line_spans", "pointer_spans"]

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _NotJson(Exception):
    pass


def pointer_spans(text: str) -> dict[str, tuple[int, int]]:
    """Offsets (start, end) in `text` of every object member and array item, by JSON pointer
    (a member's span starts at its key); {} when `text` is not JSON."""
    spans: dict[str, tuple[int, int]] = {}
    try:
        end = _value(text, _SPACE.match(text, 0).end(), "", spans)  # type: ignore[union-attr]
    except (_NotJson, ValueError, IndexError, RecursionError):
        return {}
    spans[""] = (0, end)
    return spans


def _value(text: str, pos: int, pointer: str, spans: dict[str, tuple[int, int]]) -> int:
    char = text[pos]
    if char == "{":
        pos = _skip(text, pos + 1)
        if text[pos] == "}":
            return pos + 1
        while True:
            if text[pos] != '"':
                raise _NotJson
            key, after = _DECODER.raw_decode(text, pos)
            start = pos
            pos = _skip(text, after)
            if text[pos] != ":":
                raise _NotJson
            child = f"{pointer}/{escape_pointer_token(key)}"
            end = _value(text, _skip(text, pos + 1), child, spans)
            spans[child] = (start, end)
            pos = _skip(text, end)
            if text[pos] == "}":
                return pos + 1
            if text[pos] != ",":
                raise _NotJson
            pos = _skip(text, pos + 1)
    if char == "[":
        pos = _skip(text, pos + 1)
        if text[pos] == "]":
            return pos + 1
        index = 0
        while True:
            child = f"{pointer}/{index}"
            end = _value(text, pos, child, spans)
            spans[child] = (pos, end)
            pos = _skip(text, end)
            if text[pos] == "]":
                return pos + 1
            if text[pos] != ",":
                raise _NotJson
            pos = _skip(text, pos + 1)
            index += 1
    _, end = _DECODER.raw_decode(text, pos)
    return int(end)


def _skip(text: str, pos: int) -> int:
    return _SPACE.match(text, pos).end()  # type: ignore[union-attr]


def line_spans(text: str) -> dict[str, tuple[int, int]]:
    """First and last line (1-based) of every member of the JSON `text`, by JSON pointer."""
    starts = [0]
    starts += [m.end() for m in re.finditer("\n", text)]

    def line(offset: int) -> int:
        return bisect.bisect_right(starts, offset)

    return {
        key: (line(start), line(max(start, end - 1)))
        for key, (start, end) in pointer_spans(text).items()
    }
