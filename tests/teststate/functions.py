"""Lambda handlers that the TestState tests' `asl serve --functions` serves."""

from __future__ import annotations


def double(event: dict[str, int], context: object) -> dict[str, int]:
    """Doubles `value`."""
    return {"value": event["value"] * 2}


def refuse(event: object, context: object) -> None:
    """Always fails, with its own error name."""

    class OrderRefused(Exception):
        pass

    raise OrderRefused("out of stock")
