"""Load on the HTTP API: StartExecution calls per second over keep-alive connections.

Owns: starting `asl serve --store memory://` as a child process on a free loopback port,
driving it with a lean asyncio HTTP/1.1 client (C connections, each sending its requests one
after another on one kept-alive connection), and reporting calls per second, p50/p99 latency and
whether every execution completed. Must never: run unbounded (a request count and a time limit
bound it) or fail the benchmark run when the target is missed (the row says MISS).

Server and client are separate processes, so on a 2-core machine each has a core: the figure is
the server's, not the client's. The server logs one JSON line per request (its default), sent
to /dev/null, so the logging cost is in the figure. Executions are Standard (each step
committed) on a one-Pass machine; after the last call the benchmark waits (bounded) until
ListExecutions shows none RUNNING, and counts the SUCCEEDED ones.

`python -m bench.api_load [--requests N] [--connections C]` prints the rows alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TARGET_PER_SECOND = 1000.0
MACHINE = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@dataclass(frozen=True, slots=True)
class ApiLoad:
    requests: int
    connections: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    succeeded: int
    drain_seconds: float  # from the last answer until no execution is RUNNING
    target: float = TARGET_PER_SECOND

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def verdict(self) -> str:
        ok = self.per_second >= self.target and self.errors == 0
        return "PASS" if ok and self.succeeded == self.requests else "MISS"


def free_port() -> int:
    """A loopback TCP port nothing listens on now (for a child server to bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _call(port: int, action: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=json.dumps(body).encode(),
        headers={
            "X-Amz-Target": f"AWSStepFunctions.{action}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"asl serve exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    raise RuntimeError(f"asl serve did not answer within {timeout:.0f} s")


def _start_request(port: int, machine_arn: str, i: int) -> bytes:
    body = json.dumps({"stateMachineArn": machine_arn, "input": json.dumps({"i": i})}).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "X-Amz-Target: AWSStepFunctions.StartExecution\r\n"
        "Content-Type: application/x-amz-json-1.0\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(
    port: int, requests: Sequence[bytes], latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            began = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            if status_line.split(b" ", 2)[1:2] != [b"200"]:
                errors.append(1)
    finally:
        writer.close()
        await writer.wait_closed()


async def _drive(
    port: int, machine_arn: str, requests: int, connections: int
) -> tuple[float, list[float], int]:
    per_connection: list[list[bytes]] = [[] for _ in range(connections)]
    for i in range(requests):
        per_connection[i % connections].append(_start_request(port, machine_arn, i))
    latencies: list[float] = []
    errors: list[int] = []
    began = time.perf_counter()
    await asyncio.gather(
        *(_connection(port, batch, latencies, errors) for batch in per_connection if batch)
    )
    return time.perf_counter() - began, latencies, len(errors)


def _count(port: int, machine_arn: str, status: str) -> int:
    total, token = 0, None
    while True:
        body: dict[str, object] = {
            "stateMachineArn": machine_arn,
            "statusFilter": status,
            "maxResults": 1000,
        }
        if token:
            body["nextToken"] = token
        page = _call(port, "ListExecutions", body)
        executions = page.get("executions")
        total += len(executions) if isinstance(executions, list) else 0
        token = page.get("nextToken")
        if not token:
            return total


def bench_api_load(requests: int = 5000, connections: int = 16, timeout: float = 120.0) -> ApiLoad:
    """Run the load test against a fresh `asl serve` child process (see the module docstring)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "engine.cli",
        "serve",
        "--store",
        "memory://",
        "--port",
        str(port),
    ]
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        command,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        _wait_ready(port, process, timeout=30)
        created = _call(
            port, "CreateStateMachine", {"name": "load", "definition": json.dumps(MACHINE)}
        )
        machine_arn = str(created["stateMachineArn"])
        # warm-up: imports, first compiles, connection set-up
        warm = _drive(port, machine_arn, min(200, requests), min(8, connections))
        asyncio.run(asyncio.wait_for(warm, timeout))
        seconds, latencies, errors = asyncio.run(
            asyncio.wait_for(_drive(port, machine_arn, requests, connections), timeout)
        )
        ended = time.perf_counter()
        deadline = time.monotonic() + timeout
        while _count(port, machine_arn, "RUNNING") and time.monotonic() < deadline:
            time.sleep(0.05)
        drain = time.perf_counter() - ended
        succeeded = _count(port, machine_arn, "SUCCEEDED") - min(200, requests)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    return ApiLoad(
        requests=requests,
        connections=connections,
        seconds=seconds,
        p50_ms=statistics.median(ordered) * 1000 if ordered else 0.0,
        p99_ms=p99 * 1000,
        errors=errors,
        succeeded=succeeded,
        drain_seconds=drain,
    )


def api_load_rows(requests: int = 5000, connections: int = 16) -> list[tuple[str, str]]:
    """The benchmark's rows as (what, figure), for the tables of `python -m bench`."""
    try:
        load = bench_api_load(requests=requests, connections=connections)
    except (OSError, RuntimeError, TimeoutError) as exc:  # reported in the row, never fatal
        return [("api load", f"n/a ({exc})")]
    return [
        (
            f"StartExecution over HTTP ({load.requests:,} calls, {load.connections} "
            "keep-alive connections)",
            f"{load.per_second:,.0f}/s (target >= {load.target:,.0f}/s) {load.verdict}",
        ),
        ("  latency p50 / p99", f"{load.p50_ms:.1f} ms / {load.p99_ms:.1f} ms"),
        (
            "  executions completed",
            f"{load.succeeded:,} of {load.requests:,} SUCCEEDED, all done "
            f"{load.drain_seconds:.2f} s after the last call; {load.errors} errors",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    for what, figure in api_load_rows(args.requests, args.connections):
        print(f"{what:<60}  {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
