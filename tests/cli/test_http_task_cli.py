"""HTTP Tasks down the user's paths: `asl run` and `asl config check` as real processes, and
`asl serve` driven by boto3, each calling a real API on loopback through a connection whose
secret comes from the process's environment."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.backends.api_server import Answer, ApiServer, Seen
from tests.cli.harness import asl_process as asl
from tests.serve_process import serve_process, sfn_client

pytestmark = pytest.mark.slow

CONNECTION = "arn:aws:events:us-east-1:123456789012:connection/Orders/5f0c"
SECRET = "k3y-from-env"
CONFIG = """\
[connections.Orders]
authorization_type = "API_KEY"
api_key_name = "x-api-key"
api_key_value_env = "ORDERS_API_KEY"
"""


def definition(url: str) -> dict[str, Any]:
    return {
        "StartAt": "Fetch",
        "States": {
            "Fetch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {
                    "ApiEndpoint.$": f"States.Format('{url}/orders/{{}}', $.id)",
                    "Method": "GET",
                    "Authentication": {"ConnectionArn": CONNECTION},
                    "QueryParameters": {"expand": "lines"},
                },
                "Retry": [{"ErrorEquals": ["States.Http.StatusCode.503"], "IntervalSeconds": 1}],
                "Catch": [{"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "Missing"}],
                "ResultSelector": {"order.$": "$.ResponseBody", "status.$": "$.StatusCode"},
                "End": True,
            },
            "Missing": {"Type": "Pass", "Result": "no such order", "End": True},
        },
    }


def orders(seen: Seen) -> Answer:
    if seen.path == "/orders/7":
        return Answer(200, {"id": 7, "key": seen.header("x-api-key"), "query": seen.query})
    return Answer(404, {"message": "not found"})


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASL_", "ORDERS_"))}
    return {**env, **extra}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "asl.toml").write_text(CONFIG)
    return tmp_path


def test_asl_run_calls_the_api_with_the_connections_key(project: Path) -> None:
    with ApiServer(orders) as api:
        (project / "fetch.asl.json").write_text(json.dumps(definition(api.url)))
        env = environment(ORDERS_API_KEY=SECRET)
        found = asl(["run", "fetch.asl.json", "--input", '{"id": 7}', "--json"], project, env)
        missing = asl(["run", "fetch.asl.json", "--input", '{"id": 8}', "--json"], project, env)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["output"] == {
        "order": {"id": 7, "key": SECRET, "query": "expand=lines"},
        "status": 200,
    }
    assert json.loads(missing.stdout)["output"] == "no such order"
    assert SECRET not in found.stderr + missing.stderr + missing.stdout


def test_asl_run_without_the_secret_in_the_environment_is_refused(project: Path) -> None:
    (project / "fetch.asl.json").write_text(json.dumps(definition("http://127.0.0.1:9")))
    done = asl(["run", "fetch.asl.json", "--input", '{"id": 7}'], project, environment())
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "asl: Invalid config file asl.toml:\n"
        "  connections.Orders.api_key_value_env: the environment variable ORDERS_API_KEY is not "
        "set; export it before starting (a connection's secrets are read from the environment "
        "only)\n"
    )


def test_asl_config_check_reports_the_missing_variable(project: Path) -> None:
    done = asl(["config", "check"], project, environment())
    assert done.returncode == 1
    assert done.stdout == (
        "asl.toml: connections.Orders.api_key_value_env: the environment variable "
        "ORDERS_API_KEY is not set; export it before starting (a connection's secrets are read "
        "from the environment only)\n"
        "asl.toml: INVALID (1 problems)\n"
    )
    assert asl(["config", "check"], project, environment(ORDERS_API_KEY="x")).returncode == 0


def test_asl_serve_runs_http_tasks_for_boto3(project: Path) -> None:
    with ApiServer(orders) as api:
        args = ["--config", str(project / "asl.toml")]
        with serve_process(args, env=environment(ORDERS_API_KEY=SECRET)) as url:
            sfn = sfn_client(url)
            arn = sfn.create_state_machine(
                name="fetch", definition=json.dumps(definition(api.url)), roleArn="r"
            )["stateMachineArn"]
            outputs = []
            for order in (7, 8):
                started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"id": order}))
                for _ in range(1000):
                    described = sfn.describe_execution(executionArn=started["executionArn"])
                    if described["status"] != "RUNNING":
                        break
                    time.sleep(0.01)  # another process: polling is the only way to see it end
                assert described["status"] == "SUCCEEDED"
                outputs.append(json.loads(described["output"]))
            sfn.close()
    assert outputs == [
        {"order": {"id": 7, "key": SECRET, "query": "expand=lines"}, "status": 200},
        "no such order",
    ]
    assert [seen.path for seen in api.seen] == ["/orders/7", "/orders/8"]
