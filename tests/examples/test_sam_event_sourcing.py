"""The aws-samples event-sourcing SAM application (asl_examples/sam-event-sourcing), unchanged,
through `asl validate|run --template`: the template's machine, substitutions and Python
functions; the DynamoDB states stood in by the shipped mock config or by a `[resources]`
function; and, once the AWS integrations land (wt-aws), the whole application against moto's
server (the `moto_endpoint` fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main

APP = Path(__file__).resolve().parents[2] / "asl_examples" / "sam-event-sourcing"
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function"
MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:EventSourcingPatternStateMachine"
RECEIVED = json.loads((APP / "events" / "product-received.json").read_text("utf-8"))


@pytest.fixture
def in_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the application's folder, with the region Lambda gives every function (the sample's
    functions create a boto3 resource at import)."""
    for name in ("ASL_CONFIG", "ASL_STORE", "SFN_MOCK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.chdir(APP)


def asl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.usefixtures("in_app")
def test_the_template_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert asl(capsys, "validate", "--template", "template.yaml", "--json") == (
        0,
        '{"valid": true, "diagnostics": []}\n',
        "",
    )


def history_of(output: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    result = json.loads(output)
    events: list[dict[str, Any]] = result.pop("events")
    return result, events


def succeeded_outputs(events: list[dict[str, Any]]) -> list[Any]:
    return [
        json.loads(e["taskSucceededEventDetails"]["output"])
        for e in events
        if e["type"] == "TaskSucceeded"
    ]


def scheduled(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "resource": e["taskScheduledEventDetails"]["resource"],
            "parameters": json.loads(e["taskScheduledEventDetails"]["parameters"]),
        }
        for e in events
        if e["type"] == "TaskScheduled"
    ]


@pytest.mark.usefixtures("in_app")
def test_it_runs_with_the_mock_config_standing_in_for_dynamodb(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = asl(
        capsys, "run", "--template", "template.yaml", "--input-file",
        "events/product-received.json", "--mock-config", "mock-config.json",
        "--test-case", "ProductReceived", "--name", "received", "--json", "--history",
    )  # fmt: skip
    assert (code, err) == (0, "")
    result, events = history_of(out)
    assert result["executionArn"] == MACHINE.replace("stateMachine", "execution") + ":received"
    assert (result["status"], result["output"]) == ("SUCCEEDED", {})
    calls = scheduled(events)
    # The template's substitutions: the function's local ARN, the table's TableName.
    assert calls[0]["parameters"] == {
        "Payload": RECEIVED,
        "FunctionName": f"{LAMBDA}:ESPValidateEventFunction",
    }
    assert calls[1]["parameters"]["FunctionName"] == f"{LAMBDA}:ESPProcessProductReceivedFunction"
    assert calls[2]["resource"] == "putItem"
    assert calls[2]["parameters"]["TableName"] == "ESPProductEventStoreTable"
    assert calls[2]["parameters"]["Item"]["Product_Id"] == {"S": "100"}
    # ValidateEvent ran the template's own Python function (it returns its event).
    assert succeeded_outputs(events)[0]["Payload"] == RECEIVED


PUT_ITEM_STAND_IN = """\
def put_item(event, context):
    return {"stood_in": event["TableName"], "keys": sorted(event["Item"])}


def process_received(event, context):
    product = event["ProductEvent"]
    return {
        "statusCode": 200,
        "Product_Id": product["productId"],
        "UpdatedProduct": "{}",
        "Event": str(product),
        "EventDateTime": "2022-10-01 12:00:00",
    }
"""


def test_it_runs_with_resources_standing_in_for_dynamodb(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`[resources]` serves the putItem integration, and asl.toml's function replaces the
    template's ESPProcessProductReceivedFunction (which queries DynamoDB itself)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("ASL_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stand_in.py").write_text(PUT_ITEM_STAND_IN, "utf-8")
    (tmp_path / "asl.toml").write_text(
        '[functions.FakePut]\nhandler = "stand_in.put_item"\n'
        '[functions.ESPProcessProductReceivedFunction]\nhandler = "stand_in.process_received"\n'
        '[resources]\n"arn:aws:states:::dynamodb:putItem" = "FakePut"\n',
        "utf-8",
    )
    code, out, err = asl(
        capsys, "run", "--template", str(APP / "template.yaml"), "--input-file",
        str(APP / "events" / "product-received.json"), "--name", "r", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert json.loads(out)["output"] == {
        "stood_in": "ESPProductEventStoreTable",
        "keys": ["Event", "Event_DateTime", "Product_Details", "Product_Id"],
    }


def test_it_runs_unchanged_against_moto(
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole application against moto's server: the functions' own DynamoDB queries and
    the machine's putItem. Needs the `moto_endpoint` fixture (the endpoint URL of a moto
    server this test may create tables in) and the DynamoDB integration (wt-aws)."""
    try:
        endpoint: str = request.getfixturevalue("moto_endpoint")
    except pytest.FixtureLookupError:
        pytest.skip("the moto_endpoint fixture is not wired yet (AWS integrations, wt-aws)")
    import boto3

    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy credentials
        # What the template's Environment gives the functions on Lambda:
        "EVENT_STORE_TABLE": "ESPProductEventStoreTable",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("ASL_CONFIG", "ASL_STORE", "SFN_MOCK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(APP)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    dynamodb.create_table(  # as the template declares it
        TableName="ESPProductEventStoreTable",
        AttributeDefinitions=[
            {"AttributeName": "Product_Id", "AttributeType": "S"},
            {"AttributeName": "Event_DateTime", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "Product_Id", "KeyType": "HASH"},
            {"AttributeName": "Event_DateTime", "KeyType": "RANGE"},
        ],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    code, out, err = asl(
        capsys, "run", "--template", "template.yaml", "--input-file",
        "events/product-received.json", "--name", "moto", "--json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    assert json.loads(out)["status"] == "SUCCEEDED"
    [item] = dynamodb.scan(TableName="ESPProductEventStoreTable")["Items"]
    assert item["Product_Id"] == {"S": "100"}
    assert json.loads(item["Product_Details"]["S"]) == {
        "ProductId": "100",
        "Quantity": "150",
        "UnitPrice": "$4",
        "Size": "4.3 lbs",
        "Color": "blk",
        "State": "Available",
    }
