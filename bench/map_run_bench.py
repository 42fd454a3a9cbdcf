"""A Distributed Map of N items (100,000 in the full run) with a Pass processor, its items as
child executions: time, items/s and peak RSS, on the memory store and on SQLite.

Owns: a child process per store (`python -m bench.map_run_bench --items N --store S`) that runs
one parent execution through a `Service` on a VirtualClock, waits for it, checks its output and
its Map Run's counts, and prints one JSON line; and the parent-side `bench_map_run` that runs
it. A child keeps the peak RSS figure (ru_maxrss) its own. With `--result-writer` the Map also
has a ResultWriter (every child's record to S3: moto's server, started in a process of its own
unless AWS_ENDPOINT_URL names one, so its copy of the files is not in the child's RSS). Must
never: leave the child (or the moto server) running (it is killed at its deadline).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

RSS_TARGET_BYTES = 500 << 20
MAP_MACHINE: dict[str, object] = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "MaxConcurrency": 40,
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Echo",
                "States": {"Echo": {"Type": "Pass", "End": True}},
            },
            "ResultSelector": {"count.$": "States.ArrayLength($)"},
            "End": True,
        }
    },
}


def _items(count: int) -> list[int]:
    """One digit each: 100,000 of them (about 200 KB) fit in AWS's 256 KiB execution input,
    and so does the Map's output (the Pass processor echoes them); 100,000 distinct numbers
    (590 KB) would not (`The execution input exceeds the 262144 bytes limit.`)."""
    return [index % 10 for index in range(count)]


@dataclass(frozen=True, slots=True)
class MapRunFigures:
    store: str
    items: int
    seconds: float
    peak_rss_bytes: int
    first_tenth_per_second: float = 0.0  # items/s over the first and the last 10 % of items
    last_tenth_per_second: float = 0.0

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


WRITER_BUCKET = "bench-results"


def _writer_machine() -> dict[str, object]:
    """MAP_MACHINE writing every child's record (Transformation NONE) to S3."""
    machine = json.loads(json.dumps(MAP_MACHINE))
    fan = machine["States"]["Fan"]
    del fan["ResultSelector"]  # the Map's result is then the manifest's location
    fan["ResultWriter"] = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": WRITER_BUCKET, "Prefix": "bench"},
    }
    return machine  # type: ignore[no-any-return]


def _failing_machine(definition: dict[str, object]) -> dict[str, object]:
    """`definition` with a processor that always fails, every failure tolerated: the Map
    succeeds, its result every item's error output (or the result files' FAILED records)."""
    machine = json.loads(json.dumps(definition))
    fan = machine["States"]["Fan"]
    fan["ToleratedFailurePercentage"] = 100
    fan["ItemProcessor"]["StartAt"] = "Boom"
    fan["ItemProcessor"]["States"] = {
        "Boom": {"Type": "Fail", "Error": "Bench.Failed", "Cause": "every item fails"}
    }
    return machine  # type: ignore[no-any-return]


async def _run(
    items: int, store_url: str, result_writer: bool = False, failing: bool = False
) -> dict[str, object]:
    from engine.runtime.clock import VirtualClock
    from engine.service import Service, ServiceConfig
    from engine.store.open import open_store

    store = open_store(store_url)
    definition = _writer_machine() if result_writer else MAP_MACHINE
    if failing:
        definition = _failing_machine(definition)
    async with Service(store, clock=VirtualClock(), config=ServiceConfig(seed=1)) as service:
        machine, _ = await service.create_state_machine("fan", json.dumps(definition))
        started_at = time.perf_counter()
        started = await service.start_execution(
            machine.arn,
            name="bench",
            input_text=json.dumps({"items": _items(items)}, separators=(",", ":")),
        )
        progress: list[tuple[float, int]] = []
        sampler = asyncio.create_task(_sample(service, started.arn, started_at, progress))
        closed = await service.wait_for(started.arn)
        seconds = time.perf_counter() - started_at
        sampler.cancel()
        progress.append((seconds, items))
        runs, _ = await service.list_map_runs(started.arn)
        view = await service.describe_map_run(runs[0].arn)
    store.close()
    assert closed.status == "SUCCEEDED", closed.cause
    if result_writer:
        assert isinstance(closed.output, dict), closed.output
        assert set(closed.output) == {"MapRunArn", "ResultWriterDetails"}, closed.output
    else:
        assert closed.output == {"count": items}, closed.output
    assert view.counts == {"FAILED" if failing else "SUCCEEDED": items}, view.counts
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    first, last = _tenths(progress, items)
    return {
        "items": items,
        "seconds": seconds,
        "peak_rss_bytes": peak,
        "first_tenth_per_second": first,
        "last_tenth_per_second": last,
    }


_SAMPLE_SECONDS = 0.5


async def _sample(
    service: object, execution_arn: str, started_at: float, progress: list[tuple[float, int]]
) -> None:
    """Every half second (wall clock, less often once counting takes long), how many children
    have succeeded: the rate's trend."""
    runs: list[object] = []
    while not runs:
        await asyncio.sleep(_SAMPLE_SECONDS)
        runs, _ = await service.list_map_runs(execution_arn)  # type: ignore[attr-defined]
    arn = runs[0].arn  # type: ignore[attr-defined]
    while True:
        asked = time.perf_counter()
        view = await service.describe_map_run(arn)  # type: ignore[attr-defined]
        now = time.perf_counter()
        counts = view.counts
        progress.append((now - started_at, counts.get("SUCCEEDED", 0) + counts.get("FAILED", 0)))
        # The counts scan every child (and take the store's thread, which the commits wait
        # for): at most a tenth of the time goes to them, however many children there are.
        await asyncio.sleep(max(_SAMPLE_SECONDS, 10 * (now - asked)))


def _tenths(progress: list[tuple[float, int]], items: int) -> tuple[float, float]:
    """Items/s over the first and the last tenth of the items (from the samples around them)."""
    tenth = items / 10

    def when(count: float) -> float:
        # the first sample at or past `count` (linear between it and the one before)
        before = (0.0, 0)
        for at, done in progress:
            if done >= count:
                if done == before[1]:
                    return at
                return before[0] + (at - before[0]) * (count - before[1]) / (done - before[1])
            before = (at, done)
        return before[0]

    if len(progress) < 2:
        return 0.0, 0.0
    first = when(tenth)
    last = when(items) - when(items - tenth)
    return (tenth / first if first else 0.0), (tenth / last if last else 0.0)


def bench_map_run(
    items: int,
    store: str,
    timeout: float = 600.0,
    *,
    result_writer: bool = False,
    failing: bool = False,
) -> MapRunFigures:
    """Run the child for one store ("memory" or "sqlite") and read its figures."""
    command = [sys.executable, "-m", "bench.map_run_bench", "--items", str(items), "--store", store]
    if result_writer:
        command.append("--result-writer")
    if failing:
        command.append("--failing")
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return MapRunFigures(
        store,
        figures["items"],
        figures["seconds"],
        figures["peak_rss_bytes"],
        figures["first_tenth_per_second"],
        figures["last_tenth_per_second"],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.map_run_bench")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument(
        "--result-writer",
        action="store_true",
        help="write every child's record to S3 (moto's server: AWS_ENDPOINT_URL, else one started)",
    )
    parser.add_argument(
        "--failing",
        action="store_true",
        help="every child fails (a Fail state), every failure tolerated (100%%)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        url = "memory://" if args.store == "memory" else f"sqlite:///{Path(folder) / 'map.db'}"
        if args.result_writer:
            stack.enter_context(_s3_bucket(WRITER_BUCKET))
        figures = asyncio.run(_run(args.items, url, args.result_writer, args.failing))
    print(json.dumps(figures))


@contextlib.contextmanager
def _s3_bucket(name: str) -> Iterator[None]:
    """A bucket `name` at AWS_ENDPOINT_URL, or at a moto server started for the run (in a
    process of its own: its copy of the result files stays out of this process's RSS)."""
    import os
    import socket
    import urllib.request

    import boto3

    server: subprocess.Popen[bytes] | None = None
    if not os.environ.get("AWS_ENDPOINT_URL"):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:  # until it answers
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        from botocore.exceptions import ClientError

        s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        try:
            s3.create_bucket(Bucket=name)
        except ClientError as exc:  # a server of the caller's that has it already
            if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise
        yield
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
