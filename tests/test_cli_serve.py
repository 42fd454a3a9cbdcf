"""`asl serve`: the binding rule, and a real server process answering boto3."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from engine.cli import main
from engine.cli.serve import binding_problem
from tests.serve_process import serve_process, sfn_client

REFUSED = (
    "refusing to serve on {host} without authentication: pass --token TOKEN (or set "
    "ASL_API_TOKEN) so clients must present it, or --insecure to serve anyone who can reach "
    "this address"
)


@pytest.mark.parametrize(
    ("host", "token", "insecure", "refused"),
    [
        ("127.0.0.1", None, False, False),
        ("127.8.9.10", None, False, False),
        ("localhost", None, False, False),
        ("::1", None, False, False),
        ("0.0.0.0", None, False, True),
        ("192.168.1.5", None, False, True),
        ("example.com", None, False, True),
        ("0.0.0.0", "t0ken", False, False),
        ("0.0.0.0", None, True, False),
    ],
    ids=[
        "loopback",
        "loopback-range",
        "localhost",
        "ipv6-loopback",
        "any-address",
        "lan-address",
        "host-name",
        "with-token",
        "insecure",
    ],
)
def test_binding_rule(host: str, token: str | None, insecure: bool, refused: bool) -> None:
    expected = REFUSED.format(host=host) if refused else None
    assert binding_problem(host, token, insecure) == expected


def test_serve_refuses_a_public_address_without_a_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASL_API_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--store", "memory://"]) == 2
    assert capsys.readouterr().err == f"asl: {REFUSED.format(host='0.0.0.0')}\n"


@pytest.mark.slow
def test_serve_process_answers_boto3(tmp_path: Path) -> None:
    functions = tmp_path / "handlers.py"
    functions.write_text("def double(event, context):\n    return event['n'] * 2\n")
    with serve_process(["--functions", str(functions)]) as url:
        sfn = sfn_client(url)
        definition = {
            "StartAt": "Double",
            "States": {
                "Double": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:111111111111:function:double",
                    "End": True,
                }
            },
        }
        arn = sfn.create_state_machine(
            name="double", definition=json.dumps(definition), roleArn="r", type="EXPRESS"
        )["stateMachineArn"]
        result = sfn.start_sync_execution(stateMachineArn=arn, input='{"n": 21}')
        assert (result["status"], result["output"]) == ("SUCCEEDED", "42")
        sfn.close()


@pytest.mark.slow
def test_serve_with_virtual_time_finishes_a_long_wait_at_once(tmp_path: Path) -> None:
    """`asl serve --virtual-time` (a test server): a one-year Wait takes no real time."""
    definition = {
        "StartAt": "Year",
        "States": {"Year": {"Type": "Wait", "Seconds": 365 * 86_400, "End": True}},
    }
    with serve_process(["--virtual-time"]) as url:
        sfn = sfn_client(url)
        machine = sfn.create_state_machine(
            name="year", definition=json.dumps(definition), roleArn="r"
        )["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        for _ in range(500):
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.01)  # a real server in another process: polling is the only way
        assert described["status"] == "SUCCEEDED"
        history = sfn.get_execution_history(executionArn=arn)["events"]
        entered, exited = history[1]["timestamp"], history[2]["timestamp"]
        assert (exited - entered).total_seconds() == 365 * 86_400
        sfn.close()
