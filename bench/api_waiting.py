"""Many waiting executions over HTTP: start rate as they pile up, memory each, adoption on restart.

Owns: the "waiting" run of section 7. `asl serve` on a temporary SQLite file (the default kind
of store) in a child process; N StartExecution calls (100,000; 10,000 with `--quick`) over 8
keep-alive connections, of a machine whose only state is a 1-day Wait (RealClock), so every
execution stays alive and waiting. Reports the rate per slice of 10,000 answers (first vs last
slice: is it flat?), the server's RSS (VmRSS in /proc/<pid>/status) before and after, per
waiting execution; then stops the server (SIGTERM) and starts a fresh one on the same file,
and measures how long until its worker holds every execution. Must never: time out silently
(each phase is bounded and says so) or fail the benchmark run when a target is missed (the row
says MISS).

Honest signals, read from the SQLite file itself (never from the API, which answers before the
worker has done anything): "all waiting" is one timer row per execution (the Wait's, written
by the commit of its first step); "all adopted" is one lease row per execution held by the new
server's pid (a lease is written by the worker's claim, which adopts what it claimed before
its next round).

`python -m bench.api_waiting [--executions N] [--connections C] [--slice S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.api_load import (
    _drive,
    cpu_seconds,
    create_machine,
    start_server,
    stop_server,
    store_url,
)

WAIT_MACHINE = {
    "StartAt": "Wait",
    "States": {"Wait": {"Type": "Wait", "Seconds": 86_400, "End": True}},
}
TARGET_PER_SECOND = 1000.0
TARGET_RSS_PER_EXECUTION = 10 * 1024  # bytes
FLAT = 0.8  # the last slice's rate is at least this share of the first's
WARM_UP = 200


def rss_bytes(pid: int) -> int:
    """The resident set size of a process (VmRSS in /proc/<pid>/status), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _scalar(database: str, query: str, *args: object) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute(query, args).fetchone()
    return int(row[0]) if row else 0


def _wait_until(check: object, target: int, timeout: float, what: str) -> float:
    """Poll `check()` until it returns `target`; seconds it took."""
    began = time.perf_counter()
    deadline = time.monotonic() + timeout
    while True:
        assert callable(check)
        if check() >= target:
            return time.perf_counter() - began
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(0.2)


@dataclass(frozen=True, slots=True)
class Waiting:
    executions: int
    connections: int
    slice_rates: tuple[float, ...]  # answers per second, per slice of answers
    slice_cpu: tuple[float, ...]  # server CPU seconds per start, per slice of answers
    seconds: float
    errors: int
    settle_seconds: float  # last answer -> a timer row for every execution
    server_cpu: float  # CPU seconds the server used from the first start until all waited
    rss_before: int
    rss_after: int
    stop_seconds: float  # SIGTERM -> the old server exited
    ready_seconds: float  # fresh server launched -> answering
    adopt_seconds: float  # fresh server launched -> a lease held by it for every execution
    rss_adopted: int
    running: int  # executions RUNNING in the file after the restart

    @property
    def per_second(self) -> float:
        return self.executions / self.seconds if self.seconds > 0 else 0.0

    @property
    def rss_per_execution(self) -> float:
        return (self.rss_after - self.rss_before) / self.executions

    @property
    def flat(self) -> bool:
        rates = self.slice_rates
        return len(rates) < 2 or rates[-1] >= FLAT * rates[0]

    @property
    def verdict(self) -> str:
        ok = (
            self.per_second >= TARGET_PER_SECOND
            and self.errors == 0
            and self.flat
            and self.rss_per_execution <= TARGET_RSS_PER_EXECUTION
        )
        return "PASS" if ok else "MISS"


def _slices(answered: list[float], began: float, size: int) -> tuple[float, ...]:
    ordered = sorted(answered)
    rates: list[float] = []
    previous = began
    for end in range(size, len(ordered) + 1, size):
        at = ordered[end - 1]
        rates.append(size / (at - previous) if at > previous else 0.0)
        previous = at
    return tuple(rates)


class _CpuSampler:
    """Samples a process's CPU seconds every `every` seconds in a thread: the server's cost of
    each slice of starts, which other processes on the machine perturb far less than the slice's
    rate (a wall-clock figure that any neighbour's burst of work bends)."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.samples: list[tuple[float, float]] = []
        self._pid = pid
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), cpu_seconds(self._pid)))
            self._stop.wait(self._every)

    def __enter__(self) -> _CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def at(self, moment: float) -> float:
        """CPU seconds used by `moment`, interpolated between the two samples around it."""
        before = max((s for s in self.samples if s[0] <= moment), default=self.samples[0])
        after = min((s for s in self.samples if s[0] >= moment), default=self.samples[-1])
        if after[0] == before[0]:
            return before[1]
        share = (moment - before[0]) / (after[0] - before[0])
        return before[1] + share * (after[1] - before[1])


def _slice_cpu(
    answered: list[float], began: float, size: int, sampler: _CpuSampler
) -> tuple[float, ...]:
    ordered = sorted(answered)
    costs: list[float] = []
    previous = began
    for end in range(size, len(ordered) + 1, size):
        at = ordered[end - 1]
        costs.append((sampler.at(at) - sampler.at(previous)) / size)
        previous = at
    return tuple(costs)


def bench_waiting(
    executions: int = 100_000, connections: int = 8, slice_size: int = 10_000, timeout: float = 900
) -> Waiting:
    """The waiting run (see the module docstring)."""
    with store_url("sqlite") as url:
        database = url.removeprefix("sqlite:///")
        total = WARM_UP + executions
        process, port = start_server(url)
        try:
            machine_arn = create_machine(port, "waiting", WAIT_MACHINE)
            asyncio.run(asyncio.wait_for(_drive(port, machine_arn, WARM_UP, connections), 60))
            _wait_until(
                lambda: _scalar(database, "SELECT count(*) FROM timers"), WARM_UP, 60, "warm-up"
            )
            rss_before = rss_bytes(process.pid)
            answered: list[float] = []
            cpu = cpu_seconds(process.pid)
            began = time.perf_counter()
            try:
                with _CpuSampler(process.pid) as sampler:
                    seconds, _, errors = asyncio.run(
                        asyncio.wait_for(
                            _drive(port, machine_arn, executions, connections, answered, WARM_UP),
                            timeout,
                        )
                    )
            except TimeoutError:
                rates = " ".join(f"{r:,.0f}" for r in _slices(answered, began, slice_size))
                raise TimeoutError(
                    f"{len(answered):,} of {executions:,} starts answered in {timeout:.0f} s "
                    f"(per {slice_size:,}: {rates}/s); RSS {_mib(rss_bytes(process.pid))}"
                ) from None
            settle = _wait_until(
                lambda: _scalar(database, "SELECT count(*) FROM timers"),
                total,
                timeout,
                "every execution waiting",
            )
            rss_after = rss_bytes(process.pid)
            cpu = cpu_seconds(process.pid) - cpu
        finally:
            stopping = time.perf_counter()
            stop_server(process, timeout=120)
            stop_seconds = time.perf_counter() - stopping
        launched = time.perf_counter()
        fresh, _ = start_server(url)
        try:
            ready = time.perf_counter() - launched
            adopt = ready + _wait_until(
                lambda: _scalar(database, "SELECT count(*) FROM leases WHERE pid = ?", fresh.pid),
                total,
                timeout,
                "every execution adopted after the restart",
            )
            rss_adopted = rss_bytes(fresh.pid)
            running = _scalar(database, "SELECT count(*) FROM executions WHERE status = 'RUNNING'")
        finally:
            stop_server(fresh, timeout=120)
    return Waiting(
        executions=executions,
        connections=connections,
        slice_rates=_slices(answered, began, slice_size),
        slice_cpu=_slice_cpu(answered, began, slice_size, sampler),
        seconds=seconds,
        errors=errors,
        settle_seconds=settle,
        server_cpu=cpu,
        rss_before=rss_before,
        rss_after=rss_after,
        stop_seconds=stop_seconds,
        ready_seconds=ready,
        adopt_seconds=adopt,
        rss_adopted=rss_adopted,
        running=running,
    )


def _mib(size: float) -> str:
    return f"{size / 2**20:,.0f} MiB"


def waiting_rows(
    executions: int = 100_000, connections: int = 8, slice_size: int = 10_000
) -> list[tuple[str, str]]:
    """The run's rows as (what, figure), for the tables of `python -m bench`."""
    try:
        w = bench_waiting(executions, connections, slice_size)
    except (OSError, RuntimeError, TimeoutError) as exc:  # reported in the row, never fatal
        return [("waiting executions", f"n/a ({exc})")]
    rates = w.slice_rates
    return [
        (
            f"StartExecution over HTTP, sqlite store, {w.executions:,} executions left "
            f"waiting (1-day Wait), {w.connections} keep-alive connections",
            f"{w.per_second:,.0f}/s (target >= {TARGET_PER_SECOND:,.0f}/s); {w.errors} errors "
            f"{w.verdict}",
        ),
        (
            f"  rate per {slice_size:,} answers (first .. last)",
            " ".join(f"{r:,.0f}" for r in rates)
            + (f"; last/first {rates[-1] / rates[0]:.2f}" if len(rates) > 1 and rates[0] else "")
            + (" flat" if w.flat else " DECAYS"),
        ),
        (
            f"  server CPU per start per {slice_size:,} answers (first .. last)",
            " ".join(f"{c * 1e6:,.0f}" for c in w.slice_cpu)
            + " us"
            + (
                f"; last/first {w.slice_cpu[-1] / w.slice_cpu[0]:.2f}"
                if len(w.slice_cpu) > 1 and w.slice_cpu[0]
                else ""
            ),
        ),
        (
            "  server RSS before / after / per waiting execution",
            f"{_mib(w.rss_before)} / {_mib(w.rss_after)} / {w.rss_per_execution / 1024:.1f} KiB "
            f"(target <= {TARGET_RSS_PER_EXECUTION // 1024} KiB)",
        ),
        (
            "  every execution's Wait committed; server CPU per start",
            f"{w.settle_seconds:.1f} s after the last answer; "
            f"{w.server_cpu / w.executions * 1000:.2f} ms",
        ),
        (
            "  restart: stop / fresh server answering / all adopted (leases held)",
            f"{w.stop_seconds:.1f} s / {w.ready_seconds:.1f} s / {w.adopt_seconds:.1f} s; "
            f"RSS {_mib(w.rss_adopted)}; {w.running:,} RUNNING",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_waiting")
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--slice", type=int, default=10_000)
    args = parser.parse_args(argv)
    for what, figure in waiting_rows(args.executions, args.connections, args.slice):
        print(f"{what:<72}  {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
