"""`[aws]` in asl.toml: `asl config check` reports each mistake with its key; a valid table
gives the settings the AWS backend uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.backends.aws_endpoints import AwsSettings
from engine.config import aws_settings, load_config
from tests.cli.harness import Cli


@pytest.mark.parametrize(
    ("table", "problems"),
    [
        (
            '[aws]\nallow_real_aws = "yes"\n',
            ["aws.allow_real_aws: Input should be a valid boolean"],
        ),
        (
            '[aws]\nregion = "Europe"\n',
            ["aws: region 'Europe' is not an AWS region name (e.g. us-east-1, eu-west-1)"],
        ),
        (
            "[aws]\nendpoint = 1\n",
            ["aws.endpoint: unknown key; check its spelling against docs/backends.md"],
        ),
        (
            '[aws]\nendpoint_url = "localhost:4566"\n[aws.endpoints]\ndynamo = "http://x:1"\n',
            [
                "aws.endpoints.dynamo: no AWS service is named 'dynamo'; use botocore's name "
                "(dynamodb, sqs, sns, events, s3, lambda, stepfunctions) or Step Functions' "
                "(eventbridge, sfn)",
                "aws.endpoint_url: 'localhost:4566' must start with http:// or https://",
            ],
        ),
    ],
    ids=["boolean", "region", "unknown key", "endpoints"],
)
def test_config_check_reports_aws_mistakes(cli: Cli, table: str, problems: list[str]) -> None:
    cli.write("asl.toml", table)
    done = cli("config", "check")
    assert done.code == 1, done
    assert done.out.splitlines() == [
        *(f"asl.toml: {problem}" for problem in problems),
        f"asl.toml: INVALID ({len(problems)} problems)",
    ]


def test_a_valid_aws_table_gives_the_backend_its_settings(tmp_path: Path) -> None:
    path = tmp_path / "asl.toml"
    path.write_text(
        "[aws]\n"
        'endpoint_url = "http://127.0.0.1:4566"\n'
        'region = "eu-west-1"\n'
        "[aws.endpoints]\n"
        'eventbridge = "http://127.0.0.1:4010"\n'
        'dynamodb = "http://127.0.0.1:8000"\n'
    )
    settings = aws_settings(load_config(path), environ={"AWS_ENDPOINT_URL_SQS": "http://q:1"})
    assert settings == AwsSettings(
        endpoint_url="http://127.0.0.1:4566",
        endpoints={"events": "http://127.0.0.1:4010", "dynamodb": "http://127.0.0.1:8000"},
        region="eu-west-1",
        allow_real_aws=False,
        configured=True,
        environ={"AWS_ENDPOINT_URL_SQS": "http://q:1"},
    )
    assert [settings.endpoint_for(s) for s in ("events", "dynamodb", "sqs", "s3")] == [
        "http://127.0.0.1:4010",
        "http://127.0.0.1:8000",
        "http://q:1",
        "http://127.0.0.1:4566",
    ]
