"""ValidateOrder: checks a checkout order and prices it. Pure Python, no AWS calls.

Input: the order as the checkout sends it (events/new-order.json). Output: `{"valid": true,
"order": {...}}` with the order's lines, item count and total in cents, or `{"valid": false,
"orderId": ..., "problems": [...]}` naming every problem found, so the customer can fix them
all at once.
"""

from __future__ import annotations

from typing import Any

MAX_LINES = 50


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    problems: list[str] = []
    order_id = event.get("orderId")
    if not isinstance(order_id, str) or not order_id:
        problems.append("orderId is missing")
    customer_id = event.get("customerId")
    if not isinstance(customer_id, str) or not customer_id:
        problems.append("customerId is missing")
    lines = event.get("lines")
    if not isinstance(lines, list) or not lines:
        problems.append("the order has no lines")
        lines = []
    elif len(lines) > MAX_LINES:
        problems.append(f"the order has {len(lines)} lines; at most {MAX_LINES} are accepted")

    priced: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        line_problems = _line_problems(line)
        problems.extend(f"line {number}: {problem}" for problem in line_problems)
        if not line_problems:
            priced.append(
                {
                    "sku": line["sku"],
                    "quantity": line["quantity"],
                    "unitPriceCents": line["unitPriceCents"],
                }
            )

    if problems:
        return {"valid": False, "orderId": order_id, "problems": problems}
    return {
        "valid": True,
        "order": {
            "orderId": order_id,
            "customerId": customer_id,
            "lines": priced,
            "itemCount": sum(line["quantity"] for line in priced),
            "totalCents": sum(line["quantity"] * line["unitPriceCents"] for line in priced),
        },
    }


def _line_problems(line: object) -> list[str]:
    if not isinstance(line, dict):
        return ["a line is an object with sku, quantity and unitPriceCents"]
    problems = []
    if not isinstance(line.get("sku"), str) or not line["sku"]:
        problems.append("sku is missing")
    if not _is_whole_number(line.get("quantity")) or line["quantity"] < 1:
        problems.append("quantity must be a whole number of at least 1")
    if not _is_whole_number(line.get("unitPriceCents")) or line["unitPriceCents"] < 0:
        problems.append("unitPriceCents must be a whole number of cents, 0 or more")
    return problems


def _is_whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
