"""AWS calls as Step Functions shapes them: request members in, response and errors out.

Owns: turning a Task's parameters into botocore's request (members matched by name as the Java
SDK spells them, a non-string value for a string member sent as JSON text), turning botocore's
response into the Task's result (aws-sdk: Java SDK member names, `Md5OfMessageBody`; optimized:
AWS's members plus `SdkHttpMetadata` and `SdkResponseMetadata`), and naming failures as Step
Functions does. Must never: make a call or hold a client (aws_sdk.py does).

Error names and causes, as LocalStack's integrations reproduce AWS's recordings
(state_task_service_aws_sdk.py, _dynamodb.py, _sns.py, _sqs.py, _events.py):

- aws-sdk (AWS SDK for Java 2.x): `<Service>.<Exception>` with the Java client's service name
  (`DynamoDb`, `Sfn`, `S3`, `AcmPca`) and `Exception` always appended (AWS guide, "AWS SDK
  service integrations": `S3.BucketAlreadyExistsException`); an error the model does not
  declare is `<Service>.<Service>Exception`. Cause: `<message> (Service: DynamoDb, Status Code:
  400, Request ID: <id>)`, S3 adding `, Extended Request ID: <id>`.
- optimized (AWS SDK for Java 1.x): `DynamoDB.ConditionalCheckFailedException`,
  `SNS.NotFoundException`, `SQS.QueueDoesNotExistException`; an undeclared error is named by
  its code (`DynamoDB.ValidationException`), or the client's base exception when the code is
  no name (`SQS.AmazonSQSException`). Cause: `<message> (Service: AmazonDynamoDBv2; Status
  Code: 400; Error Code: <code>; Request ID: <id>; Proxy: null)`.
- no answer (connection refused, DNS): `<Service>.SdkClientException`, "Unable to execute
  HTTP request: ...", as the Java SDKs report it.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from engine.definition.aws_services import error_prefix, match_member, sfn_member_name
from engine.interpreter.tasks import TaskFailure
from engine.values import JSON, dumps

if TYPE_CHECKING:
    from botocore.model import Shape

__all__ = [
    "OPTIMIZED_SERVICES",
    "OptimizedService",
    "UnsupportedField",
    "client_failure",
    "optimized_error",
    "plain",
    "sdk_error",
    "sdk_metadata",
    "to_request",
    "to_sdk_result",
]


@dataclass(frozen=True, slots=True)
class OptimizedService:
    """How an optimized integration names its errors (the Java 1.x client's names)."""

    prefix: str  # `DynamoDB` in `DynamoDB.ConditionalCheckFailedException`
    client: str  # `AmazonDynamoDBv2` in the cause's `Service:`
    unmodeled: str  # the client's base exception: `AmazonDynamoDBException`


OPTIMIZED_SERVICES: Final[Mapping[str, OptimizedService]] = {
    "dynamodb": OptimizedService("DynamoDB", "AmazonDynamoDBv2", "AmazonDynamoDBException"),
    "sqs": OptimizedService("SQS", "AmazonSQS", "AmazonSQSException"),
    "sns": OptimizedService("SNS", "AmazonSNS", "AmazonSNSException"),
    "events": OptimizedService("EventBridge", "AmazonEventBridge", "AmazonEventBridgeException"),
    "s3": OptimizedService("S3", "Amazon S3", "AmazonS3Exception"),
    "lambda": OptimizedService("Lambda", "AWSLambda", "AWSLambdaException"),
}


class UnsupportedField(Exception):
    """A parameter that is no member of the request (`name`, at `path`)."""

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.name = name
        self.path = path


# --------------------------------------------------------------------------- requests


def to_request(parameters: Mapping[str, JSON], shape: Shape | None) -> dict[str, object]:
    """botocore's request for the Task's parameters. Raises `UnsupportedField`."""
    if shape is None:
        if parameters:
            raise UnsupportedField(next(iter(parameters)), "")
        return {}
    converted = _to_member(dict(parameters), shape, "")
    assert isinstance(converted, dict)
    return converted


def _to_member(value: JSON, shape: Shape, path: str) -> object:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        out: dict[str, object] = {}
        for key, item in value.items():
            member = match_member(key, members)
            if member is None:
                raise UnsupportedField(key, path)
            out[member] = _to_member(item, members[member], f"{path}{key}.")
        return out
    if kind == "list" and isinstance(value, list):
        return [_to_member(item, shape.member, path) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: _to_member(item, shape.value, path) for key, item in value.items()}
    if kind == "string" and value is not None and not isinstance(value, str):
        # Step Functions sends a JSON value given for a string member as its JSON text (a
        # MessageBody object arrives as a string; LocalStack, state_task_service.py).
        return dumps(value)
    if kind == "blob" and value is not None:
        return (value if isinstance(value, str) else dumps(value)).encode("utf-8")
    return value


# --------------------------------------------------------------------------- responses


def plain(value: object) -> JSON:
    """A botocore value as JSON: timestamps as ISO 8601 UTC (`2024-05-01T10:00:00Z`), bytes
    and streams as their UTF-8 text (base64 when they are not text)."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "read") and callable(value.read):
        return plain(value.read())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def to_sdk_result(response: Mapping[str, object], shape: Shape | None) -> JSON:
    """An aws-sdk Task's result: the response without `ResponseMetadata`, structure members
    renamed as the Java SDK spells them (`Md5OfMessageBody`); map keys are data, kept."""
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return _from_member(body, shape)


def _from_member(value: object, shape: Shape | None) -> JSON:
    kind = shape.type_name if shape is not None else None
    if kind == "structure" and isinstance(value, dict):
        assert shape is not None
        members = shape.members
        return {
            sfn_member_name(key): _from_member(item, members.get(key))
            for key, item in value.items()
        }
    if kind == "list" and isinstance(value, list):
        assert shape is not None
        return [_from_member(item, shape.member) for item in value]
    return plain(value)


def sdk_metadata(response: Mapping[str, object]) -> dict[str, JSON]:
    """`SdkHttpMetadata` and `SdkResponseMetadata` of an optimized integration's result, from
    the HTTP response (recorded: test_sqs_task_service/test_send_message,
    test_dynamodb_task_service: every header as a list in `AllHttpHeaders`, as a string in
    `HttpHeaders`)."""
    metadata = response.get("ResponseMetadata")
    meta = metadata if isinstance(metadata, dict) else {}
    headers = meta.get("HTTPHeaders")
    header_map = (
        {_header_name(str(k)): str(v) for k, v in headers.items()}
        if isinstance(headers, dict)
        else {}
    )
    request_id = str(meta.get("RequestId", ""))
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in header_map.items()},
            "HttpHeaders": dict(sorted(header_map.items(), key=lambda item: item[0].lower())),
            "HttpStatusCode": int(meta.get("HTTPStatusCode", 200)),
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }


_HEADER_SPELLING: Final = {"x-amzn-requestid": "x-amzn-RequestId", "x-amz-crc32": "x-amz-crc32"}


def _header_name(name: str) -> str:
    """A header name as the Java SDK reports it (botocore lower-cases them): `Content-Type`,
    `x-amzn-RequestId` (recorded spellings, test_dynamodb_task_service)."""
    lowered = name.lower()
    spelled = _HEADER_SPELLING.get(lowered)
    if spelled is not None:
        return spelled
    return "-".join(part[:1].upper() + part[1:] for part in lowered.split("-"))


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class ServiceError:
    """What a service answered with an error status: botocore's ClientError, taken apart."""

    code: str
    message: str
    status: int
    request_id: str
    host_id: str | None = None
    shape_name: str | None = None  # `QueryErrorCode`: the model's name for a query-style code

    @classmethod
    def of(cls, response: Mapping[str, object]) -> ServiceError:
        error = response.get("Error")
        meta = response.get("ResponseMetadata")
        err = error if isinstance(error, dict) else {}
        md = meta if isinstance(meta, dict) else {}
        host_id = md.get("HostId")
        return cls(
            code=str(err.get("Code", "")),
            message=str(err.get("Message", "")),
            status=int(md.get("HTTPStatusCode", 400)),
            request_id=str(md.get("RequestId", "")),
            host_id=str(host_id) if host_id else None,
            shape_name=str(err["QueryErrorCode"]) if err.get("QueryErrorCode") else None,
        )


def modeled_exception(error: ServiceError, error_shapes: list[Shape]) -> str | None:
    """The model's name for an error (SQS answers `AWS.SimpleQueueService.NonExistentQueue`
    with the query error code `QueueDoesNotExist`, which botocore passes on), or None."""
    wanted = {name for name in (error.code, error.shape_name) if name}
    for shape in error_shapes:
        if shape.name in wanted or shape.metadata.get("error", {}).get("code") in wanted:
            return str(shape.name)
    return None


def _exception(name: str) -> str:
    return name if name.endswith("Exception") else name + "Exception"


def sdk_error(service: str, error: ServiceError, error_shapes: list[Shape]) -> TaskFailure:
    """An aws-sdk Task's failure for a service error (the Java 2.x client's names)."""
    prefix = error_prefix(service)
    modeled = modeled_exception(error, error_shapes)
    name = _exception(modeled) if modeled else f"{prefix}Exception"
    details = [f"Service: {prefix}", f"Status Code: {error.status}"]
    details.append(f"Request ID: {error.request_id}")
    if error.host_id:
        details.append(f"Extended Request ID: {error.host_id}")
    return TaskFailure(f"{prefix}.{name}", f"{error.message} ({', '.join(details)})")


def optimized_error(service: str, error: ServiceError, error_shapes: list[Shape]) -> TaskFailure:
    """An optimized integration's failure for a service error (the Java 1.x client's names)."""
    spec = OPTIMIZED_SERVICES[service]
    modeled = modeled_exception(error, error_shapes)
    if modeled:
        name = _exception(modeled)
    elif error.code.isidentifier():
        # An undeclared code names the error itself (LocalStack's DynamoDB and SNS rules:
        # `DynamoDB.<code>`, `SNS.<code>Exception`): `DynamoDB.ValidationException`.
        name = _exception(error.code)
    else:
        name = spec.unmodeled
    details = [
        f"Service: {spec.client}",
        f"Status Code: {error.status}",
        f"Error Code: {error.code}",
        f"Request ID: {error.request_id}",
    ]
    if error.host_id and service == "s3":
        details.append(f"S3 Extended Request ID: {error.host_id}")
    details.append("Proxy: null")
    return TaskFailure(f"{spec.prefix}.{name}", f"{error.message} ({'; '.join(details)})")


def client_failure(prefix: str, reason: str) -> TaskFailure:
    """No answer from the endpoint: the Java SDKs' `SdkClientException`."""
    return TaskFailure(f"{prefix}.SdkClientException", f"Unable to execute HTTP request: {reason}")


def validation_failure(service: str, name: str, report: str, optimized: bool) -> TaskFailure:
    """A request botocore refuses before sending it (a required member missing, a value of the
    wrong type): named as the service's own 400 validation answer would be. `service` is the
    cause's `Service:` (`DynamoDb`, or `AmazonDynamoDBv2` for an optimized integration)."""
    request_id = str(uuid.uuid4())
    missing = re.findall(r'Missing required parameter in input: "([^"]+)"', report)
    if missing:
        # The service's own wording for a missing member (Coral's validation message).
        count = len(missing)
        message = f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(
            f"Value null at '{name[:1].lower() + name[1:]}' failed to satisfy constraint: "
            "Member must not be null"
            for name in missing
        )
    else:
        message = report.replace("\n", " ").strip()
    if optimized:
        details = (
            f"Service: {service}; Status Code: 400; Error Code: ValidationException; "
            f"Request ID: {request_id}; Proxy: null"
        )
    else:
        details = f"Service: {service}, Status Code: 400, Request ID: {request_id}"
    return TaskFailure(name, f"{message} ({details})")
