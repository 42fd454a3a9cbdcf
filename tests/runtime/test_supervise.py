"""The supervision of long-running loops: back-off bounds, one line per failure, no SQL."""

from __future__ import annotations

import logging

import pytest

from engine.runtime.supervise import Supervisor, failure_reason
from engine.store.base import StoreError


class DriverError(Exception):
    """An error as SQLAlchemy words it: the statement and its parameters on later lines."""


def test_a_reason_is_one_line_without_the_statement_or_its_parameters() -> None:
    driver = DriverError(
        "(psycopg.errors.AdminShutdown) terminating connection due to administrator command\n"
        "[SQL: SELECT executions.arn FROM executions WHERE name = %(name)s]\n"
        "[parameters: {'name': 'someone-elses-order'}]"
    )
    assert failure_reason(driver) == (
        "DriverError: (psycopg.errors.AdminShutdown) terminating connection due to "
        "administrator command"
    )
    assert failure_reason(StoreError("the store is unavailable: disk I/O error")) == (
        "the store is unavailable: disk I/O error"
    )
    assert failure_reason(RecursionError()) == "RecursionError"
    assert len(failure_reason(ValueError("x" * 1000))) == 300


def test_back_off_doubles_to_its_bound_and_each_outage_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor("the test loop", logging.getLogger("asl.test"))
    with caplog.at_level(logging.WARNING, logger="asl.test"):
        delays = [supervisor.failed(StoreError("down")) for _ in range(8)]
        supervisor.succeeded()
        supervisor.succeeded()
        again = supervisor.failed(OSError("disk full"))
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert again == 0.1  # a new outage starts the back-off over
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "the test loop is failing: down; it keeps retrying (back-off up to 5 s)"),
        ("WARNING", "the test loop recovered after 8 failed attempts (last: down)"),
        (
            "ERROR",
            "the test loop is failing: OSError: disk full; it keeps retrying (back-off up to 5 s)",
        ),
    ]
    assert (supervisor.failure, supervisor.failures) == ("OSError: disk full", 1)
