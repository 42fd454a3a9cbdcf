"""SnapshotEncoder writes exactly the text schema.encode writes, re-using parts of a snapshot
only while they are the very same objects."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from engine.store.schema import encode
from engine.store.snapshots import SnapshotEncoder
from engine.values import JSON

ARN = "arn:aws:states:us-east-1:111111111111:execution:m:e"
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=80) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=200,
)


def _state(items: JSON, kept: JSON, counter: int) -> dict[str, JSON]:
    return {
        "v": 1,
        "info": {"execution_arn": ARN, "input": {"items": items}},
        "frames": {
            "root": {"frame_id": "root", "items": items, "kept_results": kept, "n": counter},
            "root/0.1": {"frame_id": "root/0.1", "state_input": 1},
        },
        "status": "RUNNING",
        "output": None,
    }


def test_a_snapshot_is_the_text_encode_writes_and_a_changed_part_is_encoded_again() -> None:
    encoder = SnapshotEncoder()
    items: list[JSON] = list(range(100))
    kept: dict[str, JSON] = {str(i): i for i in range(70)}
    first = _state(items, kept, 1)
    assert encoder.encode(ARN, first) == encode(first)
    # the same large values in a new frame dict: their text is re-used, the frame's is not
    second = _state(items, kept, 2)
    assert encoder.encode(ARN, second) == encode(second)
    # a new kept dict (the interpreter never changes one in place) is encoded anew
    grown = {**kept, "70": 70}
    third = _state(items, grown, 3)
    assert encoder.encode(ARN, third) == encode(third)
    assert json.loads(encoder.encode(ARN, third))["frames"]["root"]["kept_results"]["70"] == 70


def test_an_unchanged_frame_dict_keeps_its_text_and_a_closed_execution_is_forgotten() -> None:
    encoder = SnapshotEncoder()
    state = _state(list(range(64)), {}, 1)
    text = encoder.encode(ARN, state)
    assert encoder.encode(ARN, dict(state)) == text == encode(state)
    encoder.forget(ARN)
    assert encoder.encode(ARN, state) == text


@given(st.lists(_json, min_size=1, max_size=3), _json)
def test_any_sequence_of_snapshots_is_encoded_as_encode_does(
    values: list[JSON], extra: JSON
) -> None:
    encoder = SnapshotEncoder()
    for counter, value in enumerate(values):
        state = _state(value, {"extra": extra, "value": value}, counter)
        assert encoder.encode(ARN, state) == encode(state)
    assert encoder.encode(ARN, [1, 2]) == encode([1, 2])  # not a snapshot: encoded whole
