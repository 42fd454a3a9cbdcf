"""loggingConfiguration and tracingConfiguration over boto3: stored and described as given,
AWS's rules on destinations refused with InvalidLoggingConfiguration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.live import LiveServer
from tests.api.test_awsjson_boto3 import PASS, ROLE, client_for

GROUP = "arn:aws:logs:us-east-1:111111111111:log-group:/aws/vendedlogs/states/orders:*"
DESTINATIONS = [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP}}]


@pytest.fixture(scope="module")
def sfn() -> Iterator[Any]:
    with LiveServer() as live:
        client = client_for(live.url)
        yield client
        client.close()


def test_logging_and_tracing_are_described_as_created_and_updated(sfn: Any) -> None:
    arn = sfn.create_state_machine(
        name="observed",
        definition=json.dumps(PASS),
        roleArn=ROLE,
        loggingConfiguration={
            "level": "ERROR",
            "includeExecutionData": True,
            "destinations": DESTINATIONS,
        },
        tracingConfiguration={"enabled": True},
    )["stateMachineArn"]
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["loggingConfiguration"] == {
        "level": "ERROR",
        "includeExecutionData": True,
        "destinations": DESTINATIONS,
    }
    assert described["tracingConfiguration"] == {"enabled": True}

    sfn.update_state_machine(stateMachineArn=arn, tracingConfiguration={"enabled": False})
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["tracingConfiguration"] == {"enabled": False}
    assert described["loggingConfiguration"]["level"] == "ERROR"  # untouched

    sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration={"level": "OFF"})
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}


def test_a_machine_created_without_them_describes_aws_defaults(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="plain", definition=json.dumps(PASS), roleArn=ROLE)[
        "stateMachineArn"
    ]
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert described["tracingConfiguration"] == {"enabled": False}


@pytest.mark.parametrize(
    ("logging", "message"),
    [
        ({"level": "ALL"}, "a destination is required when the level is ALL"),
        ({"level": "OFF", "destinations": DESTINATIONS * 2}, "destinations is limited to size 1"),
        (
            {
                "level": "FATAL",
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:s3:::b"}}],
            },
            "'arn:aws:s3:::b' is not a CloudWatch Logs log group ARN",
        ),
    ],
    ids=["no-destination", "two", "not-logs"],
)
def test_aws_rules_on_destinations(sfn: Any, logging: dict[str, object], message: str) -> None:
    with pytest.raises(ClientError) as caught:
        sfn.create_state_machine(
            name="refused",
            definition=json.dumps(PASS),
            roleArn=ROLE,
            loggingConfiguration=logging,
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidLoggingConfiguration"
    assert message in error["Message"]
