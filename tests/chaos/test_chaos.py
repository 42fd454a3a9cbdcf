"""The chaos suite's short profile (CI): faults under load on each store, then the checks.

Each test is one run of tests/chaos/run.py on one store: executions of tests/chaos/machines.py
started at a steady rate through three real `asl worker` processes for CI_SECONDS while workers
are killed (kill -9, replaced at once) and stalled (SIGSTOP, one of them past its 30 s lease),
and, on SQLite, the file is locked from another process and its small filesystem filled up
(where user namespaces allow a tmpfs), or, on PostgreSQL, the workers' connections are
terminated. Once the faults stop, every execution must close within the bound with 0 lost,
0 duplicated history events and 0 double invocations of one attempt of a Task (check.py).
About 40 s each: the lease (30 s) sets the pace. `make chaos` runs the long profile; the
figures line of each run is printed at the end of the test run (tests/chaos/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import remember
from tests.chaos.run import CI_SECONDS, run_store
from tests.store import POSTGRES_PARAM

pytestmark = pytest.mark.slow

SEED = 7  # the fault schedule; the moments faults land still vary with the machine's load


@pytest.mark.parametrize("store", [pytest.param("sqlite", id="sqlite"), POSTGRES_PARAM])
def test_faults_lose_nothing_duplicate_nothing_and_every_execution_closes(
    store: str, tmp_path: Path
) -> None:
    figures = run_store(store, tmp_path, CI_SECONDS, seed=SEED)
    remember(figures.line())

    assert figures.ok, figures.report()
    assert figures.executions > 0
    assert figures.faults["kill -9"] > 0
    assert figures.faults["SIGSTOP past lease"] == 1
