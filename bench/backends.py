"""Per-invocation overhead of each function backend, through the Lambda layer.

Owns: timing an echo function (the event comes back as the result) invoked as a Task invokes
it (`LambdaBackend.invoke` with a function-ARN `TaskRequest`: Lambda's rules, the runner, the
result shaping) when it runs in-process as a Python handler (`def`, on the thread pool, and
`async def`, on the loop), as a subprocess (`/bin/cat`; `python -c` a one-line echo) and as an
HTTP endpoint (uvicorn serving a tiny ASGI echo app on loopback, in its own process, as a
developer's local server would run), each with one caller making calls in turn and with 8
concurrent callers. Reports calls per second and the p50/p99 latency of one invocation.
Must never: assert a target (these rows inform the choice of backend), or leave the server
process behind.

`python -m bench.backends [--quick]` prints the table alone; `python -m bench` includes it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from bench.api_load import free_port
from engine.backends.command import CommandRunner
from engine.backends.endpoint import HttpRunner
from engine.backends.functions import FunctionSettings, LambdaBackend, LambdaFunction
from engine.backends.python import HandlerPool, PythonRunner
from engine.backends.runner import FunctionRunner
from engine.interpreter.tasks import TaskRequest, TaskSuccess

CONCURRENT_CALLERS = 8
EVENT = '{"orderId": "ORD-1", "items": [{"sku": "A-1", "qty": 2}], "total": 12.5}'
_PYTHON_ECHO = "import sys; sys.stdout.write(sys.stdin.read())"
_SERVER_START_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class RunnerSpeed:
    runner: str
    callers: int
    calls: int
    per_second: float
    p50_ms: float
    p99_ms: float


async def echo_app(
    scope: dict[str, object],
    receive: Callable[[], Awaitable[dict[str, object]]],
    send: Callable[[dict[str, object]], Awaitable[None]],
) -> None:
    """The ASGI echo function the HTTP rows call: answers each POST with its body."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        body += chunk if isinstance(chunk, bytes) else b""
        if not message.get("more_body"):
            break
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def echo(event: object, context: object) -> object:
    return event


async def echo_async(event: object, context: object) -> object:
    return event


_REQUEST = TaskRequest(
    resource="arn:aws:lambda:us-east-1:123456789012:function:Echo",
    payload=json.loads(EVENT),
    execution_arn="arn:aws:states:us-east-1:123456789012:execution:bench:1",
    state_name="Call",
)


async def _measure(runner: FunctionRunner, calls: int, callers: int) -> tuple[float, list[float]]:
    """Wall seconds for `calls` invocations split over `callers` tasks, and each one's seconds."""
    backend = LambdaBackend(
        {"Echo": LambdaFunction(runner, FunctionSettings(timeout=900))},
    )
    latencies: list[float] = []
    expected = TaskSuccess(_REQUEST.payload)

    async def caller(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            result = await backend.invoke(_REQUEST)
            latencies.append(time.perf_counter() - started)
            if result != expected:
                raise RuntimeError(f"the echo function answered {result!r}")

    for _ in range(min(callers, 4)):  # warm-up: caches, the connection pool
        await caller(1)
    latencies.clear()
    share, extra = divmod(calls, callers)
    started = time.perf_counter()
    await asyncio.gather(*(caller(share + (1 if n < extra else 0)) for n in range(callers)))
    return time.perf_counter() - started, latencies


def _row(name: str, callers: int, wall: float, latencies: list[float]) -> RunnerSpeed:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return RunnerSpeed(
        runner=name,
        callers=callers,
        calls=len(latencies),
        per_second=len(latencies) / wall,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=cuts[98] * 1000,
    )


@contextlib.contextmanager
def uvicorn_echo_server() -> Iterator[str]:
    """uvicorn serving `echo_app` in a child process; yields its URL, stops it after."""
    port = free_port()
    code = (
        "import uvicorn; from bench.backends import echo_app; "
        f"uvicorn.run(echo_app, host='127.0.0.1', port={port}, log_level='warning')"
    )
    server = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + _SERVER_START_SECONDS
        while True:  # a benchmark may poll: wait until the port accepts connections
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {port}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
    finally:
        server.terminate()
        server.wait(10)


def bench_backends(
    *, calls: int = 400, process_calls: int = 100, python_calls: int = 5000
) -> list[RunnerSpeed]:
    """One row per backend and caller count; `process_calls` for the subprocess rows (each call
    starts a process: fewer are enough), `calls` for HTTP, `python_calls` in-process."""

    async def rows_for(
        name: str, make: Callable[[], FunctionRunner], count: int
    ) -> list[RunnerSpeed]:
        rows = []
        for callers in (1, CONCURRENT_CALLERS):
            runner = make()
            try:
                wall, latencies = await _measure(runner, count, callers)
            finally:
                if isinstance(runner, HttpRunner):
                    await runner.aclose()  # from a coroutine, the sure way (see its close())
                elif not isinstance(runner, PythonRunner):  # the pool is shared by the rows
                    runner.close()
            rows.append(_row(name, callers, wall, latencies))
        return rows

    async def run_all(url: str) -> list[RunnerSpeed]:
        pool = HandlerPool(CONCURRENT_CALLERS)
        return [
            *await rows_for(
                "Python in-process: def (thread pool)",
                lambda: PythonRunner(echo, pool),
                python_calls,
            ),
            *await rows_for(
                "Python in-process: async def",
                lambda: PythonRunner(echo_async, pool),
                python_calls,
            ),
            *await rows_for(
                "subprocess: /bin/cat",
                lambda: CommandRunner(["/bin/cat"], function_name="Echo"),
                process_calls,
            ),
            *await rows_for(
                "subprocess: python -c (echo)",
                lambda: CommandRunner([sys.executable, "-c", _PYTHON_ECHO], function_name="Echo"),
                max(CONCURRENT_CALLERS, process_calls // 4),
            ),
            *await rows_for(
                "HTTP: uvicorn echo on loopback",
                lambda: HttpRunner(url, function_name="Echo"),
                calls,
            ),
        ]

    with uvicorn_echo_server() as url:
        return asyncio.run(run_all(url))


def backends_table(rows: Sequence[RunnerSpeed]) -> str:
    """The rows as the bench's plain-text table."""
    # Imported here: bench.__main__ will import this module for its section.
    from bench.__main__ import format_table

    headers = ["backend", "callers", "calls", "calls/s", "p50 ms", "p99 ms"]
    return format_table(
        headers,
        [
            [
                row.runner,
                str(row.callers),
                str(row.calls),
                f"{row.per_second:,.0f}",
                f"{row.p50_ms:.2f}",
                f"{row.p99_ms:.2f}",
            ]
            for row in rows
        ],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backends", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    args = parser.parse_args(argv)
    quick = {"calls": 80, "process_calls": 24, "python_calls": 500}
    rows = bench_backends(**quick) if args.quick else bench_backends()
    print(backends_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
