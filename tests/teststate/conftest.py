"""One real `asl serve` process for the TestState tests, serving tests/teststate/functions.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import cli  # noqa: F401  (`asl` in this process, as tests/cli has it)
from tests.serve_process import serve_process, sfn_client

FUNCTIONS = str(Path(__file__).with_name("functions.py"))


@pytest.fixture(scope="package")
def served() -> Iterator[str]:
    """The URL of `asl serve --functions functions.py` (memory store)."""
    with serve_process(["--functions", FUNCTIONS]) as url:
        yield url


@pytest.fixture(scope="package")
def sfn(served: str) -> Iterator[Any]:
    """boto3's Step Functions client for that server (TestState goes to the `sync-` host
    prefix on AWS: the client injects no prefix)."""
    client = sfn_client(served)
    yield client
    client.close()
