"""`python -m bench --quick --no-moto` produces its tables; the table helpers render exactly.

Never asserts speed (that is what the benchmark prints); only that every row is there, every
figure is a positive number and each machine bills the transitions AWS would.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from bench.__main__ import call_overhead_table, format_table, main, throughput_table
from bench.engine_bench import CallOverhead, Throughput
from bench.machines import bench_machines, count_transitions
from bench.moto_bench import NOT_INSTALLED, MotoReport, MotoThroughput

THROUGHPUT_TITLES = [
    "Pass chain, 20 states",
    "Map, 100 items (inline, Pass)",
    "Choice loop, 20 iterations",
    "Task chain, 10 Lambda Tasks",
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object]]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    capture = tmp_path_factory.mktemp("bench") / "stdout.txt"
    with capture.open("w") as handle, contextlib.redirect_stdout(handle):
        code = main(
            [
                "--quick",
                "--no-moto",
                "--no-durable",
                "--no-api",
                "--no-backends",
                "--no-drain",
                "--json",
                str(out),
            ]
        )
    assert code == 0
    return capture.read_text(), json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.parametrize(
    "row",
    [
        *THROUGHPUT_TITLES,
        "Python handler call (difference)",
        "1,000 (1-day Wait, RealClock)",
        "asl run one_state.asl.json (1 Pass state)",
        "asl validate one_state.asl.json",
        "asl run three_pass.asl.json (3 Pass states)",
        "asl validate three_pass.asl.json",
        "validate: iter_diagnostics, 50 states",
        "moto: skipped (--no-moto)",
        "10. Distributed Map: 100 items, each a child execution",
    ],
)
def test_quick_run_prints_row(quick_run: tuple[str, dict[str, object]], row: str) -> None:
    text, _ = quick_run
    assert any(line.startswith(row) for line in text.splitlines()), text


@pytest.mark.slow
def test_quick_run_writes_positive_numbers(quick_run: tuple[str, dict[str, object]]) -> None:
    _, report = quick_run
    throughput = report["throughput"]
    assert isinstance(throughput, list)
    assert [row["title"] for row in throughput] == THROUGHPUT_TITLES
    assert [row["transitions_per_execution"] for row in throughput] == [20, 101, 41, 10]
    for row in throughput:
        assert row["executions"] == 100
        assert row["per_second"] > 0
        assert len(row["runs"]) == 3
    assert report["moto"] is None
    overhead = report["call_overhead"]
    assert isinstance(overhead, dict)
    assert overhead["runs"] == 3
    assert overhead["target_ratio"] == 3.0
    assert all(
        overhead[key] > 0
        for key in (
            "pass_us",
            "bare_task_us",
            "task_us",
            "floor_task_us",
            "pass_cpu_us",
            "bare_task_cpu_us",
            "task_cpu_us",
            "floor_task_cpu_us",
        )
    )
    assert overhead["call_us"] == overhead["task_us"] - overhead["bare_task_us"]
    memory = report["memory"]
    assert isinstance(memory, dict)
    assert memory["executions"] == 1000
    assert memory["baseline_bytes"] > 0
    assert memory["waiting_bytes"] > 0
    process = report["process"]
    assert isinstance(process, list)
    assert [len(row["runs_ms"]) for row in process] == [3, 3, 3, 3]
    assert all(row["median_ms"] > 0 for row in process)
    validate = report["validate"]
    assert isinstance(validate, list)
    assert validate
    assert all(row["figure"] for row in validate)


@pytest.mark.parametrize(
    ("key", "transitions"),
    [("pass_chain", 20), ("map", 101), ("choice_loop", 41), ("task_chain", 10)],
    ids=["pass-chain", "map", "choice-loop", "task-chain"],
)
def test_machine_declares_billed_transitions(key: str, transitions: int) -> None:
    spec = next(m for m in bench_machines() if m.key == key)
    assert spec.transitions == transitions


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"], 1),
        (["MapStateEntered", "MapIterationStarted", "PassStateEntered", "MapStateExited"], 2),
        (["TaskStateEntered", "LambdaFunctionScheduled", "TaskStateExited"], 1),
        ([], 0),
    ],
    ids=["pass", "map-counts-itself-and-items", "task", "empty"],
)
def test_count_transitions(types: list[str], expected: int) -> None:
    assert count_transitions(types) == expected


def test_format_table_aligns_columns() -> None:
    assert format_table(["name", "n"], [["a", "1"], ["long name", "100"]]) == (
        "name         n\n---------  ---\na            1\nlong name  100"
    )


def test_call_overhead_table_renders_exactly() -> None:
    overhead = CallOverhead(
        pass_us=10.0,
        bare_task_us=40.0,
        task_us=65.0,
        runs=3,
        floor_task_us=30.0,
        pass_cpu_us=8.0,
        bare_task_cpu_us=36.0,
        task_cpu_us=56.0,
        floor_task_cpu_us=28.0,
    )
    assert (overhead.call_us, overhead.ratio, overhead.verdict) == (25.0, 2.5, "PASS")
    assert (overhead.call_cpu_us, overhead.cpu_ratio) == (20.0, 2.5)
    assert call_overhead_table(overhead) == (
        "what                                            us/transition  x Pass  CPU us"
        "  x Pass (CPU)  target  verdict\n"
        "----------------------------------------------  -------------  ------  ------"
        "  ------------  ------  -------\n"
        "Pass chain (a Pass transition)                           10.0    1.0x     8.0"
        "          1.0x       -        -\n"
        "Task chain, backend answering at once                    40.0    4.0x    36.0"
        "          4.5x       -        -\n"
        "Task chain, answering at once, no asyncio Task           30.0    3.0x    28.0"
        "          3.5x       -        -\n"
        "Task chain, Python def handlers                          65.0    6.5x    56.0"
        "          7.0x       -        -\n"
        "Python handler call (difference)                         25.0    2.5x    20.0"
        "          2.5x   <= 3x     PASS"
    )


def _row(key: str, title: str, per_second: float, target: int | None) -> Throughput:
    return Throughput(key, title, 100, 20, per_second, (per_second,), target)


@pytest.mark.parametrize(
    ("moto", "expected"),
    [
        (
            None,
            "machine  trans/exec  asl-engine/s     target  verdict  moto/s  x moto\n"
            "-------  ----------  ------------  ---------  -------  ------  ------\n"
            "Pass             20        60,000  >= 50,000     PASS       -       -\n"
            "Task             20         2,000          -        -       -       -\n"
            "moto: skipped (--no-moto)",
        ),
        (
            MotoReport({}, NOT_INSTALLED),
            "machine  trans/exec  asl-engine/s     target  verdict  moto/s  x moto\n"
            "-------  ----------  ------------  ---------  -------  ------  ------\n"
            "Pass             20        60,000  >= 50,000     PASS     n/a       -\n"
            "Task             20         2,000          -        -     n/a       -\n"
            "moto: not installed (pip install -e '.[bench]')",
        ),
        (
            MotoReport(
                {
                    "pass": MotoThroughput("pass", 20, 20, 600.0, (600.0,)),
                    "task": MotoThroughput("task", 20, 10, 50.0, (50.0,), "stub"),
                }
            ),
            "machine  trans/exec  asl-engine/s     target  verdict  moto/s  x moto\n"
            "-------  ----------  ------------  ---------  -------  ------  ------\n"
            "Pass             20        60,000  >= 50,000     PASS     600    100x\n"
            "Task             20         2,000          -        -    50 *     40x\n"
            "* stub",
        ),
    ],
    ids=["no-moto", "moto-not-installed", "moto-with-note"],
)
def test_throughput_table(moto: MotoReport | None, expected: str) -> None:
    rows = [_row("pass", "Pass", 60_000.0, 50_000), _row("task", "Task", 2_000.0, None)]
    assert throughput_table(rows, moto) == expected


def test_the_drain_benchmark_drains_every_queued_execution(tmp_path: Path) -> None:
    """Section 9's one-worker row on a small SQLite store: every execution it queued
    succeeded (the row would say how many did not), and the figures are positive."""
    from bench.drain_bench import one_worker, sqlite_floor

    row = one_worker("sqlite", f"sqlite:///{tmp_path}/d.db", 40, 3, 10_000.0)
    assert (row.executions, row.note) == (40, "")
    assert min(row.per_second or 0.0, row.cpu_us or 0.0) > 0
    floor = sqlite_floor(str(tmp_path), 40, 3)
    assert (floor.per_second or 0.0) > 0


def test_the_console_poll_measure_reports_a_page_that_kept_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench.console_poll import main as console_poll

    assert console_poll(["--events", "400", "--polls", "3", "--new", "8"]) == 0
    printed = capsys.readouterr().out
    assert "history 427 events (the page has 427); opening " in printed
