"""Durable Standard executions: transitions per second on each store, and start latency.

Owns: section 6 of `python -m bench`: 100 concurrent Standard executions of a 20-state Pass
chain driven by the Service (journal + group commit + worker) on the in-memory store, SQLite
(a file in a temporary directory) and PostgreSQL (`ASL_BENCH_POSTGRES_URL`, else
`ASL_TEST_POSTGRES_URL`, in a schema of its own that is dropped afterwards), with the p99 latency
from StartExecution to the first state entered. Targets (issue 6): SQLite >= 10,000/s, PostgreSQL
>= 5,000/s. Must never: assert (tests never time anything; this only measures).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

CHAIN_LENGTH = 20
TARGETS = {"memory": None, "sqlite": 10_000.0, "postgresql": 5_000.0}


@dataclass(frozen=True, slots=True)
class DurableRow:
    store: str
    executions: int
    per_second: float | None
    p99_start_ms: float | None
    batches: int
    target: float | None
    note: str = ""

    @property
    def verdict(self) -> str:
        return verdict(self.per_second, self.target)


def verdict(per_second: float | None, target: float | None) -> str:
    """PASS or MISS against a rate target; empty where there is no target or no figure."""
    if target is None or per_second is None:
        return ""
    return "PASS" if per_second >= target else "MISS"


def chain_definition(length: int = CHAIN_LENGTH) -> str:
    states: dict[str, object] = {
        f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(length - 1)
    }
    states[f"S{length - 1}"] = {"Type": "Pass", "End": True}
    return json.dumps({"StartAt": "S0", "States": states})


async def _measure(url: str, executions: int, rounds: int) -> tuple[float, float, int]:
    from engine.service import Service, ServiceConfig
    from engine.store.open import open_store

    store = open_store(url)
    try:
        async with Service(store, config=ServiceConfig(poll_seconds=0.005)) as service:
            machine, _ = await service.create_state_machine("durable-chain", chain_definition())
            latencies: list[float] = []
            elapsed = 0.0
            for round_number in range(rounds + 1):  # round 0 warms up
                began = time.perf_counter()
                # Clients start executions concurrently (as over HTTP); each start returns once
                # its execution is recorded, and concurrent starts share a transaction.
                records = await asyncio.gather(
                    *(
                        service.start_execution(machine.arn, input_text='{"n": 1}')
                        for _ in range(executions)
                    )
                )
                await asyncio.gather(*(service.wait_for(r.arn) for r in records))
                took = time.perf_counter() - began
                if round_number == 0:
                    continue
                elapsed += took
                for record in records[:: max(1, executions // 20)]:
                    events = await service.get_history(record.arn, limit=3)
                    entered = next(e for e in events if e.type.endswith("StateEntered"))
                    latencies.append((entered.timestamp - record.start) * 1000.0)
            rate = executions * rounds * CHAIN_LENGTH / elapsed
            latencies.sort()
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            return rate, p99, service.journal.batches_written
    finally:
        store.close()


def postgres_url() -> str | None:
    return os.environ.get("ASL_BENCH_POSTGRES_URL") or os.environ.get("ASL_TEST_POSTGRES_URL")


@contextlib.contextmanager
def postgres_schema(url: str, name: str) -> Iterator[str]:
    """A fresh schema for one run, dropped afterwards; yields the URL that uses it."""
    _reset_schema(url, name, create=True)
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{name}"
    finally:
        # best effort: a server gone meanwhile already shows as n/a in the table
        with contextlib.suppress(Exception):
            _reset_schema(url, name, create=False)


def _reset_schema(url: str, name: str, *, create: bool) -> None:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        if create:
            connection.execute(f'CREATE SCHEMA "{name}"')


def bench_durable(executions: int = 100, rounds: int = 5) -> list[DurableRow]:
    rows: list[DurableRow] = []
    postgres = postgres_url()
    with (
        tempfile.TemporaryDirectory(prefix="asl-bench-") as folder,
        contextlib.ExitStack() as on_exit,
    ):
        targets = [("memory", "memory://"), ("sqlite", f"sqlite:///{folder}/bench.db")]
        if postgres:
            try:
                scoped = on_exit.enter_context(
                    postgres_schema(postgres, f"asl_bench_{os.getpid()}")
                )
                targets.append(("postgresql", scoped))
            except Exception as exc:  # no server: say so in the table
                rows_note = f"n/a ({type(exc).__name__}: {exc})"[:80]
                rows.append(
                    DurableRow("postgresql", 0, None, None, 0, TARGETS["postgresql"], rows_note)
                )
        for name, url in targets:
            try:
                rate, p99, batches = asyncio.run(_measure(url, executions, rounds))
                rows.append(DurableRow(name, executions, rate, p99, batches, TARGETS[name]))
            except Exception as exc:  # report, never crash the whole benchmark
                note = f"n/a ({type(exc).__name__}: {exc})"[:80]
                rows.append(DurableRow(name, executions, None, None, 0, TARGETS[name], note))
    if not postgres:
        rows.append(
            DurableRow(
                "postgresql",
                0,
                None,
                None,
                0,
                TARGETS["postgresql"],
                "n/a (set ASL_BENCH_POSTGRES_URL)",
            )
        )
    return rows


def durable_table(rows: list[DurableRow]) -> list[list[str]]:
    out = []
    for row in rows:
        rate = f"{row.per_second:,.0f}" if row.per_second is not None else row.note
        p99 = f"{row.p99_start_ms:.1f}" if row.p99_start_ms is not None else ""
        target = f">= {row.target:,.0f}" if row.target is not None else "-"
        out.append([row.store, rate, target, row.verdict, p99, str(row.batches)])
    return out


if __name__ == "__main__":
    found = bench_durable()
    for line in durable_table(found):
        print("  ".join(line))
