"""AWS services as Step Functions names them, looked up in botocore's service models.

Owns: parsing a service-integration Resource (`arn:aws:states:::aws-sdk:<service>:<action>`
and the optimized `arn:aws:states:::<service>:<action>`, with `.waitForTaskToken`), mapping
Step Functions' service name to botocore's (`sfn` -> `stepfunctions`, `eventbridge` ->
`events`) and its camelCase action to botocore's operation, the parameters each optimized
integration accepts, the name conversions (`Md5OfMessageBody`), and the `Service.` prefix of
error names. Must never: call a service or build a client (engine/backends/aws_sdk.py does).

botocore is imported on the first lookup that needs a model, never at module import: the
validator checks an `aws-sdk:` Task with it, and an ordinary machine never loads it.

Naming, as Step Functions does it (docs: "Learning to use AWS service SDK integrations in Step
Functions", section "Using AWS SDK service integrations"): the service name is the AWS SDK for
Java 2.x module name, which is the model's `serviceId` in lower case without spaces (`Redshift
Data` -> `redshiftdata`, `EventBridge` -> `eventbridge`, `SFN` -> `sfn`); parameters are
PascalCase; an error is `ServiceName.ErrorName`, both PascalCase, the error always ending in
`Exception` (`AcmPca.ResourceNotFoundException`, `S3.BucketAlreadyExistsException`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel

__all__ = [
    "AWS_SDK_PREFIX",
    "INTEGRATION_PATTERNS",
    "OPTIMIZED_PARAMETERS",
    "START_EXECUTION_PARAMETERS",
    "WAIT_FOR_TASK_TOKEN",
    "Integration",
    "botocore_service",
    "error_prefix",
    "operation_model",
    "parse_integration",
    "pascal_case",
    "sfn_member_name",
    "snake_case",
    "unknown_pattern",
]

STATES_PREFIX: Final = "arn:aws:states:::"
AWS_SDK_PREFIX: Final = STATES_PREFIX + "aws-sdk:"
WAIT_FOR_TASK_TOKEN: Final = ".waitForTaskToken"  # noqa: S105 - a suffix, not a password

# Where a serviceId's Java module name differs from botocore's name without hyphens. Computed
# from botocore 1.44's models (serviceId lower-cased, spaces and hyphens removed, and the same
# without a trailing "service", as the Java SDK drops it from client names); every other
# service's Step Functions name is botocore's name without hyphens (`bedrock-agent` ->
# `bedrockagent`, `redshift-data` -> `redshiftdata`, recorded in aws-samples definitions).
_RENAMED: Final[Mapping[str, str]] = {
    "applicationdiscovery": "discovery",
    "applicationdiscoveryservice": "discovery",
    "cloudwatchlogs": "logs",
    "cognitoidentityprovider": "cognito-idp",
    "configservice": "config",
    "costandusagereport": "cur",
    "costandusagereportservice": "cur",
    "costexplorer": "ce",
    "databasemigration": "dms",
    "databasemigrationservice": "dms",
    "directory": "ds",
    "directoryservice": "ds",
    "directoryservicedata": "ds-data",
    "elasticloadbalancing": "elb",
    "elasticloadbalancingv2": "elbv2",
    "elasticsearch": "es",
    "elasticsearchservice": "es",
    "eventbridge": "events",
    "iotdataplane": "iot-data",
    "iotjobsdataplane": "iot-jobs-data",
    "lexmodelbuilding": "lex-models",
    "lexmodelbuildingservice": "lex-models",
    "lexmodelsv2": "lexv2-models",
    "lexruntimeservice": "lex-runtime",
    "lexruntimev2": "lexv2-runtime",
    "marketplaceentitlementservice": "marketplace-entitlement",
    "marketplacemetering": "meteringmarketplace",
    "migrationhub": "mgh",
    "pinpointsmsvoice": "sms-voice",
    "serverlessapplicationrepository": "serverlessrepo",
    "sfn": "stepfunctions",
    "simpledb": "sdb",
}

_BOTOCORE_ONLY: Final = frozenset(_RENAMED.values()) - {"config"}
"""botocore names that are not Step Functions names (`events`, `logs`, `stepfunctions`);
`config` is both (serviceId `Config Service`, Java module `config`)."""

OPTIMIZED_PARAMETERS: Final[Mapping[str, Mapping[str, frozenset[str]]]] = {
    # The request fields each optimized integration passes on (the rest are not supported by
    # Step Functions). As LocalStack's integrations list them (state_task_service_dynamodb.py,
    # _sqs.py, _sns.py, _events.py), matching the AWS guide's "Supported ... APIs" pages.
    "dynamodb": {
        "getItem": frozenset(
            [
                "Key",
                "TableName",
                "AttributesToGet",
                "ConsistentRead",
                "ExpressionAttributeNames",
                "ProjectionExpression",
                "ReturnConsumedCapacity",
            ]
        ),
        "putItem": frozenset(
            [
                "Item",
                "TableName",
                "ConditionalOperator",
                "ConditionExpression",
                "Expected",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
                "ReturnConsumedCapacity",
                "ReturnItemCollectionMetrics",
                "ReturnValues",
            ]
        ),
        "deleteItem": frozenset(
            [
                "Key",
                "TableName",
                "ConditionalOperator",
                "ConditionExpression",
                "Expected",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
                "ReturnConsumedCapacity",
                "ReturnItemCollectionMetrics",
                "ReturnValues",
            ]
        ),
        "updateItem": frozenset(
            [
                "Key",
                "TableName",
                "AttributeUpdates",
                "ConditionalOperator",
                "ConditionExpression",
                "Expected",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
                "ReturnConsumedCapacity",
                "ReturnItemCollectionMetrics",
                "ReturnValues",
                "UpdateExpression",
            ]
        ),
    },
    "sqs": {
        "sendMessage": frozenset(
            [
                "DelaySeconds",
                "MessageAttributes",
                "MessageBody",
                "MessageDeduplicationId",
                "MessageGroupId",
                "QueueUrl",
            ]
        )
    },
    "sns": {
        "publish": frozenset(
            [
                "Message",
                "MessageAttributes",
                "MessageStructure",
                "MessageDeduplicationId",
                "MessageGroupId",
                "PhoneNumber",
                "Subject",
                "TargetArn",
                "TopicArn",
            ]
        )
    },
    "events": {"putEvents": frozenset({"Entries"})},
    # Not a Task integration on AWS (S3 appears there only as Distributed Map's ItemReader and
    # ResultWriter); served for local runs with the fields of GetObject and PutObject that a
    # workflow needs. docs/integrations.md says so.
    "s3": {
        "getObject": frozenset({"Bucket", "Key", "VersionId", "Range"}),
        "putObject": frozenset({"Bucket", "Key", "Body", "ContentType", "Metadata"}),
    },
}

START_EXECUTION_PARAMETERS: Final = ("StateMachineArn", "Input", "Name")
"""The request fields `states:startExecution` (every pattern) passes on; StateMachineArn is
required. LocalStack's StateTaskServiceSfn._SUPPORTED_API_PARAM_BINDINGS for startexecution
(state_task_service_sfn.py), matching the AWS guide "Start a new AWS Step Functions state
machine from a running execution" (StartExecution: StateMachineArn, Input, Name)."""

INTEGRATION_PATTERNS: Final = ("sync", "sync:2", "waitForTaskToken")
"""The suffixes a service-integration Resource may end with (AWS guide, "Discover service
integration patterns in Step Functions": Request Response has none, Run a Job `.sync` (and
`.sync:2` for states:startExecution), Wait for Callback `.waitForTaskToken`)."""

OPTIMIZED_WAIT_FOR_TASK_TOKEN: Final = frozenset({"sqs", "sns", "events"})
"""Optimized integrations with a `.waitForTaskToken` form (the AWS guide's table "Optimized
integrations": SQS, SNS and EventBridge support it; DynamoDB does not). Lambda's is served by
the Lambda backend."""


@dataclass(frozen=True, slots=True)
class Integration:
    """A service integration Resource, taken apart.

    `service` is Step Functions' name (`dynamodb`, `sfn`, `eventbridge`), `action` as written
    (`putItem`); `sdk` is True for `aws-sdk:` resources; `pattern` is `waitForTaskToken`,
    `sync`, `sync:2` or None.
    """

    service: str
    action: str
    sdk: bool
    pattern: str | None

    @property
    def label(self) -> str:
        """The resource as history events name its type: `aws-sdk:dynamodb` or `sqs`."""
        return f"aws-sdk:{self.service}" if self.sdk else self.service


_INTEGRATION = re.compile(
    r"arn:aws[a-z-]*:states:::(?P<sdk>aws-sdk:)?(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)"
    r"(?:\.(?P<pattern>waitForTaskToken|sync:2|sync))?"
)
_ANY_SUFFIX = re.compile(
    r"arn:aws[a-z-]*:states:::(?:aws-sdk:)?[a-z0-9-]+:[A-Za-z0-9]+\.(?P<suffix>.*)", re.DOTALL
)


def unknown_pattern(resource: str) -> str | None:
    """The suffix of a service-integration Resource that names no integration pattern
    (`states:startExecution.sync:3` -> `sync:3`), or None."""
    if _INTEGRATION.fullmatch(resource) is not None:
        return None
    match = _ANY_SUFFIX.fullmatch(resource)
    return None if match is None else match["suffix"]


def parse_integration(resource: str) -> Integration | None:
    """The integration a Resource names, or None when it is not `arn:aws:states:::S:A`."""
    match = _INTEGRATION.fullmatch(resource)
    if match is None:
        return None
    return Integration(
        match["service"], match["action"], match["sdk"] is not None, match["pattern"]
    )


# --------------------------------------------------------------------------- names


_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """`MD5OfMessageBody` -> `md5_of_message_body`, `ETag` -> `e_tag`, `putItem` -> `put_item`."""
    return _WORD_BOUNDARY.sub("_", name).lower()


def pascal_case(snake: str) -> str:
    """`md5_of_message_body` -> `Md5OfMessageBody`."""
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def sfn_member_name(member: str) -> str:
    """A response member as the Java SDK names it, which is what aws-sdk Tasks return:
    `MD5OfMessageBody` -> `Md5OfMessageBody`, `SSEKMSKeyId` -> `SsekmsKeyId`, `ETag` stays.
    (LocalStack normalises its responses the same way, state_task_service.py `_to_sfn_cased`,
    to match its recordings of AWS.)"""
    return pascal_case(snake_case(member))


_ACRONYM_TAIL = re.compile(r"([A-Z])([A-Z0-9]+)(?=[A-Z][a-z]|$)")


def _java_word(word: str) -> str:
    # `SQS` -> `Sqs`, `DynamoDB` -> `DynamoDb`, `EC2` -> `Ec2`; `EventBridge` stays.
    return _ACRONYM_TAIL.sub(lambda m: m[1] + m[2].lower(), word[:1].upper() + word[1:])


@functools.cache
def error_prefix(service: str) -> str:
    """The `ServiceName` of an aws-sdk error: the Java SDK client's name, from the model's
    serviceId (`ACM PCA` -> `AcmPca`, `DynamoDB` -> `DynamoDb`, `SFN` -> `Sfn`, `S3` -> `S3`)."""
    model = service_model(service)
    service_id = model.service_id if model is not None else service
    words = [w for w in re.split(r"[\s-]+", str(service_id)) if w]
    if len(words) > 1 and words[-1] == "Service":
        words.pop()
    return "".join(_java_word(word) for word in words) or service


# --------------------------------------------------------------------------- botocore models


@functools.cache
def _available() -> frozenset[str]:
    import botocore.session

    return frozenset(botocore.session.get_session().get_available_services())


def botocore_service(service: str) -> str | None:
    """botocore's name for Step Functions' service name, or None when no model has it."""
    available = _available()
    renamed = _RENAMED.get(service)
    if renamed is not None:
        return renamed if renamed in available else None
    for name in available:
        if name.replace("-", "") == service and name not in _BOTOCORE_ONLY:
            return name
    return None


@functools.cache
def service_model(service: str) -> ServiceModel | None:
    """The botocore model of Step Functions' service name, or None."""
    name = botocore_service(service)
    if name is None:
        return None
    import botocore.session
    from botocore.model import ServiceModel

    loader = botocore.session.get_session().get_component("data_loader")
    return ServiceModel(loader.load_service_model(name, "service-2"), service_name=name)


@functools.cache
def operation_model(service: str, action: str) -> OperationModel | None:
    """The operation `action` (camelCase, as in the Resource) of the service, or None."""
    model = service_model(service)
    if model is None:
        return None
    wanted = action[:1].upper() + action[1:]
    names = model.operation_names
    if wanted not in names:
        # A few actions differ only by case from the operation (`describeDBInstances`).
        folded = {name.lower(): name for name in names}
        wanted = folded.get(action.lower(), "")
        if not wanted:
            return None
    return model.operation_model(wanted)


def match_member(key: str, members: Mapping[str, object]) -> str | None:
    """The model member a parameter names: the same name, or the same words (`MD5OfBody` for
    `Md5OfBody`, as the Java SDK spells members in PascalCase), else None."""
    if key in members:
        return key
    wanted = snake_case(key)
    for member in members:
        if snake_case(member) == wanted:
            return member
    return None
