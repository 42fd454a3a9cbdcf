"""Interpreter throughput in-process: state transitions per second, 100 executions in flight.

Owns: timing `Engine.run_many` on the machines of `bench.machines` under a `VirtualClock` (so
nothing waits on the wall clock and the figure is interpreter + runtime cost), the cost of a
Python handler's call against a Pass state's (`measure_call_overhead`), and the optional
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

from bench.machines import (
    TASK_FUNCTIONS,
    BenchMachine,
    bench_machines,
    count_transitions,
    echo,
    function_arn,
)
from engine.backends.base import Backend
from engine.definition.compile import Machine
from engine.embedded import Engine, ExecutionResult, load_machine
from engine.interpreter.tasks import TaskRequest, TaskResult, TaskSuccess
from engine.runtime.clock import VirtualClock

CALL_OVERHEAD_TARGET = 3.0
"""A Python handler's call costs at most 3 Pass transitions (the issue's aim)."""


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


@dataclass(frozen=True, slots=True)
class CallOverhead:
    """What calling a Python handler adds to a Task, in microseconds per transition, against
    the cost of a Pass transition (medians of `runs` interleaved batches of each).

    `task_us`: the Task chain as section 1 runs it (Python `def` handlers, on the pool);
    `bare_task_us`: the same chain served by a backend that answers at once from `invoke` (the
    interpreter's and runtime's Task work, an asyncio Task per call included); `pass_us`: the
    Pass chain. The difference of the first two is the call: the Lambda layer, the thread
    hand-off, the handler's JSON in and out. `floor_task_us`: the chain served by a backend
    that answers at once from `start_invoke` (no asyncio Task: the runtime's least Task work).
    The `*_cpu_us` figures are the same in CPU time (`time.process_time`, every thread of the
    process): far less disturbed than the wall time by other processes on a shared machine.
    """

    pass_us: float
    bare_task_us: float
    task_us: float
    runs: int
    floor_task_us: float = 0.0
    pass_cpu_us: float = 0.0
    bare_task_cpu_us: float = 0.0
    task_cpu_us: float = 0.0
    floor_task_cpu_us: float = 0.0

    @property
    def call_us(self) -> float:
        return self.task_us - self.bare_task_us

    @property
    def ratio(self) -> float:
        return self.call_us / self.pass_us

    @property
    def verdict(self) -> str:
        return "PASS" if self.ratio <= CALL_OVERHEAD_TARGET else "MISS"

    @property
    def call_cpu_us(self) -> float:
        return self.task_cpu_us - self.bare_task_cpu_us

    @property
    def cpu_ratio(self) -> float:
        return self.call_cpu_us / self.pass_cpu_us if self.pass_cpu_us else 0.0


class _Instant:
    """A backend that answers every Task at once with its input (what `echo` returns)."""

    async def invoke(self, request: TaskRequest) -> TaskResult:
        return TaskSuccess(request.payload)


class _InstantStart(_Instant):
    """`_Instant` that also answers from `start_invoke`, so the runtime makes no asyncio Task."""

    def start_invoke(
        self, request: TaskRequest, on_result: Callable[[TaskResult], None]
    ) -> TaskResult:
        return TaskSuccess(request.payload)


def _functions() -> dict[str, Callable[..., object]]:
    return dict.fromkeys(TASK_FUNCTIONS, echo)


def _instant_backends(*, start: bool = False) -> dict[str, Backend]:
    kind = _InstantStart if start else _Instant
    return {function_arn(name): kind() for name in TASK_FUNCTIONS}


async def run_batch(
    compiled: Machine,
    spec: BenchMachine,
    executions: int,
    *,
    instant: bool = False,
    start: bool = False,
    cpu: list[float] | None = None,
) -> tuple[float, list[ExecutionResult]]:
    """One batch; `instant`: Tasks served by a backend answering at once (from `start_invoke`
    too when `start`); `cpu` gets the batch's CPU time appended."""
    engine = (
        Engine(backends=_instant_backends(start=start), clock=VirtualClock())
        if instant
        else Engine(functions=_functions(), clock=VirtualClock())
    )
    loaded = engine.load(compiled, name=spec.key)
    inputs = [spec.execution_input] * executions
    try:
        started = time.perf_counter()
        cpu_started = time.process_time()
        results = await engine.run_many(loaded, inputs)
        elapsed = time.perf_counter() - started
        if cpu is not None:
            cpu.append(time.process_time() - cpu_started)
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
    _, results = await run_batch(compiled, spec, executions)
    transitions = count_transitions(event.type for event in results[0].events)
    runs = []
    for _ in range(repeats):
        gc.collect()  # each batch starts from the same heap, not the last batch's garbage
        elapsed, _ = await run_batch(compiled, spec, executions)
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


async def measure_call_overhead(*, executions: int, repeats: int) -> CallOverhead:
    """Pass chain, bare Task chain, Python Task chain and the floor Task chain, one batch of
    each in turn per repetition (so a change in the machine's load touches all four), after a
    warm-up round."""
    machines = {m.key: m for m in bench_machines()}
    passes, tasks = machines["pass_chain"], machines["task_chain"]
    # (machine, instant backend, from start_invoke)
    plan = [
        (passes, False, False),
        (tasks, True, False),
        (tasks, False, False),
        (tasks, True, True),
    ]
    compiled = {spec.key: load_machine(spec.definition) for spec in (passes, tasks)}
    costs: list[list[float]] = [[] for _ in plan]
    cpu_costs: list[list[float]] = [[] for _ in plan]
    for repetition in range(repeats + 1):
        for (spec, instant, start), cost, cpu_cost in zip(plan, costs, cpu_costs, strict=True):
            gc.collect()
            cpu: list[float] = []
            elapsed, _ = await run_batch(
                compiled[spec.key], spec, executions, instant=instant, start=start, cpu=cpu
            )
            if repetition:  # the first round warms up
                per_transition = 1e6 / (spec.transitions * executions)
                cost.append(elapsed * per_transition)
                cpu_cost.append(cpu[0] * per_transition)
    pass_us, bare_us, task_us, floor_us = (statistics.median(cost) for cost in costs)
    pass_cpu, bare_cpu, task_cpu, floor_cpu = (statistics.median(c) for c in cpu_costs)
    return CallOverhead(
        pass_us,
        bare_us,
        task_us,
        repeats,
        floor_task_us=floor_us,
        pass_cpu_us=pass_cpu,
        bare_task_cpu_us=bare_cpu,
        task_cpu_us=task_cpu,
        floor_task_cpu_us=floor_cpu,
    )


def bench_call_overhead(*, executions: int = 100, repeats: int = 5) -> CallOverhead:
    """`measure_call_overhead` in its own event loop (at least 3 repetitions)."""
    return asyncio.run(measure_call_overhead(executions=executions, repeats=max(3, repeats)))


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
        await run_batch(compiled, spec, executions)  # warm-up, not profiled
        profiler = cProfile.Profile()
        profiler.enable()
        await run_batch(compiled, spec, executions)
        profiler.disable()
        return profiler

    out = io.StringIO()
    pstats.Stats(asyncio.run(run()), stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()
