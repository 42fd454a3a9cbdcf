"""Memory of many waiting executions: RSS growth with 10,000 executions in a one-day Wait.

Owns: a child process (`python -m bench.memory_bench`) that loads a Wait machine on a
`RealClock` (so the executions really wait), measures VmRSS after a warm-up, starts the
executions, waits until every one has entered its Wait, measures again, then stops them; and the
parent-side `bench_memory` that runs it. A child keeps the figure clean of the parent's heap.
Must never: leave the child running (it is killed at its deadline).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

TARGET_BYTES = 1 << 30
WAIT_SECONDS = 86_400
WAIT_MACHINE: dict[str, object] = {
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Wait", "Seconds": WAIT_SECONDS, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


@dataclass(frozen=True, slots=True)
class MemoryUse:
    executions: int
    baseline_bytes: int
    waiting_bytes: int
    peak_bytes: int
    start_seconds: float
    target_bytes: int = TARGET_BYTES

    @property
    def growth_bytes(self) -> int:
        return self.waiting_bytes - self.baseline_bytes

    @property
    def per_execution_bytes(self) -> float:
        return self.growth_bytes / self.executions

    @property
    def verdict(self) -> str:
        return "PASS" if self.growth_bytes < self.target_bytes else "MISS"


def rss_bytes(field: str = "VmRSS") -> int:
    """This process's resident set size now (VmRSS) or at its peak (VmHWM), in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024  # the kernel reports kB
    raise RuntimeError(f"/proc/self/status has no {field} line")


def bench_memory(*, executions: int = 10_000, timeout: float = 120.0) -> MemoryUse:
    """Run the child and return its measurement."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory_bench", f"--executions={executions}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory bench failed: {done.stderr.strip()[-500:]}")
    return MemoryUse(**json.loads(done.stdout))


# ------------------------------------------------------------------------------ child process


async def _measure(executions: int) -> MemoryUse:
    from engine.embedded import Engine, load_machine
    from engine.runtime.clock import RealClock, VirtualClock

    compiled = load_machine(WAIT_MACHINE)  # type: ignore[arg-type]
    # Warm-up on a virtual clock: every lazily imported module and cache is in place before
    # the baseline, so the growth is the executions' own.
    warm = Engine(clock=VirtualClock())
    await warm.run(warm.load(compiled, name="warm"), {"n": 0})
    await warm.aclose()
    del warm

    engine = Engine(clock=RealClock())
    loaded = engine.load(compiled, name="hold")
    gc.collect()
    baseline = rss_bytes()
    started = time.perf_counter()
    arns = [engine.start(loaded, {"n": i}) for i in range(executions)]
    records = engine.runtime.executions
    while True:
        await asyncio.sleep(0.01)
        waiting = sum(
            1
            for arn in arns
            if (history := records[arn].history) and history[-1].type == "WaitStateEntered"
        )
        if waiting == executions:
            break
        if any(records[arn].done.done() for arn in arns):
            raise RuntimeError("an execution ended before its one-day Wait: see its history")
    start_seconds = time.perf_counter() - started
    gc.collect()
    waiting_rss = rss_bytes()
    peak = rss_bytes("VmHWM")
    await engine.aclose()  # drops the timers: nothing is left waiting a day
    return MemoryUse(
        executions=executions,
        baseline_bytes=baseline,
        waiting_bytes=waiting_rss,
        peak_bytes=peak,
        start_seconds=start_seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory_bench")
    parser.add_argument("--executions", type=int, default=10_000)
    args = parser.parse_args(argv)
    use = asyncio.run(_measure(args.executions))
    json.dump(
        {
            "executions": use.executions,
            "baseline_bytes": use.baseline_bytes,
            "waiting_bytes": use.waiting_bytes,
            "peak_bytes": use.peak_bytes,
            "start_seconds": use.start_seconds,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
