"""Whole-process time of the `asl` command: what a user or a CI step waits for.

Owns: timing `asl run` and `asl validate` of a one-state machine and of a 3-Pass machine as
fresh processes (the venv's own `asl` script, found beside `sys.executable`), median of `runs`
after one warm-up run that fills the OS file cache and the bytecode cache, in wall time and in
the child's CPU time (user + system, from `getrusage`: what other processes on a shared machine
bend far less). Must never: time anything in-process (interpreter start and imports are the
point here).

Alone: `python -m bench.process_bench [--runs N]` prints this section only, with the load
average.

The target, 150 ms, is a start-up budget: for these machines nearly all of a process's time is
imports, so each command must import only what it needs (tests/cli/test_cold_start.py checks
which packages stay out; `python -X importtime -m engine.cli run FILE` shows the rest).

Bytecode: an installed package has its `.pyc` files (pip compiles them), so the children get a
bytecode cache even where the environment sets PYTHONDONTWRITEBYTECODE (compiling every module
from source on each start would add ~100 ms no user pays). It lives in a temporary
PYTHONPYCACHEPREFIX, so the benchmark writes nothing into the source tree.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TARGET_MS = 150.0
ONE_STATE: dict[str, object] = {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}}
THREE_PASS: dict[str, object] = {
    "StartAt": "One",
    "States": {
        "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "Two"},
        "Two": {"Type": "Pass", "Result": 2, "ResultPath": "$.two", "Next": "Three"},
        "Three": {"Type": "Pass", "End": True},
    },
}


@dataclass(frozen=True, slots=True)
class ProcessTime:
    command: str
    median_ms: float
    runs_ms: tuple[float, ...]
    target_ms: float = TARGET_MS
    cpu_ms: tuple[float, ...] = ()  # each run's CPU time (user + system), same order

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_ms) if self.cpu_ms else float("nan")

    @property
    def verdict(self) -> str:
        return "PASS" if self.median_ms < self.target_ms else "MISS"


def asl_script() -> str:
    """The `asl` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("asl")
    if not script.exists():
        raise FileNotFoundError(f"{script}: not found; install the package (pip install -e .)")
    return str(script)


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _time_command(
    command: list[str], runs: int, env: dict[str, str]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Wall and CPU milliseconds of each of `runs` runs (the children are waited for one at a
    time, so the growth of RUSAGE_CHILDREN across a run is that child's CPU time)."""
    subprocess.run(command, capture_output=True, check=True, env=env)  # warm-up
    times, cpu = [], []
    for _ in range(runs):
        cpu_before = _children_cpu()
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((_children_cpu() - cpu_before) * 1000)
    return tuple(times), tuple(cpu)


def bench_process(*, runs: int = 10) -> list[ProcessTime]:
    """`asl run` and `asl validate` of a one-state and a 3-Pass machine, median of `runs`
    processes each."""
    asl = asl_script()
    with tempfile.TemporaryDirectory(prefix="asl-bench-") as folder:
        files = {"one_state": ONE_STATE, "three_pass": THREE_PASS}
        paths = {}
        for name, machine in files.items():
            paths[name] = Path(folder) / f"{name}.asl.json"
            paths[name].write_text(json.dumps(machine), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "pycache")
        commands = {
            "asl run one_state.asl.json (1 Pass state)": [asl, "run", str(paths["one_state"])],
            "asl validate one_state.asl.json": [asl, "validate", str(paths["one_state"])],
            "asl run three_pass.asl.json (3 Pass states)": [asl, "run", str(paths["three_pass"])],
            "asl validate three_pass.asl.json": [asl, "validate", str(paths["three_pass"])],
        }
        rows = []
        for label, command in commands.items():
            times, cpu = _time_command(command, runs, env)
            rows.append(ProcessTime(label, statistics.median(times), times, cpu_ms=cpu))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.process_bench", description="Section 3 alone: asl as processes."
    )
    parser.add_argument("--runs", type=int, default=20, help="runs per command (default 20)")
    args = parser.parse_args()
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}")
    rows = bench_process(runs=args.runs)
    width = max(len(row.command) for row in rows)
    print(f"{'command':<{width}}  {'median':>7}  {'min':>7}  {'CPU':>7}  target    verdict")
    for row in rows:
        print(
            f"{row.command:<{width}}  {row.median_ms:4.0f} ms  {min(row.runs_ms):4.0f} ms  "
            f"{row.cpu_median_ms:4.0f} ms  < {row.target_ms:.0f} ms  {row.verdict}"
        )
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
