"""AWS service integrations down every path a user has (the Engine, the Service on each store,
`asl run`, `asl start` attached and detached with `asl worker`, `asl serve` through boto3, a
killed and resumed worker), each calling moto's server: DynamoDB putItem and getItem and an SQS
sendMessage that succeed, and an error DynamoDB names, must agree with the Engine's run.

Every path writes the same item (putItem of one value is idempotent) and sends one message;
the queue then holds one message per path, each with the same body: every path really called
the endpoint, once per Task (Standard's at-most-once across the killed worker too)."""

from __future__ import annotations

import json

from tests.aws.helpers import make_queue, make_table, md5
from tests.aws_server import aws_client
from tests.differential.outcome import disagreement, well_formed
from tests.differential.paths import Case, CrashPath, Path_


def machine(queue: str) -> str:
    put = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {
            "TableName.$": "$.table",
            "Item": {"id": {"S.$": "$.id"}, "qty": {"N.$": "States.Format('{}', $.qty)"}},
        },
        "Catch": [
            {
                "ErrorEquals": ["DynamoDB.ResourceNotFoundException"],
                "ResultPath": "$.error",
                "Next": "Missing",
            }
        ],
        "ResultPath": None,
        "Next": "Get",
    }
    get = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName.$": "$.table", "Key": {"id": {"S.$": "$.id"}}},
        "ResultSelector": {"id.$": "$.Item.id.S", "qty.$": "$.Item.qty.N"},
        "ResultPath": "$.stored",
        "Next": "Settle",
    }
    # Nothing in flight while it waits: the killed worker dies here (crash_at), between the
    # DynamoDB calls and the SQS one, and the resumed worker sends the message once.
    settle = {"Type": "Wait", "Seconds": 60, "Next": "Send"}
    send = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": queue, "MessageBody": {"stored.$": "$.stored"}},
        "ResultSelector": {"md5.$": "$.MD5OfMessageBody"},
        "ResultPath": "$.sent",
        "End": True,
    }
    missing = {"Type": "Pass", "OutputPath": "$.error.Error", "End": True}
    states = {"Put": put, "Get": get, "Settle": settle, "Send": send, "Missing": missing}
    return json.dumps({"StartAt": "Put", "States": states})


def test_every_path_calls_aws_alike(moto_endpoint: str, aws_paths: list[Path_]) -> None:
    table, queue = make_table(moto_endpoint), make_queue(moto_endpoint)
    definition = machine(queue)
    cases = [
        Case(definition, {"table": table, "id": "d-1", "qty": 2}),
        Case(definition, {"table": f"{table}-absent", "id": "d-2", "qty": 1}),
    ]
    reference, *paths = aws_paths
    expected = reference.run_all(cases)
    body = '{"stored":{"id":"d-1","qty":"2"}}'
    assert [e.output for e in expected] == [
        {
            **cases[0].input,  # type: ignore[dict-item]
            "stored": {"id": "d-1", "qty": "2"},
            "sent": {"md5": md5(body)},
        },
        "DynamoDB.ResourceNotFoundException",
    ]
    for outcome in expected:
        assert well_formed(outcome) is None
    [crash] = [path for path in paths if isinstance(path, CrashPath)]
    crash.crash_at = 1  # the first quiet commit: d-1 waits in Settle, its message not sent
    crashed = crash.crashed
    for path in paths:
        for want, got in zip(expected, path.run_all(cases), strict=True):
            assert disagreement(want, got) is None, path.name
    assert crash.crashed == crashed + 1, "the worker was not killed mid-run"
    item = aws_client("dynamodb", moto_endpoint).get_item(TableName=table, Key={"id": {"S": "d-1"}})
    assert item["Item"] == {"id": {"S": "d-1"}, "qty": {"N": "2"}}
    sqs = aws_client("sqs", moto_endpoint)
    bodies: list[str] = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        bodies.extend(message["Body"] for message in batch)
    assert bodies == [body] * len(aws_paths)
