"""The chaos figures line at the end of a test run (like the differential tally).

A run prints it where this conftest is loaded in the process that reports: `pytest tests/chaos`
and any run without pytest-xdist. Under xdist the line is in each test's captured output.
"""

from __future__ import annotations

from typing import Any

_lines: list[str] = []


def remember(line: str) -> None:
    """Keep a figures line for the terminal summary (and show it in the test's output)."""
    print(line)
    _lines.append(line)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _lines:
        terminalreporter.write_line(line)
