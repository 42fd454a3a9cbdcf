"""api/console.py over Starlette's TestClient: the page, its assets, auth, and the JSON it polls."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from engine.service import Service
from tests.api.test_rest import PASS, TOKENS, create, make_client, wait
from tests.service.helpers import until

BROKEN = (
    '{\n  "StartAt": "A",\n  "States": {\n    "A": {"Type": "Pass", "Next": "Nowhere"}\n  }\n}\n'
)
CHOICE = {
    "StartAt": "Pick",
    "States": {
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "End": True},
        "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "n is 1 or less"},
    },
}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with make_client() as client:
        yield client


def test_the_page_and_its_assets(client: TestClient) -> None:
    page = client.get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script src="/console/assets/console.js" defer></script>' in page.text
    script = client.get("/console/assets/console.js")
    assert (script.status_code, script.headers["content-type"]) == (
        200,
        "text/javascript; charset=utf-8",
    )
    assert client.get("/console/assets/console.css").headers["content-type"].startswith("text/css")
    missing = client.get("/console/assets/secret.py")
    assert (missing.status_code, missing.json()["__type"]) == (404, "ResourceNotFound")
    assert client.get("/console/assets/..%2Fconsole.py").status_code == 404


def test_with_a_token_only_the_page_and_assets_are_open() -> None:
    with make_client(token="s3cret") as client:
        assert client.get("/console").status_code == 200
        assert client.get("/console/assets/console.js").status_code == 200
        refused = client.get("/console/api/machines")
        assert (refused.status_code, refused.json()["__type"]) == (
            401,
            "MissingAuthenticationTokenException",
        )
        assert client.post("/console", json={}).status_code == 401
        allowed = client.get("/console/api/machines", headers={"Authorization": "Bearer s3cret"})
        assert (allowed.status_code, allowed.json()) == (200, {"machines": []})


def test_a_machine_with_its_graph_source_lines_and_versions(client: TestClient) -> None:
    text = json.dumps(CHOICE, indent=2)
    arn = create(client, "chooser", text)
    service: Service = client.service  # type: ignore[attr-defined]
    assert client.portal is not None
    client.portal.call(lambda: service.publish_version(arn, description="first"))
    client.portal.call(lambda: service.create_alias(arn, "live", [(1, 100)]))
    body = client.get(f"/console/api/machines/{arn}").json()
    assert body["machine"]["name"] == "chooser"
    assert body["source"] == text
    assert body["lines"]["/States/Big"] == [15, 18]
    root = ET.fromstring(body["svg"])
    names = [g.get("data-name") for g in root.iter("{http://www.w3.org/2000/svg}g")]
    assert [n for n in names if n] == ["Pick", "Big", "Small"]
    assert [(v["version"], v["description"]) for v in body["versions"]] == [(1, "first")]
    assert body["aliases"] == [
        {
            "arn": f"{arn}:live",
            "name": "live",
            "description": "",
            "routing": [{"version": 1, "weight": 100}],
        }
    ]


def test_an_execution_with_its_states_and_events_after_a_poll(client: TestClient) -> None:
    arn = create(client, "chooser", CHOICE)
    started = client.post(
        "/v1/machines/chooser/executions", json={"name": "one", "input": {"n": 0}}
    )
    execution = started.json()["arn"]
    assert wait(client, execution) == "FAILED"
    body = client.get(f"/console/api/executions/{execution}").json()
    assert body["execution"]["status"] == "FAILED"
    assert body["execution"]["machineArn"] == arn
    assert (body["execution"]["error"], body["execution"]["cause"]) == (
        "TooSmall",
        "n is 1 or less",
    )
    assert {k: v["status"] for k, v in body["states"].items()} == {
        "/States/Pick": "succeeded",
        "/States/Big": "not-run",
        "/States/Small": "failed",
    }
    assert body["states"]["/States/Pick"]["input"] == '{"n":0}'
    assert [e["type"] for e in body["events"]] == [
        "ExecutionStarted",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "FailStateEntered",
        "ExecutionFailed",
    ]
    assert "svg" in body
    later = client.get(f"/console/api/executions/{execution}?after=3").json()
    assert [e["id"] for e in later["events"]] == [4, 5]
    assert "svg" not in later
    assert later["children"] == []


def test_validating_a_broken_definition_locates_its_diagnostics(client: TestClient) -> None:
    body = client.post("/console/api/graph", json={"definition": BROKEN}).json()
    assert body["valid"] is False
    assert [(d["code"], d["location"], d["lines"]) for d in body["diagnostics"]] == [
        ("MISSING_TRANSITION_TARGET", "/States/A/Next", [4, 4]),
        ("MISSING_END_STATE", "/States", [3, 5]),
    ]
    assert ET.fromstring(body["svg"]).get("class") == "asl-graph"


def test_unreadable_text_is_drawn_empty_with_its_diagnostic(client: TestClient) -> None:
    body = client.post("/console/api/graph", json={"definition": "{"}).json()
    assert body["valid"] is False
    assert body["lines"] == {}
    assert len(body["diagnostics"]) == 1
    bad = client.post("/console/api/graph", json={"definition": "{}", "type": "OTHER"})
    assert (bad.status_code, bad.json()["__type"]) == (400, "ValidationException")


def test_an_unknown_execution_is_404(client: TestClient) -> None:
    missing = client.get(
        "/console/api/executions/arn:aws:states:us-east-1:111111111111:execution:x:y"
    )
    assert (missing.status_code, missing.json()["__type"]) == (404, "ExecutionDoesNotExist")
    _ = PASS


def test_child_executions_are_linked_both_ways(client: TestClient) -> None:
    child = create(client, "child", PASS)
    parent = {
        "StartAt": "Spawn",
        "States": {
            "Spawn": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child, "Input": {"n": 1}, "Name": "kid"},
                "End": True,
            }
        },
    }
    create(client, "parent", parent)
    started = client.post("/v1/machines/parent/executions", json={"name": "p1", "input": {}})
    execution = started.json()["arn"]
    assert wait(client, execution) == "SUCCEEDED"
    kid = "arn:aws:states:us-east-1:111111111111:execution:child:kid"
    body = client.get(f"/console/api/executions/{execution}").json()
    assert body["children"] == [kid]
    described = client.get(f"/console/api/executions/{kid}").json()
    assert described["execution"]["parentArn"] == execution


ASK_TWICE = {
    "StartAt": "Ask",
    "States": {
        name: {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "hand_out", "Payload": {"token.$": "$$.Task.Token"}},
            **following,
        }
        for name, following in (("Ask", {"Next": "AskAgain"}), ("AskAgain", {"End": True}))
    },
}


def history_until(client: TestClient, arn: str, count: int) -> None:
    """Wait (bounded, no fixed sleep) until `arn`'s history holds `count` events."""
    service: Service = client.service  # type: ignore[attr-defined]

    async def written() -> bool:
        return len(await service.get_history(arn)) >= count

    assert client.portal is not None
    client.portal.call(until, written)


def test_each_poll_brings_only_the_new_events_and_the_states_they_changed(
    client: TestClient,
) -> None:
    create(client, "ask", ASK_TWICE)
    execution = client.post("/v1/machines/ask/executions", json={"name": "a"}).json()["arn"]
    token = TOKENS.get(timeout=30)
    history_until(client, execution, 5)  # waiting on Ask's token
    first = client.get(f"/console/api/executions/{execution}").json()
    assert [(e["id"], e["type"]) for e in first["events"]] == [
        (1, "ExecutionStarted"),
        (2, "TaskStateEntered"),
        (3, "TaskScheduled"),
        (4, "TaskStarted"),
        (5, "TaskSubmitted"),
    ]
    assert {k: v["status"] for k, v in first["states"].items()} == {
        "/States/Ask": "running",
        "/States/AskAgain": "not-run",
    }
    nothing_new = client.get(f"/console/api/executions/{execution}?after=5").json()
    assert (nothing_new["events"], nothing_new["states"]) == ([], {})
    assert nothing_new["execution"]["status"] == "RUNNING"

    sent = client.post("/v1/callbacks/success", json={"taskToken": token, "output": {"n": 1}})
    assert sent.status_code == 204
    token = TOKENS.get(timeout=30)
    history_until(client, execution, 11)  # waiting on AskAgain's token
    second = client.get(f"/console/api/executions/{execution}?after=5").json()
    assert [(e["id"], e["type"]) for e in second["events"]] == [
        (6, "TaskSucceeded"),
        (7, "TaskStateExited"),
        (8, "TaskStateEntered"),
        (9, "TaskScheduled"),
        (10, "TaskStarted"),
        (11, "TaskSubmitted"),
    ]
    assert {k: (v["status"], v["output"]) for k, v in second["states"].items()} == {
        "/States/Ask": ("succeeded", '{"n":1}'),
        "/States/AskAgain": ("running", None),
    }
    assert "svg" not in second

    sent = client.post("/v1/callbacks/success", json={"taskToken": token, "output": {"n": 2}})
    assert sent.status_code == 204
    assert wait(client, execution) == "SUCCEEDED"
    last = client.get(f"/console/api/executions/{execution}?after=11").json()
    assert [(e["id"], e["type"]) for e in last["events"]] == [
        (12, "TaskSucceeded"),
        (13, "TaskStateExited"),
        (14, "ExecutionSucceeded"),
    ]
    assert {k: v["status"] for k, v in last["states"].items()} == {"/States/AskAgain": "succeeded"}
    assert last["execution"]["output"] == {"n": 2}
    # a page opened now (or one whose poll another API process served) gets all of it
    whole = client.get(f"/console/api/executions/{execution}?after=0").json()
    assert [e["id"] for e in whole["events"]] == list(range(1, 15))
    assert {k: v["status"] for k, v in whole["states"].items()} == {
        "/States/Ask": "succeeded",
        "/States/AskAgain": "succeeded",
    }
    behind = client.get(f"/console/api/executions/{execution}?after=12").json()
    assert [e["id"] for e in behind["events"]] == [13, 14]
    assert list(behind["states"]) == ["/States/AskAgain"]
