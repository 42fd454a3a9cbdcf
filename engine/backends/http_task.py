"""The HTTP Task: `arn:aws:states:::http:invoke`, an HTTPS API called from a Task state.

Owns: `HttpTaskBackend`, which turns a Task's effective parameters into one HTTP request (with
the EventBridge connection's credentials and parameters merged in), sends it with httpx2 on the
running loop, and turns the answer into the Task's result or failure, with AWS's shapes and
error names; `build_request` and `task_result` are the pure halves of that. Must never: block
the event loop, follow what a definition cannot name (only the operator's `[connections]`
supply credentials), or put a secret in a result, a failure's cause or a log line.

AWS's rules, from the developer guide ("Call HTTPS APIs in Step Functions workflows", quoted
by section; LocalStack has no HTTP Task to compare with):
- Parameters: `ApiEndpoint` and `Method` (GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD) are
  required, the connection comes from `Authentication.ConnectionArn` or
  `InvocationConfig.ConnectionArn`; `Headers`, `QueryParameters`, `RequestBody` and
  `Transform` are optional ("HTTP Task fields").
- Step Functions sets `User-Agent: Amazon|StepFunctions|HttpInvoke|REGION`, `Range:
  bytes=0-262144` and `Host`; a definition naming one of the headers listed in
  `FORBIDDEN_HEADERS` (or starting `x-forwarded-`, `x-amz-`, `x-amzn-`) fails with
  `States.Runtime` ("Headers").
- The connection's headers, query parameters and body parameters are added to the
  definition's, the connection's value winning on a duplicate key; a string RequestBody with
  connection body parameters fails with `States.Runtime`; transformations apply after the
  merge ("Merging EventBridge connection and HTTP Task definition data"). The request the
  guide shows carries a compact JSON body with `Content-Type: application/json;
  charset=UTF-8` (the TestState guide's TRACE example shows the same header on the wire).
- A response with content type `application/octet-stream`, `image/*`, `video/*` or `audio/*`,
  or one that is not valid text, fails with `States.Runtime` ("Unsupported HTTP Task
  responses"). Requests time out after 60 seconds ("Timeouts for connections"), which the
  error list names `States.Http.Socket`.
- The result (the TestState guide's TRACE example): `{"Headers": {name: [values]},
  "ResponseBody": ..., "StatusCode": 200, "StatusText": "OK"}`, header names lower-cased, the
  body parsed when its content type is JSON. A status outside 2xx fails the Task with
  `States.Http.StatusCode.NNN` (the guide's Retry and Catch examples match
  `States.Http.StatusCode.404`, `.429`, ...).

What the guide leaves open, decided here and said in docs/http-task.md: the cause of a non-2xx
failure is that same result object as JSON text (so a Catch can read the status and body); a
connection refused, a DNS failure or a connection broken mid-answer is `States.Http.Socket` too
(no response came back, as with the timeout); `http://` endpoints are accepted (local servers),
redirects are not followed (a 3xx is a non-2xx status), and no proxy, netrc or other
environment setting reroutes or authorizes a call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from engine.backends.connections import Connection, Connections
from engine.backends.form_encoding import (
    ARRAY_FORMATS,
    DEFAULT_ARRAY_FORMAT,
    encode_form,
    encode_query,
    scalar_text,
)
from engine.backends.registry import HTTP_INVOKE

# AWS's lists, one copy: the validator's (the definition layer, below this one)
from engine.definition.validate_http import BODY_ENCODINGS, FORBIDDEN_HEADERS
from engine.definition.validate_http import FORBIDDEN_PREFIXES as FORBIDDEN_HEADER_PREFIXES
from engine.definition.validate_http import METHODS as HTTP_METHODS
from engine.definition.validate_http import PARAMETERS as HTTP_PARAMETERS
from engine.errors import (
    STATES_DATA_LIMIT_EXCEEDED,
    STATES_HTTP_SOCKET,
    STATES_HTTP_STATUS_CODE_PREFIX,
    STATES_RUNTIME,
)
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.values import JSON, PAYLOAD_LIMIT_BYTES

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "FORBIDDEN_HEADERS",
    "HTTP_INVOKE",
    "HTTP_METHODS",
    "HTTP_PARAMETERS",
    "HttpTaskBackend",
    "OutgoingRequest",
    "build_request",
    "forbidden_header",
    "task_result",
]

_log = logging.getLogger(__name__)

RANGE: Final = "bytes=0-262144"
JSON_CONTENT_TYPE: Final = "application/json; charset=UTF-8"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
REQUEST_TIMEOUT_SECONDS: Final = 60.0
_UNSUPPORTED_MEDIA: Final = ("application/octet-stream", "image/", "video/", "audio/")
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 section 5.6.2, a field name


def forbidden_header(name: str) -> bool:
    """Whether a definition may not set the header `name` (AWS's list, any case)."""
    lower = name.lower()
    return lower in FORBIDDEN_HEADERS or lower.startswith(FORBIDDEN_HEADER_PREFIXES)


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """One HTTP request, ready to send but for its credentials, which the connection adds at
    sending time (so they are in no value that could be logged or stored)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    connection_arn: str
    connection: Connection | None


def _runtime(message: str) -> TaskFailure:
    return TaskFailure(STATES_RUNTIME, message)


def _connection_arn(parameters: Mapping[str, JSON]) -> str | TaskFailure:
    for field_name in ("InvocationConfig", "Authentication"):
        holder = parameters.get(field_name)
        if holder is None:
            continue
        arn = holder.get("ConnectionArn") if isinstance(holder, dict) else None
        if not isinstance(arn, str) or not arn:
            return _runtime(
                f"The HTTP Task's {field_name} must be an object with a ConnectionArn string, "
                "the EventBridge connection to call the API through."
            )
        return arn
    return _runtime(
        "The HTTP Task needs the EventBridge connection to call the API through: give "
        "Authentication.ConnectionArn or InvocationConfig.ConnectionArn."
    )


def _endpoint(value: JSON) -> str | TaskFailure:
    if not isinstance(value, str):
        return _runtime("The HTTP Task's ApiEndpoint must be a URL string.")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number or too big
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        return _runtime(
            f"The HTTP Task's ApiEndpoint {value!r} is not an https:// URL with a host "
            "(e.g. https://api.example.com/v1/items)."
        )
    return value


def _headers(value: JSON) -> list[tuple[str, str]] | TaskFailure:
    if value is None:
        return []
    if not isinstance(value, dict):
        return _runtime("The HTTP Task's Headers must be a JSON object of header names and values.")
    headers: list[tuple[str, str]] = []
    for name, item in value.items():
        if forbidden_header(name):
            return _runtime(
                f"The HTTP Task cannot send the header '{name}': Step Functions sets it or "
                "refuses it. Credentials belong in the EventBridge connection ([connections] "
                "in asl.toml)."
            )
        if not _TOKEN.fullmatch(name):
            return _runtime(
                f"The HTTP Task's header name {name!r} is not a valid HTTP header name."
            )
        items = item if isinstance(item, list) else [item]
        for one in items:
            if isinstance(one, dict | list):
                return _runtime(f"The HTTP Task's header '{name}' must be text, not JSON.")
            text = scalar_text(one)
            if "\r" in text or "\n" in text or "\0" in text:
                return _runtime(f"The HTTP Task's header '{name}' holds a line break.")
            headers.append((name, text))
    return headers


def _merge_headers(
    headers: list[tuple[str, str]], extra: tuple[tuple[str, str], ...] | list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """`headers` with `extra` added, a name in `extra` replacing every same-named header."""
    replaced = {name.lower() for name, _ in extra}
    return [(n, v) for n, v in headers if n.lower() not in replaced] + list(extra)


def _query(value: JSON, connection: Connection | None) -> str | TaskFailure:
    extra = dict(connection.invocation.query) if connection is not None else {}
    if value is None:
        return encode_query(extra)
    if isinstance(value, str):
        text = value.lstrip("?")
        return "&".join(part for part in (text, encode_query(extra)) if part)
    if isinstance(value, dict):
        return encode_query({**value, **extra})
    return _runtime(
        "The HTTP Task's QueryParameters must be a JSON object (or a query string); "
        "asl-engine does not send other forms."
    )


def _transform(value: JSON) -> tuple[str, str] | TaskFailure:
    if value is None:
        return "NONE", DEFAULT_ARRAY_FORMAT
    if not isinstance(value, dict):
        return _runtime("The HTTP Task's Transform must be an object.")
    encoding = value.get("RequestBodyEncoding", "NONE")
    if not isinstance(encoding, str) or encoding not in BODY_ENCODINGS:
        return _runtime(
            "The HTTP Task's Transform.RequestBodyEncoding must be one of "
            f"{', '.join(BODY_ENCODINGS)}."
        )
    options = value.get("RequestEncodingOptions")
    array_format = options.get("ArrayFormat") if isinstance(options, dict) else None
    if options is not None and not isinstance(options, dict):
        return _runtime("The HTTP Task's Transform.RequestEncodingOptions must be an object.")
    if array_format is None:
        array_format = DEFAULT_ARRAY_FORMAT
    if not isinstance(array_format, str) or array_format not in ARRAY_FORMATS:
        return _runtime(
            "The HTTP Task's Transform.RequestEncodingOptions.ArrayFormat must be one of "
            f"{', '.join(ARRAY_FORMATS)}."
        )
    return encoding, array_format


def _body(
    parameters: Mapping[str, JSON], connection: Connection | None, encoding: str, fmt: str
) -> tuple[bytes | None, str | None] | TaskFailure:
    """The body's bytes and its default content type (None: no body)."""
    if "RequestBody" not in parameters:
        body: JSON = None
        present = False
    else:
        body, present = parameters["RequestBody"], True
    extra = dict(connection.invocation.body) if connection is not None else {}
    if extra:
        if isinstance(body, str):
            return _runtime(
                "The HTTP Task's RequestBody is a string, and its EventBridge connection adds "
                "body parameters: Step Functions cannot merge the two. Give RequestBody as a "
                "JSON object."
            )
        if body is not None and not isinstance(body, dict):
            return _runtime(
                "The HTTP Task's RequestBody must be a JSON object to take the body parameters "
                "of its EventBridge connection."
            )
        body, present = {**(body or {}), **extra}, True
    if not present:
        return None, None
    if encoding == "URL_ENCODED":
        if isinstance(body, str):
            return body.encode(), FORM_CONTENT_TYPE
        if not isinstance(body, dict):
            return _runtime(
                "The HTTP Task's RequestBody must be a JSON object to be URL-encoded "
                "(Transform.RequestBodyEncoding URL_ENCODED)."
            )
        return encode_form(body, fmt).encode(), FORM_CONTENT_TYPE
    if isinstance(body, str):
        return body.encode(), JSON_CONTENT_TYPE
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return text.encode(), JSON_CONTENT_TYPE


def build_request(
    parameters: JSON, connections: Connections, region: str
) -> OutgoingRequest | TaskFailure:
    """The request a Task's effective parameters describe, its connection's parameters merged
    in (its credentials are added at sending time), or the `States.Runtime` failure saying what
    is wrong with them."""
    if not isinstance(parameters, dict):
        return _runtime("The HTTP Task's parameters must be a JSON object with an ApiEndpoint.")
    unknown = [name for name in parameters if name not in HTTP_PARAMETERS]
    if unknown:
        return _runtime(
            f"The HTTP Task does not take the field '{unknown[0]}'; its fields are "
            f"{', '.join(HTTP_PARAMETERS)}."
        )
    endpoint = _endpoint(parameters.get("ApiEndpoint"))
    if isinstance(endpoint, TaskFailure):
        return endpoint
    method = parameters.get("Method")
    if method not in HTTP_METHODS:
        return _runtime(f"The HTTP Task's Method must be one of {', '.join(HTTP_METHODS)}.")
    assert isinstance(method, str)
    arn = _connection_arn(parameters)
    if isinstance(arn, TaskFailure):
        return arn
    connection = connections.find(arn)
    headers = _headers(parameters.get("Headers"))
    if isinstance(headers, TaskFailure):
        return headers
    if connection is not None:
        headers = _merge_headers(headers, connection.invocation.headers)
    query = _query(parameters.get("QueryParameters"), connection)
    if isinstance(query, TaskFailure):
        return query
    transform = _transform(parameters.get("Transform"))
    if isinstance(transform, TaskFailure):
        return transform
    body = _body(parameters, connection, *transform)
    if isinstance(body, TaskFailure):
        return body
    content, content_type = body
    if content_type is not None and not any(n.lower() == "content-type" for n, _ in headers):
        headers.append(("Content-Type", content_type))
    headers = _merge_headers(
        headers,
        [("User-Agent", f"Amazon|StepFunctions|HttpInvoke|{region}"), ("Range", RANGE)],
    )
    url = endpoint
    if query:
        url += ("&" if "?" in url else "?") + query
    return OutgoingRequest(method, url, tuple(headers), content, arn, connection)


# --------------------------------------------------------------------------- the answer


def _status_text(status: int, reason: str) -> str:
    if reason:
        return reason
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _media_type(headers: list[tuple[str, str]]) -> str:
    for name, value in headers:
        if name == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def task_result(
    status: int, reason: str, headers: list[tuple[str, str]], body: bytes, resource: str
) -> TaskResult:
    """The Task's result for an HTTP answer (`headers` with lower-case names, in order)."""
    if len(body) > PAYLOAD_LIMIT_BYTES:
        return TaskFailure(
            STATES_DATA_LIMIT_EXCEEDED,
            f"The state/task '{resource}' returned a result with a size exceeding the maximum "
            "number of bytes service limit.",
        )
    media = _media_type(headers)
    if media.startswith(_UNSUPPORTED_MEDIA):
        return _runtime(
            f"The HTTP Task's response has the content type '{media}', which Step Functions "
            "does not accept (application/octet-stream, image/*, video/*, audio/*)."
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _runtime("The HTTP Task's response body is not valid UTF-8 text.")
    response_body: JSON = text
    if media == "application/json" or media.endswith("+json"):
        try:
            response_body = json.loads(text)
        except ValueError:
            response_body = text
    grouped: dict[str, list[JSON]] = {}
    for name, value in headers:
        grouped.setdefault(name, []).append(value)
    result: dict[str, JSON] = {
        "Headers": dict(grouped),
        "ResponseBody": response_body,
        "StatusCode": status,
        "StatusText": _status_text(status, reason),
    }
    if 200 <= status < 300:
        return TaskSuccess(result)
    cause = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return TaskFailure(f"{STATES_HTTP_STATUS_CODE_PREFIX}{status}", cause)


def _where(url: str) -> str:
    """The URL without its query string, which may carry a connection's parameters."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


# --------------------------------------------------------------------------- the backend


class HttpTaskBackend:
    """Serves `arn:aws:states:::http:invoke` (see the module docstring).

    `connections` are the operator's (asl.toml `[connections]`); a ConnectionArn none of them
    matches sends no credentials, and the log says so once per ARN. `timeout` is the limit of
    one request, AWS's 60 seconds (a test passes a shorter one). One connection pool, opened on
    first use on the running loop (httpx2 is imported then, not before).
    """

    def __init__(
        self,
        connections: Connections | None = None,
        *,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        self.connections = connections or Connections()
        self._timeout = timeout
        self._client: httpx2.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._keeper: AsyncGenerator[None, None] | None = None
        self._unmapped: set[str] = set()

    async def _client_on_this_loop(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import httpx2

            # trust_env off: no proxy variable reroutes a call, and no ~/.netrc adds
            # credentials the operator did not configure as a connection.
            client = httpx2.AsyncClient(trust_env=False, follow_redirects=False)
            # httpx's own defaults are not Step Functions': the request AWS shows on the wire
            # (the TestState guide's TRACE example, as httpbin echoed it) has no Accept and no
            # Accept-Encoding, and its User-Agent is set per call.
            for name in ("Accept", "Accept-Encoding", "User-Agent"):
                del client.headers[name]
            keeper = _closed_with_loop(client)
            await anext(keeper)
            self._client, self._loop, self._keeper = client, loop, keeper
        return self._client

    async def aclose(self) -> None:
        """Close the connection pool."""
        keeper, self._client, self._loop, self._keeper = self._keeper, None, None, None
        if keeper is not None:
            await keeper.aclose()

    async def invoke(self, request: TaskRequest) -> TaskResult:
        """Call the API; every failure comes back as a `TaskFailure`."""
        outgoing = build_request(request.payload, self.connections, request.region)
        if isinstance(outgoing, TaskFailure):
            return outgoing
        if request.traceparent is not None:  # the Task's span: the API's spans join its trace
            headers = _merge_headers(list(outgoing.headers), [("traceparent", request.traceparent)])
            outgoing = replace(outgoing, headers=tuple(headers))
        if outgoing.connection is None and outgoing.connection_arn not in self._unmapped:
            self._unmapped.add(outgoing.connection_arn)
            _log.warning(
                "HTTP Task %r: no [connections] entry in asl.toml matches %s, so its calls "
                "carry no credentials; map the connection's name or ARN to its credentials "
                "to send them (docs/http-task.md)",
                request.state_name,
                outgoing.connection_arn,
            )
        try:
            return await self._send(outgoing, request.resource)
        except Exception as exc:  # a bug here fails the Task, never the interpreter
            _log.exception("HTTP Task %r failed inside the engine", request.state_name)
            return _runtime(
                f"Internal error in the HTTP Task backend calling {_where(outgoing.url)}: "
                f"{type(exc).__name__}"
            )

    async def _send(self, outgoing: OutgoingRequest, resource: str) -> TaskResult:
        import httpx2

        client = await self._client_on_this_loop()
        connection = outgoing.connection
        refreshed = False
        while True:
            headers = list(outgoing.headers)
            if connection is not None:
                auth = await self.connections.authorization_headers(
                    connection, client, refresh=refreshed
                )
                if isinstance(auth, TaskFailure):
                    return auth
                headers = _merge_headers(headers, auth)
            try:
                async with asyncio.timeout(self._timeout):
                    answer = await self._exchange(client, outgoing, headers)
            except TimeoutError:
                return TaskFailure(
                    STATES_HTTP_SOCKET,
                    f"The HTTP request to {_where(outgoing.url)} timed out after "
                    f"{self._timeout:g} seconds.",
                )
            except httpx2.InvalidURL as exc:
                return _runtime(f"The HTTP Task's ApiEndpoint is not a valid URL: {exc}")
            except httpx2.HTTPError as exc:
                return TaskFailure(
                    STATES_HTTP_SOCKET,
                    f"The HTTP request to {_where(outgoing.url)} got no response: "
                    f"{type(exc).__name__}: {_describe(exc)}",
                )
            status, reason, answer_headers, body = answer
            oauth = connection is not None and connection.authorization_type.startswith("OAUTH")
            if oauth and status in (401, 407) and not refreshed:
                refreshed = True  # EventBridge fetches a new token and tries once more
                continue
            return task_result(status, reason, answer_headers, body, resource)

    async def _exchange(
        self, client: httpx2.AsyncClient, outgoing: OutgoingRequest, headers: list[tuple[str, str]]
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        async with client.stream(
            outgoing.method,
            outgoing.url,
            headers=headers,
            content=outgoing.body,
            timeout=self._timeout,
        ) as response:
            kept = bytearray()
            async for chunk in response.aiter_bytes():
                room = PAYLOAD_LIMIT_BYTES + 1 - len(kept)
                if room <= 0:
                    break  # over the limit already: refused on its size, the rest unread
                kept += chunk[:room]
            names = [(name.lower(), value) for name, value in response.headers.multi_items()]
            return response.status_code, response.reason_phrase, names, bytes(kept)


async def _closed_with_loop(client: httpx2.AsyncClient) -> AsyncGenerator[None, None]:
    """Holds `client` open; closing this generator (or the loop's shutdown) closes it, as
    engine/backends/endpoint.py's pool does."""
    try:
        yield
    finally:
        await client.aclose()


def _describe(exc: BaseException) -> str:
    """The root OS error's text when there is one ("Connection refused"), else the message."""
    root: BaseException | None = exc
    for _ in range(10):  # bounded: a chain may loop
        if root is None:
            break
        if isinstance(root, OSError) and root.errno is not None:
            # socket.gaierror carries resolver codes (-2) that only its strerror names;
            # asyncio's own strerror for a refused connect is "Connect call failed (...)"
            if root.errno < 0 and root.strerror:
                return root.strerror
            return os.strerror(root.errno)
        root = root.__cause__ or root.__context__
    return str(exc) or type(exc).__name__
