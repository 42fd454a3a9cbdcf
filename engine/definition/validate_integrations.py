"""Validation of service-integration Tasks: what AWS checks when a machine names one.

Owns: the checks of a Task whose Resource is `arn:aws:states:::aws-sdk:<service>:<action>`
(the service and action exist in the AWS SDK, every literal parameter is a member of the
action's request), an optimized integration (`dynamodb:putItem`, `sqs:sendMessage`, ...: every
literal parameter is one Step Functions passes on), `lambda:invoke` (`FunctionName` given),
`states:startExecution` in each pattern (StateMachineArn given, only StateMachineArn, Input and
Name), and a Resource whose suffix is no integration pattern (`.sync:3`).
Must never: load botocore for a machine without an `aws-sdk:` Task (aws_services.py loads a
model on the first lookup), or judge a parameter whose name is computed (JSONata `Arguments`
given as one expression).

Texts are AWS's validator's: `The field "X" is not supported by Step Functions` (AWS guide,
"Passing parameters to a service API": "The field Filter is not supported by Step Functions"),
`The field 'FunctionName' is required but was missing`, and for an unknown service or action
`The resource provided ... is not recognized. The value is not a valid resource ARN, or the
resource is not available in this region.`
"""

from __future__ import annotations

from engine.definition.aws_services import (
    INTEGRATION_PATTERNS,
    OPTIMIZED_PARAMETERS,
    OPTIMIZED_WAIT_FOR_TASK_TOKEN,
    START_EXECUTION_PARAMETERS,
    Integration,
    match_member,
    operation_model,
    parse_integration,
    service_model,
    unknown_pattern,
)
from engine.definition.validate_fields import (
    INVALID_RESOURCE,
    JSONPATH,
    NONE,
    Diagnostics,
    error,
    ptr,
    warning,
)
from engine.values import JSON

_LAMBDA_INVOKE_PARAMETERS = frozenset(
    {"FunctionName", "Payload", "InvocationType", "LogType", "ClientContext", "Qualifier"}
)
"""The Invoke request fields `lambda:invoke` passes on (AWS guide, "Invoke an AWS Lambda
function with Step Functions", supported parameters)."""


def check_integration(state: dict[str, JSON], loc: str, query_language: str) -> Diagnostics:
    """Diagnostics of a Task's service integration; none for any other Resource."""
    resource = state.get("Resource")
    if not isinstance(resource, str) or "${" in resource:
        return NONE
    integration = parse_integration(resource)
    if integration is None:
        return _check_suffix(resource, loc)
    field = "Parameters" if query_language == JSONPATH else "Arguments"
    parameters = state.get(field)
    names: dict[str, str] | None = None  # None: computed as a whole (a JSONata expression)
    if isinstance(parameters, dict):
        names = _literal_names(parameters)
    elif parameters is None:
        names = {}
    where = ptr(loc, field)
    pattern = _unsupported_pattern(integration)
    if pattern is not None:
        return (
            error(
                f"{_unrecognized(resource)} {pattern}",
                ptr(loc, "Resource"),
                INVALID_RESOURCE,
            ),
        )
    if integration.sdk:
        return _check_sdk(integration.service, integration.action, names, resource, loc, where)
    if integration.service == "lambda" and integration.action == "invoke":
        return _check_names(names, _LAMBDA_INVOKE_PARAMETERS, where, required="FunctionName")
    if integration.service == "states":
        return _check_states(integration, names, resource, loc, where)
    actions = OPTIMIZED_PARAMETERS.get(integration.service)
    if actions is None:
        return NONE  # an integration this engine does not check (glue, ecs, ...)
    allowed = actions.get(integration.action)
    if allowed is None:
        sdk_name = "eventbridge" if integration.service == "events" else integration.service
        # Recorded: test_dynamodb_task_service/test_invalid_integration, `dynamodb:query`
        # (an aws-sdk action, not an optimized one) is refused by CreateStateMachine.
        return (
            error(
                f"{_unrecognized(resource)} The optimized "
                f"integration '{integration.service}' offers "
                f"{', '.join(sorted(actions))}; for other actions use "
                f"arn:aws:states:::aws-sdk:{sdk_name}:{integration.action}.",
                ptr(loc, "Resource"),
                INVALID_RESOURCE,
            ),
        )
    return _check_names(names, allowed, where)


def _check_suffix(resource: str, loc: str) -> Diagnostics:
    """A Resource that is a service integration but for a suffix naming no pattern."""
    suffix = unknown_pattern(resource)
    if suffix is None:
        return NONE
    offered = ", ".join(f".{pattern}" for pattern in INTEGRATION_PATTERNS)
    return (
        error(
            f"{_unrecognized(resource)} '.{suffix}' is not an integration pattern: a Resource "
            f"ends with one of {offered}, or with the action for Request Response.",
            ptr(loc, "Resource"),
            INVALID_RESOURCE,
        ),
    )


def _check_states(
    integration: Integration, names: dict[str, str] | None, resource: str, loc: str, where: str
) -> Diagnostics:
    """`states:startExecution` in any pattern: its parameters are StartExecution's, and the
    optimized Step Functions integration has no other action (AWS guide, "Start a new AWS Step
    Functions state machine from a running execution"; other actions are aws-sdk:sfn ones)."""
    if integration.action != "startExecution":
        return (
            error(
                f"{_unrecognized(resource)} The optimized integration 'states' offers "
                "startExecution (with .sync, .sync:2 or .waitForTaskToken); for other actions "
                f"use arn:aws:states:::aws-sdk:sfn:{integration.action}.",
                ptr(loc, "Resource"),
                INVALID_RESOURCE,
            ),
        )
    allowed = frozenset(START_EXECUTION_PARAMETERS)
    return _check_names(names, allowed, where, required="StateMachineArn")


def _unrecognized(resource: str) -> str:
    return (
        f"The resource provided {resource} is not recognized. The value is not a valid "
        "resource ARN, or the resource is not available in this region."
    )


def _unsupported_pattern(integration: Integration) -> str | None:
    """Why the integration pattern cannot be used here, or None. AWS guide, "Optimized
    integrations" and "AWS SDK integrations" tables: aws-sdk offers Request Response and
    `.waitForTaskToken`; DynamoDB only Request Response; SQS, SNS, EventBridge also
    `.waitForTaskToken`; none of these `.sync`."""
    if integration.pattern is None:
        return None
    if integration.sdk:
        if integration.pattern == "waitForTaskToken":
            return None
        return "AWS SDK integrations support Request Response and .waitForTaskToken only."
    if integration.service not in OPTIMIZED_PARAMETERS:
        return None  # not checked here (lambda, glue, ecs, states, ...)
    if integration.pattern == "waitForTaskToken" and (
        integration.service in OPTIMIZED_WAIT_FOR_TASK_TOKEN
    ):
        return None
    return f"The '{integration.service}' integration does not support .{integration.pattern}."


def _literal_names(parameters: dict[str, JSON]) -> dict[str, str]:
    """The request fields a Parameters/Arguments object names (`Key.$` names `Key`), each
    with the key as written (for the diagnostic's location)."""
    return {name.removesuffix(".$"): name for name in parameters}


def _check_names(
    names: dict[str, str] | None,
    allowed: frozenset[str],
    where: str,
    required: str | None = None,
) -> Diagnostics:
    for name, key in (names or {}).items():
        if name not in allowed:
            yield error(f'The field "{name}" is not supported by Step Functions', ptr(where, key))
    if required is not None and names is not None and required not in names:
        yield error(f"The field '{required}' is required but was missing", where)


def _check_sdk(
    service: str, action: str, names: dict[str, str] | None, resource: str, loc: str, where: str
) -> Diagnostics:
    unknown = _unrecognized(resource)
    if service_model(service) is None:
        # A warning: the installed botocore may not know a service AWS still serves (botocore
        # 1.44 no longer has `lookoutvision`, which a deployed aws-samples machine calls).
        hint = f" No AWS SDK service is named '{service}' in the installed botocore (Step "
        hint += "Functions spells services as the AWS SDK for Java does: 'sfn', 'eventbridge', "
        hint += "'cloudwatchlogs'); a Task calling it fails at run time."
        return (warning(INVALID_RESOURCE, unknown + hint, ptr(loc, "Resource")),)
    operation = operation_model(service, action)
    if operation is None:
        hint = f" The AWS SDK service '{service}' has no action '{action}'."
        return (error(unknown + hint, ptr(loc, "Resource"), INVALID_RESOURCE),)
    members = operation.input_shape.members if operation.input_shape is not None else {}
    return tuple(
        error(f'The field "{name}" is not supported by Step Functions', ptr(where, key))
        for name, key in (names or {}).items()
        if match_member(name, members) is None
    )
