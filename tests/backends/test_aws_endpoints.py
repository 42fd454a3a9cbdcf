"""Which endpoint an AWS integration calls, and when real AWS is refused (aws_endpoints.py)."""

from __future__ import annotations

import pytest

from engine.backends.aws_endpoints import AwsClients, AwsSettings, env_var_for, is_real_aws
from engine.errors import STATES_RUNTIME
from engine.interpreter.tasks import TaskFailure

FILE = "http://file-global:1"
FILE_SQS = "http://file-sqs:1"
ENV = "http://env-global:1"
ENV_SQS = "http://env-sqs:1"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (AwsSettings(environ={}), None),
        (AwsSettings(environ={"AWS_ENDPOINT_URL": ENV}), ENV),
        (AwsSettings(endpoint_url=FILE, environ={"AWS_ENDPOINT_URL": ENV}), FILE),
        (
            AwsSettings(endpoint_url=FILE, environ={"AWS_ENDPOINT_URL_SQS": ENV_SQS}),
            ENV_SQS,
        ),
        (
            AwsSettings(
                endpoint_url=FILE,
                endpoints={"sqs": FILE_SQS},
                environ={"AWS_ENDPOINT_URL_SQS": ENV_SQS, "AWS_ENDPOINT_URL": ENV},
            ),
            FILE_SQS,
        ),
        (AwsSettings(endpoints={"dynamodb": FILE_SQS}, environ={}), None),
    ],
    ids=[
        "nothing",
        "environment",
        "file over environment",
        "per-service variable over the file's global endpoint",
        "file's per-service endpoint first",
        "another service's endpoint",
    ],
)
def test_endpoint_precedence(settings: AwsSettings, expected: str | None) -> None:
    assert settings.endpoint_for("sqs") == expected


def test_eventbridge_by_either_name() -> None:
    assert env_var_for("events") == "AWS_ENDPOINT_URL_EVENTBRIDGE"
    assert env_var_for("stepfunctions") == "AWS_ENDPOINT_URL_SFN"
    assert env_var_for("dynamodb") == "AWS_ENDPOINT_URL_DYNAMODB"
    settings = AwsSettings(endpoints={"eventbridge": FILE}, environ={})
    assert settings.endpoint_for("events") == FILE


@pytest.mark.parametrize(
    ("url", "real"),
    [
        ("https://dynamodb.us-east-1.amazonaws.com", True),
        ("https://sqs.cn-north-1.amazonaws.com.cn", True),
        ("https://dynamodb.us-east-1.api.aws", True),
        ("http://localhost:4566", False),
        ("http://127.0.0.1:5000", False),
        ("http://notamazonaws.com", False),
    ],
)
def test_real_aws_hosts(url: str, real: bool) -> None:
    assert is_real_aws(url) is real


def test_enabled_by_a_table_or_a_variable() -> None:
    assert not AwsSettings(environ={"AWS_REGION": "eu-west-1"}).enabled
    assert AwsSettings(environ={"AWS_ENDPOINT_URL_S3": ENV}).enabled
    assert AwsSettings(configured=True, environ={}).enabled


def test_real_aws_is_refused_unless_allowed() -> None:
    settings = AwsSettings(configured=True, environ={})
    assert settings.refusal("dynamodb", None) == TaskFailure(
        STATES_RUNTIME,
        "Calling AWS service 'dynamodb' is refused: no endpoint is configured for 'dynamodb'. "
        "Point it at a local endpoint ([aws.endpoints] dynamodb = URL or [aws] endpoint_url in "
        "asl.toml, or AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL), or set [aws] "
        "allow_real_aws = true to call real AWS with your credentials (docs/integrations.md).",
    )
    real = "https://sqs.us-east-1.amazonaws.com"
    refused = settings.refusal("sqs", real)
    assert refused is not None
    assert refused.cause is not None
    assert refused.cause.startswith(
        "Calling AWS service 'sqs' is refused: its endpoint https://sqs.us-east-1.amazonaws.com "
        "is real AWS."
    )
    assert settings.refusal("sqs", "http://localhost:4566") is None
    allowed = AwsSettings(configured=True, allow_real_aws=True, environ={})
    assert allowed.refusal("sqs", None) is None
    assert allowed.refusal("sqs", real) is None


def test_a_retried_call_leaves_the_shared_random_generator_alone() -> None:
    # botocore's standard retries draw their jitter from `random`'s shared generator unless
    # the client is given the OS's; a retried call on a pool thread then moved a user's seeded
    # sequence (and failed a Hypothesis test running beside it in CI).
    import random
    import socket

    from botocore.exceptions import EndpointConnectionError

    with socket.socket() as probe:  # a loopback port nobody listens on: refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clients = AwsClients(AwsSettings(environ={}))
    client = clients.client("sqs", f"http://127.0.0.1:{port}", "us-east-1")
    random.seed(7)
    before = random.getstate()
    with pytest.raises(EndpointConnectionError):
        client.list_queues()
    assert random.getstate() == before
