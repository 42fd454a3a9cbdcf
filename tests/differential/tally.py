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


def tally(profile: str, crashed: int = 0) -> None:
    """Count one machine tried by a profile (`crashed`: workers killed and resumed)."""
    folder = os.environ.get(TALLY_VARIABLE)
    if folder:
        with open(Path(folder) / f"{os.getpid()}.txt", "a") as lines:
            lines.write(f"{profile} {crashed}\n")


def summary() -> str | None:
    """The line to print, or None when no differential test ran."""
    folder = os.environ.get(TALLY_VARIABLE)
    if not folder or not Path(folder).is_dir():
        return None
    tried: Counter[str] = Counter()
    crashed = 0
    for path in Path(folder).glob("*.txt"):
        for line in path.read_text().splitlines():
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
