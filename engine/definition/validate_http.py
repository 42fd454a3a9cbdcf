"""Validation of HTTP Tasks (`arn:aws:states:::http:invoke`): what their parameters must hold.

Owns: the rules for an HTTP Task's `Parameters` (JSONPath) or `Arguments` (JSONata): the fields
it takes, `ApiEndpoint` and `Method` required, a connection (`Authentication` or
`InvocationConfig`, each with a `ConnectionArn`), the literal values of `Method` and
`Transform`, and a warning for a literal header the Task will refuse when it runs. Must never:
judge a value computed at run time (a `.$` path, a `{% %}` expression, a `${...}` placeholder),
or import the backend that runs the Task (the lists below are the developer guide's; the
backend, engine/backends/http_task.py, uses these same lists).

Source: the developer guide, "Call HTTPS APIs in Step Functions workflows", section "HTTP Task
fields" (Parameters, ApiEndpoint and Method "Required"; "To specify the EventBridge connection,
use either the Authentication or InvocationConfig field"; the Method values; Transform's
RequestBodyEncoding and ArrayFormat values; the headers a definition cannot use, which fail the
Task with States.Runtime, so only a warning here: AWS creates such a machine). The messages
follow AWS's recorded wording for a missing field ("The field 'RoleArn' is required but was
missing") and this validator's own for the rest. An HTTP Task is Request Response only: no
`.sync` or `.waitForTaskToken` form of it exists.
"""

from __future__ import annotations

from typing import Final

from engine.definition.validate_fields import (
    INVALID_RESOURCE,
    JSONPATH,
    NONE,
    Diagnostics,
    error,
    is_jsonata,
    ptr,
    unsupported,
    warning,
)
from engine.values import JSON, type_name

__all__ = ["FORBIDDEN_HTTP_HEADER", "HTTP_INVOKE", "check_http_task", "is_http_task"]

HTTP_INVOKE: Final = "arn:aws:states:::http:invoke"
FORBIDDEN_HTTP_HEADER: Final = "FORBIDDEN_HTTP_HEADER"
"""Warning code: a literal header the HTTP Task refuses (States.Runtime) when it runs."""

METHODS: Final = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
PARAMETERS: Final = (
    "ApiEndpoint",
    "Method",
    "Authentication",
    "InvocationConfig",
    "Headers",
    "QueryParameters",
    "RequestBody",
    "Transform",
)
BODY_ENCODINGS: Final = ("NONE", "URL_ENCODED")
ARRAY_FORMATS: Final = ("INDICES", "REPEAT", "COMMAS", "BRACKETS")
FORBIDDEN_HEADERS: Final = frozenset(
    name.lower()
    for name in (
        "A-IM",
        "Accept-Charset",
        "Accept-Datetime",
        "Accept-Encoding",
        "Authorization",
        "Cache-Control",
        "Connection",
        "Content-Encoding",
        "Content-MD5",
        "Date",
        "Expect",
        "Forwarded",
        "From",
        "Host",
        "HTTP2-Settings",
        "If-Match",
        "If-Modified-Since",
        "If-None-Match",
        "If-Range",
        "If-Unmodified-Since",
        "Max-Forwards",
        "Origin",
        "Pragma",
        "Proxy-Authorization",
        "Referer",
        "Server",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Via",
        "Warning",
    )
)
FORBIDDEN_PREFIXES: Final = ("x-forwarded-", "x-amz-", "x-amzn-")


def is_http_task(resource: JSON) -> bool:
    """Whether a Task's Resource is the HTTP Task (any suffix included, to report it)."""
    return isinstance(resource, str) and resource.startswith(HTTP_INVOKE)


def _computed(value: JSON) -> bool:
    """A value known only at run time, or a template placeholder: not judged here."""
    return is_jsonata(value) or (isinstance(value, str) and "${" in value)


def _fields(parameters: dict[str, JSON], query_language: str) -> dict[str, tuple[str, JSON]]:
    """Each field by its name without `.$`: (the key as written, its value; None for a path)."""
    fields: dict[str, tuple[str, JSON]] = {}
    for key, value in parameters.items():
        if query_language == JSONPATH and key.endswith(".$"):
            fields[key[:-2]] = (key, None)
        else:
            fields[key] = (key, value)
    return fields


def check_http_task(state: dict[str, JSON], loc: str, query_language: str) -> Diagnostics:
    """Every problem of one HTTP Task state (`loc` is the state's pointer)."""
    resource = state.get("Resource")
    if resource != HTTP_INVOKE:
        yield error(
            f"The resource {resource!r} is not supported: the HTTP Task is "
            f"'{HTTP_INVOKE}', which waits for the response (no .sync or .waitForTaskToken)",
            ptr(loc, "Resource"),
            INVALID_RESOURCE,
        )
        return
    name = "Parameters" if query_language == JSONPATH else "Arguments"
    if name not in state:
        yield error(f"The field '{name}' is required but was missing", loc)
        return
    parameters = state[name]
    at = ptr(loc, name)
    if _computed(parameters):
        return
    if not isinstance(parameters, dict):
        yield error(
            f"The value of '{name}' of an HTTP Task must be an object, not {type_name(parameters)}",
            at,
        )
        return
    fields = _fields(parameters, query_language)
    for field_name, (key, _) in fields.items():
        if field_name not in PARAMETERS:
            yield unsupported(key, at)
    for required in ("ApiEndpoint", "Method"):
        if required not in fields:
            yield error(f"The field '{required}' is required but was missing", at)
    connection = [f for f in ("Authentication", "InvocationConfig") if f in fields]
    if not connection:
        yield error(
            "The field 'Authentication' (or 'InvocationConfig') is required but was missing: "
            "an HTTP Task calls its API through an EventBridge connection's ConnectionArn",
            at,
        )
    for field_name in connection:
        key, value = fields[field_name]
        yield from _check_connection(value, ptr(at, key), field_name, query_language)
    if "Method" in fields:
        key, value = fields["Method"]
        if value is not None and not _computed(value) and value not in METHODS:
            yield error(
                f"The value of 'Method' must be one of [{', '.join(METHODS)}], got {value!r}",
                ptr(at, key),
            )
    if "Transform" in fields:
        key, value = fields["Transform"]
        yield from _check_transform(value, ptr(at, key), query_language)
    if "Headers" in fields:
        key, value = fields["Headers"]
        yield from _check_headers(value, ptr(at, key))


def _check_connection(value: JSON, at: str, name: str, query_language: str) -> Diagnostics:
    if value is None or _computed(value):
        return
    if not isinstance(value, dict):
        yield error(
            f"The value of '{name}' must be an object with 'ConnectionArn', not {type_name(value)}",
            at,
        )
        return
    fields = _fields(value, query_language)
    for field_name, (key, _) in fields.items():
        if field_name != "ConnectionArn":
            yield unsupported(key, at)
    if "ConnectionArn" not in fields:
        yield error("The field 'ConnectionArn' is required but was missing", at)


def _check_transform(value: JSON, at: str, query_language: str) -> Diagnostics:
    if value is None or _computed(value):
        return
    if not isinstance(value, dict):
        yield error(f"The value of 'Transform' must be an object, not {type_name(value)}", at)
        return
    fields = _fields(value, query_language)
    for field_name, (key, item) in fields.items():
        if field_name == "RequestBodyEncoding":
            yield from _enum(item, ptr(at, key), field_name, BODY_ENCODINGS)
        elif field_name == "RequestEncodingOptions":
            yield from _check_options(item, ptr(at, key), query_language)
        else:
            yield unsupported(key, at)


def _check_options(value: JSON, at: str, query_language: str) -> Diagnostics:
    if value is None or _computed(value):
        return
    if not isinstance(value, dict):
        yield error(
            f"The value of 'RequestEncodingOptions' must be an object, not {type_name(value)}",
            at,
        )
        return
    for field_name, (key, item) in _fields(value, query_language).items():
        if field_name == "ArrayFormat":
            yield from _enum(item, ptr(at, key), field_name, ARRAY_FORMATS)
        else:
            yield unsupported(key, at)


def _enum(value: JSON, at: str, name: str, allowed: tuple[str, ...]) -> Diagnostics:
    if value is None or _computed(value) or value in allowed:
        return NONE
    return (
        error(f"The value of '{name}' must be one of [{', '.join(allowed)}], got {value!r}", at),
    )


def _check_headers(value: JSON, at: str) -> Diagnostics:
    if not isinstance(value, dict):
        return
    for key in value:
        header = key[:-2] if key.endswith(".$") else key
        lower = header.lower()
        if lower in FORBIDDEN_HEADERS or lower.startswith(FORBIDDEN_PREFIXES):
            yield warning(
                FORBIDDEN_HTTP_HEADER,
                f"An HTTP Task cannot send the header '{header}' (Step Functions sets or "
                "refuses it): the Task fails with States.Runtime when it runs. Put credentials "
                "in the EventBridge connection.",
                ptr(at, key),
            )
