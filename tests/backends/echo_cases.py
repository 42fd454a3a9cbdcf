"""Events an echo function gets and the payload it must give back, for every runner's tests."""

from __future__ import annotations

from engine.values import JSON

ECHO_CASES: list[tuple[str, JSON]] = [
    ('{"order": 42, "items": ["a", "b"]}', {"order": 42, "items": ["a", "b"]}),
    ('"a string"', "a string"),
    ("12.5", 12.5),
    ("null", None),
    ('{"name": "Zoë", "city": "東京 🌸"}', {"name": "Zoë", "city": "東京 🌸"}),
]
ECHO_IDS = ["object", "string", "number", "null", "non-ascii"]
