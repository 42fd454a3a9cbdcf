"""The AWS integrations down every user-visible path: `asl run` with `[aws]` in asl.toml and
with AWS_ENDPOINT_URL, `asl start` + `asl worker`, and `asl serve` driven by boto3 (a machine
created and run through the API, calling DynamoDB and waiting for an SQS task token)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.aws.helpers import aws_config, make_queue, make_table, md5, receive
from tests.aws_server import aws_client, aws_env
from tests.cli.harness import Cli, poll
from tests.cli.harness import asl_process as asl
from tests.serve_process import serve_process, sfn_client


def put_then_get(table: str) -> dict[str, Any]:
    return {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table, "Item": {"id": {"S.$": "$.id"}}},
                "ResultPath": None,
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"id": {"S.$": "$.id"}}},
                "End": True,
            },
        },
    }


def test_asl_run_with_aws_in_asl_toml(moto_endpoint: str, tmp_path: Path) -> None:
    table = make_table(moto_endpoint)
    (tmp_path / "m.asl.json").write_text(json.dumps(put_then_get(table)))
    aws_config(tmp_path, moto_endpoint)
    env = {k: v for k, v in aws_env("http://unused.invalid").items() if k != "AWS_ENDPOINT_URL"}
    done = asl(["run", "m.asl.json", "--input", '{"id": "cli"}', "--json"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["output"]) == ("SUCCEEDED", {"Item": {"id": {"S": "cli"}}})


def test_asl_run_with_aws_endpoint_url(moto_endpoint: str, tmp_path: Path) -> None:
    queue = make_queue(moto_endpoint)
    machine = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessage",
                "Parameters": {"QueueUrl": queue, "MessageBody": "from env"},
                "End": True,
            }
        },
    }
    (tmp_path / "send.asl.json").write_text(json.dumps(machine))
    done = asl(["run", "send.asl.json", "--json"], tmp_path, aws_env(moto_endpoint))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    [message] = receive(moto_endpoint, queue)
    assert result["output"] == {
        "Md5OfMessageBody": md5("from env"),
        "MessageId": message["MessageId"],
    }


def test_asl_start_and_worker(
    moto_endpoint: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = make_table(moto_endpoint)
    for name, value in aws_env(moto_endpoint).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    path = cli.write("store_item.asl.json", put_then_get(table))
    started = cli("start", path, "--name", "w1", "--detach", "--input", '{"id": "worker"}')
    assert started.code == 0, started
    arn = started.json()["executionArn"]
    cli.worker_until_idle()
    described = cli.describe(arn)
    assert (described["status"], json.loads(described["output"])) == (
        "SUCCEEDED",
        {"Item": {"id": {"S": "worker"}}},
    )


def test_asl_serve_through_boto3(moto_endpoint: str, tmp_path: Path) -> None:
    table = make_table(moto_endpoint)
    queue = make_queue(moto_endpoint)
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table, "Item": {"id": {"S.$": "$.id"}}},
                "ResultPath": None,
                "Next": "Approve",
            },
            "Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue,
                    "MessageBody": {"token.$": "$$.Task.Token", "id.$": "$.id"},
                },
                "End": True,
            },
        },
    }
    env = aws_env(moto_endpoint)
    with serve_process([], env=env) as url:
        sfn = sfn_client(url)
        machine = sfn.create_state_machine(
            name="approvals",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::111111111111:role/r",
        )["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine, input='{"id": "s-1"}')["executionArn"]
        messages = poll(lambda: receive(moto_endpoint, queue) or None, "the task token's message")
        body = json.loads(messages[0]["Body"])
        assert body["id"] == "s-1"
        sfn.send_task_success(taskToken=body["token"], output='{"approved": true}')
        described = poll(
            lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
            "the execution to close",
        )
        assert (described["status"], described["output"]) == ("SUCCEEDED", '{"approved":true}')
    item = aws_client("dynamodb", moto_endpoint).get_item(TableName=table, Key={"id": {"S": "s-1"}})
    assert item["Item"] == {"id": {"S": "s-1"}}
