"""parse_text properties: YAML 1.2 round trips, and no exception but DefinitionSyntaxError.

The YAML writer here is the test's own, written from the YAML 1.2.2 spec (section 10.3.2, the
core schema), not PyYAML's dumper: PyYAML's dumper quotes every string YAML 1.1 would read as
something else (`yes`, `on`, `1_000`), so it would never show whether such words come back
as strings when they are written plain, which is how people write them.
"""

from __future__ import annotations

import json
import re

from hypothesis import example, given
from hypothesis import strategies as st

from engine.definition.parse import DefinitionSyntaxError, parse_text
from engine.values import JSON

# Plain words YAML 1.1 reads as booleans, numbers, timestamps or special values; YAML 1.2's core
# schema reads them as strings.
YAML_11_WORDS = [
    *("yes", "no", "on", "off", "y", "n", "Y", "N", "Yes", "No", "YES", "NO", "On", "Off"),
    *("ON", "OFF", "1_000", "1:20", "0b101", "0777_1", "2016-03-14", "12:30:00", "+.5e"),
    *("nan", "inf", "NaN", "Inf", "=", "<<", ".5.", "True1", "nul", "none", "None", "Nil"),
]

# The core schema's non-string plain scalars (null, bool, int, float), straight from the spec.
CORE_NON_STRING = re.compile(
    r"~|null|Null|NULL|true|True|TRUE|false|False|FALSE"
    r"|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)
# Words safe to write plain in block context: no indicator first, no ": " or " #", no edges.
PLAIN = re.compile(r"[A-Za-z0-9_.~+=<][A-Za-z0-9_.:~+=<-]*(?: [A-Za-z0-9_.~+=<-]+)*")


def _printable(code: int) -> bool:
    """YAML's printable set, less the line breaks and the byte order mark."""
    if code in (0x85, 0x2028, 0x2029, 0xFEFF):
        return False
    return (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar; anything outside the printable set is escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif _printable(code):
            out.append(char)
        else:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _plain_ok(text: str) -> bool:
    return PLAIN.fullmatch(text) is not None and not text.endswith(":") and ": " not in text


def _key(text: str) -> str:
    # A plain key is the text as written, even `true` or `1` (JSON keys are strings).
    return text if _plain_ok(text) and text != "<<" else _quoted(text)


def _scalar(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    assert isinstance(value, str)
    if _plain_ok(value) and not CORE_NON_STRING.fullmatch(value) and value != "<<":
        return value
    return _quoted(value)


def to_block_yaml(value: JSON, indent: int = 0) -> list[str]:
    """Block-style YAML lines for a mapping or sequence (empty ones in flow style)."""
    pad = " " * indent
    lines: list[str] = []
    items: list[tuple[str, JSON]]
    if isinstance(value, dict):
        items = [(f"{_key(key)}:", item) for key, item in value.items()]
    else:
        assert isinstance(value, list)
        items = [("-", item) for item in value]
    for lead, item in items:
        if isinstance(item, dict | list) and item:
            lines.append(pad + lead)
            lines.extend(to_block_yaml(item, indent + 2))
        elif isinstance(item, dict | list):
            lines.append(f"{pad}{lead} {'{}' if isinstance(item, dict) else '[]'}")
        else:
            lines.append(f"{pad}{lead} {_scalar(item)}")
    return lines


WORDS = st.sampled_from(YAML_11_WORDS) | st.text(max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | WORDS
    | st.sampled_from(["null", "true", "False", "~", "1", "0o17", "0x1F", "1e3", ".inf", ""])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(WORDS, inner, max_size=4),
    max_leaves=25,
)
DEFINITIONS = st.dictionaries(WORDS, VALUES, min_size=1, max_size=5)


@given(DEFINITIONS)
@example({"States": {"Yes": {"Type": "Succeed"}, "No": {"Next": "n", "Default": "off"}}})
@example({"a": ["yes", "no", "on", "off", "y", "n", "null", "1_000", 0.5, 7, None, True]})
def test_yaml_round_trip_under_yaml_1_2(definition: dict[str, JSON]) -> None:
    text = "\n".join(to_block_yaml(definition)) + "\n"
    assert parse_text(text) == definition


YAMLISH = st.text(alphabet=" \n\t-:?[]{},#&*!|>'\"%@`<=~.+_0123456789abexoyYnNtT\\\x85\ufeff")


@given(st.text() | YAMLISH)
@example("a: &a [*a]\n")
@example("&a [*a]")
@example("? !!set {a}\n: b\n")
@example("a: !!omap [b: 1]\n")
def test_parse_text_raises_only_definition_syntax_error(text: str) -> None:
    try:
        parse_text(text)
    except DefinitionSyntaxError as exc:
        located = (exc.line, exc.column)
    else:
        return
    assert min(located) >= 1
