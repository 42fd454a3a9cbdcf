"""RejectOrder: what the checkout shows for an order that failed validation. Pure Python.

Input: ValidateOrder's `{"valid": false, ...}`. Output: the order's id, status REJECTED and
every problem, one sentence each.
"""

from __future__ import annotations

from typing import Any


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    problems = event.get("problems", [])
    count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    return {
        "orderId": event.get("orderId"),
        "status": "REJECTED",
        "message": f"The order was not recorded: {count} to fix.",
        "problems": problems,
    }
