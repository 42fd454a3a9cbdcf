"""URL encoding of HTTP Task bodies and query strings: AWS's documented examples, exact strings,
and a Hypothesis round trip (any JSON object, encoded, decodes back per its ArrayFormat)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backends.form_encoding import ARRAY_FORMATS, encode_form, encode_query
from engine.values import JSON

ARRAY = {"array": ["a", "b", "c", "d"]}

# The developer guide's "Applying URL-encoding on request body" examples, encoded as the wire
# shows them (its "HTTP Task example" request encodes brackets: metadata%5Border_details%5D).
GUIDE_EXAMPLES = {
    "INDICES": "array%5B0%5D=a&array%5B1%5D=b&array%5B2%5D=c&array%5B3%5D=d",
    "REPEAT": "array=a&array=b&array=c&array=d",
    "COMMAS": "array=a,b,c,d",
    "BRACKETS": "array%5B%5D=a&array%5B%5D=b&array%5B%5D=c&array%5B%5D=d",
}


@pytest.mark.parametrize(("fmt", "expected"), GUIDE_EXAMPLES.items(), ids=list(GUIDE_EXAMPLES))
def test_the_guides_array_examples(fmt: str, expected: str) -> None:
    assert encode_form(ARRAY, fmt) == expected


def test_the_guides_stripe_request_body() -> None:
    body = {
        "description": "Monthly subscription",
        "metadata": {"order_details": "monthly report data"},
        "customer": "1234567890",
    }
    assert encode_form(body) == (
        "description=Monthly%20subscription&metadata%5Border_details%5D=monthly%20report%20data"
        "&customer=1234567890"
    )


SCALARS = [
    ({"a": None}, "a="),
    ({"a": True, "b": False}, "a=true&b=false"),
    ({"n": 1, "x": 1.5, "big": 10**20}, "n=1&x=1.5&big=100000000000000000000"),
    ({"é": "ü ñ"}, "%C3%A9=%C3%BC%20%C3%B1"),
    ({"q": "a&b=c+d/e?f"}, "q=a%26b%3Dc%2Bd%2Fe%3Ff"),
    ({"safe": "A-z_0.9~"}, "safe=A-z_0.9~"),
    ({"empty": {}, "none": [], "kept": "x"}, "kept=x"),
]


@pytest.mark.parametrize(("value", "expected"), SCALARS, ids=[e for _, e in SCALARS])
def test_scalars_and_empty_containers(value: dict[str, JSON], expected: str) -> None:
    assert encode_form(value) == expected


NESTED = {"a": [["x", "y"], {"k": "v"}]}


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("INDICES", "a%5B0%5D%5B0%5D=x&a%5B0%5D%5B1%5D=y&a%5B1%5D%5Bk%5D=v"),
        ("BRACKETS", "a%5B%5D%5B%5D=x&a%5B%5D%5B%5D=y&a%5B%5D%5Bk%5D=v"),
        ("REPEAT", "a=x&a=y&a%5Bk%5D=v"),
        # COMMAS joins scalars only: a list of lists and objects falls back to INDICES, and the
        # inner list of scalars is joined.
        ("COMMAS", "a%5B0%5D=x,y&a%5B1%5D%5Bk%5D=v"),
    ],
    ids=ARRAY_FORMATS,
)
def test_nested_arrays_keep_their_format(fmt: str, expected: str) -> None:
    assert encode_form(NESTED, fmt) == expected


def test_a_comma_inside_a_commas_item_is_encoded() -> None:
    assert encode_form({"a": ["x,y", "z"]}, "COMMAS") == "a=x%2Cy,z"


def test_query_strings_repeat_the_key_of_an_array() -> None:
    assert encode_query({"currency": "usd", "tag": ["a b", "c"]}) == "currency=usd&tag=a%20b&tag=c"


def test_an_unknown_array_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown array format 'SEMICOLONS'"):
        encode_form(ARRAY, "SEMICOLONS")


# --------------------------------------------------------------------------- round trip

KEYS = st.text(min_size=1, max_size=8).filter(lambda k: "[" not in k and "]" not in k)
SCALAR = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
)
LEAVES = SCALAR | st.text(max_size=8)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)
OBJECTS = st.dictionaries(KEYS, VALUES, max_size=5)


def _text(value: JSON) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value)


def _expected(
    value: JSON, fmt: str, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], str]]:
    """What a form reader gets back: (key path, text) in order, per the format's rules."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _expected(item, fmt, (*path, key))
    elif isinstance(value, list):
        if fmt == "COMMAS" and not any(isinstance(i, dict | list) for i in value):
            for item in value:
                yield path, _text(item)
            return
        for index, item in enumerate(value):
            step = {"REPEAT": (), "BRACKETS": ("",)}.get(fmt, (str(index),))
            yield from _expected(item, fmt, (*path, *step))
    else:
        yield path, _text(value)


def _decode(text: str) -> list[tuple[tuple[str, ...], str]]:
    """A form reader: `a[b][]` is the path (a, b, ''); a literal comma separates list items
    (a comma in a value arrives encoded)."""
    pairs: list[tuple[tuple[str, ...], str]] = []
    for part in text.split("&") if text else []:
        raw_key, _, raw_value = part.partition("=")
        key = unquote(raw_key)
        head, _, rest = key.partition("[")
        path = (head, *(rest[:-1].split("][") if rest else ()))
        pairs.extend((path, unquote(item)) for item in raw_value.split(","))
    return pairs


@settings(max_examples=300, deadline=None)
@given(OBJECTS, st.sampled_from(ARRAY_FORMATS))
def test_any_object_decodes_back_per_its_array_format(value: dict[str, JSON], fmt: str) -> None:
    encoded = encode_form(value, fmt)
    assert encoded.isascii()
    assert _decode(encoded) == list(_expected(value, fmt, ()))
