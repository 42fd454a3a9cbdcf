"""Structured request logs and the request envelope: id, auth, size limit, one JSON line each.

Owns: the ASGI middleware every request passes first. It gives the request an id (sent back as
`x-amzn-RequestId`, where botocore reads it), checks the bearer token when one is configured,
caps the body size, and writes one JSON log line per request on the `asl.api` logger: request
id, method, path, action, execution ARN, status, error code and latency. Must never: log a
request or response body (inputs may hold secrets), or let a failure of its own reach the client
as a traceback.

Named `accesslog`, not `logging`: a module may not shadow the standard library (STYLE.md; ruff
A005).

The token: `Authorization: Bearer <token>` from REST clients and curl; AWS SDKs cannot send a
bearer token, so for them the token is the access key id (signatures are accepted but not
checked: `Credential=<token>/...`) or the session token (`X-Amz-Security-Token`).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
import uuid
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body, status_for

LOGGER: Final = logging.getLogger("asl.api")
MAX_BODY_BYTES: Final = 8 * 1024 * 1024
"""Whole request bodies: a 1 MiB definition may grow up to 6-fold when escaped as JSON text."""

AWS_CONTENT_TYPE: Final = "application/x-amz-json-1.0"


class RequestLog:
    """What the handlers learn about a request, for its log line (one per request)."""

    __slots__ = ("action", "error", "execution_arn", "request_id")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.action: str | None = None
        self.execution_arn: str | None = None
        self.error: str | None = None


def request_log(scope: Scope) -> RequestLog:
    """The log record of the request in `scope` (set by the middleware)."""
    found = scope.get("state", {}).get("request_log")
    return found if isinstance(found, RequestLog) else RequestLog("-")


class RequestEnvelope:
    """ASGI middleware: request id, token check, body cap, and the per-request log line."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None = None,
        aws: ASGIApp | None = None,
        public: re.Pattern[str] | None = None,
    ) -> None:
        self.app = app
        self.token = token
        self.aws = aws  # the AWS JSON endpoint: `POST /` goes straight to it
        # GET paths served without the token: the console's page and assets, which hold no
        # data (api/console.py); its JSON calls carry the token like any other request
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        entry = RequestLog(str(uuid.uuid4()))
        scope.setdefault("state", {})["request_log"] = entry
        status = 500
        id_header = (b"x-amzn-requestid", entry.request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        aws = scope["path"] == "/"
        try:
            refused = self._refuse(scope)
            if refused is not None:
                entry.error = refused[0]
                await _send_error(send_with_id, refused[0], refused[1], aws=aws)
                return
            body, too_large = await _read_body(scope, receive)
            if too_large:
                entry.error = "RequestEntityTooLargeException"
                message = f"The request body exceeds the maximum size of {MAX_BODY_BYTES} bytes."
                await _send_error(send_with_id, entry.error, message, aws=aws)
                return
            target = (
                self.aws if aws and self.aws is not None and scope["method"] == "POST" else None
            )
            await (target or self.app)(scope, _replay(body, receive), send_with_id)
        finally:
            _log(scope, entry, status, time.perf_counter() - started)

    def _refuse(self, scope: Scope) -> tuple[str, str] | None:
        """(code, message) when the request lacks the configured token, else None."""
        if self.token is None:
            return None
        if (
            self.public is not None
            and scope["method"] in ("GET", "HEAD")
            and self.public.match(scope["path"])
        ):
            return None
        headers = dict(scope["headers"])
        presented = _presented_tokens(headers)
        if not presented:
            return (
                "MissingAuthenticationTokenException",
                "Missing Authentication Token: send 'Authorization: Bearer <token>' (or use "
                "the token as the AWS access key id)",
            )
        expected = self.token.encode()
        if any(hmac.compare_digest(candidate, expected) for candidate in presented):
            return None
        return (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )


def _presented_tokens(headers: dict[bytes, bytes]) -> list[bytes]:
    found = []
    authorization = headers.get(b"authorization", b"")
    if authorization[:7].lower() == b"bearer ":
        found.append(authorization[7:].strip())
    elif b"Credential=" in authorization:
        credential = authorization.split(b"Credential=", 1)[1]
        found.append(credential.split(b"/", 1)[0].split(b",", 1)[0].strip())
    session = headers.get(b"x-amz-security-token")
    if session:
        found.append(session.strip())
    return found


async def _read_body(scope: Scope, receive: Receive) -> tuple[bytes, bool]:
    """The whole body, or (b"", True) once it passes MAX_BODY_BYTES."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
            return b"", True
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the app sees an empty body
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replay


async def _send_error(send: Send, code: str, message: str, *, aws: bool) -> None:
    body = json.dumps(error_body(code, message)).encode()
    headers = [
        (b"content-type", AWS_CONTENT_TYPE.encode() if aws else b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if code in ("MissingAuthenticationTokenException", "UnrecognizedClientException"):
        headers.append((b"www-authenticate", b"Bearer"))
    await send(
        {
            "type": "http.response.start",
            "status": status_for(code, rest=not aws),
            "headers": headers,
        }
    )
    await send({"type": "http.response.body", "body": body})


def _log(scope: Scope, entry: RequestLog, status: int, seconds: float) -> None:
    if not LOGGER.isEnabledFor(logging.INFO):
        return
    record = {
        "time": round(time.time(), 3),
        "request_id": entry.request_id,
        "method": scope.get("method"),
        "path": scope.get("path"),
        "action": entry.action,
        "execution_arn": entry.execution_arn,
        "status": status,
        "error": entry.error,
        "latency_ms": round(seconds * 1000, 3),
    }
    LOGGER.info(json.dumps(record, separators=(",", ":")))
