"""Load on the HTTP API: StartExecution calls per second over keep-alive connections.

Owns: starting `asl serve` as a child process on a free loopback port (`start_server`, on the
memory store or on a temporary SQLite file, the kind `asl serve` uses by default), driving it
with a lean asyncio HTTP/1.1 client (C connections, each sending its requests one after
another on one kept-alive connection), and reporting calls per second, p50/p99 latency, the
server's CPU time per start and whether every execution completed. Must never: run unbounded
(a request count and a time limit bound it) or fail the benchmark run when the target is missed
(the row says MISS).

Server and client are separate processes, so on a 2-core machine each has a core: the figure is
the server's, not the client's. The server logs one JSON line per request (its default), sent
to /dev/null, so the logging cost is in the figure. Executions are Standard (each step
committed) on a one-Pass machine; after the last call the benchmark waits (bounded) until
ListExecutions shows none RUNNING, and counts the SUCCEEDED ones. Two rows: the memory store
at 16 connections, the SQLite store at 8.

`python -m bench.api_load [--requests N] [--connections C] [--sqlite-connections C]
[--store memory|sqlite|both]` prints the rows alone. bench/api_waiting.py is the waiting run.
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
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TARGET_PER_SECOND = 1000.0
MACHINE = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@dataclass(frozen=True, slots=True)
class ApiLoad:
    store: str  # memory or sqlite
    requests: int
    connections: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    succeeded: int
    drain_seconds: float  # from the last answer until no execution is RUNNING
    server_cpu: float  # CPU seconds the server used from the first call until all were done
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
        except OSError:  # refused, reset or timed out: not answering yet
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
    port: int,
    requests: Sequence[bytes],
    latencies: list[float],
    errors: list[int],
    answered: list[float],
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
            now = time.perf_counter()
            latencies.append(now - began)
            answered.append(now)
            if status_line.split(b" ", 2)[1:2] != [b"200"]:
                errors.append(1)
    finally:
        writer.close()
        await writer.wait_closed()


async def _drive(
    port: int,
    machine_arn: str,
    requests: int,
    connections: int,
    answered: list[float] | None = None,
    first: int = 0,
) -> tuple[float, list[float], int]:
    """Send `requests` starts (inputs numbered from `first`) over `connections` connections;
    (seconds, latencies, errors). `answered` gets the perf_counter time of each answer."""
    per_connection: list[list[bytes]] = [[] for _ in range(connections)]
    for i in range(requests):
        per_connection[i % connections].append(_start_request(port, machine_arn, first + i))
    latencies: list[float] = []
    errors: list[int] = []
    answers = answered if answered is not None else []
    began = time.perf_counter()
    await asyncio.gather(
        *(_connection(port, batch, latencies, errors, answers) for batch in per_connection if batch)
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


def server_command(port: int, store_url: str) -> list[str]:
    """The `asl serve` command line of the child server (its store given by URL)."""
    return [sys.executable, "-m", "engine.cli", "serve", "--store", store_url, "--port", str(port)]


def start_server(store_url: str, port: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """`asl serve --store URL` as a child process on a free loopback port, once it answers.

    Its log lines (one JSON line per request, the default) go to /dev/null, so their cost is
    in the figures.
    """
    port = port if port is not None else free_port()
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        server_command(port, store_url),
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        _wait_ready(port, process, timeout=30)
    except BaseException:
        stop_server(process)
        raise
    return process, port


def stop_server(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """SIGTERM (a graceful shutdown: leases released), SIGKILL if it does not end in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (all its threads), from /proc/<pid>/stat:
    the server's cost per start, which other processes on the machine perturb far less than
    its rate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def create_machine(port: int, name: str, definition: Mapping[str, object]) -> str:
    """CreateStateMachine over HTTP; returns its ARN."""
    created = _call(
        port, "CreateStateMachine", {"name": name, "definition": json.dumps(definition)}
    )
    return str(created["stateMachineArn"])


@contextmanager
def store_url(kind: str) -> Iterator[str]:
    """The URL of a fresh store: `memory://`, or a SQLite file (the default kind) in a
    temporary folder removed afterwards."""
    if kind == "memory":
        yield "memory://"
        return
    if kind != "sqlite":
        raise ValueError(f"unknown store kind {kind!r}: memory or sqlite")
    with tempfile.TemporaryDirectory(prefix="asl-bench-") as folder:
        yield f"sqlite:///{folder}/asl.db"


def bench_api_load(
    requests: int = 5000, connections: int = 16, timeout: float = 120.0, store: str = "memory"
) -> ApiLoad:
    """Run the load test against a fresh `asl serve` child process (see the module docstring).

    `store`: `memory` or `sqlite` (a temporary file, the kind `asl serve` uses by default).
    """
    with store_url(store) as url:
        process, port = start_server(url)
        try:
            machine_arn = create_machine(port, "load", MACHINE)
            # warm-up: imports, first compiles, connection set-up
            warm = _drive(port, machine_arn, min(200, requests), min(8, connections))
            asyncio.run(asyncio.wait_for(warm, timeout))
            cpu = cpu_seconds(process.pid)
            seconds, latencies, errors = asyncio.run(
                asyncio.wait_for(_drive(port, machine_arn, requests, connections), timeout)
            )
            ended = time.perf_counter()
            deadline = time.monotonic() + timeout
            while _count(port, machine_arn, "RUNNING") and time.monotonic() < deadline:
                time.sleep(0.05)
            drain = time.perf_counter() - ended
            cpu = cpu_seconds(process.pid) - cpu
            succeeded = _count(port, machine_arn, "SUCCEEDED") - min(200, requests)
        finally:
            stop_server(process, timeout=10)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    return ApiLoad(
        store=store,
        requests=requests,
        connections=connections,
        seconds=seconds,
        p50_ms=statistics.median(ordered) * 1000 if ordered else 0.0,
        p99_ms=p99 * 1000,
        errors=errors,
        succeeded=succeeded,
        drain_seconds=drain,
        server_cpu=cpu,
    )


def api_load_rows_for(store: str, requests: int, connections: int) -> list[tuple[str, str]]:
    """One store's rows as (what, figure): `memory` or `sqlite`."""
    try:
        load = bench_api_load(requests=requests, connections=connections, store=store)
    except (OSError, RuntimeError, TimeoutError) as exc:  # reported in the row, never fatal
        return [(f"api load ({store})", f"n/a ({exc})")]
    return [
        (
            f"StartExecution over HTTP, {store} store ({load.requests:,} calls, "
            f"{load.connections} keep-alive connections)",
            f"{load.per_second:,.0f}/s (target >= {load.target:,.0f}/s) {load.verdict}",
        ),
        (
            "  latency p50 / p99; server CPU per start",
            f"{load.p50_ms:.1f} ms / {load.p99_ms:.1f} ms; "
            f"{load.server_cpu / load.requests * 1000:.2f} ms",
        ),
        (
            "  executions completed",
            f"{load.succeeded:,} of {load.requests:,} SUCCEEDED, all done "
            f"{load.drain_seconds:.2f} s after the last call; {load.errors} errors",
        ),
    ]


def api_load_rows(
    requests: int = 5000, connections: int = 16, sqlite_connections: int = 8
) -> list[tuple[str, str]]:
    """The benchmark's rows as (what, figure), for the tables of `python -m bench`: the
    memory store at `connections`, then the default SQLite store at `sqlite_connections`."""
    return api_load_rows_for("memory", requests, connections) + api_load_rows_for(
        "sqlite", requests, sqlite_connections
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--sqlite-connections", type=int, default=8)
    parser.add_argument(
        "--store",
        choices=("memory", "sqlite", "both"),
        default="both",
        help="which rows to run (default both)",
    )
    args = parser.parse_args(argv)
    if args.store == "both":
        rows = api_load_rows(args.requests, args.connections, args.sqlite_connections)
    else:
        conns = args.connections if args.store == "memory" else args.sqlite_connections
        rows = api_load_rows_for(args.store, args.requests, conns)
    for what, figure in rows:
        print(f"{what:<72}  {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
