"""A Lambda function served over HTTP: each call is one POST of the event to the function's URL.

Owns: `HttpRunner`, the `FunctionRunner` for a function running as a server (a local dev
server, a container behind the AWS Lambda Runtime Interface Emulator at
`http://HOST:PORT/2015-03-31/functions/function/invocations`), and `check_url` for
`asl config check`. Must never: retry a request that may have reached the function (only a
connection that never opened is retried), decide the function's timeout (the Lambda layer
cancels the call at the deadline; the request's own timeout is only a backstop), or call any
URL but the operator's configured one.

The protocol, one call: `POST url` with the event text as the body, `Content-Type:
application/json`, the configured headers, and `X-Amz-Invocation-Type: RequestResponse`,
`Lambda-Runtime-Aws-Request-Id` (the request id, under the name Lambda's runtime API uses),
`X-Asl-Function-Name`, `X-Asl-Invoked-Function-Arn`, `X-Asl-Memory-Size` (MB),
`X-Asl-Deadline-Ms` (the deadline in Unix epoch ms, as Lambda's `Lambda-Runtime-Deadline-Ms`).
The answer:
- 2xx with an `X-Amz-Function-Error` header (Lambda's Invoke API marks a function error so):
  the body is the error envelope; without an `errorType` it is `Lambda.Unknown`, as Step
  Functions reports such a response.
- 2xx whose body is an error envelope: that error. The emulator answers a raising handler with
  200, the envelope and no `X-Amz-Function-Error` header (aws-lambda-runtime-interface-emulator
  issue #20), so the body alone must be enough.
- Any other 2xx: the body is the result (an empty body is `null`: the emulator answers so when
  the function's process dies, issue #86; a handler returning nothing gives `null` anyway).
- Not 2xx: an envelope in the body is that error; otherwise `Lambda.Unknown` naming the status.
- No answer (the connection could not be opened after the retries, or broke after the request
  was sent): `Lambda.SdkClientException`, "Unable to execute HTTP request: ...", what Step
  Functions' Lambda client reports when it cannot reach Lambda, and what AWS's recommended
  Retry for Lambda tasks already handles.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Final
from urllib.parse import urlsplit

import httpx2

from engine.backends.envelope import (
    deadline_epoch_ms,
    error_envelope_of,
    lambda_unknown,
)
from engine.backends.lambda_arn import parse_payload
from engine.backends.runner import Invocation, Outcome, Returned
from engine.errors import STATES_RUNTIME
from engine.interpreter.tasks import TaskFailure
from engine.values import PAYLOAD_LIMIT_BYTES

SDK_CLIENT_EXCEPTION: Final = "Lambda.SdkClientException"

__all__ = ["HttpRunner", "check_url"]

FUNCTION_ERROR_HEADER: Final = "X-Amz-Function-Error"
TIMEOUT_GRACE_SECONDS: Final = 1.0
"""The request's timeout runs this long past the deadline: the Lambda layer cancels the call at
the deadline and reports the timeout as Lambda would; the request's own timeout is only there
for a caller without one, and must not win that race with a vaguer failure."""
_NULL_SIZE: Final = len(b"null")


def check_url(url: str) -> str | None:
    """Why `url` cannot be a function's endpoint, or None (nothing is connected to)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is no number raises here
    except ValueError as exc:
        return f"'{url}' is not a valid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return f"'{url}' must start with http:// or https://"
    if not parts.hostname:
        return f"'{url}' names no host (e.g. http://127.0.0.1:9000/)"
    if port == 0:
        return f"'{url}' has port 0"
    return None


class HttpRunner:
    """Runs a function by POSTing each event to `url` (see the module docstring).

    `retries` more attempts are made when the connection cannot be opened (the function surely
    never saw the request), after `backoff_seconds`, doubling, waited with `sleep` (a test
    passes its own to step through the attempts). `headers` go with every request. One
    connection pool per runner, opened on first use on the running loop.
    """

    def __init__(
        self,
        url: str,
        *,
        retries: int = 2,
        headers: Mapping[str, str] | None = None,
        function_name: str,
        backoff_seconds: float = 0.05,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if retries < 0:
            raise ValueError(f"function '{function_name}': retries must be 0 or more")
        self._url = url
        self._retries = retries
        self._headers = dict(headers or {})
        self._function_name = function_name
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._problem = check_url(url)
        self._client: httpx2.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._keeper: AsyncGenerator[None, None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def check(self) -> str | None:
        """Why the URL cannot be used, or None (see `check_url`)."""
        return self._problem

    # ------------------------------------------------------------------ the connection pool

    async def _client_on_this_loop(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self.close()  # a pool opened on another loop cannot serve this one
            # trust_env off: the URL is exactly where the function is (often loopback); a
            # proxy from HTTP_PROXY would reroute a local endpoint.
            client = httpx2.AsyncClient(trust_env=False)
            keeper = _closed_with_loop(client)
            await anext(keeper)  # now the loop knows it (see _closed_with_loop)
            self._client, self._loop, self._keeper = client, loop, keeper
        return self._client

    async def aclose(self) -> None:
        """Close the connection pool (the way to close from a coroutine)."""
        keeper = self._forget()
        if keeper is not None:
            await keeper.aclose()

    def close(self) -> None:
        """Release the connection pool; calls still running are abandoned.

        On the pool's own loop, while it runs, the closing is scheduled there: the loop must
        run on for it to finish (`asyncio.run` cancels tasks still pending when its coroutine
        returns, which can cut the closing short and leave sockets to the garbage collector),
        so a coroutine should `await aclose()` instead. On a loop that has stopped but is not
        closed, the closing runs to completion. On a closed loop there is nothing left to do:
        the loop's shutdown closed the pool (see `_closed_with_loop`).
        """
        loop = self._loop
        keeper = self._forget()
        if keeper is None or loop is None or loop.is_closed():
            return
        if not loop.is_running():
            loop.run_until_complete(keeper.aclose())
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            task = loop.create_task(keeper.aclose())
            self._closing.add(task)  # held, so the task is not collected before it ran
            task.add_done_callback(self._closing.discard)
        else:  # called from another thread: the pool's loop does the closing
            asyncio.run_coroutine_threadsafe(keeper.aclose(), loop)

    def _forget(self) -> AsyncGenerator[None, None] | None:
        keeper = self._keeper
        self._client, self._loop, self._keeper = None, None, None
        return keeper

    # ------------------------------------------------------------------ one call

    async def run(self, invocation: Invocation) -> Outcome:
        """POST the event; retry only connections that never opened. Raises only on cancel."""
        if self._problem is not None:
            return TaskFailure(
                STATES_RUNTIME,
                f"Function '{self._function_name}' has an unusable url: {self._problem}. Fix "
                "the function's `url` in the config file.",
            )
        client = await self._client_on_this_loop()
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "X-Amz-Invocation-Type": "RequestResponse",
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "X-Asl-Function-Name": invocation.function_name,
            "X-Asl-Invoked-Function-Arn": invocation.invoked_function_arn,
            "X-Asl-Deadline-Ms": str(deadline_epoch_ms(invocation.deadline)),
            "X-Asl-Memory-Size": str(invocation.memory_size),
        }
        if invocation.traceparent is not None:  # the calling Task's W3C trace context
            headers["traceparent"] = invocation.traceparent
        body = invocation.event_text.encode()
        delay = self._backoff
        attempts = self._retries + 1
        for attempt in range(1, attempts + 1):
            seconds = max(0.0, invocation.deadline - time.monotonic()) + TIMEOUT_GRACE_SECONDS
            try:
                return await self._post(client, headers, body, seconds)
            except httpx2.ConnectError as exc:
                if attempt == attempts:
                    return self._unreachable(attempts, exc)
            except httpx2.HTTPError as exc:  # sent, or may have been: never retried
                return self._failed_after_sending(exc)
            await self._sleep(delay)
            delay *= 2
        raise AssertionError("unreachable: the last attempt returns")  # pragma: no cover

    async def _post(
        self, client: httpx2.AsyncClient, headers: dict[str, str], body: bytes, seconds: float
    ) -> Outcome:
        async with client.stream(
            "POST", self._url, content=body, headers=headers, timeout=seconds
        ) as response:
            kept = bytearray()
            size = 0
            # Read to the end (the connection goes back to the pool), keeping at most one
            # byte past the payload limit: an oversized result is refused on its size alone.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                room = PAYLOAD_LIMIT_BYTES + 1 - len(kept)
                if room > 0:
                    kept += chunk[:room]
            return self._outcome(
                response.status_code, response.headers.get(FUNCTION_ERROR_HEADER), bytes(kept), size
            )

    def _outcome(self, status: int, function_error: str | None, body: bytes, size: int) -> Outcome:
        raised = error_envelope_of(body)
        if raised is not None:
            return raised
        if not 200 <= status < 300:
            return lambda_unknown(body, f"HTTP {status} from {self._url}")
        if function_error is not None:
            return lambda_unknown(body)
        if size > PAYLOAD_LIMIT_BYTES:
            return Returned(size, None)  # the Lambda layer refuses it on its size
        if not body.strip():
            return Returned(_NULL_SIZE, None)
        return Returned(size, parse_payload(body))

    def _unreachable(self, attempts: int, exc: httpx2.ConnectError) -> TaskFailure:
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        return TaskFailure(
            SDK_CLIENT_EXCEPTION,
            f"Unable to execute HTTP request: Connect to function '{self._function_name}' at "
            f"{self._url} failed ({tries}): {_describe(exc)}. Start the function's endpoint, "
            "or fix its `url` in the config file.",
        )

    def _failed_after_sending(self, exc: httpx2.HTTPError) -> TaskFailure:
        return TaskFailure(
            SDK_CLIENT_EXCEPTION,
            f"Unable to execute HTTP request: the request to function '{self._function_name}' "
            f"at {self._url} failed after it was sent, so it is not retried (the function may "
            f"have run): {_describe(exc)}",
        )


async def _closed_with_loop(client: httpx2.AsyncClient) -> AsyncGenerator[None, None]:
    """Holds `client` open; closing this generator closes it.

    Started once, the generator is known to its loop, and a loop's shutdown
    (`shutdown_asyncgens`, which `asyncio.run` calls before closing the loop) closes every
    generator still open: so a pool whose owner never called `close()` while the loop ran is
    still closed on that loop, with no socket left for the garbage collector to complain about.
    """
    try:
        yield
    finally:
        await client.aclose()


def _describe(exc: BaseException) -> str:
    """`Type: message`, with the OS error at the root of the chain when there is one (httpx
    says "All connection attempts failed"; the OS says "Connection refused")."""
    text = f"{type(exc).__name__}: {_text(exc)}"
    root: BaseException | None = exc
    seen = 0
    while root is not None and seen < 10:  # bounded: a chain may loop
        if isinstance(root, OSError) and root.errno is not None:
            return f"{text} ({os.strerror(root.errno)})"
        root = root.__cause__ or root.__context__
        seen += 1
    return text


def _text(exc: BaseException) -> str:
    with contextlib.suppress(Exception):  # a broken __str__ must not break the report
        return str(exc)
    return repr(exc)
