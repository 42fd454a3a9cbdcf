"""The chaos figures line at the end of a test run (like the differential tally).

Each line goes to the tally folder the controlling pytest process names (tests/differential/
tally.py), and tests/conftest.py prints them in the terminal summary, so a CI log run under
pytest-xdist shows them too; the test's own output has it as well.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.differential.tally import TALLY_VARIABLE

_FILE = "chaos-{pid}.lines"  # not .txt: the differential tally reads those


def remember(line: str) -> None:
    """Keep a figures line for the terminal summary (and show it in the test's output)."""
    print(line)
    folder = os.environ.get(TALLY_VARIABLE)
    if folder:
        with open(Path(folder) / _FILE.format(pid=os.getpid()), "a") as lines:
            lines.write(line.replace("\n", " ") + "\n")


def summary() -> list[str]:
    """The figures lines of this run's chaos tests, in the order they were written per process."""
    folder = os.environ.get(TALLY_VARIABLE)
    if not folder or not Path(folder).is_dir():
        return []
    found: list[str] = []
    for path in sorted(Path(folder).glob(_FILE.format(pid="*"))):
        found.extend(path.read_text().splitlines())
    return found
