"""CPU cost per transition that a loaded machine cannot bend: instructions (callgrind) and CPU us.

Owns: `python -m bench.instructions`, which runs the chains of section 1b (a Pass chain, a
Task chain on a backend answering at once, a Task chain on Python `def` handlers) in a child
process and reports, per transition, the instructions executed (every thread of the process,
counted by `valgrind --tool=callgrind`) and the CPU time (`time.process_time`). Must never:
time the wall clock (other processes on a shared machine move it), or count start-up (imports,
compiling, the warm-up batches) into a transition's cost.

How: the child runs one warm-up batch of every chain, then `batches` batches of `executions`
executions of each chain in turn, and calls `os.getsid` at each boundary: callgrind is started
with `--dump-before=getsid`, so it writes one dump per phase and a phase's instruction total is
exactly the chain's batches (nothing else in the engine calls getsid). A second child, not under
valgrind, measures the CPU time of each batch (median per chain). Without valgrind only the CPU
column is reported. About 50 s with valgrind on a quiet machine (Python runs ~50x slower under
it), 2 s without.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.engine_bench import run_batch
from bench.machines import bench_machines
from engine.embedded import load_machine

CHAINS = {
    # key: (title, bench machine, Tasks answered at once by a backend without a thread, and
    # from its `start_invoke`, without an asyncio Task)
    "pass": ("Pass chain (20 Pass states)", "pass_chain", False, False),
    "bare_task": ("Task chain, backend answering at once", "task_chain", True, False),
    "floor_task": ("  the same from start_invoke (floor)", "task_chain", True, True),
    "task": ("Task chain, Python def handlers", "task_chain", False, False),
}
DEFAULT_CHAINS = ("pass", "bare_task", "task")
_TOTALS = re.compile(rb"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ChainCost:
    """What one transition of chain `key` costs: instructions (None without valgrind) and the
    median CPU microseconds of the measured batches."""

    key: str
    title: str
    transitions: int
    instructions: float | None
    cpu_us: float


def _phase_boundary() -> None:
    """Callgrind (run with `--dump-before=getsid`) writes the counts so far to a new dump."""
    os.getsid(0)


def _child(keys: list[str], *, executions: int, batches: int) -> None:
    """Warm every chain of `keys` up, then run `batches` batches of each, one phase per chain;
    print each chain's transitions per batch and the CPU time of its batches as JSON."""
    machines = {m.key: m for m in bench_machines()}
    plan = []
    for key in keys:
        spec = machines[CHAINS[key][1]]
        plan.append((key, spec, load_machine(spec.definition), CHAINS[key][2], CHAINS[key][3]))

    async def run() -> dict[str, object]:
        for _, spec, compiled, instant, start in plan:
            await run_batch(compiled, spec, executions, instant=instant, start=start)
        found: dict[str, object] = {}
        for key, spec, compiled, instant, start in plan:
            gc.collect()
            _phase_boundary()
            cpu: list[float] = []
            for _ in range(batches):
                await run_batch(compiled, spec, executions, instant=instant, start=start, cpu=cpu)
            found[key] = {"transitions": spec.transitions * executions, "cpu": cpu}
        _phase_boundary()
        return found

    print(json.dumps(asyncio.run(run())))


def _run_child(
    keys: list[str], *, executions: int, batches: int, valgrind: str | None
) -> tuple[dict[str, dict[str, object]], list[int] | None]:
    """The child's printed result, and under `valgrind` the instruction total of each chain."""
    command = [sys.executable, "-m", "bench.instructions", "--executions", str(executions)]
    command += ["--batches", str(batches), "--child", *keys]
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        if valgrind is not None:
            command = [
                valgrind,
                "--tool=callgrind",
                "--dump-before=getsid",
                f"--callgrind-out-file={out}",
                *command,
            ]
        # no hash randomisation: runs then take the same paths through sets and dicts
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, check=False, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"bench.instructions child failed:\n{done.stderr.decode()}")
        result = json.loads(done.stdout.decode().strip().splitlines()[-1])
        totals = None
        if valgrind is not None:
            # dump 1 is start-up and warm-up; dump 2.. one chain each, in the order of `keys`
            totals = [_dump_total(Path(f"{out}.{i + 2}")) for i in range(len(keys))]
    return result, totals


def _dump_total(dump: Path) -> int:
    found = _TOTALS.search(dump.read_bytes())
    if found is None:
        raise RuntimeError(f"no instruction total in callgrind's {dump.name}")
    return int(found.group(1))


def measure(
    keys: list[str], *, executions: int = 100, batches: int = 3, valgrind: str | None = None
) -> list[ChainCost]:
    """Instructions and CPU us per transition of each chain of `keys` (see the docstring)."""
    measured, _ = _run_child(keys, executions=executions, batches=batches, valgrind=None)
    totals = None
    if valgrind is not None:
        _, totals = _run_child(keys, executions=executions, batches=batches, valgrind=valgrind)
    costs = []
    for i, key in enumerate(keys):
        per_batch = int(str(measured[key]["transitions"]))
        cpu = [float(t) for t in measured[key]["cpu"]]  # type: ignore[attr-defined]
        instructions = None if totals is None else totals[i] / (per_batch * batches)
        costs.append(
            ChainCost(
                key,
                CHAINS[key][0],
                per_batch // executions,
                instructions,
                statistics.median(cpu) * 1e6 / per_batch,
            )
        )
    return costs


def report(costs: list[ChainCost]) -> str:
    by_key = {cost.key: cost for cost in costs}
    lines = [f"{'chain':<42} {'instructions/transition':>24} {'CPU us/transition':>18}"]
    for cost in costs:
        count = "-" if cost.instructions is None else f"{cost.instructions:,.0f}"
        lines.append(f"{cost.title:<42} {count:>24} {cost.cpu_us:>18.1f}")
    if {"pass", "bare_task", "task"} <= by_key.keys():
        passes, bare, task = by_key["pass"], by_key["bare_task"], by_key["task"]
        call_cpu = task.cpu_us - bare.cpu_us
        count = "-"
        if passes.instructions and bare.instructions and task.instructions:
            call = task.instructions - bare.instructions
            count = f"{call:,.0f} ({call / passes.instructions:.1f}x Pass)"
        lines.append(
            f"{'Python handler call (task - bare_task)':<42} {count:>24}"
            f" {call_cpu:>10.1f} ({call_cpu / passes.cpu_us:.1f}x)"
        )
        lines.append(
            f"{'Python Task transition against a Pass one':<42}"
            f" {_ratio(task.instructions, passes.instructions):>24}"
            f" {task.cpu_us / passes.cpu_us:>17.1f}x"
        )
    return "\n".join(lines)


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.1f}x"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--chains", nargs="*", choices=sorted(CHAINS), default=list(DEFAULT_CHAINS))
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--no-valgrind", action="store_true", help="CPU time only (faster)")
    parser.add_argument("--child", nargs="+", choices=sorted(CHAINS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, executions=args.executions, batches=args.batches)
        return
    valgrind = None if args.no_valgrind else shutil.which("valgrind")
    if valgrind is None and not args.no_valgrind:
        print("valgrind not found: CPU time only")
    started = time.perf_counter()
    costs = measure(
        args.chains, executions=args.executions, batches=args.batches, valgrind=valgrind
    )
    print(report(costs))
    print(f"({time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
