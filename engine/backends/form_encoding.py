"""URL encoding of an HTTP Task's request body (`Transform`) and of its query parameters.

Owns: turning a JSON object into `application/x-www-form-urlencoded` text with the array
formats of the HTTP Task's `Transform.RequestEncodingOptions.ArrayFormat`, and the query
string of `QueryParameters`. Pure: no I/O. Must never: decide which headers go with the body,
or merge the EventBridge connection's parameters (engine/backends/http_task.py does both).

AWS's rules (developer guide, "Call HTTPS APIs", sections "HTTP Task fields" and "Applying
URL-encoding on request body"), for `{"array": ["a","b","c","d"]}`:

    INDICES   array[0]=a&array[1]=b&array[2]=c&array[3]=d   (the default)
    REPEAT    array=a&array=b&array=c&array=d
    COMMAS    array=a,b,c,d
    BRACKETS  array[]=a&array[]=b&array[]=c&array[]=d

The guide prints those unencoded, for reading; the request it shows on the wire (its "HTTP
Task example") encodes every key and value, spaces as `%20` and brackets too:
`description=Monthly%20subscription&metadata%5Border_details%5D=monthly%20report%20data`. So
keys and values are percent-encoded with only RFC 3986's unreserved characters (`A-Z a-z 0-9
- . _ ~`) left as they are, and a nested object's keys are bracketed (`metadata[order_details]`).
COMMAS joins the encoded items with a literal `,` (as the guide writes it), so a comma inside
an item arrives as `%2C` and the list can be split back apart.

What the guide leaves open, decided here the way the `qs` library (whose names these formats
are) does: `null` is an empty value (`key=`), `true`/`false` and numbers are their JSON text,
an empty object or array sends nothing, and a nested array keeps its format at every level
(INDICES `a[0][1]=x`, BRACKETS `a[][]=x`, REPEAT `a=x`). COMMAS can only join scalars: a list
holding an object or a list is encoded as INDICES.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Final
from urllib.parse import quote

from engine.definition.validate_http import ARRAY_FORMATS  # AWS's list, the validator's copy
from engine.values import JSON

__all__ = [
    "ARRAY_FORMATS",
    "DEFAULT_ARRAY_FORMAT",
    "encode_form",
    "encode_query",
    "scalar_text",
]

DEFAULT_ARRAY_FORMAT: Final = "INDICES"
QUERY_ARRAY_FORMAT: Final = "REPEAT"
"""Arrays in `QueryParameters`: the key repeated (`tag=a&tag=b`). The guide documents no array
format for the query string (RequestEncodingOptions applies to the body); repeating the key is
what servers read as a list without any convention of their own."""


def _encode(text: str) -> str:
    # safe="": only the unreserved characters, which quote never encodes, stay as they are.
    return quote(text, safe="")


def scalar_text(value: JSON) -> str:
    """A scalar as form text: strings as they are, null empty, anything else its JSON text."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value)


def _pairs(prefix: str, value: JSON, array_format: str) -> Iterator[tuple[str, str]]:
    """(key, encoded value) pairs for `value` under the (unencoded) key `prefix`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _pairs(f"{prefix}[{key}]", item, array_format)
    elif isinstance(value, list):
        scalars = not any(isinstance(item, dict | list) for item in value)
        if array_format == "COMMAS" and scalars:
            if value:
                yield prefix, ",".join(_encode(scalar_text(item)) for item in value)
            return
        for index, item in enumerate(value):
            if array_format == "REPEAT":
                key = prefix
            elif array_format == "BRACKETS":
                key = f"{prefix}[]"
            else:  # INDICES, and COMMAS over objects or lists
                key = f"{prefix}[{index}]"
            yield from _pairs(key, item, array_format)
    else:
        yield prefix, _encode(scalar_text(value))


def _join(value: Mapping[str, JSON], array_format: str) -> str:
    parts: list[str] = []
    for key, item in value.items():
        parts.extend(f"{_encode(name)}={text}" for name, text in _pairs(key, item, array_format))
    return "&".join(parts)


def encode_form(value: Mapping[str, JSON], array_format: str = DEFAULT_ARRAY_FORMAT) -> str:
    """`value` as a form-urlencoded body, arrays in `array_format` (one of ARRAY_FORMATS)."""
    if array_format not in ARRAY_FORMATS:
        raise ValueError(f"unknown array format {array_format!r}; use one of {ARRAY_FORMATS}")
    return _join(value, array_format)


def encode_query(value: Mapping[str, JSON]) -> str:
    """`value` as a query string (without the `?`), arrays with the key repeated."""
    return _join(value, QUERY_ARRAY_FORMAT)
