"""How many requests the API fuzzers sent, for the end of a test run (as the differential
tests' tally: tests/differential/tally.py, whose folder they share).

Each fuzzer counts its requests and the answers >= 500 it saw, one line per test in the tally
folder, and tests/conftest.py prints the totals, so a CI log says how hard the APIs were hit.
"""

from __future__ import annotations

from collections import Counter

from tests.differential.tally import append_line, read_lines

_KIND = "api-fuzz"  # the file suffix of its lines in the tally folder


def record(fuzzer: str, requests: int, server_errors: int) -> None:
    """Count the requests one fuzz test sent, and the answers >= 500 among them."""
    append_line(_KIND, f"{fuzzer} {requests} {server_errors}")


def summary() -> str | None:
    """The line to print, or None when no API fuzzer ran."""
    sent: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for line in read_lines(_KIND):
        fuzzer, requests, errors = line.split()
        sent[fuzzer] += int(requests)
        failed[fuzzer] += int(errors)
    if not sent:
        return None
    parts = ", ".join(
        f"{fuzzer}: {sent[fuzzer]} requests, {failed[fuzzer]} answers >= 500"
        for fuzzer in sorted(sent)
    )
    return f"api fuzzers: {parts}"
