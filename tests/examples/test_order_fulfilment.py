"""asl_examples/order_fulfilment: DynamoDB, SQS and a `.sync:2` nested execution against moto's
server, with exact outputs, the stored item and the queued message checked on moto.

Paths: the Engine in process, `asl run --machine-file` with AWS_ENDPOINT_URL, `asl start`
(the child registered first by its own `asl start`), and `asl serve` driven by boto3 (both
machines created through the API). Each test makes its own table and queue, named in the
execution input as the example's input names them, so tests sharing the server stay apart.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from engine.definition.validate import validate_text
from engine.embedded import Engine
from engine.values import JSON
from tests.aws.helpers import aws_config, receive
from tests.aws_server import aws_client, aws_env, unique_name
from tests.cli.harness import asl_process as asl
from tests.cli.harness import poll
from tests.serve_process import serve_process, sfn_client

FOLDER = Path(__file__).resolve().parents[2] / "asl_examples" / "order_fulfilment"
PARENT = FOLDER / "order_fulfilment.asl.json"
CHILD = FOLDER / "shipping.asl.json"
ORDER_ID = "ORD-3001"
ADDRESS = {"name": "Camille Martin", "street": "12 rue Mercière", "city": "Lyon", "country": "FR"}


def resources(endpoint: str) -> tuple[str, str]:
    """A new Orders-like table and shipping queue on moto: (table name, queue URL)."""
    table = unique_name("Orders")
    aws_client("dynamodb", endpoint).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue: str = aws_client("sqs", endpoint).create_queue(QueueName=unique_name("shipping"))[
        "QueueUrl"
    ]
    return table, queue


def example_input(table: str, queue: str) -> dict[str, Any]:
    """The shipped input with this test's table and queue."""
    data: dict[str, Any] = json.loads((FOLDER / "order_fulfilment.input.json").read_text())
    data.update(ordersTable=table, shippingQueueUrl=queue)
    return data


def check_shipped(endpoint: str, table: str, queue: str, output: JSON) -> None:
    """The execution's output, the item it left and the one message it queued, exactly."""
    [message] = receive(endpoint, queue)
    assert json.loads(message["Body"]) == {
        "orderId": ORDER_ID,
        "carrier": "Colissimo",
        "trackingId": f"TRK-{ORDER_ID}",
        "address": ADDRESS,
    }
    assert output == {
        "orderId": ORDER_ID,
        "status": "SHIPPED",
        "trackingId": f"TRK-{ORDER_ID}",
        "carrier": "Colissimo",
        "pickupMessageId": message["MessageId"],
    }
    item = aws_client("dynamodb", endpoint).get_item(
        TableName=table, Key={"orderId": {"S": ORDER_ID}}
    )["Item"]
    assert item == {
        "orderId": {"S": ORDER_ID},
        "customerId": {"S": "CUST-88"},
        "itemCount": {"N": "2"},
        "status": {"S": "SHIPPED"},
        "trackingId": {"S": f"TRK-{ORDER_ID}"},
        "carrier": {"S": "Colissimo"},
        "pickupMessageId": {"S": message["MessageId"]},
    }


def test_both_machines_validate() -> None:
    for path in (PARENT, CHILD):
        assert validate_text(path.read_text("utf-8")) == [], path.name


def test_engine_runs_the_parent_and_its_shipping_child(moto_endpoint: str, tmp_path: Path) -> None:
    table, queue = resources(moto_endpoint)

    async def main() -> tuple[str, JSON, list[str]]:
        engine = Engine.for_testing(config=aws_config(tmp_path, moto_endpoint))
        try:
            engine.load(CHILD.read_text(), name="Shipping")
            machine = engine.load(PARENT.read_text(), name="order_fulfilment")
            result = await engine.run(machine, example_input(table, queue), name="demo")
            return result.status, result.output, [e.type for e in result.events]
        finally:
            await engine.aclose()

    status, output, events = asyncio.run(main())
    assert status == "SUCCEEDED"
    check_shipped(moto_endpoint, table, queue, output)
    assert events.count("TaskSubmitted") == 1  # the .sync:2 start, then its child's answer


def test_a_second_run_of_the_order_is_refused_by_dynamodb(
    moto_endpoint: str, tmp_path: Path
) -> None:
    table, queue = resources(moto_endpoint)
    (tmp_path / "input.json").write_text(json.dumps(example_input(table, queue)))
    args = [
        "run",
        str(PARENT),
        "--input-file",
        "input.json",
        "--machine-file",
        f"Shipping={CHILD}",
        "--json",
    ]
    env = aws_env(moto_endpoint)
    first = asl([*args, "--name", "demo"], tmp_path, env)
    again = asl([*args, "--name", "again"], tmp_path, env)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["status"] == "SUCCEEDED"
    check_shipped(moto_endpoint, table, queue, result["output"])
    refused = json.loads(again.stdout)
    assert (again.returncode, refused["status"], refused["error"]) == (
        1,
        "FAILED",
        "DynamoDB.ConditionalCheckFailedException",
    )
    assert receive(moto_endpoint, queue) == []  # nothing shipped twice


def test_asl_start_finds_the_registered_child(moto_endpoint: str, tmp_path: Path) -> None:
    table, queue = resources(moto_endpoint)
    (tmp_path / "input.json").write_text(json.dumps(example_input(table, queue)))
    shutil.copy(CHILD, tmp_path / "Shipping.asl.json")  # registered as the machine Shipping
    env = aws_env(moto_endpoint, ASL_HOME=str(tmp_path / "home"))
    # Registered by a detached start, whose own run (no order in its input) nobody drives here.
    registered = asl(["start", "Shipping.asl.json", "--detach"], tmp_path, env)
    assert registered.returncode == 0, registered.stderr
    started = asl(
        ["start", str(PARENT), "--input-file", "input.json", "--name", "durable", "--json"],
        tmp_path,
        env,
    )
    assert started.returncode == 0, started.stderr
    result = json.loads(started.stdout)
    assert result["status"] == "SUCCEEDED"
    check_shipped(moto_endpoint, table, queue, result["output"])


def test_asl_serve_runs_it_through_boto3(moto_endpoint: str) -> None:
    table, queue = resources(moto_endpoint)
    role = "arn:aws:iam::111111111111:role/r"
    with serve_process([], env=aws_env(moto_endpoint)) as url:
        sfn = sfn_client(url)
        sfn.create_state_machine(name="Shipping", definition=CHILD.read_text(), roleArn=role)
        machine = sfn.create_state_machine(
            name="order_fulfilment", definition=PARENT.read_text(), roleArn=role
        )["stateMachineArn"]
        arn = sfn.start_execution(
            stateMachineArn=machine, input=json.dumps(example_input(table, queue))
        )["executionArn"]
        described = poll(
            lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
            "the execution to close",
        )
    assert described["status"] == "SUCCEEDED", described
    check_shipped(moto_endpoint, table, queue, json.loads(described["output"]))
