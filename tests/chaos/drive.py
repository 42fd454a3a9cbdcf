"""One store's chaos run, inside its own process: the starts, the faults, the probe, the checks.

Owns: `Run` (what run.py's `--child` process does for one store: start executions at a steady
rate, keep the fleet full, inject faults on a seeded schedule, answer task tokens, wait for
every execution to close, probe each live process alone, then check.py) and `Profile` (how hard
a run pushes). run.py's docstring tells the whole story; this module is its second half. Must
never: launch itself (run.py does, inside a user namespace where it can) or assert on timing.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import EngineError, ResourceConflict, ResourceNotFound
from engine.service import Service, ServiceConfig
from engine.store.base import DEFAULT_LEASE_SECONDS, Store
from engine.store.open import open_store
from engine.store.sql import SQLITE_BUSY_TIMEOUT_MS
from tests.chaos.check import Figures, Started, check
from tests.chaos.faults import (
    CONNECTIONS,
    DISK_FULL,
    KILL,
    LOCK,
    LOCK_PAST_TIMEOUT,
    STALL,
    STALL_PAST_LEASE,
    Fleet,
    fill_disk,
    free_disk,
    lock_sqlite,
    terminate_connections,
)
from tests.chaos.machines import INPUTS, MACHINES, definition_text

PAST_LEASE_SECONDS = DEFAULT_LEASE_SECONDS + 5
PAST_BUSY_TIMEOUT_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000 + 5
CI_SECONDS = 12.0
PROBE_SECONDS = 30.0  # a supervised worker loop backs off at most a few seconds
PROBE_ATTEMPTS = 20
STORES = ("sqlite", "postgresql")
# What a store error must not show a client (issue 13: "errors never leak").
LEAKS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "[SQL", "[parameters", "DETAIL:")


@dataclass(frozen=True, slots=True)
class Profile:
    """How hard a run pushes: starts and short faults for `seconds`, then the long faults end."""

    seconds: float
    workers: int = 3
    starts_per_second: float = 6.0
    fault_every: float = 1.0  # mean seconds between two short faults
    stall_seconds: float = 2.0  # a short SIGSTOP (the lease holds)
    lock_seconds: float = 2.0  # a short lock (within the busy timeout)
    full_seconds: float = 2.0
    long_every: float = 150.0  # seconds between two long faults of a kind (the first at once)
    long_locks: bool = False  # SQLite locked past the busy timeout (long runs)
    # After the faults stop, every execution closes within this: a lease lapses in 30 s.
    # (The CI test must end within pytest's 300 s timeout even when a check fails.)
    bound_seconds: float = 100.0
    fs_size: str = "64m"

    @classmethod
    def for_seconds(cls, seconds: float, workers: int = 3, rate: float = 6.0) -> Profile:
        if seconds <= 60:
            return cls(seconds=seconds, workers=workers, starts_per_second=rate)
        return cls(
            seconds=seconds, workers=workers, starts_per_second=rate,
            fault_every=1.5, long_locks=True, fs_size="1g",
        )  # fmt: skip


class Run:
    def __init__(
        self,
        kind: str,
        url: str,
        folder: Path,
        profile: Profile,
        seed: int,
        application_name: str | None,
        fs: Path | None,
        skipped: dict[str, str],
    ) -> None:
        self.kind = kind
        self.url = url
        self.folder = folder
        self.profile = profile
        self.rng = random.Random(seed)  # the faults
        self.api_rng = random.Random(seed + 1)  # which starts go through the API
        self.application_name = application_name
        self.fs = fs
        self.ledger = folder / "calls.jsonl"
        self.figures = Figures(store=kind, skipped=dict(skipped))
        self.fleet = Fleet(url, folder, self.ledger, profile.workers)
        self.started: list[Started] = []
        self.machines: dict[str, str] = {}
        self.refused = 0
        self.refusals: Counter[str] = Counter()
        self.api_answers: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()  # SendTaskSuccess calls, by outcome
        self.answering = True
        self.clients: dict[str, Any] = {}
        self.starting = True
        self.connection_faults = 0
        self.quiet = False  # no other fault while the SQLite file is locked past the timeout

    def count(self, kind: str, n: int = 1) -> None:
        self.figures.faults[kind] += n

    # -- starts -----------------------------------------------------------------------------------

    async def starts(self, service: Service) -> None:
        pending: set[asyncio.Task[None]] = set()
        number = 0
        names = sorted(MACHINES)
        while self.starting:
            machine = names[number % len(names)]
            task = asyncio.create_task(self.start(service, machine, f"{machine}-{number:06d}"))
            pending.add(task)
            task.add_done_callback(pending.discard)
            number += 1
            await asyncio.sleep(1 / self.profile.starts_per_second)  # the start rate
        if pending:
            await asyncio.gather(*pending)

    async def start(self, service: Service, machine: str, name: str) -> None:
        """Start one execution; a refused start is retried under its name until accepted.

        Every other start goes first through the `asl serve` process's AWS JSON API (boto3),
        while it runs: what it answers under faults is checked (a store error is a 503 whose
        message names no SQL); when it cannot answer, the start goes through the service."""
        arn = self.machines[machine].replace(":stateMachine:", ":execution:") + ":" + name
        serving = self.fleet.server()
        url = serving[1] if serving is not None and self.api_rng.random() < 0.5 else None
        if url is not None and await asyncio.to_thread(self.start_through_api, url, machine, name):
            self.started.append(Started(arn, name, machine))
            return
        give_up = time.monotonic() + self.profile.seconds + PAST_BUSY_TIMEOUT_SECONDS * 2
        while True:
            try:
                record = await service.start_execution(
                    self.machines[machine], name=name, input_text=json.dumps(INPUTS[machine])
                )
                arn = record.arn
                break
            except ResourceConflict as exc:
                if exc.code != "ExecutionAlreadyExists":
                    raise
                break  # an earlier attempt was recorded (and has closed since): it is ours
            except EngineError as exc:
                self.refused += 1
                self.refusals[f"{exc.code}: {exc}"[:160]] += 1
                if time.monotonic() > give_up:
                    self.figures.notes.append(f"start {name} never accepted: {exc}")
                    return
                await asyncio.sleep(0.2)  # the store is down: try again, same name
        self.started.append(Started(arn, name, machine))

    async def callbacks(self, service: Service) -> None:
        """Answer each task token `submit` recorded in the ledger with SendTaskSuccess (through
        the service, retried while the store refuses it), until the run is over."""
        offset = 0
        seen: set[str] = set()
        pending: set[asyncio.Task[None]] = set()
        while self.answering:
            data = await asyncio.to_thread(read_from, self.ledger, offset)
            complete = data.rfind(b"\n") + 1  # whole lines only
            offset += complete
            for line in data[:complete].splitlines():
                row = json.loads(line)
                token = row["event"].get("token") if row["name"] == "submit" else None
                if isinstance(token, str) and token not in seen:
                    seen.add(token)
                    task = asyncio.create_task(self.answer(service, token))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
            await asyncio.sleep(0.2)  # polling the ledger other processes append to
        for task in list(pending):
            task.cancel()

    async def answer(self, service: Service, token: str) -> None:
        while True:
            try:
                await service.send_task_success(token, json.dumps({"answered": True}))
                self.answered["accepted"] += 1
                return
            except ResourceNotFound as exc:  # closed: its task was lost, or answered already
                self.answered[exc.code] += 1
                return
            except EngineError:
                self.answered["refused and retried"] += 1
                await asyncio.sleep(0.2)  # the store is down: try again

    def start_through_api(self, url: str, machine: str, name: str) -> bool:
        """StartExecution through the server; whether it was accepted (or had been)."""
        import botocore.exceptions  # type: ignore[import-untyped]

        client = self.clients.get(url)
        if client is None:
            client = self.clients[url] = api_client(url)
        try:
            client.start_execution(
                stateMachineArn=self.machines[machine], name=name, input=json.dumps(INPUTS[machine])
            )
            self.api_answers["200"] += 1
            return True
        except botocore.exceptions.ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code", "")), str(error.get("Message", ""))
            self.api_answers[f"{status} {code}"] += 1
            if code == "ExecutionAlreadyExists":
                return True  # an earlier attempt was recorded and has closed since
            leaked = [word for word in LEAKS if word in message]
            if status == 500 or leaked:
                self.figures.problems.append(
                    f"the API answered StartExecution {name} with {status} {code}: "
                    f"{message[:300]}" + (f" (it names {leaked})" if leaked else "")
                )
            return False
        except botocore.exceptions.BotoCoreError as exc:  # not listening yet, killed, stalled
            self.api_answers[type(exc).__name__] += 1
            return False

    # -- faults -----------------------------------------------------------------------------------

    def short_faults(self) -> list[str]:
        kinds = [KILL, STALL]
        if self.kind == "sqlite":
            kinds.append(LOCK)
            if self.fs is not None:
                kinds.append(DISK_FULL)
        else:
            kinds.append(CONNECTIONS)
        return kinds

    async def inject(self, kind: str) -> None:
        try:
            await self.inject_one(kind)
        except Exception as exc:  # the harness's own failure: shown, and the run fails
            self.figures.problems.append(f"could not inject {kind}: {exc!r}")

    async def inject_one(self, kind: str) -> None:
        fleet = self.fleet
        if self.quiet and kind != LOCK_PAST_TIMEOUT:
            return  # the fleet lives through a whole long lock (a new worker could not start)
        if kind == KILL:
            running = fleet.running()
            if running:
                fleet.kill(self.rng.choice(running))
                self.count(KILL)
                fleet.fill()  # a new worker at once
        elif kind in (STALL, STALL_PAST_LEASE):
            running = fleet.running()
            if len(running) < 2:
                return  # keep one worker running
            if kind == STALL_PAST_LEASE:  # a worker: the server's API stays in use
                running = [p for p in running if p.pid not in fleet.servers] or running
            victim = self.rng.choice(running)
            fleet.stop(victim)
            self.count(kind)
            seconds = PAST_LEASE_SECONDS if kind == STALL_PAST_LEASE else self.profile.stall_seconds
            await asyncio.sleep(seconds)  # the stall
            fleet.cont(victim)
        elif kind in (LOCK, LOCK_PAST_TIMEOUT):
            seconds = (
                PAST_BUSY_TIMEOUT_SECONDS
                if kind == LOCK_PAST_TIMEOUT
                else self.profile.lock_seconds
            )
            self.quiet = kind == LOCK_PAST_TIMEOUT
            locker = lock_sqlite(self.database(), seconds)
            assert locker.stdout is not None
            line = await asyncio.to_thread(locker.stdout.readline)
            if line.strip() == "locked":
                self.count(kind)
            await asyncio.to_thread(locker.wait)
            locker.stdout.close()
            self.quiet = False
        elif kind == CONNECTIONS:
            assert self.application_name is not None
            hold = self.rng.uniform(0.2, 1.0)
            killed = await asyncio.to_thread(
                terminate_connections, self.url, self.application_name, hold
            )
            self.count(CONNECTIONS, killed)
            self.connection_faults += 1
        elif kind == DISK_FULL:
            assert self.fs is not None
            ballast = self.fs / "ballast"
            await asyncio.to_thread(fill_disk, ballast)
            self.count(DISK_FULL)
            await asyncio.sleep(self.profile.full_seconds)  # the disk stays full
            free_disk(ballast)

    def database(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))

    async def faults(self) -> None:
        """Short faults at random moments for `seconds`; long ones every `long_every`."""
        profile = self.profile
        begin = time.monotonic()
        active: dict[str, asyncio.Task[None]] = {}
        others: set[asyncio.Task[None]] = set()
        long_kinds = [STALL_PAST_LEASE]
        if self.kind == "sqlite" and profile.long_locks:
            long_kinds.append(LOCK_PAST_TIMEOUT)
        next_long = dict.fromkeys(long_kinds, 0.5)
        if LOCK_PAST_TIMEOUT in next_long:
            next_long[LOCK_PAST_TIMEOUT] = PAST_LEASE_SECONDS + 10  # after the first stall
        while (elapsed := time.monotonic() - begin) < profile.seconds:
            for kind, due in next_long.items():
                if elapsed >= due and (kind not in active or active[kind].done()):
                    active[kind] = asyncio.create_task(self.inject(kind))
                    next_long[kind] = due + profile.long_every
            kind = self.rng.choice(self.short_faults())
            if kind == KILL:
                task = asyncio.create_task(self.inject(kind))
                others.add(task)
                task.add_done_callback(others.discard)
            elif kind not in active or active[kind].done():
                active[kind] = asyncio.create_task(self.inject(kind))
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * profile.fault_every)  # pacing
        await asyncio.gather(*active.values(), *others)

    # -- after the faults -------------------------------------------------------------------------

    def unfinished(self, store: Store) -> set[str]:
        running: set[str] = set()
        for arn in self.machines.values():
            after = None
            while True:
                page, after = store.list_executions(arn, status="RUNNING", limit=1000, after=after)
                running.update(record.arn for record in page)
                if after is None:
                    break
        return running

    def recorded(self, store: Store) -> list[Started]:
        """Executions the store has that no acknowledged start named (a refused start that
        was recorded all the same): checked like the others."""
        known = {s.arn for s in self.started}
        extra: list[Started] = []
        for machine, arn in self.machines.items():
            after = None
            while True:
                page, after = store.list_executions(arn, limit=1000, after=after)
                extra.extend(Started(r.arn, r.name, machine) for r in page if r.arn not in known)
                if after is None:
                    break
        return extra

    def progress(self, what: str) -> None:
        """A line in the run's log as each phase ends (a run that hangs says where)."""
        print(f"chaos {self.kind}: {what}", flush=True)

    async def settle(self, store: Store) -> set[str]:
        """Poll until every execution is closed, or the bound is over: what is still open."""
        deadline = time.monotonic() + self.profile.bound_seconds
        while True:
            self.fleet.fill()
            try:
                running = await asyncio.to_thread(self.unfinished, store)
            except EngineError:
                running = {"<the store did not answer>"}
            if not running or time.monotonic() > deadline:
                return running
            await asyncio.sleep(0.5)  # polling other processes' progress

    async def probe(self, service: Service, store: Store) -> None:
        """Each worker still alive must drive an execution started while the others are
        stopped (SIGSTOP): a worker whose loop died on a store error claims nothing.

        A worker stopped inside a SQLite write transaction would hold the file's lock and
        block the one probed: then the others are continued and stopped again."""
        workers = self.fleet.running()
        for number, worker in enumerate(workers):
            others = [p for p in workers if p is not worker]
            for _attempt in range(PROBE_ATTEMPTS):
                for process in others:
                    self.fleet.stop(process)
                if await asyncio.to_thread(self.writable):
                    break
                for process in others:
                    self.fleet.cont(process)
                await asyncio.sleep(0.1)  # let the one holding the lock commit
            else:
                self.figures.notes.append(
                    f"worker {worker.pid} not probed: the store stayed locked"
                )
                continue
            try:
                before = len(self.started)
                await self.start(service, "chain", f"probe-{number:02d}-{worker.pid}")
                arns = [s.arn for s in self.started[before:]]
                deadline = time.monotonic() + PROBE_SECONDS
                while arns and arns[0] in await asyncio.to_thread(self.unfinished, store):
                    if time.monotonic() > deadline or worker.poll() is not None:
                        self.figures.silent_workers += 1
                        self.figures.problems.append(
                            f"silent worker: {worker.pid} is alive but did not drive "
                            f"{arns[0]} alone within {PROBE_SECONDS:.0f} s "
                            f"(log: {self.fleet.log_of(worker.pid)})"
                        )
                        break
                    await asyncio.sleep(0.2)  # polling another process's progress
            finally:
                for process in others:
                    self.fleet.cont(process)
        if workers:
            await self.settle(store)  # a probe a silent worker left behind, driven by the rest

    def writable(self) -> bool:
        """Whether a write transaction can begin now (SQLite: nobody holds the lock)."""
        if self.kind != "sqlite":
            return True
        connection = sqlite3.connect(self.database(), timeout=1.0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            connection.close()

    async def main(self) -> Figures:
        begin = time.monotonic()
        store = open_store(self.url)
        try:
            async with Service(store, config=ServiceConfig(worker=False)) as service:
                for name in sorted(MACHINES):
                    machine, _ = await service.create_state_machine(
                        f"chaos-{name}", definition_text(name)
                    )
                    self.machines[name] = machine.arn
                self.fleet.fill()
                answering = asyncio.create_task(self.callbacks(service))
                starting = asyncio.create_task(self.starts(service))
                try:
                    await self.faults()
                finally:
                    self.starting = False
                    await starting
                for process in list(self.fleet.workers):
                    self.fleet.cont(process)
                self.progress(f"faults over: {len(self.started)} executions started")
                stuck = await self.settle(store)
                self.progress(f"settled: {len(stuck)} still running")
                await self.probe(service, store)
                self.progress(f"probed: {self.figures.silent_workers} silent")
                self.answering = False
                await answering
            problems = self.fleet.close()
            extra = self.recorded(store)
            if extra:
                self.figures.notes.append(
                    f"{len(extra)} execution(s) recorded by a start that was not acknowledged"
                )
            self.figures.problems.extend(problems)
            check(self.figures, store, [*self.started, *extra], self.ledger, stuck)
        finally:
            store.close()
            self.fleet.close(timeout=5)
        refusals = "; ".join(f"{n} x {why}" for why, n in self.refusals.most_common(3))
        self.figures.notes.append(
            f"{self.refused} start attempt(s) refused and retried"
            + (f" ({refusals})" if refusals else "")
        )
        if self.answered:
            answers = ", ".join(f"{n} {a}" for a, n in self.answered.most_common())
            self.figures.notes.append(f"SendTaskSuccess: {answers}")
        if self.api_answers:
            answers = ", ".join(f"{n} x {a}" for a, n in self.api_answers.most_common())
            self.figures.notes.append(f"StartExecution through asl serve: {answers}")
        if self.connection_faults:
            self.figures.notes.append(
                f"{self.figures.faults[CONNECTIONS]} connections killed in "
                f"{self.connection_faults} fault(s), each with a table locked"
            )
        if self.fleet.restarted:
            self.figures.notes.append(
                f"{self.fleet.restarted} worker(s) could not open the store at their start "
                "(exit status 2) and were started again"
            )
        tracebacks = self.fleet.tracebacks()
        if tracebacks:
            self.figures.notes.append(f"worker logs with a traceback: {', '.join(tracebacks)}")
        self.figures.seconds = time.monotonic() - begin
        return self.figures


def read_from(path: Path, offset: int) -> bytes:
    """What `path` holds from `offset` on (nothing while it does not exist)."""
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read()
    except FileNotFoundError:
        return b""


def api_client(url: str) -> Any:
    """A boto3 Step Functions client for a chaos run's server: one attempt, short timeouts."""
    import boto3
    from botocore.config import Config  # type: ignore[import-untyped]

    config = Config(
        retries={"max_attempts": 1},
        inject_host_prefix=False,
        connect_timeout=2,
        read_timeout=40,  # longer than SQLite's busy timeout: the server's 503 comes after it
    )
    return boto3.client(
        "stepfunctions", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x", config=config,
    )  # fmt: skip
