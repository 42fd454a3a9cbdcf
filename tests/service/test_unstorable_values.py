"""What an execution produces can always be stored and described (issue 13, "nothing that is
accepted can later fail to render").

A handler may return a lone surrogate (not Unicode: no database can encode it) and a Fail
state may take its error and cause from the input, where `\\u0000` is valid JSON but NUL is
what PostgreSQL text refuses. Before the fix, the commit closing such an execution failed on
every SQL store, so it stayed RUNNING for ever, re-claimed and failing again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.service import Service, ServiceConfig
from engine.store.base import Store
from engine.store.open import open_store
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url

FAIL_FROM_INPUT = {
    "StartAt": "F",
    "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}},
}
CALL = {
    "StartAt": "T",
    "States": {
        "T": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "hostile", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        }
    },
}


def hostile(event: dict[str, str], context: object) -> dict[str, str]:
    if event.get("raise"):
        raise ValueError("bad \ud800 and \x00")
    return {"s": "a\ud800b"}


@pytest.fixture(params=["sqlite", POSTGRES_PARAM])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path_factory.mktemp('unstorable') / 'asl.db'}")
        yield opened
        opened.close()
        return
    url = postgres_url()
    assert url is not None
    with postgres_schema(url) as scoped:
        opened = open_store(scoped)
        yield opened
        opened.close()


async def run(
    store: Store, definition: object, input_text: str
) -> tuple[str, object, str | None, str | None]:
    """(status, output, error, cause) of one execution, as the store describes it."""
    async with Service(
        store, functions={"hostile": hostile}, config=ServiceConfig(seed=2)
    ) as service:
        service.start()
        machine, _ = await service.create_state_machine("m", json.dumps(definition))
        started = await service.start_execution(machine.arn, input_text=input_text)
        await asyncio.wait_for(service.wait_for(started.arn), 20)
        found = await service.describe_execution(started.arn)
        return found.status, found.output, found.error, found.cause


def test_fail_state_error_and_cause_with_nul(store: Store) -> None:
    status, _, error, cause = asyncio.run(
        run(store, FAIL_FROM_INPUT, '{"e": "E\\u0000", "c": "a\\u0000b"}')
    )
    assert (status, error, cause) == ("FAILED", "E\ufffd", "a\ufffdb")


def test_handler_output_with_a_lone_surrogate(store: Store) -> None:
    status, output, _, _ = asyncio.run(run(store, CALL, "{}"))
    assert (status, output) == ("SUCCEEDED", {"s": "a\ud800b"})


def test_handler_error_with_a_lone_surrogate_and_nul(store: Store) -> None:
    status, _, error, cause = asyncio.run(run(store, CALL, '{"raise": true}'))
    assert (status, error) == ("FAILED", "ValueError")
    assert cause is not None
    assert "bad \ufffd and \\u0000" in cause  # NUL escaped in the JSON envelope


def test_both_apis_describe_a_lone_surrogate_output(tmp_path: Path) -> None:
    """The REST history answered 500 (pydantic cannot encode a lone surrogate); it is sent as
    its \\u escape, as the AWS protocol does."""
    store = open_store(f"sqlite:///{tmp_path / 'asl.db'}")
    service = Service(store, functions={"hostile": hostile}, config=ServiceConfig(seed=2))
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        assert client.post("/v1/machines", json={"name": "m", "definition": CALL}).is_success
        arn = client.post("/v1/machines/m/executions", json={"input": {}}).json()["arn"]
        assert client.portal is not None
        client.portal.call(service.wait_for, arn)
        described = client.get(f"/v1/executions/{arn}")
        assert (described.status_code, described.json()["output"]) == (200, {"s": "a\ud800b"})
        history = client.get(f"/v1/executions/{arn}/history")
        assert history.status_code == 200
        last = history.json()["events"][-1]["details"]["executionSucceededEventDetails"]
        assert last["output"] == '{"s":"a\ud800b"}'
        for action in ("DescribeExecution", "GetExecutionHistory"):
            answer = client.post(
                "/",
                content=json.dumps({"executionArn": arn}),
                headers={"x-amz-target": f"AWSStepFunctions.{action}"},
            )
            assert answer.status_code == 200, answer.text
    store.close()
