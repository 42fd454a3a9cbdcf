"""The sam-orders SAM application (asl_examples/sam-orders) through `asl validate|run
--template`: the template's machine, its DefinitionSubstitutions (function ARNs, the table's
name, a `!Sub` of a parameter) and its Python functions; the two states that touch DynamoDB
stood in by the shipped mock config or by asl.toml's `[resources]` and `[functions]`; `asl
start` attached, and detached with a worker configured with the functions; and the whole
application against moto's server (the `moto_endpoint` fixture, from the AWS
integrations), where FindOrder's own GetItem and the machine's putItem reach one table."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.backends.python import load_functions
from engine.cli import main

APP = Path(__file__).resolve().parents[2] / "asl_examples" / "sam-orders"
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function"
EXECUTION = "arn:aws:states:us-east-1:111111111111:execution:record-order"
NEW_ORDER = json.loads((APP / "events" / "new-order.json").read_text("utf-8"))
LINES = [
    {"sku": "TEA-SENCHA-100G", "quantity": 2, "unitPriceCents": 650},
    {"sku": "MUG-STONEWARE", "quantity": 1, "unitPriceCents": 1800},
]
RECORDED = {
    "orderId": "ord-1001",
    "status": "RECORDED",
    "total": "31.00",
    "message": "Thank you! Order ord-1001 (3 items, 31.00) is recorded.",
}
ALREADY_RECORDED = {"orderId": "ord-1001", "status": "ALREADY_RECORDED"}


def stored_item(execution: str, recorded_by: str = "asl-local/web") -> dict[str, Any]:
    """The item SaveOrder writes for events/new-order.json, in DynamoDB's typed form."""
    return {
        "orderId": {"S": "ord-1001"},
        "customerId": {"S": "cust-42"},
        "lines": {"S": json.dumps(LINES, separators=(",", ":"))},
        "itemCount": {"N": "3"},
        "totalCents": {"N": "3100"},
        "recordedBy": {"S": recorded_by},  # !Sub "${AWS::StackName}/${SalesChannel}"
        "execution": {"S": execution},
    }


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No operator configuration and no AWS settings from the machine running the tests."""
    for name in (
        "ASL_CONFIG",
        "ASL_STORE",
        "SFN_MOCK_CONFIG",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_PROFILE",
        "ORDERS_TABLE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def in_app(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(APP)


def asl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = asl(capsys, "run", "--json", *args)
    assert (code, err) == (0, ""), out
    result: dict[str, Any] = json.loads(out)
    return result


def states_entered(events: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("Entered")]


def lambdas_scheduled(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["lambdaFunctionScheduledEventDetails"]["resource"]
        for e in events
        if e["type"] == "LambdaFunctionScheduled"
    ]


def put_items(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parameters of every DynamoDB task the machine scheduled."""
    return [
        json.loads(e["taskScheduledEventDetails"]["parameters"])
        for e in events
        if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resource"] == "putItem"
    ]


@pytest.mark.usefixtures("in_app")
def test_the_template_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert asl(capsys, "validate", "--template", "template.yaml") == (
        0,
        "statemachine/record-order.asl.json: valid (0 errors, 0 warnings)\n",
        "",
    )
    assert asl(capsys, "validate", "--template", "template.yaml", "--json") == (
        0,
        '{"valid": true, "diagnostics": []}\n',
        "",
    )


@pytest.mark.usefixtures("in_app")
def test_a_new_order_with_the_mock_config_standing_in_for_dynamodb(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_json(
        capsys, "--template", "template.yaml", "--input-file", "events/new-order.json",
        "--mock-config", "mock-config.json", "--test-case", "NewOrder", "--name", "new",
        "--history",
    )  # fmt: skip
    events = result.pop("events")
    assert (result["executionArn"], result["status"]) == (f"{EXECUTION}:new", "SUCCEEDED")
    assert result["output"] == RECORDED
    assert states_entered(events) == [
        "ValidateOrder",
        "IsTheOrderValid",
        "FindExistingOrder",
        "IsTheOrderNew",
        "SaveOrder",
        "ConfirmOrder",
    ]
    # The substituted ARNs of the template's functions; FindOrder's answer is the mock's,
    # ValidateOrder and ConfirmOrder are the template's own Python.
    assert lambdas_scheduled(events) == [
        f"{LAMBDA}:ValidateOrderFunction",
        f"{LAMBDA}:FindOrderFunction",
        f"{LAMBDA}:ConfirmOrderFunction",
    ]
    assert put_items(events) == [
        {
            "TableName": "sam-orders",  # !Ref OrdersTable: its TableName
            "Item": stored_item("new"),
            "ConditionExpression": "attribute_not_exists(orderId)",
        }
    ]


@pytest.mark.parametrize(
    ("test_case", "states"),
    [
        pytest.param(
            "RecordedBefore",
            ["ValidateOrder", "IsTheOrderValid", "FindExistingOrder", "IsTheOrderNew"],
            id="found-by-the-look-up",
        ),
        pytest.param(
            "StoredMeanwhile",
            [
                "ValidateOrder",
                "IsTheOrderValid",
                "FindExistingOrder",
                "IsTheOrderNew",
                "SaveOrder",
            ],
            id="conditional-write-caught",
        ),
    ],
)
@pytest.mark.usefixtures("in_app")
def test_an_order_recorded_before_is_not_stored_again(
    capsys: pytest.CaptureFixture[str], test_case: str, states: list[str]
) -> None:
    result = run_json(
        capsys, "--template", "template.yaml", "--input-file", "events/new-order.json",
        "--mock-config", "mock-config.json", "--test-case", test_case, "--name", "again",
        "--history",
    )  # fmt: skip
    events = result.pop("events")
    assert (result["status"], result["output"]) == ("SUCCEEDED", ALREADY_RECORDED)
    assert states_entered(events) == [*states, "AlreadyRecorded"]


@pytest.mark.usefixtures("in_app")
def test_an_invalid_order_is_rejected_without_touching_dynamodb(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No mock config and no AWS endpoint: the Choice sends the order to RejectOrder before
    any state that would reach DynamoDB."""
    code, out, err = asl(
        capsys, "run", "--template", "template.yaml", "--input-file",
        "events/invalid-order.json", "--name", "invalid",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"execution  {EXECUTION}:invalid",
        "status     SUCCEEDED",
        "output     "
        + json.dumps(
            {
                "orderId": "ord-1002",
                "status": "REJECTED",
                "message": "The order was not recorded: 2 problems to fix.",
                "problems": [
                    "line 1: quantity must be a whole number of at least 1",
                    "line 2: sku is missing",
                ],
            }
        ),
    ]


@cache
def validate_order() -> Callable[..., Any]:
    """The template's ValidateOrderFunction, loaded once."""
    return load_functions(str(APP / "functions" / "validate_order" / "app.py"))["lambda_handler"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5000) | st.floats(-1, 10) | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["orderId", "customerId", "lines", "sku", "quantity", "unitPriceCents"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=10,
)
good_lines = st.lists(
    st.fixed_dictionaries(
        {
            "sku": st.text(min_size=1, max_size=6),
            "quantity": st.integers(1, 99),
            "unitPriceCents": st.integers(0, 100_000),
        }
    ),
    min_size=1,
    max_size=50,
)


@given(
    order=st.fixed_dictionaries(
        {"orderId": st.text(min_size=1, max_size=8), "customerId": st.text(min_size=1)},
        optional={"lines": good_lines | json_values},
    )
    | json_values
)
def test_validate_order_answers_every_input(order: Any) -> None:
    """ValidateOrder never raises: it prices a well-formed order exactly, and names at least
    one problem for anything else."""
    answer = validate_order()(order if isinstance(order, dict) else {"lines": order}, None)
    json.dumps(answer)  # what Lambda would return
    if answer["valid"]:
        lines = answer["order"]["lines"]
        assert answer["order"]["itemCount"] == sum(line["quantity"] for line in lines)
        assert answer["order"]["totalCents"] == sum(
            line["quantity"] * line["unitPriceCents"] for line in lines
        )
        keys = ("sku", "quantity", "unitPriceCents")
        assert lines == [{key: line[key] for key in keys} for line in order["lines"]]
    else:
        assert answer["problems"]


@pytest.mark.usefixtures("in_app")
def test_asl_start_attached_records_the_templates_machine(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'asl.db'}"
    code, out, err = asl(
        capsys, "start", "--template", "template.yaml", "--input-file",
        "events/new-order.json", "--mock-config", "mock-config.json", "--test-case",
        "NewOrder", "--name", "attached", "--store", store, "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert json.loads(out)["output"] == RECORDED
    code, out, err = asl(capsys, "describe", f"{EXECUTION}:attached", "--store", store, "--json")
    assert (code, err) == (0, "")
    described = json.loads(out)
    assert described["stateMachineArn"] == EXECUTION.replace("execution", "stateMachine")
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", RECORDED)


@pytest.mark.usefixtures("in_app")
def test_asl_start_detached_runs_on_a_worker_configured_with_the_functions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A detached start stores the substituted machine; the worker that runs it serves the
    template's functions only through its own asl.toml (docs/templates.md)."""
    store = f"sqlite:///{tmp_path / 'asl.db'}"
    config = tmp_path / "asl.toml"
    config.write_text(
        "".join(
            f'[functions.{name}Function]\nhandler = "app.lambda_handler"\n'
            f'code = "{APP / "functions" / folder}"\n'
            for name, folder in [
                ("ValidateOrder", "validate_order"),
                ("ConfirmOrder", "confirm_order"),
            ]
        ),
        "utf-8",
    )
    code, out, err = asl(
        capsys, "start", "--template", "template.yaml", "--input-file",
        "events/new-order.json", "--mock-config", "mock-config.json", "--test-case",
        "NewOrder", "--name", "detached", "--store", store, "--detach",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert json.loads(out)["executionArn"] == f"{EXECUTION}:detached"
    assert asl(
        capsys, "worker", "--until-idle", "--config", str(config), "--store", store,
        "--mock-config", "mock-config.json",
    )[0] == 0  # fmt: skip
    code, out, err = asl(capsys, "describe", f"{EXECUTION}:detached", "--store", store, "--json")
    assert (code, err) == (0, "")
    described = json.loads(out)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", RECORDED)


STAND_INS = """\
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path


def find_order(event, context):
    return {"found": Path("stored.json").exists()}


def put_item(event, context):
    Path("stored.json").write_text(json.dumps(event))
    return {}
"""


@pytest.mark.usefixtures("clean_env")
def test_asl_toml_stands_in_for_dynamodb(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`[resources]` serves the putItem integration with a function that writes the request to
    a file, and `[functions.FindOrderFunction]` replaces the template's function (asl.toml
    wins over the template); --parameter changes the `!Sub` substitution. The second run of
    the same order finds it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stand_ins.py").write_text(STAND_INS, "utf-8")
    (tmp_path / "asl.toml").write_text(
        '[functions.FindOrderFunction]\nhandler = "stand_ins.find_order"\n'
        '[functions.FakePutItem]\nhandler = "stand_ins.put_item"\n'
        '[resources]\n"arn:aws:states:::dynamodb:putItem" = "FakePutItem"\n',
        "utf-8",
    )
    args = (
        "--template", str(APP / "template.yaml"), "--parameter", "SalesChannel=store",
        "--input-file", str(APP / "events" / "new-order.json"),
    )  # fmt: skip
    first = run_json(capsys, *args, "--name", "first")
    assert (first["status"], first["output"]) == ("SUCCEEDED", RECORDED)
    assert json.loads((tmp_path / "stored.json").read_text("utf-8")) == {
        "TableName": "sam-orders",
        "Item": stored_item("first", recorded_by="asl-local/store"),
        "ConditionExpression": "attribute_not_exists(orderId)",
    }
    second = run_json(capsys, *args, "--name", "second")
    assert (second["status"], second["output"]) == ("SUCCEEDED", ALREADY_RECORDED)


def test_the_whole_application_against_moto(
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    clean_env: None,
) -> None:
    """Against moto's server: FindOrder's own GetItem (boto3 in the function) and the
    machine's putItem integration reach the same table. Run twice: the second execution finds
    the first one's order. Needs the `moto_endpoint` fixture (the endpoint URL of a moto
    server this test may create tables in), which comes with the AWS integrations."""
    try:
        endpoint: str = request.getfixturevalue("moto_endpoint")
    except pytest.FixtureLookupError:
        pytest.skip(
            "the moto_endpoint fixture is not wired yet (it comes with the AWS integrations)"
        )
    import boto3

    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",  # moto's dummy credentials
        "AWS_SECRET_ACCESS_KEY": "testing",
        # What the template's Environment gives FindOrderFunction on Lambda:
        "ORDERS_TABLE": "sam-orders",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(APP)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    dynamodb.create_table(  # as the template's OrdersTable declares it
        TableName="sam-orders",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
    )
    try:
        args = ("--template", "template.yaml", "--input-file", "events/new-order.json")
        first = run_json(capsys, *args, "--name", "moto-first")
        assert (first["status"], first["output"]) == ("SUCCEEDED", RECORDED)
        assert dynamodb.scan(TableName="sam-orders")["Items"] == [stored_item("moto-first")]
        second = run_json(capsys, *args, "--name", "moto-second")
        assert (second["status"], second["output"]) == ("SUCCEEDED", ALREADY_RECORDED)
        assert dynamodb.scan(TableName="sam-orders")["Items"] == [stored_item("moto-first")]
    finally:  # the server serves the whole session
        dynamodb.delete_table(TableName="sam-orders")
