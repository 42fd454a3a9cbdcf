"""Hooks of the whole test run (loaded by the controlling process too, under pytest-xdist)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings

from tests.api.tally import summary as api_fuzz_summary
from tests.chaos.tally import summary as chaos_summary
from tests.differential.tally import open_tally, summary

# pytester runs the sample project of the pytest plugin (tests/testing/test_pytest_plugin.py);
# the sample has its own pytest.ini and tests and is never collected as part of this suite.
pytest_plugins = ["pytester"]
collect_ignore = ["plugin_project"]

# No Hypothesis deadline: a deadline is a timing assertion, and on this 2-core machine a busy
# neighbour pushed single examples past the default 200 ms (test_mutated_valid_definitions_
# never_raise, test_yaml_round_trip_under_yaml_1_2) although nothing was slow. Speed is
# measured in bench/, never in tests.
settings.register_profile("asl", deadline=None)
settings.load_profile("asl")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controlling process, or a run without -n
        open_tally()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in (summary(), api_fuzz_summary(), *chaos_summary()):
        if line is not None:
            terminalreporter.write_line(line)


from tests.aws_server import moto_endpoint  # noqa: E402 - a shared fixture (tests/aws_server.py)

__all__ = ["moto_endpoint"]
