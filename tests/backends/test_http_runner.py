"""HttpRunner: a function as an HTTP endpoint, one POST per call.

A real HTTP/1.1 server on loopback (tests/backends/http_server.py) answers as each test says.
No sleeps: the retry back-off goes through a `sleep` the test passes, which records the delays
and can start the server between attempts; a call in flight is observed through events the
server's handler sets.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import time
from collections.abc import Awaitable, Callable

import pytest

from engine.backends.endpoint import HttpRunner, check_url
from engine.backends.envelope import UNKNOWN_CAUSE
from engine.backends.runner import Outcome, Raised, Returned
from engine.interpreter.tasks import TaskFailure
from engine.values import PAYLOAD_LIMIT_BYTES
from tests.backends.http_server import HttpServer, Request, Response
from tests.backends.runner_cases import ARN, ECHO_CASES, ECHO_IDS, RID, invocation

ENVELOPE = (
    b'{"errorType":"Error","errorMessage":"failure","trace":["Error: failure",'
    b'"    at Runtime.handler (/var/task/index.js:1:43)"]}'
)
RAISED = Raised(
    "Error", "failure", ("Error: failure", "    at Runtime.handler (/var/task/index.js:1:43)")
)


def answering(response: Response) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        return response

    return handler


def call(
    handler: Callable[[Request], Awaitable[Response]] | None = None, event_text: str = "{}"
) -> tuple[Outcome, list[Request]]:
    """One call through a fresh runner to a fresh server; the outcome and what the server got."""

    async def scenario() -> tuple[Outcome, list[Request]]:
        server = HttpServer(handler) if handler is not None else HttpServer()
        async with server:
            runner = HttpRunner(server.url, function_name="Echo")
            try:
                return await runner.run(invocation(event_text)), server.requests
            finally:
                await runner.aclose()

    return asyncio.run(scenario())


def free_port() -> socket.socket:
    """A bound, not listening, loopback socket: connecting to its port is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


# --------------------------------------------------------------------------- results


@pytest.mark.parametrize(
    ("event_text", "payload"),
    ECHO_CASES,
    ids=ECHO_IDS,
)
def test_an_echo_endpoint_returns_the_event(event_text: str, payload: object) -> None:
    outcome, _ = call(event_text=event_text)
    assert outcome == Returned(len(event_text.encode()), payload)  # type: ignore[arg-type]


def test_the_request_carries_the_event_and_the_invocation_headers() -> None:
    async def scenario() -> tuple[list[Request], str]:
        async with HttpServer() as server:
            runner = HttpRunner(
                server.url, headers={"Authorization": "Bearer dev"}, function_name="Echo"
            )
            before = time.time()
            await runner.run(invocation('{"who": "Ada"}', seconds_left=30.0))
            await runner.aclose()
            return server.requests, str(int(before * 1000) + 30_000)

    requests, about_deadline = asyncio.run(scenario())
    [request] = requests
    assert (request.method, request.path, request.body) == (
        "POST",
        "/2015-03-31/functions/function/invocations",
        b'{"who": "Ada"}',
    )
    deadline_ms = int(request.headers.pop("x-asl-deadline-ms"))
    assert abs(deadline_ms - int(about_deadline)) < 1_000
    assert {
        name: value
        for name, value in request.headers.items()
        if name not in {"host", "accept", "accept-encoding", "connection", "user-agent"}
    } == {
        "authorization": "Bearer dev",
        "content-type": "application/json",
        "content-length": "14",
        "x-amz-invocation-type": "RequestResponse",
        "lambda-runtime-aws-request-id": RID,
        "x-asl-function-name": "Echo",
        "x-asl-invoked-function-arn": ARN,
        "x-asl-memory-size": "256",
    }


def test_an_empty_body_is_null() -> None:
    assert call(answering(Response(200, b"")))[0] == Returned(4, None)


def test_a_body_over_the_payload_limit_is_returned_unparsed_with_its_size() -> None:
    size = PAYLOAD_LIMIT_BYTES + 1000
    assert call(answering(Response(200, b"x" * size)))[0] == Returned(size, None)


def test_one_connection_serves_successive_calls() -> None:
    async def scenario() -> int:
        async with HttpServer() as server:
            runner = HttpRunner(server.url, function_name="Echo")
            for n in range(3):
                assert await runner.run(invocation(str(n))) == Returned(1, n)
            await runner.aclose()
            return server.connections

    assert asyncio.run(scenario()) == 1


# --------------------------------------------------------------------------- function errors


def test_x_amz_function_error_with_an_envelope_is_the_function_error() -> None:
    response = Response(200, ENVELOPE, {"X-Amz-Function-Error": "Unhandled"})
    assert call(answering(response))[0] == RAISED


def test_the_emulators_answer_an_envelope_without_the_header_is_the_function_error() -> None:
    # What aws-lambda-runtime-interface-emulator answers for a raising Node handler (issue #20).
    response = Response(200, ENVELOPE, {"Content-Type": "text/plain; charset=utf-8"})
    assert call(answering(response))[0] == RAISED


def test_x_amz_function_error_without_an_error_type_is_lambda_unknown() -> None:
    body = b'{"errorMessage":"2024-03-06T10:29:14.000Z Task timed out after 3.00 seconds"}'
    response = Response(200, body, {"X-Amz-Function-Error": "Unhandled"})
    assert call(answering(response))[0] == TaskFailure(
        "Lambda.Unknown",
        "The cause could not be determined because Lambda did not return an error type. "
        'Returned payload: {"errorMessage":"2024-03-06T10:29:14.000Z Task timed out after 3.00 '
        'seconds"}',
    )


def test_an_error_status_with_an_envelope_is_the_function_error() -> None:
    assert call(answering(Response(500, ENVELOPE)))[0] == RAISED


def test_an_error_status_without_an_envelope_is_lambda_unknown_with_the_status() -> None:
    async def scenario() -> tuple[Outcome, str]:
        async with HttpServer(answering(Response(500, b"Internal Server Error"))) as server:
            runner = HttpRunner(server.url, function_name="Echo")
            outcome = await runner.run(invocation())
            await runner.aclose()
            return outcome, server.url

    outcome, url = asyncio.run(scenario())
    assert outcome == TaskFailure(
        "Lambda.Unknown", f"{UNKNOWN_CAUSE}Internal Server Error (HTTP 500 from {url})"
    )


def test_lambda_unknown_quotes_only_the_start_of_a_long_body() -> None:
    outcome, _ = call(answering(Response(404, b"n" * 5000)))
    assert isinstance(outcome, TaskFailure)
    assert outcome.cause is not None
    assert outcome.cause.startswith(UNKNOWN_CAUSE + "n" * 2048 + "... (HTTP 404 from http://")


# --------------------------------------------------------------------------- connections


class Steps:
    """The runner's `sleep`: records each back-off delay, and can act on the n-th one."""

    def __init__(self, on_sleep: Callable[[int], Awaitable[None]] | None = None) -> None:
        self.delays: list[float] = []
        self._on_sleep = on_sleep

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self._on_sleep is not None:
            await self._on_sleep(len(self.delays))


def test_a_refused_connection_is_retried_then_lambda_unknown() -> None:
    steps = Steps()
    with free_port() as sock:
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}/fn"
        runner = HttpRunner(url, retries=2, function_name="Echo", sleep=steps)

        async def scenario() -> Outcome:
            try:
                return await runner.run(invocation())
            finally:
                await runner.aclose()

        outcome = asyncio.run(scenario())
    assert steps.delays == [0.05, 0.1]  # three attempts, the back-off doubling
    assert outcome == TaskFailure(
        "Lambda.SdkClientException",
        f"Unable to execute HTTP request: Connect to function 'Echo' at {url} failed (3 "
        "attempts): ConnectError: All connection attempts failed (Connection refused). Start "
        "the function's endpoint, or fix its `url` in the config file.",
    )


def test_an_endpoint_that_starts_listening_between_attempts_gets_the_call() -> None:
    sock = free_port()
    port = sock.getsockname()[1]
    server = HttpServer(port=port)

    async def start_on_second_sleep(n: int) -> None:
        if n == 2:
            sock.close()
            await server.start()  # binds the same port, now listening

    steps = Steps(start_on_second_sleep)

    async def scenario() -> tuple[Outcome, int]:
        runner = HttpRunner(
            f"http://127.0.0.1:{port}/fn", retries=3, function_name="Echo", sleep=steps
        )
        try:
            return await runner.run(invocation("[7]")), len(server.requests)
        finally:
            await runner.aclose()
            await server.stop()

    try:
        assert asyncio.run(scenario()) == (Returned(3, [7]), 1)
    finally:
        sock.close()
    assert steps.delays == [0.05, 0.1]  # refused twice, the third attempt connected


def test_no_retry_once_the_request_was_sent() -> None:
    async def scenario() -> tuple[Outcome, int, list[float], str]:
        steps = Steps()

        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")  # the request arrived; no answer
            writer.close()
            await writer.wait_closed()
            hang_ups.append(1)

        hang_ups: list[int] = []
        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/fn"
        runner = HttpRunner(url, function_name="Echo", sleep=steps)
        try:
            outcome = await runner.run(invocation())
        finally:
            await runner.aclose()
            server.close()
            await server.wait_closed()
        return outcome, len(hang_ups), steps.delays, url

    outcome, requests, delays, url = asyncio.run(scenario())
    assert (requests, delays) == (1, [])
    assert outcome == TaskFailure(
        "Lambda.SdkClientException",
        f"Unable to execute HTTP request: the request to function 'Echo' at {url} failed after "
        "it was sent, so it is not retried (the function may have run): RemoteProtocolError: "
        "Server disconnected without sending a response.",
    )


def test_cancelling_a_call_closes_its_connection_and_the_runner_goes_on() -> None:
    arrived = asyncio.Event()
    release = asyncio.Event()

    async def slow(request: Request) -> Response:
        if request.body == b'"slow"':
            arrived.set()
            await release.wait()
        return Response(200, request.body)

    async def scenario() -> tuple[Outcome, int]:
        async with HttpServer(slow) as server:
            runner = HttpRunner(server.url, function_name="Echo")
            try:
                pending = asyncio.create_task(runner.run(invocation('"slow"')))
                await arrived.wait()
                pending.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await pending
                # The cancelled request's connection is not reused: a new one serves this.
                outcome = await runner.run(invocation('"fast"'))
                return outcome, server.connections
            finally:
                release.set()
                await runner.aclose()

    assert asyncio.run(scenario()) == (Returned(6, "fast"), 2)


# --------------------------------------------------------------------------- closing


def test_a_runner_left_open_is_closed_with_its_loop() -> None:
    # Warnings are errors: a socket left to the garbage collector would fail this test.
    runner_box: list[HttpRunner] = []

    async def scenario() -> Outcome:
        async with HttpServer() as server:
            runner = HttpRunner(server.url, function_name="Echo")
            runner_box.append(runner)
            return await runner.run(invocation("1"))

    assert asyncio.run(scenario()) == Returned(1, 1)
    gc.collect()
    runner_box[0].close()  # after its loop closed: nothing left to do, no error


def test_close_on_the_running_loop_and_reuse_on_another_loop() -> None:
    with free_port() as sock:
        port = sock.getsockname()[1]
    runner = HttpRunner(f"http://127.0.0.1:{port}/fn", function_name="Echo")

    async def scenario() -> Outcome:
        async with HttpServer(port=port):
            outcome = await runner.run(invocation("2"))
            runner.close()  # sync, on the running loop: the closing is scheduled there
            return outcome

    assert asyncio.run(scenario()) == Returned(1, 2)
    assert asyncio.run(scenario()) == Returned(1, 2)  # a new pool on the new loop
    gc.collect()


# --------------------------------------------------------------------------- check


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:9000/2015-03-31/functions/function/invocations", None),
        ("https://fn.example.com/invoke", None),
        ("ftp://host/x", "'ftp://host/x' must start with http:// or https://"),
        ("localhost:9000", "'localhost:9000' must start with http:// or https://"),
        ("http:///path", "'http:///path' names no host (e.g. http://127.0.0.1:9000/)"),
        (
            "http://host:port/",
            "'http://host:port/' is not a valid URL: Port could not be cast to integer value "
            "as 'port'",
        ),
    ],
    ids=["loopback", "https", "ftp", "no-scheme", "no-host", "bad-port"],
)
def test_check_url(url: str, problem: str | None) -> None:
    assert check_url(url) == problem
    assert HttpRunner(url, function_name="Echo").check() == problem


def test_a_call_to_an_unusable_url_fails_without_connecting() -> None:
    runner = HttpRunner("ftp://host/x", function_name="Echo")
    assert asyncio.run(runner.run(invocation())) == TaskFailure(
        "States.Runtime",
        "Function 'Echo' has an unusable url: 'ftp://host/x' must start with http:// or "
        "https://. Fix the function's `url` in the config file.",
    )


def test_the_event_is_sent_as_given() -> None:
    text = json.dumps({"a": [1, 2]}, separators=(",", ":"))
    _, requests = call(event_text=text)
    assert requests[0].body == text.encode()
