"""A fuzzer driven by botocore's model of Step Functions, over the AWS JSON 1.0 protocol.

For every operation of the `stepfunctions` service model (the one boto3 ships), Hypothesis
builds request bodies member by member from the botocore shapes: values that fit the shape
(real ARNs of the machines and activity made here, names, enums, lengths at the limits) mixed
with hostile ones: strings past their maximum, lone surrogates, NUL and control characters,
JSON text nested 50,000 deep or holding NaN or 5,000-digit numbers in the payload members,
numbers past Python's 4,300-digit limit, NaN and Infinity literals, and values of the wrong
JSON type. Bodies are written as raw JSON text, so what no `json.dumps` would write is sent.

Asserted for every answer: no status >= 500, and an error has AWS's body (`__type` and
`message`, both strings, nothing else) with AWS's content type. The budget is fixed
(EXAMPLES per operation); the request count is printed at the end (tests/api/tally.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import botocore.session
import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from engine.service import Service, ServiceConfig
from engine.store.open import open_store
from tests.api.tally import record

EXAMPLES = int(os.environ.get("ASL_FUZZ_EXAMPLES", "80"))
MODEL = botocore.session.get_session().get_service_model("stepfunctions")
ACCOUNT = "arn:aws:states:us-east-1:111111111111"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
SEEN = {"requests": 0, "server_errors": 0}


@dataclass(frozen=True)
class Raw:
    """JSON text sent as is (NaN, a 5,000-digit number, a lone surrogate escape...)."""

    text: str


def render(value: object) -> str:
    """JSON text of a value that may hold `Raw` fragments."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    return json.dumps(value)


# -- values ---------------------------------------------------------------------------------------

ARNS = [
    f"{ACCOUNT}:stateMachine:fuzz",
    f"{ACCOUNT}:stateMachine:fuzz-express",
    f"{ACCOUNT}:stateMachine:fuzz:1",
    f"{ACCOUNT}:stateMachine:fuzz:live",
    f"{ACCOUNT}:execution:fuzz:e1",
    f"{ACCOUNT}:express:fuzz-express:e1:x",
    f"{ACCOUNT}:activity:fuzz",
    f"{ACCOUNT}:stateMachine:absent",
    "arn:aws:s3:::bucket",
    "arn:",
]
hostile_text = st.sampled_from(
    [
        "",
        " ",
        "a" * 81,
        "x" * 300_000,
        "\x00",
        "a\x00b",
        "\x1f\x7f\u0085",
        "\u2028\ufeff",
        "\U0001f600",
        "'; DROP TABLE executions; --",
        "%s%n{0}",
        "../../etc/passwd",
    ]
)
lone_surrogates = st.sampled_from(['"\\ud800"', '"a\\udfffb"', '"\\udc00\\ud800"'])
raw_numbers = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e999", "-0", "9" * 5000, "1" * 4301, "1." + "0" * 2000]
)
payloads = st.sampled_from(
    [
        "{}",
        '{"a": 1}',
        "[1, 2, 3]",
        "null",
        "NaN",
        '{"x": Infinity}',
        "[" * 50_000,
        "[" * 600 + "]" * 600,
        "[" * 512 + "]" * 512,
        '{"a": "\\ud800"}',
        "1" * 4301,
        "[" + "9" * 1001 + "]",
        "[1e999]",
        '{"a": 1',
        "\ud800",
        PASS,
    ]
)
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
wrong_type = any_json | raw_numbers.map(Raw) | lone_surrogates.map(Raw)
PAYLOAD_MEMBERS = frozenset({"input", "output", "definition"})


def strings(name: str, shape: Shape) -> st.SearchStrategy[object]:
    low = shape.metadata.get("min", 0)
    high = shape.metadata.get("max", 2048)
    fitting: st.SearchStrategy[object] = st.text(min_size=low, max_size=min(high, 40))
    if shape.enum:
        fitting = st.sampled_from(list(shape.enum))
    elif name.endswith("Arn") or name == "arn":
        fitting = st.sampled_from(ARNS)
    elif name in PAYLOAD_MEMBERS:
        fitting = payloads
    edges = st.sampled_from(["a" * max(low, 1), "b" * high, "c" * (high + 1)])
    return st.one_of(fitting, fitting, hostile_text, edges, lone_surrogates.map(Raw), wrong_type)


def values(name: str, shape: Shape, depth: int = 0) -> st.SearchStrategy[object]:
    if shape.type_name == "string":
        return strings(name, shape)
    if shape.type_name in ("integer", "long"):
        return st.one_of(
            st.integers(-5, 2000),
            st.integers(),
            st.sampled_from([2**63, -(2**63) - 1, 10**30]),
            raw_numbers.map(Raw),
            wrong_type,
        )
    if shape.type_name == "boolean":
        return st.one_of(st.booleans(), st.booleans(), wrong_type)
    if shape.type_name in ("timestamp", "double", "float"):
        return st.one_of(st.floats(allow_nan=False), raw_numbers.map(Raw), wrong_type)
    if depth > 3:
        return wrong_type
    if isinstance(shape, StructureShape):
        return st.one_of(structures(shape, depth + 1), wrong_type)
    if isinstance(shape, ListShape):
        return st.one_of(
            st.lists(values(name, shape.member, depth + 1), max_size=4),
            st.just([{"key": "k", "value": "v"}] * 60),
            wrong_type,
        )
    if isinstance(shape, MapShape):
        return st.one_of(
            st.dictionaries(st.text(max_size=10), values(name, shape.value, depth + 1), max_size=3),
            wrong_type,
        )
    return wrong_type


def structures(shape: StructureShape, depth: int = 0) -> st.SearchStrategy[dict[str, object]]:
    required = set(shape.required_members)
    members = {name: values(name, member, depth) for name, member in sorted(shape.members.items())}
    optional = sorted(set(members) - required)
    return st.fixed_dictionaries(
        {name: members[name] for name in sorted(required & set(members))},
        optional={name: members[name] for name in optional},
    )


def bodies(operation: str) -> st.SearchStrategy[str]:
    shape = MODEL.operation_model(operation).input_shape
    fitting = structures(shape) if shape is not None else st.just({})
    return st.one_of(
        fitting.map(render),
        fitting.map(render),
        fitting.map(render),
        wrong_type.map(render),
        st.sampled_from(["", "[" * 50_000, "{" * 100, '{"a": 1', "\xff\xfe", "NaN"]),
    )


# -- the run --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The server over SQLite (which must encode every string it keeps), or over the store
    `ASL_FUZZ_STORE_URL` names (e.g. a PostgreSQL schema) for a longer hunt."""
    url = os.environ.get("ASL_FUZZ_STORE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'asl.db'}"
    )
    store = open_store(url)
    service = Service(store, config=ServiceConfig(seed=13))
    app = create_app(service, activity_wait_seconds=0.0)
    with TestClient(app, raise_server_exceptions=False) as client:
        for name, kind in (("fuzz", "STANDARD"), ("fuzz-express", "EXPRESS")):
            made = client.post(
                "/v1/machines", json={"name": name, "definition": PASS, "type": kind}
            )
            assert made.status_code == 201, made.text
        call(client, "CreateActivity", '{"name": "fuzz"}')
        call(client, "PublishStateMachineVersion", json.dumps({"stateMachineArn": ARNS[0]}))
        yield client
    store.close()
    record("botocore-model-aws", SEEN["requests"], SEEN["server_errors"])


def call(client: TestClient, operation: str, body: str) -> object:
    response = client.post(
        "/",
        content=body.encode("utf-8", "surrogatepass"),
        headers={
            "x-amz-target": f"AWSStepFunctions.{operation}",
            "content-type": "application/x-amz-json-1.0",
        },
    )
    SEEN["requests"] += 1
    if response.status_code >= 500:
        SEEN["server_errors"] += 1
    return response


@pytest.mark.parametrize("operation", MODEL.operation_names)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_operation_never_answers_5xx(
    client: TestClient, operation: str, data: st.DataObject
) -> None:
    body = data.draw(bodies(operation), label="body")
    response = call(client, operation, body)
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, response.text  # type: ignore[attr-defined]
    if status >= 400:
        assert response.headers["content-type"] == "application/x-amz-json-1.0"  # type: ignore[attr-defined]
        error = response.json()  # type: ignore[attr-defined]
        assert set(error) == {"__type", "message"}, error
        assert isinstance(error["__type"], str)
        assert isinstance(error["message"], str)
        assert "Traceback" not in error["message"]
