"""How many generated machines the differential tests tried, for the end of a test run.

Every example counts one line in a file of a folder the controlling pytest process names in
`ASL_DIFFERENTIAL_TALLY` (pytest-xdist workers inherit it and write their own files), and the
terminal summary (tests/conftest.py) adds them up, so a CI log says how many machines it tried.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

TALLY_VARIABLE = "ASL_DIFFERENTIAL_TALLY"


def open_tally() -> None:
    """In the controlling process: a fresh folder for this run's counts."""
    if TALLY_VARIABLE not in os.environ:
        os.environ[TALLY_VARIABLE] = tempfile.mkdtemp(prefix="asl-differential-")


def append_line(kind: str, line: str) -> None:
    """Append one line to this process's `kind` file of the run's tally folder (if any)."""
    folder = os.environ.get(TALLY_VARIABLE)
    if folder:
        with open(Path(folder) / f"{os.getpid()}.{kind}", "a") as lines:
            lines.write(line.replace("\n", " ") + "\n")


def read_lines(kind: str) -> list[str]:
    """Every line of this run's `kind` files, process by process."""
    folder = os.environ.get(TALLY_VARIABLE)
    if not folder or not Path(folder).is_dir():
        return []
    found: list[str] = []
    for path in sorted(Path(folder).glob(f"*.{kind}")):
        found.extend(path.read_text().splitlines())
    return found


def tally(profile: str, crashed: int = 0) -> None:
    """Count one machine tried by a profile (`crashed`: workers killed and resumed)."""
    append_line("txt", f"{profile} {crashed}")


def summary() -> str | None:
    """The line to print, or None when no differential test ran."""
    tried: Counter[str] = Counter()
    crashed = 0
    for line in read_lines("txt"):
        profile, crashes = line.split()
        crashed += int(crashes)
        if profile != "crashes":
            tried[profile] += 1
    if not tried:
        return None
    parts = ", ".join(f"{count} through {profile}" for profile, count in sorted(tried.items()))
    return (
        f"differential: generated machines tried: {parts}; "
        f"{crashed} workers killed mid-run and their executions resumed"
    )
