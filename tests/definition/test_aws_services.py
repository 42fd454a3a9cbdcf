"""Step Functions' names for AWS services, actions, members and errors (aws_services.py)."""

from __future__ import annotations

import pytest

from engine.definition.aws_services import (
    Integration,
    botocore_service,
    error_prefix,
    operation_model,
    parse_integration,
    sfn_member_name,
    snake_case,
)


@pytest.mark.parametrize(
    ("sfn", "botocore", "prefix"),
    [
        ("dynamodb", "dynamodb", "DynamoDb"),
        ("sfn", "stepfunctions", "Sfn"),
        ("eventbridge", "events", "EventBridge"),
        ("s3", "s3", "S3"),
        ("sqs", "sqs", "Sqs"),
        ("sns", "sns", "Sns"),
        ("lambda", "lambda", "Lambda"),
        ("acmpca", "acm-pca", "AcmPca"),  # the AWS guide's own example: AcmPca.ResourceNot...
        ("bedrockagent", "bedrock-agent", "BedrockAgent"),
        ("redshiftdata", "redshift-data", "RedshiftData"),
        ("cloudwatchlogs", "logs", "CloudWatchLogs"),
        ("secretsmanager", "secretsmanager", "SecretsManager"),
        ("ec2", "ec2", "Ec2"),
        ("config", "config", "Config"),
    ],
    ids=lambda value: str(value),
)
def test_service_names(sfn: str, botocore: str, prefix: str) -> None:
    assert (botocore_service(sfn), error_prefix(sfn)) == (botocore, prefix)


@pytest.mark.parametrize("name", ["events", "stepfunctions", "logs", "nosuchservice", "acm-pca"])
def test_botocore_names_step_functions_does_not_accept(name: str) -> None:
    assert botocore_service(name) is None


@pytest.mark.parametrize(
    ("service", "action", "operation"),
    [
        ("dynamodb", "putItem", "PutItem"),
        ("s3", "listObjectsV2", "ListObjectsV2"),
        ("rds", "describeDBInstances", "DescribeDBInstances"),
        ("sfn", "startExecution", "StartExecution"),
        ("eventbridge", "putEvents", "PutEvents"),
    ],
)
def test_actions_are_operations(service: str, action: str, operation: str) -> None:
    model = operation_model(service, action)
    assert model is not None
    assert model.name == operation


def test_unknown_action() -> None:
    assert operation_model("sqs", "sendMessages") is None


@pytest.mark.parametrize(
    ("member", "snake", "sfn"),
    [
        ("MD5OfMessageBody", "md5_of_message_body", "Md5OfMessageBody"),
        ("SSEKMSKeyId", "ssekms_key_id", "SsekmsKeyId"),
        ("ETag", "e_tag", "ETag"),
        ("MessageId", "message_id", "MessageId"),
        ("putItem", "put_item", "PutItem"),
    ],
)
def test_member_names(member: str, snake: str, sfn: str) -> None:
    assert (snake_case(member), sfn_member_name(member)) == (snake, sfn)


@pytest.mark.parametrize(
    ("resource", "integration"),
    [
        (
            "arn:aws:states:::aws-sdk:dynamodb:putItem",
            Integration("dynamodb", "putItem", sdk=True, pattern=None),
        ),
        (
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            Integration("sqs", "sendMessage", sdk=False, pattern="waitForTaskToken"),
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            Integration("states", "startExecution", sdk=False, pattern="sync:2"),
        ),
        ("arn:aws:lambda:us-east-1:111111111111:function:f", None),
        ("arn:aws:states:::sqs", None),
    ],
)
def test_parse_integration(resource: str, integration: Integration | None) -> None:
    assert parse_integration(resource) == integration
