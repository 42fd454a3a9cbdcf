"""Durable Standard executions drained by workers: the store's floor, one worker, scale-out.

Owns: section 9 of `python -m bench` (also `python -m bench.drain_bench`): thousands of
Standard executions of a Pass chain are recorded as queued (started, not yet driven), then
- `floor`: SQLite writing the same rows (each execution's history events, its snapshot, its
  close) in batched transactions with the sqlite3 module alone, on the same settings (WAL,
  synchronous FULL): what the engine's durable path costs nothing above;
- `one worker`: one in-process worker (`Worker.run_until_idle`, what `asl worker --until-idle`
  runs) drains them, on SQLite (FULL, then the `?synchronous=normal` opt-in) and PostgreSQL;
- `scale-out`: 1, 2 and 4 `asl worker --until-idle` processes drain them from one PostgreSQL
  database together, with each run's CPU per transition in the workers and in PostgreSQL's
  own processes (read from /proc while they run).
A transition is a state entered, as AWS bills. Must never: assert (speed lives here, not in
tests), or leave a schema or file behind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.durable_bench import chain_definition, postgres_schema, postgres_url, verdict

CHAIN = 5
TARGETS = {"sqlite": 10_000.0, "postgresql": 5_000.0}


@dataclass(frozen=True, slots=True)
class DrainRow:
    what: str
    executions: int
    per_second: float | None
    cpu_us: float | None = None  # CPU per transition in the worker process(es)
    database_cpu_us: float | None = None  # CPU per transition in PostgreSQL's processes
    target: float | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        return verdict(self.per_second, self.target)


# -- queued executions ------------------------------------------------------------------------


async def _queue(url: str, executions: int, chain: int) -> None:
    """Record `executions` started executions that nothing drives yet (no worker here)."""
    from engine.service import Service, ServiceConfig
    from engine.store.open import open_store

    store = open_store(url)
    try:
        async with Service(store, config=ServiceConfig(worker=False)) as service:
            machine, _ = await service.create_state_machine("drain", chain_definition(chain))
            for begin in range(0, executions, 500):
                count = min(500, executions - begin)
                await asyncio.gather(
                    *(
                        service.start_execution(machine.arn, input_text='{"n": 1}')
                        for _ in range(count)
                    )
                )
    finally:
        store.close()


def _succeeded(url: str) -> int:
    from sqlalchemy import func, select

    from engine.store import schema as t
    from engine.store.open import open_store
    from engine.store.sql import SqlStore

    store = open_store(url)
    try:
        assert isinstance(store, SqlStore)
        with store.engine.connect() as conn:
            e = t.executions.c
            query = select(func.count()).where(e.status == "SUCCEEDED")
            return int(conn.execute(query).scalar() or 0)
    finally:
        store.close()


# -- one worker, in process ---------------------------------------------------------------------


async def _drain(url: str) -> tuple[float, float]:
    """Drain the store with one worker, the collector tuned as `asl worker` tunes it (and
    restored afterwards, for the sections that run after this one)."""
    import gc

    from engine.runtime.heap import tune_for_throughput
    from engine.service import Service, ServiceConfig
    from engine.store.open import open_store

    store = open_store(url)
    thresholds = gc.get_threshold()
    tune_for_throughput()
    try:
        service = Service(store, config=ServiceConfig(worker=True))
        try:
            began, cpu = time.perf_counter(), time.process_time()
            await service.worker.run_until_idle()
            return time.perf_counter() - began, time.process_time() - cpu
        finally:
            await service.aclose()
    finally:
        store.close()
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def one_worker(what: str, url: str, executions: int, chain: int, target: float | None) -> DrainRow:
    asyncio.run(_queue(url, executions, chain))
    elapsed, cpu = asyncio.run(_drain(url))
    done = _succeeded(url)
    transitions = executions * chain
    note = "" if done == executions else f"only {done} of {executions} succeeded"
    return DrainRow(
        what, executions, transitions / elapsed, cpu / transitions * 1e6, None, target, note
    )


# -- scale-out: worker processes --------------------------------------------------------------


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


class _DatabaseCpu:
    """CPU time used by PostgreSQL's processes while a run lasts (backends come and go with
    the workers' connections, so each is sampled while it lives and its last figure kept)."""

    def __init__(self) -> None:
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _read(self) -> None:
        for pid in _postgres_pids():
            seconds = _cpu_seconds(pid)
            if seconds is not None:
                self._first.setdefault(pid, seconds)
                self._last[pid] = seconds

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self._read()

    def __enter__(self) -> _DatabaseCpu:
        self._read()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    @property
    def seconds(self) -> float:
        return sum(self._last[pid] - self._first[pid] for pid in self._last)


def _asl() -> str:
    return str(Path(sys.executable).with_name("asl"))


def worker_processes(url: str, executions: int, chain: int, workers: int) -> DrainRow:
    asyncio.run(_queue(url, executions, chain))
    command = [_asl(), "worker", "--until-idle", "--store", url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with _DatabaseCpu() as database:
        began = time.perf_counter()
        children = [
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(workers)
        ]
        failures = [c.stderr.read().decode()[-200:] for c in children if c.wait() and c.stderr]
        elapsed = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    transitions = executions * chain
    done = _succeeded(url)
    note = failures[0] if failures else ""
    if done != executions:
        note = note or f"only {done} of {executions} succeeded"
    return DrainRow(
        f"PostgreSQL, {workers} worker process{'es' if workers > 1 else ''}",
        executions,
        transitions / elapsed,
        cpu / transitions * 1e6,
        database.seconds / transitions * 1e6,
        None,
        note,
    )


# -- the floor: SQLite alone ------------------------------------------------------------------


def _rows_of_one_execution(chain: int) -> tuple[list[tuple[object, ...]], str]:
    """The history rows and snapshot the engine writes for one execution of the chain."""
    from engine.definition.compile import compile_machine
    from engine.interpreter.core import step
    from engine.interpreter.frames import ExecutionInfo, new_execution
    from engine.interpreter.messages import Start
    from engine.store.codec import state_to_json, stored_event
    from engine.store.schema import encode

    arn = "arn:aws:states:us-east-1:123456789012:execution:drain:x"
    info = ExecutionInfo(
        execution_arn=arn,
        name="x",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:drain",
        state_machine_name="drain",
        input={"n": 1},
        start_time=1.0,
        execution_type="STANDARD",
    )
    machine = compile_machine(json.loads(chain_definition(chain)))
    result = step(machine, new_execution(info, "S0"), Start(now=1.0))
    rows = []
    for event in result.events:
        stored = stored_event(arn, event)
        rows.append(
            (
                stored.id,
                stored.previous_event_id,
                stored.timestamp,
                stored.type,
                encode(stored.details),
            )
        )
    return rows, encode(state_to_json(result.state))


def sqlite_floor(folder: str, executions: int, chain: int, batch: int = 100) -> DrainRow:
    """The rows one worker writes, written by sqlite3 alone in transactions of `batch`
    executions (each: its history rows, its snapshot, its close), WAL + synchronous FULL."""
    from engine.store.open import open_store

    url = f"sqlite:///{folder}/floor.db"
    asyncio.run(_queue(url, executions, chain))
    open_store(url).close()
    rows, snapshot = _rows_of_one_execution(chain)
    connection = sqlite3.connect(f"{folder}/floor.db", isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        arns = [a for (a,) in connection.execute("SELECT arn FROM executions ORDER BY arn")]
        began = time.perf_counter()
        for chunk in _chunks(arns, batch):
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(
                'INSERT INTO history (execution_arn, id, previous_event_id, "timestamp", type, '
                "details) VALUES (?, ?, ?, ?, ?, ?)",
                [(arn, *row) for arn in chunk for row in rows],
            )
            connection.executemany(
                "UPDATE executions SET state = ?, status = 'SUCCEEDED', stop = ?, output = ? "
                "WHERE arn = ?",
                [(snapshot, 2.0, '{"n":1}', arn) for arn in chunk],
            )
            connection.execute("COMMIT")
        elapsed = time.perf_counter() - began
    finally:
        connection.close()
    return DrainRow(
        f"floor: sqlite3 alone, {batch} executions per transaction",
        executions,
        executions * chain / elapsed,
    )


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


# -- the section -------------------------------------------------------------------------------


def bench_drain(
    executions: int = 10_000, chain: int = CHAIN, workers: tuple[int, ...] = (1, 2, 4)
) -> list[DrainRow]:
    rows: list[DrainRow] = []
    with tempfile.TemporaryDirectory(prefix="asl-drain-") as folder:
        rows.append(sqlite_floor(folder, executions, chain))
        for what, query in (
            ("SQLite (synchronous FULL, the default)", ""),
            ("SQLite, ?synchronous=normal", "?synchronous=normal"),
        ):
            url = f"sqlite:///{folder}/{len(rows)}.db{query}"
            rows.append(one_worker(f"{what}, 1 worker", url, executions, chain, TARGETS["sqlite"]))
    postgres = postgres_url()
    if postgres is None:
        rows.append(DrainRow("PostgreSQL", 0, None, note="n/a (set ASL_BENCH_POSTGRES_URL)"))
        return rows
    schema = f"asl_drain_{os.getpid()}"
    try:
        with postgres_schema(postgres, schema) as url:
            rows.append(
                one_worker("PostgreSQL, 1 worker", url, executions, chain, TARGETS["postgresql"])
            )
        for count in workers:
            with postgres_schema(postgres, schema) as url:
                rows.append(worker_processes(url, executions, chain, count))
    except Exception as exc:  # no server: say so in the table
        rows.append(DrainRow("PostgreSQL", 0, None, note=f"n/a ({type(exc).__name__}: {exc})"[:90]))
    return rows


def drain_table(rows: list[DrainRow]) -> list[list[str]]:
    def us(value: float | None) -> str:
        return "" if value is None else f"{value:.0f}"

    out = []
    for row in rows:
        rate = f"{row.per_second:,.0f}" if row.per_second is not None else row.note
        target = f">= {row.target:,.0f}" if row.target is not None else "-"
        verdict = row.verdict + (f" ({row.note})" if row.note and row.per_second else "")
        out.append(
            [
                row.what,
                f"{row.executions:,}",
                rate,
                target,
                verdict,
                us(row.cpu_us),
                us(row.database_cpu_us),
            ]
        )
    return out


HEADERS = [
    "what",
    "executions",
    "transitions/s",
    "target",
    "",
    "worker CPU us/transition",
    "PostgreSQL CPU us/transition",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drain_bench")
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--chain", type=int, default=CHAIN, help="Pass states per execution")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts (PostgreSQL)")
    args = parser.parse_args(argv)
    from bench.__main__ import format_table

    workers = tuple(int(n) for n in args.workers.split(",") if n)
    rows = bench_drain(args.executions, args.chain, workers)
    print(format_table(HEADERS, drain_table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
