"""bench/instructions.py: the per-transition cost report (instructions and CPU time).

The valgrind path takes ~40 s, so the test runs the CPU-only path on tiny batches and checks the
report's arithmetic on fixed figures.
"""

from __future__ import annotations

import pytest

from bench.instructions import ChainCost, main, measure, report


def test_measure_reports_every_chain_per_transition() -> None:
    costs = measure(["pass", "bare_task", "task"], executions=3, batches=1)
    assert [(c.key, c.transitions, c.instructions) for c in costs] == [
        ("pass", 20, None),
        ("bare_task", 10, None),
        ("task", 10, None),
    ]
    assert all(c.cpu_us > 0 for c in costs)


def test_report_derives_the_handler_call() -> None:
    costs = [
        ChainCost("pass", "Pass chain (20 Pass states)", 20, 50_000.0, 5.0),
        ChainCost("bare_task", "Task chain, backend answering at once", 10, 250_000.0, 25.0),
        ChainCost("task", "Task chain, Python def handlers", 10, 325_000.0, 40.0),
    ]
    assert report(costs).splitlines() == [
        "chain                                       instructions/transition  CPU us/transition",
        "Pass chain (20 Pass states)                                  50,000                5.0",
        "Task chain, backend answering at once                       250,000               25.0",
        "Task chain, Python def handlers                             325,000               40.0",
        "Python handler call (task - bare_task)           75,000 (1.5x Pass)       15.0 (3.0x)",
        "Python Task transition against a Pass one                      6.5x               8.0x",
    ]


def test_cpu_only_run_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--no-valgrind", "--chains", "pass", "--executions", "2", "--batches", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["chain", "instructions/transition", "CPU", "us/transition"]
    assert lines[1].startswith("Pass chain (20 Pass states)")
    assert lines[1].split()[5] == "-"
