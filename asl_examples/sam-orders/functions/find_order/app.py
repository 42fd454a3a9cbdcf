"""FindOrder: looks the order up in the orders table (DynamoDB GetItem).

Input: `{"orderId": ...}`. Output: `{"found": false}`, or `{"found": true, "execution": ...}`
naming the execution that recorded it. The table's name comes from the ORDERS_TABLE variable
(the template's Environment sets it on Lambda); the region and endpoint come from the usual
AWS variables (AWS_DEFAULT_REGION, AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import os
from typing import Any

import boto3


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    # A client per invocation rather than at import: the module then imports where no region
    # is configured (a run whose mock config stands in for this function), and each call sees
    # the endpoint of the environment it runs in.
    dynamodb = boto3.client("dynamodb")
    response = dynamodb.get_item(
        TableName=os.environ["ORDERS_TABLE"],
        Key={"orderId": {"S": event["orderId"]}},
        ProjectionExpression="orderId, execution",
        # Read what the last write stored: a retry of the same checkout must see its order.
        ConsistentRead=True,
    )
    item = response.get("Item")
    if item is None:
        return {"found": False}
    return {"found": True, "execution": item.get("execution", {}).get("S")}
