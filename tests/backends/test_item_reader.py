"""The item reader's decoders on generated data, fed through a stream that returns a few bytes
per read (so every item crosses chunk boundaries, as a large S3 object's would): CSV written by
Python's csv module reads back as the same strings for every delimiter, a JSON array and JSON
Lines read back item by item. tests/aws/test_distributed_map.py reads the same through S3."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.backends.item_reader import (
    NOT_AN_ARRAY,
    ItemReaderError,
    _csv_rows,
    _json_array,
    _json_lines,
    _text,
)
from engine.definition.distributed import CSV_DELIMITERS
from engine.values import JSON


class Trickle:
    """A body whose reads return at most `step` bytes (a slow network, an object's chunks)."""

    def __init__(self, data: bytes, step: int = 3) -> None:
        self._data = io.BytesIO(data)
        self._step = step

    def read(self, size: int = -1, /) -> bytes:
        limit = self._step if size < 0 else min(size, self._step)
        return self._data.read(limit)


cell = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=6
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    delimiter=st.sampled_from(sorted(CSV_DELIMITERS)),
    headers=st.lists(
        st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=4, unique=True
    ),
    rows=st.lists(st.lists(cell, min_size=1, max_size=4), max_size=8),
)
def test_csv_reads_back_what_python_wrote(
    delimiter: str, headers: list[str], rows: list[list[str]]
) -> None:
    rows = [(row + [""] * len(headers))[: len(headers)] for row in rows]
    rows = [row for row in rows if any(row)]  # an all-empty row is written as a blank line
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_DELIMITERS[delimiter], lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    body = Trickle(out.getvalue().encode())
    config: dict[str, JSON] = {"CSVHeaderLocation": "FIRST_ROW", "CSVDelimiter": delimiter}
    items = list(_csv_rows(_text(body), config))
    assert items == [dict(zip(headers, row, strict=True)) for row in rows]


@given(st.lists(json_values, max_size=10), st.integers(1, 7), st.booleans())
def test_a_json_array_streams_item_by_item(items: list[JSON], step: int, bom: bool) -> None:
    text = ("\ufeff" if bom else "") + " \n" + json.dumps(items, ensure_ascii=False)
    assert list(_json_array(Trickle(text.encode(), step))) == items


@given(st.lists(json_values, max_size=10))
def test_json_lines(items: list[JSON]) -> None:
    text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    assert list(_json_lines(Trickle(text.encode()))) == items


@pytest.mark.parametrize(
    "text", ['{"a": 1}', "3", '"x"', ""], ids=["object", "number", "string", "empty"]
)
def test_a_json_file_that_is_no_array(text: str) -> None:
    with pytest.raises(ItemReaderError) as raised:
        list(_json_array(Trickle(text.encode())))
    assert str(raised.value) == NOT_AN_ARRAY


def test_a_bad_jsonl_line_names_its_number() -> None:
    with pytest.raises(ItemReaderError) as raised:
        list(_json_lines(Trickle(b'{"a": 1}\n{"b": \n')))
    assert str(raised.value).startswith("Line 2 of the JSON Lines file is not valid JSON: ")
