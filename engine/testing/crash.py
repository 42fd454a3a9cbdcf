"""The crash test kit: count handler calls durably, kill workers on purpose, recover.

Owns: the helpers a user's test suite (and ours, tests/crash/) uses to prove what
docs/idempotency.md promises. Standard workflows invoke a task at most once and never re-run a
completed state across a crash; Express workflows are at-least-once, so their functions must be
idempotent. Must never: be imported by the engine itself (it is test code shipped as code, like
Trio's `trio.testing`), or decide semantics (it only drives the `asl` CLI and reads the store).

- `CallLedger` records every call of a handler as one JSON line appended to a file (named by
  `ASL_TEST_LEDGER` or given explicitly), so the calls a worker made before it was killed with
  SIGKILL are still counted. `@ledger.recorded` wraps a handler in a functions file;
  `ledger.invoked_once("charge", order="o-1")` asserts.
- `CrashHarness` drives real `asl` processes on one store: `start` (`asl start --detach`),
  `run_worker_until_crash` (`asl worker --until-idle` with `ASL_CRASH_AT`, which must end by
  SIGKILL), `recover` (plain workers until every execution is terminal) and `crash_and_recover`
  (both). Its readers (`describe`, `history`, `executions`) return exactly the JSON that
  `asl describe|history|list --json` print, read in this process to save a process start each.
- `assert_history_ids`, `entered_counts`: the history invariants every crash test checks.

Imports no pytest: the fixtures over these helpers live in engine/testing/pytest_plugin.py.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar, cast

from engine.values import JSON

if TYPE_CHECKING:
    from engine.store.base import Store

__all__ = [
    "CRASH_VARIABLE",
    "LEDGER_VARIABLE",
    "REDELIVERY_VARIABLE",
    "TERMINAL",
    "Call",
    "CallLedger",
    "CrashHarness",
    "CrashReport",
    "WorkerRun",
    "assert_history_ids",
    "entered_counts",
]

LEDGER_VARIABLE: Final = "ASL_TEST_LEDGER"
CRASH_VARIABLE: Final = "ASL_CRASH_AT"
REDELIVERY_VARIABLE: Final = "ASL_EXPRESS_REDELIVERY"
TERMINAL: Final = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})

_H = TypeVar("_H", bound=Callable[..., object])


# -- the call ledger ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One recorded invocation: the handler's name, the event it got, the process that ran it."""

    name: str
    event: JSON
    pid: int

    def matches(self, name: str | None, match: Mapping[str, JSON]) -> bool:
        if name is not None and self.name != name:
            return False
        if not match:
            return True
        event = self.event
        return isinstance(event, dict) and all(
            key in event and event[key] == value for key, value in match.items()
        )


class CallLedger:
    """A durable count of handler invocations, shared by every process that names one file.

    Each call appends one line with a single `os.write` on an `O_APPEND` descriptor: the kernel
    has the bytes as soon as the call returns, so a SIGKILL a moment later loses nothing (only a
    power cut could, and no test simulates that), and lines from concurrent threads or processes
    never interleave. The file is `path`, else `$ASL_TEST_LEDGER` read at each call, so a
    functions file can create its ledger at import time and the test picks the file.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else None

    @property
    def path(self) -> Path:
        if self._path is not None:
            return self._path
        named = os.environ.get(LEDGER_VARIABLE)
        if not named:
            raise RuntimeError(
                f"CallLedger has no file: pass CallLedger(path) or set {LEDGER_VARIABLE} "
                "(CrashHarness and the call_ledger fixture set it for the processes they run)"
            )
        return Path(named)

    def record(self, name: str, event: JSON = None) -> None:
        """Append one call of `name` with the event it received."""
        line = json.dumps({"name": name, "event": event, "pid": os.getpid()}, sort_keys=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)

    def recorded(self, handler: _H) -> _H:
        """Decorate a Lambda handler `(event, context)` so each call is recorded before it runs.

        The wrapper keeps the handler's name and module (`functools.wraps`), so a functions
        file still serves the function under its own name. `async def` handlers stay async.
        """
        name = handler.__name__
        if inspect.iscoroutinefunction(handler):
            run_async = cast(Callable[..., Awaitable[object]], handler)

            @functools.wraps(handler)
            async def record_async(event: JSON, context: object) -> object:
                self.record(name, event)
                return await run_async(event, context)

            return cast(_H, record_async)

        @functools.wraps(handler)
        def record_call(event: JSON, context: object) -> object:
            self.record(name, event)
            return handler(event, context)

        return cast(_H, record_call)

    def calls(self, name: str | None = None, **match: JSON) -> list[Call]:
        """Recorded calls, oldest first; `name` and top-level event fields narrow them."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        found = []
        for line in text.splitlines():
            # a process killed inside os.write cannot leave half a line: the write is one call
            row = json.loads(line)
            call = Call(row["name"], row["event"], row["pid"])
            if call.matches(name, match):
                found.append(call)
        return found

    def count(self, name: str | None = None, **match: JSON) -> int:
        return len(self.calls(name, **match))

    def counts(self, key: str | None = None) -> dict[str, int]:
        """Calls per handler name, or per value of the event field `key` (as text)."""
        tally: Counter[str] = Counter()
        for call in self.calls():
            if key is None:
                tally[call.name] += 1
            elif isinstance(call.event, dict) and key in call.event:
                tally[str(call.event[key])] += 1
        return dict(sorted(tally.items()))

    def assert_invoked(self, name: str, times: int, **match: JSON) -> None:
        """Assert `name` was called exactly `times` times (with events matching `match`)."""
        calls = self.calls(name, **match)
        if len(calls) != times:
            where = f" with {match}" if match else ""
            events = "\n".join(f"  pid {c.pid}: {json.dumps(c.event)}" for c in calls)
            raise AssertionError(
                f"{name}{where} was invoked {len(calls)} time(s), expected {times}"
                + (f":\n{events}" if events else "")
            )

    def invoked_once(self, name: str, **match: JSON) -> None:
        """Assert `name` ran exactly once (with events matching `match`)."""
        self.assert_invoked(name, 1, **match)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


# -- history invariants ---------------------------------------------------------------------------


def assert_history_ids(events: Sequence[Mapping[str, JSON]]) -> None:
    """Event ids are exactly 1..N (none lost, none duplicated); each points to an earlier one."""
    ids = [event["id"] for event in events]
    if ids != list(range(1, len(ids) + 1)):
        raise AssertionError(f"history event ids are not 1..{len(ids)}: {ids}")
    for event in events:
        previous = event["previousEventId"]
        assert isinstance(previous, int)
        assert isinstance(event["id"], int)
        if not 0 <= previous < event["id"]:
            raise AssertionError(f"event {event['id']} points to a later event {previous}")


def entered_counts(events: Sequence[Mapping[str, JSON]]) -> dict[str, int]:
    """How many times each state was entered (`...StateEntered` events, by state name)."""
    tally: Counter[str] = Counter()
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if isinstance(details, dict) and isinstance(details.get("name"), str):
            tally[str(details["name"])] += 1
    return dict(sorted(tally.items()))


# -- driving real worker processes ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerRun:
    """How one `asl worker --until-idle` process ended."""

    returncode: int
    stdout: str
    stderr: str
    crash_at: str | None = None

    @property
    def killed(self) -> bool:
        """Ended by SIGKILL: -9 from Python's subprocess, 137 when a shell reports it."""
        return self.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL)

    def describe(self) -> str:
        return (
            f"asl worker (ASL_CRASH_AT={self.crash_at or ''}) exited {self.returncode}\n"
            f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        )


@dataclass(frozen=True, slots=True)
class CrashReport:
    crashed: WorkerRun
    recovered: tuple[WorkerRun, ...]


@dataclass
class CrashHarness:
    """Real `asl` processes on one store, with crash points, and readers for the results.

    `functions` are the `--functions` files every worker loads; `ledger` is handed to them in
    `ASL_TEST_LEDGER`. Workers run with `--virtual-time` unless told otherwise, so Waits and
    retry back-offs take no real time. Use as a context manager (or call `close`).
    """

    store_url: str
    functions: Sequence[str | os.PathLike[str]] = ()
    ledger: CallLedger | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    virtual_time: bool = True
    timeout: float = 60.0
    command: Sequence[str] = (sys.executable, "-m", "engine.cli")
    _store: Store | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> CrashHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- processes ----------------------------------------------------------------------------

    def _environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        for name in (CRASH_VARIABLE, REDELIVERY_VARIABLE):
            env.pop(name, None)  # a switch is on only where a call asks for it
        env.update(self.env)
        env["ASL_STORE"] = self.store_url
        if self.ledger is not None:
            env[LEDGER_VARIABLE] = str(self.ledger.path)
        env.update(extra)
        return env

    def asl(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `asl ARGS...` on this store; returns however it ended (never raises on status)."""
        try:
            return subprocess.run(  # noqa: S603  (our own CLI, arguments from the test)
                [*self.command, *args],
                env=self._environment(env or {}),
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"asl {' '.join(args)} did not finish in {self.timeout} s (a hung worker?)\n"
                f"stdout:\n{exc.stdout!r}\nstderr:\n{exc.stderr!r}"
            ) from None

    def start(
        self,
        definition: str | os.PathLike[str],
        input_value: JSON = None,
        *,
        name: str | None = None,
        machine_type: str = "STANDARD",
    ) -> str:
        """`asl start FILE --detach`: register the machine, record an execution; its ARN."""
        args = ["start", os.fspath(definition), "--detach", "--type", machine_type]
        args += ["--input", json.dumps({} if input_value is None else input_value)]
        if name is not None:
            args += ["--name", name]
        done = self.asl(*args)
        if done.returncode != 0:
            raise AssertionError(f"asl start exited {done.returncode}: {done.stderr}")
        arn = json.loads(done.stdout)["executionArn"]
        assert isinstance(arn, str)
        return arn

    def run_worker(
        self, *, crash_at: str | None = None, redelivery: str | None = None
    ) -> WorkerRun:
        """One `asl worker --until-idle`, with the crash and re-delivery switches as given."""
        args = ["worker", "--until-idle"]
        for functions in self.functions:
            args += ["--functions", os.fspath(functions)]
        if self.virtual_time:
            args.append("--virtual-time")
        extra = {}
        if crash_at is not None:
            extra[CRASH_VARIABLE] = crash_at
        if redelivery is not None:
            extra[REDELIVERY_VARIABLE] = redelivery
        done = self.asl(*args, env=extra)
        return WorkerRun(done.returncode, done.stdout, done.stderr, crash_at)

    def run_worker_until_crash(self, crash_at: str, *, redelivery: str | None = None) -> WorkerRun:
        """A worker with `ASL_CRASH_AT=crash_at`; asserts it was killed there by SIGKILL."""
        run = self.run_worker(crash_at=crash_at, redelivery=redelivery)
        if not run.killed:
            raise AssertionError(f"the worker was not killed at {crash_at}:\n{run.describe()}")
        return run

    def recover(self, *, max_runs: int = 3, redelivery: str | None = None) -> tuple[WorkerRun, ...]:
        """Plain workers, one after another, until every execution is terminal."""
        runs: list[WorkerRun] = []
        while self.unfinished():
            if len(runs) == max_runs:
                raise AssertionError(
                    f"executions still running after {max_runs} worker runs: {self.unfinished()}"
                    f"\n{runs[-1].describe()}"
                )
            run = self.run_worker(redelivery=redelivery)
            if run.returncode != 0:
                raise AssertionError(f"a recovering worker failed:\n{run.describe()}")
            runs.append(run)
        return tuple(runs)

    def crash_and_recover(
        self, crash_at: str, *, max_runs: int = 3, redelivery: str | None = None
    ) -> CrashReport:
        """Kill a worker at `crash_at`, then restart workers until every execution is terminal."""
        crashed = self.run_worker_until_crash(crash_at, redelivery=redelivery)
        return CrashReport(crashed, self.recover(max_runs=max_runs, redelivery=redelivery))

    # -- reading results (the JSON the CLI prints) --------------------------------------------

    def store(self) -> Store:
        """This harness's store, opened in this process on first use."""
        if self._store is None:
            from engine.store.open import open_store

            self._store = open_store(self.store_url)
        return self._store

    def executions(self) -> list[dict[str, JSON]]:
        """Every execution on the store, as `asl list --json` lists them (newest first)."""
        from engine.cli.shapes import list_shape

        store = self.store()
        records = []
        for machine in store.list_machines():
            after = None
            while True:
                page, after = store.list_executions(machine.arn, limit=1000, after=after)
                records.extend(page)
                if after is None:
                    break
        records.sort(key=lambda r: (-r.start, r.arn))
        return [list_shape(r) for r in records]

    def unfinished(self) -> list[str]:
        """ARNs of executions not yet terminal."""
        return [str(e["executionArn"]) for e in self.executions() if e["status"] not in TERMINAL]

    def describe(self, arn: str) -> dict[str, JSON]:
        """DescribeExecution, as `asl describe ARN --json` prints it."""
        from engine.cli.shapes import describe_shape

        record = self.store().get_execution(arn)
        if record is None:
            raise AssertionError(f"no execution {arn}")
        return describe_shape(record)

    def history(self, arn: str) -> list[dict[str, JSON]]:
        """The execution's events, as `asl history ARN --json` prints them (oldest first)."""
        from engine.cli.shapes import event_shape

        return [event_shape(e) for e in self.store().get_history(arn, limit=1_000_000)]
