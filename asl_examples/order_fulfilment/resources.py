"""The Orders table and the shipping-requests queue that order_fulfilment uses, on the
endpoint AWS_ENDPOINT_URL names (moto's server, LocalStack).

    python resources.py create        create both (one that exists is left as it is)
    python resources.py show ORDER    the order's item, and the pickup requests queued

Without AWS credentials in the environment it signs with dummy ones (moto and LocalStack
accept any); it refuses to run without AWS_ENDPOINT_URL, so it never touches a real account.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import boto3

TABLE = "Orders"
QUEUE = "shipping-requests"


def client(service: str) -> Any:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise SystemExit("set AWS_ENDPOINT_URL to moto's server, e.g. http://127.0.0.1:5000")
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


def create() -> None:
    dynamodb = client("dynamodb")
    if TABLE not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    queue = client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
    print(f"table {TABLE}, queue {queue}")  # noqa: T201 - a command-line tool


def show(order_id: str) -> None:
    item = client("dynamodb").get_item(TableName=TABLE, Key={"orderId": {"S": order_id}})
    print("item", json.dumps(dict(sorted(item.get("Item", {}).items()))))  # noqa: T201
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        print("message", message["Body"])  # noqa: T201


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["create"]:
            create()
        case ["show", order_id]:
            show(order_id)
        case _:
            raise SystemExit(__doc__)
