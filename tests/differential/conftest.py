"""Fixtures of the differential tests: each path once per session, and the tally they print.

The tally: every example a differential test runs is counted in a file of a folder the
controlling pytest process creates (pytest-xdist workers write their own lines), and the
terminal summary prints how many machines each profile tried, so a CI log says it.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.store.base import Store
from tests.differential.paths import (
    CrashPath,
    DetachPath,
    EnginePath,
    Path_,
    RunPath,
    Scratch,
    ServePath,
    ServicePath,
    StartPath,
    open_path_store,
    serve,
)
from tests.store import postgres_schema, postgres_url

TALLY_VARIABLE = "ASL_DIFFERENTIAL_TALLY"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and TALLY_VARIABLE not in os.environ:
        os.environ[TALLY_VARIABLE] = tempfile.mkdtemp(prefix="asl-differential-")


def tally(profile: str, crashed: int = 0) -> None:
    """Count one machine tried by a profile (and whether its crash path really crashed)."""
    folder = os.environ.get(TALLY_VARIABLE)
    if folder:
        with open(Path(folder) / f"{os.getpid()}.txt", "a") as lines:
            lines.write(f"{profile} {crashed}\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    folder = os.environ.get(TALLY_VARIABLE)
    if not folder or not Path(folder).is_dir():
        return
    tried: Counter[str] = Counter()
    crashed = 0
    for path in Path(folder).glob("*.txt"):
        for line in path.read_text().splitlines():
            profile, crashes = line.split()
            crashed += int(crashes)
            if profile != "crashes":
                tried[profile] += 1
    if tried:
        parts = ", ".join(f"{count} through {profile}" for profile, count in sorted(tried.items()))
        terminalreporter.write_line(
            f"differential: generated machines tried: {parts}; "
            f"{crashed} workers killed mid-run and their executions resumed"
        )


@pytest.fixture(scope="session")
def engine_path() -> EnginePath:
    return EnginePath()


@pytest.fixture(scope="session")
def service_paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServicePath]]:
    """The Service on memory and SQLite, and on PostgreSQL when ASL_TEST_POSTGRES_URL is set."""
    folder = tmp_path_factory.mktemp("service")
    stores: list[tuple[str, Store]] = [
        ("memory", open_path_store("memory", folder, None)),
        ("sqlite", open_path_store("sqlite", folder, None)),
    ]
    url = postgres_url()
    schema = postgres_schema(url) if url is not None else None
    if schema is not None:
        stores.append(("postgresql", open_path_store("postgresql", folder, schema.__enter__())))
    try:
        yield [ServicePath(kind, store) for kind, store in stores]
    finally:
        for _, store in stores:
            store.close()
        if schema is not None:
            schema.__exit__(None, None, None)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    return Scratch(tmp_path_factory.mktemp("processes"))


@pytest.fixture(scope="session")
def serve_path(scratch: Scratch) -> Iterator[ServePath]:
    with serve(scratch) as client:
        yield ServePath(client)


@pytest.fixture(scope="session")
def process_paths(scratch: Scratch, serve_path: ServePath) -> list[Path_]:
    return [
        RunPath(scratch),
        StartPath(scratch),
        DetachPath(scratch),
        serve_path,
        CrashPath(scratch),
    ]
