"""The AWS JSON 1.0 endpoint end to end: the real boto3 client against a live uvicorn server."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from engine.store.open import open_store
from tests.api.live import LiveServer

ROLE = "arn:aws:iam::111111111111:role/test"
ARN = "arn:aws:states:us-east-1:111111111111"

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
WAIT_LONG = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": True}}}
CALLBACK = {
    "StartAt": "Callback",
    "States": {
        "Callback": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "hand_out", "Payload": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
    },
}
ACTIVITY_MACHINE = {
    "StartAt": "Work",
    "States": {
        "Work": {"Type": "Task", "Resource": f"{ARN}:activity:workers", "End": True},
    },
}
FLAKY = {
    "StartAt": "Flaky",
    "States": {
        "Flaky": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:flaky",
            "End": True,
        }
    },
}

TOKENS: queue.Queue[str] = queue.Queue()
FLAKY_CALLS: list[int] = []


def hand_out(event: dict[str, str], context: object) -> dict[str, str]:
    TOKENS.put(event["token"])
    return {}


def flaky(event: object, context: object) -> dict[str, str]:
    FLAKY_CALLS.append(1)
    if len(FLAKY_CALLS) == 1:
        raise RuntimeError("first call fails")
    return {"ok": "yes"}


def client_for(url: str, key: str = "x", **config: Any) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, **config),
    )


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(functions={"hand_out": hand_out, "flaky": flaky}) as live:
        yield live


@pytest.fixture
def sfn(server: LiveServer) -> Iterator[Any]:
    client = client_for(server.url)
    yield client
    client.close()


def machine(sfn: Any, name: str, definition: dict[str, object] = PASS, **kwargs: Any) -> str:
    arn: str = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE, **kwargs
    )["stateMachineArn"]
    return arn


def error_of(call: Callable[[], object]) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# -- the life of an execution ---------------------------------------------------------------------


def test_create_start_describe_history(server: LiveServer, sfn: Any) -> None:
    arn = machine(sfn, "life")
    assert arn == f"{ARN}:stateMachine:life"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert (described["name"], described["type"], described["status"]) == (
        "life",
        "STANDARD",
        "ACTIVE",
    )
    assert json.loads(described["definition"]) == PASS
    assert described["roleArn"] == ROLE
    assert isinstance(described["creationDate"], datetime)

    started = sfn.start_execution(stateMachineArn=arn, name="first", input='{"a": 1}')
    assert started["executionArn"] == f"{ARN}:execution:life:first"
    assert isinstance(started["startDate"], datetime)
    assert server.wait(started["executionArn"]) == "SUCCEEDED"

    execution = sfn.describe_execution(executionArn=started["executionArn"])
    assert {k: execution[k] for k in ("name", "status", "input", "output", "stateMachineArn")} == {
        "name": "first",
        "status": "SUCCEEDED",
        "input": '{"a":1}',
        "output": '{"a":1}',
        "stateMachineArn": arn,
    }
    assert execution["stopDate"] >= execution["startDate"]

    events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    assert [(e["id"], e["previousEventId"], e["type"]) for e in events] == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "PassStateEntered"),
        (3, 2, "PassStateExited"),
        (4, 3, "ExecutionSucceeded"),
    ]
    assert events[3]["executionSucceededEventDetails"]["output"] == '{"a":1}'
    bare = sfn.get_execution_history(
        executionArn=started["executionArn"], includeExecutionData=False
    )["events"]
    assert "output" not in bare[3]["executionSucceededEventDetails"]
    newest = sfn.get_execution_history(executionArn=started["executionArn"], reverseOrder=True)
    assert [e["id"] for e in newest["events"]] == [4, 3, 2, 1]

    for_execution = sfn.describe_state_machine_for_execution(executionArn=started["executionArn"])
    assert (for_execution["stateMachineArn"], json.loads(for_execution["definition"])) == (
        arn,
        PASS,
    )
    names = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    assert "life" in names


def test_start_is_idempotent_while_running_and_stop_aborts(server: LiveServer, sfn: Any) -> None:
    arn = machine(sfn, "waiting", WAIT_LONG)
    first = sfn.start_execution(stateMachineArn=arn, name="same", input="{}")
    again = sfn.start_execution(stateMachineArn=arn, name="same", input="{}")
    assert again["executionArn"] == first["executionArn"]
    code, status = error_of(
        lambda: sfn.start_execution(stateMachineArn=arn, name="same", input='{"other": 1}')
    )
    assert (code, status) == ("ExecutionAlreadyExists", 400)
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert [e["name"] for e in running] == ["same"]
    sfn.stop_execution(executionArn=first["executionArn"], error="Halt", cause="test")
    assert server.wait(first["executionArn"]) == "ABORTED"
    stopped = sfn.describe_execution(executionArn=first["executionArn"])
    assert (stopped["status"], stopped["error"], stopped["cause"]) == ("ABORTED", "Halt", "test")


def test_start_sync_execution_on_express(server: LiveServer) -> None:
    # boto3 sends StartSyncExecution to `sync-<host>`: with an IP endpoint the client must not
    # inject the prefix (docs/api.md)
    sfn = client_for(server.url, inject_host_prefix=False)
    try:
        arn = machine(sfn, "express", PASS, type="EXPRESS")
        result = sfn.start_sync_execution(stateMachineArn=arn, name="sync1", input='{"x": [1]}')
        assert (result["status"], result["output"], result["name"]) == (
            "SUCCEEDED",
            '{"x":[1]}',
            "sync1",
        )
        assert result["executionArn"].startswith(f"{ARN}:express:express:sync1:")
        assert result["billingDetails"]["billedDurationInMilliseconds"] >= 100
        code, _ = error_of(
            lambda: sfn.start_sync_execution(stateMachineArn=machine(sfn, "standard-sync"))
        )
        assert code == "StateMachineTypeNotSupported"
    finally:
        sfn.close()


def test_start_sync_execution_on_the_sync_host(server: LiveServer) -> None:
    """The default client (host prefix injected) is served: only the Host header differs."""
    sfn = client_for(server.url)
    seen: list[str] = []

    def keep_sync_host(request: Any, **kwargs: Any) -> None:
        prefixed = f"sync-127.0.0.1:{server.port}"
        if prefixed in request.url:
            seen.append(request.url)
            request.url = request.url.replace(prefixed, f"127.0.0.1:{server.port}")
            request.headers["Host"] = prefixed

    sfn.meta.events.register("before-send.states.StartSyncExecution", keep_sync_host)
    try:
        arn = machine(sfn, "express-host", PASS, type="EXPRESS")
        result = sfn.start_sync_execution(stateMachineArn=arn, input="[1,2]")
        assert (result["status"], result["output"]) == ("SUCCEEDED", "[1,2]")
        assert seen == [f"http://sync-127.0.0.1:{server.port}/"]
    finally:
        sfn.close()


# -- callbacks, activities, redrive ---------------------------------------------------------------


def test_wait_for_task_token_callbacks(server: LiveServer, sfn: Any) -> None:
    arn = machine(sfn, "callback", CALLBACK)
    ok = sfn.start_execution(stateMachineArn=arn, name="ok")["executionArn"]
    token = TOKENS.get(timeout=30)
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output='{"approved": true}')
    assert server.wait(ok) == "SUCCEEDED"
    assert sfn.describe_execution(executionArn=ok)["output"] == '{"approved":true}'

    failing = sfn.start_execution(stateMachineArn=arn, name="no")["executionArn"]
    token = TOKENS.get(timeout=30)
    sfn.send_task_failure(taskToken=token, error="Rejected", cause="by a human")
    assert server.wait(failing) == "FAILED"
    failed = sfn.describe_execution(executionArn=failing)
    assert (failed["error"], failed["cause"]) == ("Rejected", "by a human")
    code, _ = error_of(lambda: sfn.send_task_success(taskToken=token, output="{}"))
    assert code == "TaskDoesNotExist"


def test_activities(server: LiveServer, sfn: Any) -> None:
    activity = sfn.create_activity(name="workers")["activityArn"]
    assert activity == f"{ARN}:activity:workers"
    assert sfn.describe_activity(activityArn=activity)["name"] == "workers"
    assert "workers" in [a["name"] for a in sfn.list_activities()["activities"]]
    arn = machine(sfn, "with-activity", ACTIVITY_MACHINE)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"job": 7}')["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="w1")
    assert json.loads(task["input"]) == {"job": 7}
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done": 7}')
    assert server.wait(execution) == "SUCCEEDED"
    assert sfn.describe_execution(executionArn=execution)["output"] == '{"done":7}'
    sfn.delete_activity(activityArn=activity)
    code, _ = error_of(lambda: sfn.describe_activity(activityArn=activity))
    assert code == "ActivityDoesNotExist"


def test_redrive_a_failed_execution(server: LiveServer, sfn: Any) -> None:
    arn = machine(sfn, "flaky", FLAKY)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert server.wait(execution) == "FAILED"
    assert sfn.describe_execution(executionArn=execution)["redriveStatus"] == "REDRIVABLE"
    assert isinstance(sfn.redrive_execution(executionArn=execution)["redriveDate"], datetime)
    assert server.wait(execution) == "SUCCEEDED"
    done = sfn.describe_execution(executionArn=execution)
    assert (done["redriveCount"], done["output"]) == (1, '{"ok":"yes"}')
    code, _ = error_of(lambda: sfn.redrive_execution(executionArn=execution))
    assert code == "ExecutionNotRedrivable"


# -- versions, aliases, tags, validation ----------------------------------------------------------


def test_versions_and_aliases(server: LiveServer, sfn: Any) -> None:
    created = sfn.create_state_machine(
        name="versioned", definition=json.dumps(PASS), roleArn=ROLE, publish=True
    )
    arn = created["stateMachineArn"]
    assert created["stateMachineVersionArn"] == f"{arn}:1"
    again = sfn.publish_state_machine_version(stateMachineArn=arn, description="same")
    assert again["stateMachineVersionArn"] == f"{arn}:1"
    changed = {"StartAt": "Q", "States": {"Q": {"Type": "Pass", "Result": 2, "End": True}}}
    updated = sfn.update_state_machine(
        stateMachineArn=arn, definition=json.dumps(changed), publish=True
    )
    assert updated["stateMachineVersionArn"] == f"{arn}:2"
    versions = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [f"{arn}:2", f"{arn}:1"]
    assert json.loads(sfn.describe_state_machine(stateMachineArn=f"{arn}:1")["definition"]) == PASS

    alias = sfn.create_state_machine_alias(
        name="live",
        routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 100}],
    )["stateMachineAliasArn"]
    assert alias == f"{arn}:live"
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert described["routingConfiguration"] == [
        {"stateMachineVersionArn": f"{arn}:1", "weight": 100}
    ]
    execution = sfn.start_execution(stateMachineArn=alias, input='{"v": 1}')["executionArn"]
    assert server.wait(execution) == "SUCCEEDED"
    ran = sfn.describe_execution(executionArn=execution)
    assert (ran["output"], ran["stateMachineAliasArn"], ran["stateMachineVersionArn"]) == (
        '{"v":1}',
        alias,
        f"{arn}:1",
    )
    sfn.update_state_machine_alias(
        stateMachineAliasArn=alias,
        routingConfiguration=[{"stateMachineVersionArn": f"{arn}:2", "weight": 100}],
    )
    execution = sfn.start_execution(stateMachineArn=alias)["executionArn"]
    assert server.wait(execution) == "SUCCEEDED"
    assert sfn.describe_execution(executionArn=execution)["output"] == "2"
    aliases = sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in aliases] == [alias]
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    assert sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"] == []
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:1")
    versions = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [f"{arn}:2"]


def test_tags(sfn: Any) -> None:
    arn = machine(sfn, "tagged", tags=[{"key": "team", "value": "a"}])
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "env", "value": "dev"},
        {"key": "team", "value": "a"},
    ]
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
    code, _ = error_of(lambda: sfn.list_tags_for_resource(resourceArn=f"{ARN}:stateMachine:nope"))
    assert code == "ResourceNotFound"


def test_validate_state_machine_definition(sfn: Any) -> None:
    ok = sfn.validate_state_machine_definition(definition=json.dumps(PASS))
    assert (ok["result"], ok["diagnostics"]) == ("OK", [])
    bad = sfn.validate_state_machine_definition(
        definition=json.dumps({"StartAt": "Nowhere", "States": PASS["States"]})
    )
    assert bad["result"] == "FAIL"
    assert bad["diagnostics"]
    first = bad["diagnostics"][0]
    assert (first["severity"], first["location"]) == ("ERROR", "/StartAt")
    assert first["code"]
    assert first["message"]


# -- errors and paging ----------------------------------------------------------------------------

MISSING_EXECUTION = f"{ARN}:execution:life:never"


@pytest.mark.parametrize(
    ("action", "kwargs", "code"),
    [
        ("describe_execution", {"executionArn": MISSING_EXECUTION}, "ExecutionDoesNotExist"),
        ("describe_execution", {"executionArn": "not-an-arn"}, "InvalidArn"),
        ("get_execution_history", {"executionArn": MISSING_EXECUTION}, "ExecutionDoesNotExist"),
        (
            "describe_state_machine",
            {"stateMachineArn": f"{ARN}:stateMachine:nope"},
            "StateMachineDoesNotExist",
        ),
        ("start_execution", {"stateMachineArn": "arn:aws:s3:::bucket"}, "InvalidArn"),
        (
            "create_state_machine",
            {"name": "bad", "definition": '{"StartAt": "X", "States": {}}', "roleArn": ROLE},
            "InvalidDefinition",
        ),
        (
            "create_state_machine",
            {"name": "bad", "definition": "{not json", "roleArn": ROLE},
            "InvalidDefinition",
        ),
        (
            "create_state_machine",
            {"name": "has space", "definition": json.dumps(PASS), "roleArn": ROLE},
            "InvalidName",
        ),
        (
            "create_state_machine",
            {"name": "n" * 81, "definition": json.dumps(PASS), "roleArn": ROLE},
            "ValidationException",
        ),
        ("send_task_success", {"taskToken": "unknown", "output": "{}"}, "TaskDoesNotExist"),
        ("describe_activity", {"activityArn": f"{ARN}:activity:none"}, "ActivityDoesNotExist"),
        (
            "list_executions",
            {"stateMachineArn": f"{ARN}:stateMachine:nope"},
            "StateMachineDoesNotExist",
        ),
    ],
    ids=[
        "execution-missing",
        "execution-bad-arn",
        "history-missing",
        "machine-missing",
        "start-bad-arn",
        "definition-invalid",
        "definition-not-json",
        "name-invalid",
        "name-too-long",
        "token-unknown",
        "activity-missing",
        "list-machine-missing",
    ],
)
def test_errors(sfn: Any, action: str, kwargs: dict[str, object], code: str) -> None:
    assert error_of(lambda: getattr(sfn, action)(**kwargs)) == (code, 400)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"input": "{not json"}, "InvalidExecutionInput"),
        ({"input": '"' + "x" * (256 * 1024) + '"'}, "ValidationException"),
        ({"name": "bad/name"}, "InvalidName"),
    ],
    ids=["input-not-json", "input-too-large", "name-invalid"],
)
def test_start_errors(sfn: Any, kwargs: dict[str, str], code: str) -> None:
    arn = machine(sfn, "start-errors")
    assert error_of(lambda: sfn.start_execution(stateMachineArn=arn, **kwargs)) == (code, 400)


def test_invalid_definition_message_names_the_problem(sfn: Any) -> None:
    with pytest.raises(ClientError) as caught:
        sfn.create_state_machine(
            name="bad", definition='{"StartAt": "X", "States": {}}', roleArn=ROLE
        )
    assert caught.value.response["Error"]["Message"].startswith(
        "Invalid State Machine Definition: "
    )


def test_pagination(server: LiveServer, sfn: Any) -> None:
    arn = machine(sfn, "paged")
    arns = [
        sfn.start_execution(stateMachineArn=arn, name=f"e{i}")["executionArn"] for i in range(5)
    ]
    for execution in arns:
        assert server.wait(execution) == "SUCCEEDED"
    pages: list[list[str]] = []
    token = None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = sfn.list_executions(stateMachineArn=arn, maxResults=2, **kwargs)
        pages.append([e["name"] for e in page["executions"]])
        token = page.get("nextToken")
        if token is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(n for p in pages for n in p) == ["e0", "e1", "e2", "e3", "e4"]

    paginator = sfn.get_paginator("get_execution_history")
    ids = [
        [e["id"] for e in page["events"]]
        for page in paginator.paginate(
            executionArn=arns[0], reverseOrder=True, PaginationConfig={"PageSize": 3}
        )
    ]
    assert ids == [[4, 3, 2], [1]]
    code, _ = error_of(lambda: sfn.get_execution_history(executionArn=arns[0], nextToken="garbage"))
    assert code == "InvalidToken"

    listed = [
        [m["name"] for m in page["stateMachines"]]
        for page in sfn.get_paginator("list_state_machines").paginate(
            PaginationConfig={"PageSize": 1}
        )
    ]
    assert all(len(p) == 1 for p in listed)
    assert "paged" in [n for p in listed for n in p]


# -- a token-protected server; a SQLite store; the AWS CLI ----------------------------------------


def test_token_is_the_access_key() -> None:
    with LiveServer(token="s3cret") as live:
        good = client_for(live.url, key="s3cret")
        bad = client_for(live.url, key="wrong")
        try:
            assert good.list_state_machines()["stateMachines"] == []
            assert error_of(bad.list_state_machines) == ("UnrecognizedClientException", 403)
        finally:
            good.close()
            bad.close()


def test_sqlite_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'api.db'}")
    try:
        with LiveServer(store) as live:
            sfn = client_for(live.url)
            try:
                arn = machine(sfn, "durable")
                execution = sfn.start_execution(stateMachineArn=arn, input="[3]")["executionArn"]
                assert live.wait(execution) == "SUCCEEDED"
                assert sfn.describe_execution(executionArn=execution)["output"] == "[3]"
                assert len(sfn.get_execution_history(executionArn=execution)["events"]) == 4
            finally:
                sfn.close()
    finally:
        store.close()


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI (`aws`) is not installed")
def test_aws_cli(server: LiveServer, sfn: Any) -> None:
    arn = machine(sfn, "cli")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        # StartSyncExecution goes to the `sync-` host otherwise (docs/api.md)
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }

    def aws(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            ["aws", "stepfunctions", *args, "--endpoint-url", server.url, "--output", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
        return result

    started = aws("start-execution", "--state-machine-arn", arn, "--input", '{"cli": true}')
    assert server.wait(started["executionArn"]) == "SUCCEEDED"
    described = aws("describe-execution", "--execution-arn", started["executionArn"])
    assert (described["status"], described["output"]) == ("SUCCEEDED", '{"cli":true}')
    express = machine(sfn, "cli-express", type="EXPRESS")
    synced = aws("start-sync-execution", "--state-machine-arn", express, "--input", "[7]")
    assert (synced["status"], synced["output"]) == ("SUCCEEDED", "[7]")
