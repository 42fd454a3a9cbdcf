"""`python -m bench`: run every benchmark and print the speed tables (see bench/README.md).

Owns: the command line (`--quick`, `--no-moto`, `--no-durable`, `--no-api`, `--no-backends`,
`--json FILE`, `--profile [KEY]`), the order the benchmarks run in (ours first, moto last, so
moto's threads never share the CPU with our figures), the plain-text tables and the JSON file.
Must never: fail because a target is missed (the tables say MISS; the exit status is 0) or
because moto is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.engine_bench import (
    CALL_OVERHEAD_TARGET,
    CallOverhead,
    Throughput,
    bench_call_overhead,
    bench_engine,
    profile_machine,
)
from bench.machines import bench_machines
from bench.memory_bench import MemoryUse, bench_memory
from bench.moto_bench import MotoReport, bench_moto
from bench.process_bench import ProcessTime, bench_process
from engine.values import JSON

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Settings:
    executions: int
    repeats: int
    memory_executions: int
    process_runs: int
    moto_executions: int
    moto_timeout: float


FULL = Settings(
    executions=100,
    repeats=5,
    memory_executions=10_000,
    process_runs=10,
    moto_executions=20,
    moto_timeout=60.0,
)
QUICK = Settings(
    executions=100,
    repeats=3,
    memory_executions=1_000,
    process_runs=3,
    moto_executions=5,
    moto_timeout=20.0,
)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned plain text: the first column left, the others right (they hold numbers)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def throughput_table(rows: Sequence[Throughput], moto: MotoReport | None) -> str:
    headers = ["machine", "trans/exec", "asl-engine/s", "target", "verdict", "moto/s", "x moto"]
    table = []
    notes: list[str] = []
    for row in rows:
        moto_cell, ratio = "", ""
        if moto is not None and row.key in moto.rows:
            found = moto.rows[row.key]
            moto_cell = _rate(found.per_second)
            if found.note:
                if found.note not in notes:
                    notes.append(found.note)
                moto_cell += " " + "*" * (notes.index(found.note) + 1)
            if found.per_second:
                ratio = f"{row.per_second / found.per_second:,.0f}x"
        elif moto is not None:
            moto_cell = "n/a"
        table.append(
            [
                row.title,
                str(row.transitions),
                _rate(row.per_second),
                f">= {row.target:,}" if row.target else "-",
                row.verdict or "-",
                moto_cell or "-",
                ratio or "-",
            ]
        )
    text = format_table(headers, table)
    if moto is None:
        text += "\nmoto: skipped (--no-moto)"
    elif moto.reason:
        text += f"\n{moto.reason}"
    for i, note in enumerate(notes, 1):
        text += f"\n{'*' * i} {note}"
    return text


def call_overhead_table(overhead: CallOverhead) -> str:
    """The cost of a Python handler's call, per transition, against a Pass transition's: wall
    time (the verdict's) and CPU time (every thread; steadier on a shared machine)."""
    headers = ["what", "us/transition", "x Pass", "CPU us", "x Pass (CPU)", "target", "verdict"]

    def row(title: str, wall: float, cpu: float) -> list[str]:
        return [
            title,
            f"{wall:.1f}",
            f"{wall / overhead.pass_us:.1f}x",
            f"{cpu:.1f}",
            f"{cpu / overhead.pass_cpu_us:.1f}x" if overhead.pass_cpu_us else "-",
            "-",
            "-",
        ]

    return format_table(
        headers,
        [
            row("Pass chain (a Pass transition)", overhead.pass_us, overhead.pass_cpu_us),
            row(
                "Task chain, backend answering at once",
                overhead.bare_task_us,
                overhead.bare_task_cpu_us,
            ),
            row(
                "Task chain, answering at once, no asyncio Task",
                overhead.floor_task_us,
                overhead.floor_task_cpu_us,
            ),
            row("Task chain, Python def handlers", overhead.task_us, overhead.task_cpu_us),
            [
                "Python handler call (difference)",
                f"{overhead.call_us:.1f}",
                f"{overhead.ratio:.1f}x",
                f"{overhead.call_cpu_us:.1f}",
                f"{overhead.cpu_ratio:.1f}x",
                f"<= {CALL_OVERHEAD_TARGET:.0f}x",
                overhead.verdict,
            ],
        ],
    )


def memory_table(use: MemoryUse) -> str:
    headers = ["executions waiting", "RSS before", "RSS waiting", "growth", "per exec", "target"]
    row = [
        f"{use.executions:,} (1-day Wait, RealClock)",
        f"{use.baseline_bytes / MIB:,.1f} MiB",
        f"{use.waiting_bytes / MIB:,.1f} MiB",
        f"{use.growth_bytes / MIB:,.1f} MiB",
        f"{use.per_execution_bytes / 1024:,.2f} KiB",
        "< 1 GiB",
    ]
    verdict = use.verdict
    if use.executions != FULL.memory_executions:
        # a quick run starts fewer executions; the target is for 10,000, so scale to it
        scaled = use.per_execution_bytes * FULL.memory_executions
        verdict = f"{verdict} (10,000 would take {scaled / MIB:,.0f} MiB)"
    return (
        format_table([*headers, "verdict"], [[*row, verdict]])
        + f"\nall {use.executions:,} entered the Wait in {use.start_seconds:.2f} s;"
        f" peak RSS {use.peak_bytes / MIB:,.1f} MiB"
    )


def process_table(rows: Sequence[ProcessTime]) -> str:
    headers = ["command (whole process)", "median", "min", "max", "CPU", "runs", "target"]
    headers.append("verdict")
    return format_table(
        headers,
        [
            [
                row.command,
                f"{row.median_ms:.0f} ms",
                f"{min(row.runs_ms):.0f} ms",
                f"{max(row.runs_ms):.0f} ms",
                f"{row.cpu_median_ms:.0f} ms",
                str(len(row.runs_ms)),
                f"< {row.target_ms:.0f} ms",
                row.verdict,
            ]
            for row in rows
        ],
    )


def validate_rows() -> list[tuple[str, str]]:
    try:
        from bench.bench_validate import bench_validate
    except ImportError as exc:  # the validation benchmark is another module's; say if it's gone
        return [("validate", f"n/a ({exc})")]
    return bench_validate()


def _report(
    settings: Settings,
    load: float,
    engine: list[Throughput],
    overhead: CallOverhead,
    moto: MotoReport | None,
    memory: MemoryUse,
    process: list[ProcessTime],
    validation: list[tuple[str, str]],
) -> dict[str, JSON]:
    moto_rows: dict[str, JSON] = {}
    if moto is not None:
        for key, found in moto.rows.items():
            moto_rows[key] = {
                "executions": found.executions,
                "transitions_per_execution": found.transitions,
                "per_second": found.per_second,
                "runs": list(found.runs),
                "note": found.note,
            }
    return {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": load,
        },
        "settings": {
            "executions": settings.executions,
            "repeats": settings.repeats,
            "memory_executions": settings.memory_executions,
            "process_runs": settings.process_runs,
        },
        "throughput": [
            {
                "key": row.key,
                "title": row.title,
                "executions": row.executions,
                "transitions_per_execution": row.transitions,
                "per_second": row.per_second,
                "runs": list(row.runs),
                "target": row.target,
                "verdict": row.verdict or None,
            }
            for row in engine
        ],
        "call_overhead": {
            "pass_us": overhead.pass_us,
            "bare_task_us": overhead.bare_task_us,
            "task_us": overhead.task_us,
            "floor_task_us": overhead.floor_task_us,
            "call_us": overhead.call_us,
            "ratio": overhead.ratio,
            "pass_cpu_us": overhead.pass_cpu_us,
            "bare_task_cpu_us": overhead.bare_task_cpu_us,
            "task_cpu_us": overhead.task_cpu_us,
            "floor_task_cpu_us": overhead.floor_task_cpu_us,
            "call_cpu_us": overhead.call_cpu_us,
            "cpu_ratio": overhead.cpu_ratio,
            "target_ratio": CALL_OVERHEAD_TARGET,
            "verdict": overhead.verdict,
            "runs": overhead.runs,
        },
        "moto": None if moto is None else {"rows": moto_rows, "reason": moto.reason or None},
        "memory": {
            "executions": memory.executions,
            "baseline_bytes": memory.baseline_bytes,
            "waiting_bytes": memory.waiting_bytes,
            "growth_bytes": memory.growth_bytes,
            "per_execution_bytes": memory.per_execution_bytes,
            "peak_bytes": memory.peak_bytes,
            "target_bytes": memory.target_bytes,
            "verdict": memory.verdict,
        },
        "process": [
            {
                "command": row.command,
                "median_ms": row.median_ms,
                "runs_ms": list(row.runs_ms),
                "cpu_median_ms": row.cpu_median_ms,
                "target_ms": row.target_ms,
                "verdict": row.verdict,
            }
            for row in process
        ],
        "validate": [{"what": what, "figure": figure} for what, figure in validation],
    }


MAP_RUN_ITEMS = 1_000
"""Items of section 10's Map (100,000 is the aim; bench/README.md says why it is not run)."""


def _print_map_runs(items: int) -> None:
    from bench.map_run_bench import RSS_TARGET_BYTES, bench_map_run

    rows = []
    for store in ("memory", "sqlite"):
        figures = bench_map_run(items, store)
        rss_ok = figures.peak_rss_bytes < RSS_TARGET_BYTES
        rows.append(
            [
                store,
                f"{figures.items:,}",
                f"{figures.seconds:.1f}",
                f"{figures.items_per_second:,.0f}",
                (
                    f"{figures.first_tenth_per_second:,.0f} -> {figures.last_tenth_per_second:,.0f}"
                    if figures.last_tenth_per_second
                    else "- (done before a sample)"
                ),
                f"{figures.peak_rss_bytes / MIB:,.0f}",
                f"< {RSS_TARGET_BYTES // MIB}",
                "ok" if rss_ok else "MISS",
            ]
        )
    print(
        f"\n10. Distributed Map: {items:,} items, each a child execution (Pass processor, "
        "MaxConcurrency 40), Service on a VirtualClock, child process per store"
    )
    print(
        format_table(
            [
                "store",
                "items",
                "seconds",
                "items/s",
                "first -> last 10 %",
                "peak RSS MiB",
                "target",
                "",
            ],
            rows,
        )
    )


def _parser() -> argparse.ArgumentParser:
    keys = [m.key for m in bench_machines()]
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Measure asl-engine's speed and print the tables."
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (fewer runs)")
    parser.add_argument("--no-moto", action="store_true", help="skip moto's column")
    parser.add_argument(
        "--no-durable", action="store_true", help="skip the durable store benchmark (section 6)"
    )
    parser.add_argument(
        "--no-api", action="store_true", help="skip the HTTP API load test (section 7)"
    )
    parser.add_argument(
        "--no-backends",
        action="store_true",
        help="skip the function backends' overhead (section 8)",
    )
    parser.add_argument(
        "--no-drain",
        action="store_true",
        help="skip queued executions drained by workers, and scale-out (section 9)",
    )
    parser.add_argument(
        "--no-map-run",
        action="store_true",
        help="skip the Distributed Map of child executions (section 10)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the numbers to FILE as JSON")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="missed",
        choices=["missed", *keys],
        help="print cProfile's top functions for the machines missing their target, or KEY",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = QUICK if args.quick else FULL
    began = time.perf_counter()
    load = os.getloadavg()[0]
    print(
        f"asl-engine benchmarks ({'quick' if args.quick else 'full'} run; Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load average {load:.1f})"
    )
    if load > (os.cpu_count() or 1):  # the benchmark itself keeps one CPU busy
        print("note: other processes are using the CPU; the figures below are depressed by them")
    print()

    engine = bench_engine(executions=settings.executions, repeats=settings.repeats)
    overhead = bench_call_overhead(executions=settings.executions, repeats=settings.repeats)
    validation = validate_rows()
    process = bench_process(runs=settings.process_runs)
    memory = bench_memory(executions=settings.memory_executions)
    moto = (
        None
        if args.no_moto
        else bench_moto(executions=settings.moto_executions, timeout=settings.moto_timeout)
    )

    print(
        f"1. Throughput: state transitions per second (states entered, as AWS bills), "
        f"{settings.executions} executions in flight, VirtualClock, "
        f"median of {settings.repeats}"
    )
    print(throughput_table(engine, moto))
    print(
        f"\n1b. A Python handler's call against a Pass state: cost per transition, one batch of "
        f"each chain in turn, median of {overhead.runs}"
    )
    print(call_overhead_table(overhead))
    if moto is not None and moto.rows:
        print(
            f"moto: {settings.moto_executions} executions per run, median of 3 runs, "
            "boto3 against moto.mock_aws in a child process"
        )
    print("\n2. Memory: RSS growth with executions waiting (child process)")
    print(memory_table(memory))
    print(f"\n3. Process time: median of {settings.process_runs} runs after a warm-up")
    print(process_table(process))
    print("\n4. Validation, in-process")
    print(format_table(["what", "figure"], [list(row) for row in validation]))
    from bench.jsonata_bench import bench_jsonata

    jsonata_rows = bench_jsonata(executions=100, repeats=3 if args.quick else 5)
    print("\n5. JSONata against JSONPath: the same 20-state chain, cost per transition")
    print(
        format_table(
            ["machine", "transitions/s", "cost vs JSONPath", "target", "", "parses/cache hits"],
            [
                [
                    str(row["title"]),
                    f"{row['transitions_per_second']:,}",
                    f"{row['cost_ratio']}x",
                    f"<= {row['target_ratio']}x" if "target_ratio" in row else "-",
                    str(row["verdict"]),
                    f"{row['expression_parses']}/{row['expression_cache_hits']}"
                    if "expression_cache_hits" in row
                    else "",
                ]
                for row in jsonata_rows
            ],
        )
    )
    if not args.no_map_run:
        _print_map_runs(100 if args.quick else MAP_RUN_ITEMS)
    if not args.no_durable:
        from bench.durable_bench import bench_durable, durable_table

        durable = bench_durable(executions=100, rounds=2 if args.quick else 5)
        print(
            "\n6. Durable Standard executions: 100 concurrent starts of a 20-state Pass chain, "
            "Service + group commit, RealClock"
        )
        print(
            format_table(
                ["store", "transitions/s", "target", "", "p99 start->first state ms", "batches"],
                durable_table(durable),
            )
        )

    if not args.no_api:
        from bench.api_load import api_load_rows

        requests = 2000 if args.quick else 5000
        print(
            "\n7. HTTP API: StartExecution over the AWS JSON protocol, uvicorn on loopback, "
            "the load generator in another process"
        )
        print(format_table(["what", "figure"], [list(row) for row in api_load_rows(requests)]))
        from bench.api_waiting import waiting_rows

        executions, per_slice = (10_000, 2_000) if args.quick else (100_000, 10_000)
        print(
            f"\n7b. HTTP API: {executions:,} executions left waiting (1-day Wait) on the default "
            "SQLite store, then a restart"
        )
        print(
            format_table(
                ["what", "figure"],
                [list(row) for row in waiting_rows(executions, slice_size=per_slice)],
            )
        )

    if not args.no_backends:
        from bench.backends import backends_table, bench_backends

        quick = {"calls": 80, "process_calls": 24, "python_calls": 500}
        backend_rows = bench_backends(**quick) if args.quick else bench_backends()
        print(
            "\n8. Function backends: one invocation of an echo function through the Lambda layer "
            "(LambdaBackend.invoke), per backend"
        )
        print(backends_table(backend_rows))

    if not args.no_drain:
        from bench.drain_bench import HEADERS, bench_drain, drain_table

        drained = 2_000 if args.quick else 10_000
        print(
            f"\n9. Durable Standard executions drained by workers: {drained:,} queued executions "
            "of a 5-state Pass chain, RealClock; PostgreSQL scale-out with `asl worker "
            "--until-idle` processes"
        )
        workers = (1, 2) if args.quick else (1, 2, 4)
        print(format_table(HEADERS, drain_table(bench_drain(drained, workers=workers))))

    if args.profile:
        wanted = [
            row.key
            for row in engine
            if args.profile == row.key or (args.profile == "missed" and row.verdict == "MISS")
        ]
        if not wanted:
            print("\nprofile: no machine missed its target")
        for key in wanted:
            print(f"\nprofile of one batch of {key} (cProfile, by own time):")
            print(profile_machine(key, executions=settings.executions))

    if args.json:
        report = _report(settings, load, engine, overhead, moto, memory, process, validation)
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
            handle.write("\n")
        print(f"\nnumbers written to {args.json}")
    print(f"\ntotal {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
