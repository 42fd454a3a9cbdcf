"""The chaos figures line at the end of a test run (like the differential tally).

Each line goes to the tally folder the controlling pytest process names (tests/differential/
tally.py), and tests/conftest.py prints them in the terminal summary, so a CI log run under
pytest-xdist shows them too; the test's own output has it as well.
"""

from __future__ import annotations

from tests.differential.tally import append_line, read_lines

_KIND = "chaos"  # the file suffix of its lines in the tally folder


def remember(line: str) -> None:
    """Keep a figures line for the terminal summary (and show it in the test's output)."""
    print(line)
    append_line(_KIND, line)


def summary() -> list[str]:
    """The figures lines of this run's chaos tests."""
    return read_lines(_KIND)
