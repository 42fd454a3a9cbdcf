"""What every runner's tests share: one call's `Invocation`, and the events an echo function
gets with the payload it must give back."""

from __future__ import annotations

import time

from engine.backends.runner import Invocation
from engine.values import JSON

RID = "8a0c4b9e-2f1d-4c5b-9a7e-1d2c3b4a5f60"
ARN = "arn:aws:lambda:eu-west-3:123456789012:function:Echo:live"


def invocation(event_text: str = "{}", *, seconds_left: float = 60.0) -> Invocation:
    return Invocation(
        function_name="Echo",
        function_version="$LATEST",
        invoked_function_arn=ARN,
        request_id=RID,
        memory_size=256,
        deadline=time.monotonic() + seconds_left,
        log_stream_name="2024/03/06/[$LATEST]0123456789abcdef0123456789abcdef",
        region="eu-west-3",
        event_text=event_text,
    )


ECHO_CASES: list[tuple[str, JSON]] = [
    ('{"order": 42, "items": ["a", "b"]}', {"order": 42, "items": ["a", "b"]}),
    ('"a string"', "a string"),
    ("12.5", 12.5),
    ("null", None),
    ('{"name": "Zoë", "city": "東京 🌸"}', {"name": "Zoë", "city": "東京 🌸"}),
]
ECHO_IDS = ["object", "string", "number", "null", "non-ascii"]
