"""engine/graph/source.py: each state's lines in the definition's text."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from engine.graph.source import line_spans, pointer_spans

TEXT = """{
  "StartAt": "A",
  "States": {
    "A": {
      "Type": "Pass",
      "Next": "B/c"
    },
    "B/c": {"Type": "Succeed"}
  }
}
"""


def test_states_have_their_line_spans_by_pointer() -> None:
    spans = line_spans(TEXT)
    assert spans["/States/A"] == (4, 7)
    assert spans["/States/B~1c"] == (8, 8)
    assert spans["/States/A/Next"] == (6, 6)
    assert spans["/StartAt"] == (2, 2)


def test_text_that_is_not_json_has_no_spans() -> None:
    assert line_spans("StartAt: A\nStates: {}\n") == {}
    assert line_spans('{"a": 1,}') == {}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=15,
)


@given(json_values)
def test_each_span_is_exactly_the_member_it_names(value: object) -> None:
    text = json.dumps(value)
    spans = pointer_spans(text)
    assert spans.pop("") == (0, len(text))
    for pointer, (start, end) in spans.items():
        *parents, last = pointer.split("/")[1:]
        holder = value
        for token in parents:
            token = token.replace("~1", "/").replace("~0", "~")
            holder = holder[int(token)] if isinstance(holder, list) else holder[token]  # type: ignore[index]
        key = last.replace("~1", "/").replace("~0", "~")
        if isinstance(holder, list):
            assert text[start:end] == json.dumps(holder[int(key)])
        else:
            assert isinstance(holder, dict)
            assert text[start:end] == json.dumps(key) + ": " + json.dumps(holder[key])
