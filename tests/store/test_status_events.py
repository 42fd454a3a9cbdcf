"""The status-change event's id and time: a real UUID version 5 of the change (so repeats of
one change share it), and EventBridge's `time` format."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from engine.store import status_events

NAMESPACE = uuid.UUID("6c1b0f4e-6a3e-4d1c-9a55-0d7f3a8e2b11")


@given(st.text())
def test_the_id_is_uuid5_of_the_change(key: str) -> None:
    assert status_events._uuid5(key) == str(uuid.uuid5(NAMESPACE, key))


def test_time_is_utc_to_the_second() -> None:
    assert status_events._event_time(1_700_000_000.999) == "2023-11-14T22:13:20Z"
