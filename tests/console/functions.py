"""The Task handlers of the console's browser tests (`asl serve --functions` loads this file)."""

from __future__ import annotations


class OutOfStock(Exception):
    """Raised by `reserve`: the Task fails with the error name `OutOfStock`."""


def price(event: dict[str, int], context: object) -> dict[str, int]:
    return {"sku": event["sku"], "cents": event["qty"] * 250}


def reserve(event: dict[str, object], context: object) -> object:
    raise OutOfStock(f"no stock for order {event.get('order')}")


def note(event: object, context: object) -> object:
    """Called by the `.waitForTaskToken` Task: the token travels in the history."""
    return {"noted": True}
