"""ConfirmOrder: the confirmation the checkout shows once the order is stored. Pure Python.

Input: the validated order (ValidateOrder's `order`). Output: its id, status RECORDED, the
total and a one-line message for the customer.
"""

from __future__ import annotations

from typing import Any


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    total = _money(event["totalCents"])
    count = event["itemCount"]
    items = "item" if count == 1 else "items"
    return {
        "orderId": event["orderId"],
        "status": "RECORDED",
        "total": total,
        "message": f"Thank you! Order {event['orderId']} ({count} {items}, {total}) is recorded.",
    }


def _money(cents: int) -> str:
    whole, rest = divmod(cents, 100)
    return f"{whole}.{rest:02d}"
