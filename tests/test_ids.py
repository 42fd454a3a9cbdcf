"""engine/ids.py: the text of a version 4 UUID, exactly `uuid`'s, without importing it."""

from __future__ import annotations

import re
import uuid

from hypothesis import given
from hypothesis import strategies as st

from engine.ids import random_uuid4, uuid4_text

V4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_uuid4_text_is_uuids_own(bits: int) -> None:
    assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))


def test_the_edges() -> None:
    assert uuid4_text(0) == "00000000-0000-4000-8000-000000000000"
    assert uuid4_text(2**128 - 1) == "ffffffff-ffff-4fff-bfff-ffffffffffff"


def test_random_uuid4_is_a_version_4_uuid_and_random() -> None:
    drawn = [random_uuid4() for _ in range(100)]
    assert all(V4.fullmatch(text) for text in drawn)
    assert len(set(drawn)) == 100
    assert all(uuid.UUID(text).version == 4 for text in drawn)
