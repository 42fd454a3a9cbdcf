"""The AWS backend: service integrations answered by an AWS endpoint through botocore.

Owns: `AwsBackend`, which serves `arn:aws:states:::aws-sdk:<service>:<action>` for every
service botocore knows, the optimized integrations DynamoDB getItem/putItem/updateItem/
deleteItem, SQS sendMessage, SNS publish, EventBridge putEvents and S3 getObject/putObject
(`.waitForTaskToken` where AWS offers it), and remote Lambda functions for `LambdaRouter`
(aws_lambda.py). Must never: choose an endpoint the operator did not configure (aws_endpoints.py
decides, and refuses real AWS unless allowed), block the event loop, or import boto3/botocore
before the first call (`asl run` of an ordinary machine never loads them:
tests/cli/test_cold_start.py).

A call runs on a `HandlerPool` thread (botocore is blocking), with one client per (service,
endpoint, region). The Task's TimeoutSeconds and StopExecution cancel the awaiting coroutine;
the pool abandons the thread, whose late answer is dropped. `.waitForTaskToken`: the call only
hands the token over (the Task's parameters carry `$$.Task.Token`); the interpreter then waits
for SendTaskSuccess/Failure (engine/interpreter/core.py, `task_token`).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from engine.backends.aws_calls import AwsCalls
from engine.backends.aws_shapes import (
    OPTIMIZED_SERVICES,
    ServiceError,
    UnsupportedField,
    client_failure,
    optimized_error,
    plain,
    sdk_error,
    sdk_metadata,
    to_request,
    to_sdk_result,
    validation_failure,
)
from engine.backends.base import Backend
from engine.backends.lambda_arn import FunctionRef, parse_payload
from engine.backends.runner import Outcome, Returned
from engine.definition.aws_services import (
    OPTIMIZED_PARAMETERS,
    OPTIMIZED_WAIT_FOR_TASK_TOKEN,
    Integration,
    botocore_service,
    error_prefix,
    operation_model,
    parse_integration,
    service_model,
)
from engine.errors import STATES_RUNTIME
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult
from engine.values import JSON, dumps

if TYPE_CHECKING:
    from botocore.model import OperationModel

__all__ = ["AwsBackend"]

_log = logging.getLogger(__name__)

_SFN_NAME: Final = {"events": "eventbridge"}
"""Optimized integrations name EventBridge `events`; aws-sdk (and the models) `eventbridge`."""


class AwsBackend(AwsCalls):
    """Serves service integrations by calling the operator's AWS endpoints.

    `resolve` is the registry's fallback: it answers for the resources this backend serves
    and None for any other, so `[resources]` mappings and the Lambda backend come first.
    """

    # ------------------------------------------------------------------ routing

    @staticmethod
    def supported(resource: str) -> bool:
        """Whether `resource` is an integration this backend calls."""
        return _supported(resource)

    def resolve(self, resource: str) -> Backend | None:
        return self if _supported(resource) else None

    # ------------------------------------------------------------------ calls

    async def invoke(self, request: TaskRequest) -> TaskResult:
        integration = parse_integration(request.resource)
        if integration is None or not _supported(request.resource):
            return TaskFailure(
                STATES_RUNTIME, f"The AWS backend does not serve resource '{request.resource}'."
            )
        parameters = {} if request.payload is None else request.payload
        if not isinstance(parameters, dict):
            return TaskFailure(
                STATES_RUNTIME,
                f"The parameters of {request.resource} must be a JSON object, got "
                f"{type(parameters).__name__}.",
            )
        call = functools.partial(self._integration_call, integration, parameters, request)
        return await self._submit(call)

    async def invoke_lambda(
        self, function: FunctionRef, parameters: Mapping[str, JSON], request: TaskRequest
    ) -> TaskResult:
        """Invoke a remote Lambda function (`lambda:invoke` when `integration` is True, else
        a function ARN as Resource: the payload is the state's input)."""
        call = functools.partial(self._lambda_call, function, dict(parameters), request)
        return await self._submit(call)

    def _client(self, service: str, request: TaskRequest) -> object:
        endpoint = self.settings.endpoint_for(service)
        return self._clients.client(service, endpoint, self._clients.region(request.region))

    # ------------------------------------------------------------------ on a pool thread

    def _integration_call(
        self, integration: Integration, parameters: dict[str, JSON], request: TaskRequest
    ) -> Outcome:
        sfn_service = integration.service if integration.sdk else _sfn(integration.service)
        service = botocore_service(sfn_service)
        if service is None:
            return TaskFailure(
                STATES_RUNTIME,
                f"No AWS SDK service is named '{integration.service}' in the installed botocore "
                f"(resource {request.resource}).",
            )
        refused = self.settings.refusal(service, self.settings.endpoint_for(service))
        if refused is not None:
            return refused
        if integration.sdk:
            return self._sdk_call(sfn_service, service, integration.action, parameters, request)
        return self._optimized_call(integration, parameters, request)

    def _sdk_call(
        self,
        sfn_service: str,
        service: str,
        action: str,
        parameters: dict[str, JSON],
        request: TaskRequest,
    ) -> Outcome:
        operation = operation_model(sfn_service, action)
        if operation is None:
            return TaskFailure(
                STATES_RUNTIME,
                f"The AWS SDK service '{sfn_service}' has no action '{action}' "
                f"(resource {request.resource}).",
            )
        prefix = error_prefix(sfn_service)

        def failed(exc: Exception) -> TaskFailure:
            return _failure(exc, sfn_service, prefix, optimized=False)

        response = self._call(service, operation, parameters, request, failed)
        if isinstance(response, TaskFailure):
            return response
        return Returned(0, to_sdk_result(response, operation.output_shape))

    def _optimized_call(
        self, integration: Integration, parameters: dict[str, JSON], request: TaskRequest
    ) -> Outcome:
        service, action = integration.service, integration.action
        operation = operation_model(_sfn(service), action)
        assert operation is not None  # the optimized table names existing operations
        allowed = OPTIMIZED_PARAMETERS[service][action]
        for name in parameters:
            if name not in allowed:
                # `asl validate` reports a literal one; this is one a JSONata expression made.
                return TaskFailure(
                    STATES_RUNTIME,
                    f'The field "{name}" is not supported by Step Functions: '
                    f"{integration.service}:{action} passes on {', '.join(sorted(allowed))} "
                    f"(resource {request.resource}).",
                )
        passed = dict(parameters)
        if service == "events":
            passed = _with_execution_resources(passed, request)
        prefix = OPTIMIZED_SERVICES[service].prefix

        def failed(exc: Exception) -> TaskFailure:
            return _failure(exc, service, prefix, optimized=True)

        response = self._call(service, operation, passed, request, failed)
        if isinstance(response, TaskFailure):
            return response
        result = plain({k: v for k, v in response.items() if k != "ResponseMetadata"})
        assert isinstance(result, dict)
        if service == "events":
            # Recorded: test_events_task_service/test_put_events_malformed_detail, a failed
            # entry fails the Task with `EventBridge.FailedEntry`, the response as the cause.
            if result.get("FailedEntryCount"):
                return TaskFailure("EventBridge.FailedEntry", dumps(result))
            return Returned(0, result)  # recorded without SdkHttpMetadata
        return Returned(0, {**result, **sdk_metadata(response)})

    def _lambda_call(
        self, function: FunctionRef, parameters: dict[str, JSON], request: TaskRequest
    ) -> Outcome:
        refused = self.settings.refusal("lambda", self.settings.endpoint_for("lambda"))
        if refused is not None:
            return refused
        operation = operation_model("lambda", "invoke")
        assert operation is not None
        integration = request.resource.startswith("arn:aws:states:::lambda:invoke")
        if integration:
            passed = {k: v for k, v in parameters.items() if k != "Payload"}
            body = parameters.get("Payload")
            payload = body if isinstance(body, str) else dumps({} if body is None else body)
        else:
            passed = {"FunctionName": function.invoked_arn}
            payload = dumps(request.payload)  # a null input is the event null (functions.py)
        passed["Payload"] = payload

        def failed(exc: Exception) -> TaskFailure:
            return _failure(exc, "lambda", "Lambda", optimized=True)

        response = self._call("lambda", operation, passed, request, failed)
        if isinstance(response, TaskFailure):
            return response
        stream = response.get("Payload")
        raw = stream.read() if hasattr(stream, "read") else b""
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        if response.get("FunctionError"):
            return _function_error(text)
        value = parse_payload(text) if text else None
        if not integration:
            return Returned(len(raw), value)
        result: dict[str, JSON] = {}
        for key in ("ExecutedVersion", "LogResult"):
            if response.get(key) is not None:
                result[key] = plain(response[key])
        result["Payload"] = value
        result.update(sdk_metadata(response))
        result["StatusCode"] = plain(response.get("StatusCode", 200))
        return Returned(len(raw), result)

    def _call(
        self,
        service: str,
        operation: OperationModel,
        parameters: dict[str, JSON],
        request: TaskRequest,
        failed: Callable[[Exception], TaskFailure],
    ) -> dict[str, object] | TaskFailure:
        """The botocore call; every failure comes back named by `failed`."""
        from botocore import xform_name

        try:
            kwargs = to_request(parameters, operation.input_shape)
        except UnsupportedField as exc:
            return TaskFailure(
                STATES_RUNTIME,
                f'The field "{exc.path}{exc.name}" is not supported by Step Functions: '
                f"{operation.name} has no such request member (resource {request.resource}).",
            )
        try:
            client = self._client(service, request)
            method = getattr(client, xform_name(operation.name))
            response = method(**kwargs)
        except Exception as exc:  # backend edge: every botocore failure becomes a TaskFailure
            return failed(exc)
        return dict(response)


def _failure(exc: Exception, service: str, prefix: str, *, optimized: bool) -> TaskFailure:
    """A botocore exception as Step Functions names it (aws_shapes.py explains the names)."""
    from botocore.exceptions import (
        ClientError,
        NoCredentialsError,
        ParamValidationError,
    )

    if isinstance(exc, ClientError):
        error = ServiceError.of(exc.response)
        model = service_model(_sfn(service)) if optimized else service_model(service)
        shapes = list(model.error_shapes) if model is not None else []
        if optimized:
            return optimized_error(service, error, shapes)
        return sdk_error(service, error, shapes)
    if isinstance(exc, ParamValidationError):
        # Named as the service's own 400 answer would be (its code, or undeclared in aws-sdk).
        name = f"{prefix}.ValidationException" if optimized else f"{prefix}.{prefix}Exception"
        label = OPTIMIZED_SERVICES[service].client if optimized else prefix
        return validation_failure(label, name, str(exc.kwargs.get("report", exc)), optimized)
    if isinstance(exc, NoCredentialsError):
        return TaskFailure(
            STATES_RUNTIME,
            "No AWS credentials for calling real AWS: set AWS_PROFILE or AWS_ACCESS_KEY_ID / "
            "AWS_SECRET_ACCESS_KEY, as for the AWS CLI.",
        )
    from botocore.exceptions import BotoCoreError

    if isinstance(exc, BotoCoreError):
        return client_failure(prefix, str(exc))
    _log.exception("calling %s failed", service)
    return TaskFailure(STATES_RUNTIME, f"Calling {service} failed: {exc!r}")


def _function_error(text: str) -> TaskFailure:
    """A remote function that failed: its `errorType` is the error, the payload the cause, as
    for a local function (docs/backends.md)."""
    try:
        envelope = json.loads(text)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict) and isinstance(envelope.get("errorType"), str):
        return TaskFailure(envelope["errorType"], text)
    return TaskFailure(
        "Lambda.Unknown",
        "The cause could not be determined because Lambda did not return an error type. "
        f"Returned payload: {text}",
    )


def _with_execution_resources(parameters: dict[str, JSON], request: TaskRequest) -> dict[str, JSON]:
    """EventBridge putEvents: Step Functions appends the state machine's and the execution's
    ARNs to each entry's Resources (recorded: test_events_task_service/test_put_events_base)."""
    entries = parameters.get("Entries")
    if not isinstance(entries, list):
        return parameters
    execution = request.execution_arn
    parts = execution.split(":")
    machine = ":".join([*parts[:5], "stateMachine", parts[6]]) if len(parts) >= 8 else execution
    out: list[JSON] = []
    for entry in entries:
        if isinstance(entry, dict):
            resources = entry.get("Resources")
            given = list(resources) if isinstance(resources, list) else []
            entry = {**entry, "Resources": [*given, machine, execution]}
        out.append(entry)
    return {**parameters, "Entries": out}


def _sfn(service: str) -> str:
    return _SFN_NAME.get(service, service)


@functools.lru_cache(maxsize=1024)
def _supported(resource: str) -> bool:
    integration = parse_integration(resource)
    if integration is None:
        return False
    if integration.sdk:
        # aws-sdk integrations offer Request Response and .waitForTaskToken (AWS guide:
        # "AWS SDK integrations" support no .sync).
        return integration.pattern in (None, "waitForTaskToken")
    actions = OPTIMIZED_PARAMETERS.get(integration.service)
    if actions is None or integration.action not in actions:
        return False
    if integration.pattern is None:
        return True
    return (
        integration.pattern == "waitForTaskToken"
        and integration.service in OPTIMIZED_WAIT_FOR_TASK_TOKEN
    )
