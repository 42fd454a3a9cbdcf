"""Interpreter throughput in-process: state transitions per second, 100 executions in flight.

Owns: timing `Engine.run_many` on the machines of `bench.machines` under a `VirtualClock` (so
nothing waits on the wall clock and the figure is interpreter + runtime cost), and the optional
cProfile breakdown (`profile_machine`) that says where the time goes. Must never: change engine
behaviour for the sake of a number (the engine runs as a user gets it, history kept).

A repetition is one batch: a fresh `Engine`, `executions` started at once, timed from the first
start to the last result. The machine is compiled once, outside the timing, as a server would.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import pstats
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.machines import TASK_FUNCTIONS, BenchMachine, bench_machines, count_transitions, echo
from engine.definition.compile import Machine
from engine.embedded import Engine, ExecutionResult, load_machine
from engine.runtime.clock import VirtualClock


@dataclass(frozen=True, slots=True)
class Throughput:
    """A machine's measured throughput: the median of `runs` (transitions per second each)."""

    key: str
    title: str
    executions: int
    transitions: int
    per_second: float
    runs: tuple[float, ...]
    target: int | None

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "PASS" if self.per_second >= self.target else "MISS"


def _functions() -> dict[str, Callable[..., object]]:
    return dict.fromkeys(TASK_FUNCTIONS, echo)


async def _batch(
    compiled: Machine, spec: BenchMachine, executions: int
) -> tuple[float, list[ExecutionResult]]:
    engine = Engine(functions=_functions(), clock=VirtualClock())
    loaded = engine.load(compiled, name=spec.key)
    inputs = [spec.execution_input] * executions
    try:
        started = time.perf_counter()
        results = await engine.run_many(loaded, inputs)
        elapsed = time.perf_counter() - started
    finally:
        await engine.aclose()
    failed = [r for r in results if r.status != "SUCCEEDED"]
    if failed:
        first = failed[0]
        raise RuntimeError(
            f"bench machine {spec.key}: {len(failed)} executions ended {first.status} "
            f"({first.error}: {first.cause})"
        )
    return elapsed, results


async def measure(spec: BenchMachine, *, executions: int, repeats: int) -> Throughput:
    """Warm up once, then time `repeats` batches of `executions` concurrent executions."""
    compiled = load_machine(spec.definition)
    _, results = await _batch(compiled, spec, executions)
    transitions = count_transitions(event.type for event in results[0].events)
    runs = []
    for _ in range(repeats):
        gc.collect()  # each batch starts from the same heap, not the last batch's garbage
        elapsed, _ = await _batch(compiled, spec, executions)
        runs.append(transitions * executions / elapsed)
    return Throughput(
        key=spec.key,
        title=spec.title,
        executions=executions,
        transitions=transitions,
        per_second=statistics.median(runs),
        runs=tuple(runs),
        target=spec.target,
    )


def bench_engine(*, executions: int = 100, repeats: int = 5) -> list[Throughput]:
    """Throughput of every bench machine on our engine (median of `repeats`, at least 3)."""

    async def run_all() -> list[Throughput]:
        return [
            await measure(spec, executions=executions, repeats=max(3, repeats))
            for spec in bench_machines()
        ]

    return asyncio.run(run_all())


def profile_machine(key: str, *, executions: int = 100, top: int = 20) -> str:
    """cProfile of one batch of machine `key`: the `top` functions by own time, as text."""
    spec = next(m for m in bench_machines() if m.key == key)
    compiled = load_machine(spec.definition)

    async def run() -> cProfile.Profile:
        await _batch(compiled, spec, executions)  # warm-up, not profiled
        profiler = cProfile.Profile()
        profiler.enable()
        await _batch(compiled, spec, executions)
        profiler.disable()
        return profiler

    out = io.StringIO()
    pstats.Stats(asyncio.run(run()), stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()
