"""Every path a user has to run an execution, each reduced to one call: `run(case) -> Outcome`.

Owns: driving one execution down one path and reading back what that path shows its user:
- `engine`: `Engine` in this process (what a test author embeds);
- `service-memory`, `service-sqlite`, `service-postgresql`: `Service` with its worker on each
  store (what `asl serve` and `asl worker` run), history read from the store;
- `asl-run`: the `asl run --json --history` process;
- `asl-start`: `asl start` attached (it drives the execution and prints its result);
- `asl-detach-worker`: `asl start --detach`, then `asl worker --until-idle`;
- `asl-serve-boto3`: an `asl serve` process driven with boto3 (CreateStateMachine,
  StartExecution, DescribeExecution, GetExecutionHistory);
- `asl-crash-resume`: `asl start --detach`, a worker killed (SIGKILL) right after a commit that
  leaves no Task in flight (`ASL_CRASH_AT=idle_commit:N`), then a new worker resumes it.
Every path calls the same functions file (tests/generated/handlers.py) and runs on virtual
time starting at the wall time. A path may be given an AWS endpoint (`aws_paths`,
tests/differential/conftest.py): the in-process ones as `[aws]` config, the processes as
AWS_ENDPOINT_URL in their environment. Must never: compare outcomes (outcome.py) or decide what
counts as agreement.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.backends.python import load_functions
from engine.config import AslConfig
from engine.embedded import Engine
from engine.runtime.clock import VirtualClock
from engine.service import Service, ServiceConfig
from engine.store.base import Store
from engine.store.open import open_store
from engine.values import JSON
from tests.differential.outcome import Outcome, history_of, map_run_seen

REPO = Path(__file__).resolve().parents[2]
HANDLERS = REPO / "tests" / "generated" / "handlers.py"
# Every path's virtual clock starts at the wall time, as `--virtual-time` does in the process
# paths: a generated Timestamp (around 2023) is then in the past on every path alike. With the
# in-process clock at 2023 instead, a Wait until a generated Timestamp outlasted a machine's
# TimeoutSeconds in process and not in `asl run` (make fuzz found it).
BOUND_SECONDS = 120.0  # no generated execution takes near this (a Task timeout costs ~1 s)
ASL = (sys.executable, "-m", "engine.cli")
_names = itertools.count()


@dataclass(frozen=True, slots=True)
class Case:
    """One execution to run: a definition (JSON text), its input and the machine type.

    `children` are the (name, definition text) of the Standard machines its
    `states:startExecution` Tasks start: every path registers them first (a name no other
    case uses; registering one twice with the same definition is idempotent)."""

    definition: str
    input: JSON
    machine_type: str = "STANDARD"
    children: tuple[tuple[str, str], ...] = ()

    def named(self, prefix: str) -> str:
        """A machine name no other case of this session uses (names key the stores)."""
        return f"{prefix}{next(_names)}-{os.getpid()}"


class Path_(Protocol):
    name: str

    def run_all(self, cases: list[Case]) -> list[Outcome]:
        """Run every case (together where the path can: one worker drives them all)."""
        ...


class OneByOne:
    """A path whose executions run one at a time (a process, or a call, each)."""

    def run(self, case: Case) -> Outcome:
        raise NotImplementedError

    def run_all(self, cases: list[Case]) -> list[Outcome]:
        return [self.run(case) for case in cases]


# -- in process -----------------------------------------------------------------------------------


class EnginePath(OneByOne):
    name = "engine"

    def __init__(self, config: AslConfig | None = None) -> None:
        self.functions = load_functions(str(HANDLERS))
        self.config = config

    def run(self, case: Case) -> Outcome:
        async def main() -> Outcome:
            engine = Engine(
                functions=self.functions, config=self.config, clock=VirtualClock(), seed=7
            )
            try:
                for child, text in case.children:
                    engine.load(text, name=child)
                machine = engine.load(
                    case.definition, name=case.named("e"), machine_type=case.machine_type
                )
                result = await asyncio.wait_for(engine.run(machine, case.input), BOUND_SECONDS)
            finally:
                await engine.aclose()
            return Outcome(
                result.status,
                result.output,
                result.error,
                result.cause,
                history_of(event.as_json() for event in result.events),
            )

        return asyncio.run(main())


class ServicePath(OneByOne):
    """A worker-mode Service over one store kept for the session (executions accumulate)."""

    def __init__(self, kind: str, store: Store, config: AslConfig | None = None) -> None:
        self.kind = kind
        self.name = f"service-{kind}"
        self.store = store
        self.config = config
        self.functions = load_functions(str(HANDLERS))

    def run(self, case: Case) -> Outcome:
        async def main() -> Outcome:
            async with Service(
                self.store,
                functions=self.functions,
                functions_config=self.config,
                clock=VirtualClock(),
                config=ServiceConfig(poll_seconds=0.02, seed=7),
            ) as service:
                for child, text in case.children:
                    await service.create_state_machine(child, text)
                machine, _ = await service.create_state_machine(
                    case.named("s"), case.definition, machine_type=case.machine_type
                )
                started = await service.start_execution(
                    machine.arn, input_text=json.dumps(case.input)
                )
                closed = await asyncio.wait_for(service.wait_for(started.arn), BOUND_SECONDS)
                events = await service.get_history(started.arn, limit=1_000_000)
                map_runs = await service_map_runs(service, started.arn, settle=True)
            from engine.cli.shapes import event_shape

            return Outcome(
                closed.status,
                closed.output if closed.status == "SUCCEEDED" else None,
                closed.error,
                closed.cause,
                history_of(event_shape(event) for event in events),
                map_runs,
            )

        return asyncio.run(main())


async def service_map_runs(
    service: Service, execution_arn: str, *, settle: bool = False
) -> tuple[JSON, ...]:
    """The execution's Map Runs, oldest first, as ListMapRuns, DescribeMapRun and
    ListExecutions with mapRunArn show them (`asl map-run` prints the same shapes).

    `settle`: first wait for every child to close. A Map that fails stops its running
    children through their inbox, in its closing commit; the worker delivers the stops after
    the parent closed (as AWS stops them after the Map Run failed), so a child may still be
    RUNNING when the parent is seen closed. A worker run `--until-idle` has delivered them."""
    from engine.cli.common import iso
    from engine.service.map_runs import map_run_counts
    from engine.shapes import map_run_fields

    runs, _ = await service.list_map_runs(execution_arn, limit=1000)
    seen = []
    for record in reversed(runs):  # ListMapRuns: newest first
        children: list[str] = []
        token: str | None = None
        while True:
            page, token = await service.list_map_run_executions(
                record.arn, limit=1000, next_token=token
            )
            for child in page:
                if settle and child.status == "RUNNING":
                    child = await asyncio.wait_for(service.wait_for(child.arn), BOUND_SECONDS)
                children.append(child.status)
            if token is None:
                break
        view = await service.describe_map_run(record.arn)  # after the children settled
        counts = map_run_counts(view)
        described = map_run_fields(view.record, counts.items, counts.executions, iso)
        seen.append(map_run_seen(described, children))
    return tuple(seen)


# -- processes ------------------------------------------------------------------------------------


def asl(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = BOUND_SECONDS
) -> subprocess.CompletedProcess[str]:
    """`python -m engine.cli ARGS...`; however it ends (a hang fails with the command)."""
    environment = {**os.environ, **(env or {})}
    environment.pop("ASL_CRASH_AT", None)
    if env and "ASL_CRASH_AT" in env:
        environment["ASL_CRASH_AT"] = env["ASL_CRASH_AT"]
    try:
        return subprocess.run(
            [*ASL, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            cwd=REPO,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"asl {' '.join(args)} did not return in {timeout} s") from None


class Scratch:
    """Files of the process paths: one definition and input file per case, and one store;
    `env`, what every process of these paths gets in its environment besides this one's."""

    def __init__(self, folder: Path, env: Mapping[str, str] | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.store_url = f"sqlite:///{folder / 'asl.db'}"
        self.env = dict(env or {})

    def files(self, case: Case, prefix: str) -> tuple[Path, Path]:
        name = case.named(prefix)  # the machine is named after the file
        definition = self.folder / f"{name}.asl.json"
        definition.write_text(case.definition)
        data = self.folder / f"{name}.input.json"
        data.write_text(json.dumps(case.input))
        return definition, data

    def child_files(self, case: Case) -> list[tuple[str, Path]]:
        """Each child machine of the case as a file named after it."""
        files = []
        for child, text in case.children:
            path = self.folder / f"{child}.asl.json"
            path.write_text(text)
            files.append((child, path))
        return files

    def register_children(self, case: Case) -> None:
        """`asl start CHILD --detach`: the child machines in the store (each with a run of
        its own, which a worker of the store drives later like any other)."""
        for _, path in self.child_files(case):
            done = asl("start", str(path), "--store", self.store_url, "--detach", env=self.env)
            _checked(done, 0)

    def stored(self, arn: str) -> Outcome:
        """An execution as `asl describe --json` and `asl history --json` show it."""
        store = open_store(self.store_url)
        try:
            record = store.get_execution(arn)
            assert record is not None, f"no execution {arn}"
            events = store.get_history(arn, limit=1_000_000)
            map_runs = asyncio.run(_stored_map_runs(store, arn))
        finally:
            store.close()
        from engine.cli.shapes import event_shape

        return Outcome(
            record.status,
            record.output if record.status == "SUCCEEDED" else None,
            record.error,
            record.cause,
            history_of(event_shape(event) for event in events),
            map_runs,
        )


async def _stored_map_runs(store: Store, arn: str) -> tuple[JSON, ...]:
    """`service_map_runs` of a stored execution, through a Service that drives nothing (as
    `asl map-run` reads them)."""
    async with Service(store, config=ServiceConfig(worker=False)) as service:
        return await service_map_runs(service, arn)


def _checked(done: subprocess.CompletedProcess[str], *codes: int) -> str:
    if done.returncode not in codes or "Traceback" in done.stderr:
        raise AssertionError(
            f"exit status {done.returncode} (expected {codes}); stderr: {done.stderr[-2000:]}"
        )
    return done.stdout


class RunPath(OneByOne):
    name = "asl-run"

    def __init__(self, scratch: Scratch) -> None:
        self.scratch = scratch

    def run(self, case: Case) -> Outcome:
        definition, data = self.scratch.files(case, "r")
        children = [
            f"--machine-file={child}={path}" for child, path in self.scratch.child_files(case)
        ]
        done = asl(
            "run", str(definition), "--input-file", str(data), "--functions", str(HANDLERS),
            "--type", case.machine_type, "--virtual-time", "--json", "--history", *children,
            env=self.scratch.env,
        )  # fmt: skip
        printed = json.loads(_checked(done, 0, 1))
        events = printed["events"]
        assert isinstance(events, list)
        return Outcome(
            printed["status"], printed["output"], printed["error"], printed["cause"],
            history_of(events),
        )  # fmt: skip


class StartPath(OneByOne):
    name = "asl-start"

    def __init__(self, scratch: Scratch) -> None:
        self.scratch = scratch

    def run(self, case: Case) -> Outcome:
        definition, data = self.scratch.files(case, "a")
        self.scratch.register_children(case)
        done = asl(
            "start", str(definition), "--input-file", str(data), "--functions", str(HANDLERS),
            "--type", case.machine_type, "--store", self.scratch.store_url,
            "--virtual-time", "--json", env=self.scratch.env,
        )  # fmt: skip
        printed = json.loads(_checked(done, 0, 1))
        stored = self.scratch.stored(printed["executionArn"])
        # what the command printed is what the store holds
        assert (printed["status"], printed["output"], printed["error"], printed["cause"]) == (
            stored.status, stored.output, stored.error, stored.cause,
        )  # fmt: skip
        return stored


def _detach(scratch: Scratch, case: Case, prefix: str) -> str:
    definition, data = scratch.files(case, prefix)
    scratch.register_children(case)
    done = asl(
        "start", str(definition), "--input-file", str(data), "--type", case.machine_type,
        "--store", scratch.store_url, "--detach", env=scratch.env,
    )  # fmt: skip
    arn = json.loads(_checked(done, 0))["executionArn"]
    assert isinstance(arn, str)
    return arn


def _worker(scratch: Scratch, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**scratch.env, "ASL_CRASH_AT": crash_at} if crash_at else scratch.env
    return asl(
        "worker", "--until-idle", "--virtual-time", "--functions", str(HANDLERS),
        "--store", scratch.store_url, env=env,
    )  # fmt: skip


class DetachPath:
    """`asl start --detach` for every case, then one `asl worker --until-idle` for them all."""

    name = "asl-detach-worker"

    def __init__(self, scratch: Scratch) -> None:
        self.scratch = scratch

    def run_all(self, cases: list[Case]) -> list[Outcome]:
        arns = [_detach(self.scratch, case, "d") for case in cases]
        _checked(_worker(self.scratch), 0)
        return [self.scratch.stored(arn) for arn in arns]


class CrashPath:
    """`asl start --detach` for every case; a worker killed (SIGKILL) after its `crash_at`-th
    quiet batch of commits (nothing in flight or unwritten); a new worker resumes them all.
    Set `crash_at` before each batch (the tests draw it)."""

    name = "asl-crash-resume"

    def __init__(self, scratch: Scratch, crash_at: int = 1) -> None:
        self.scratch = scratch
        self.crash_at = crash_at
        self.crashed = 0  # how many workers really crashed (short executions may end first)

    def run_all(self, cases: list[Case]) -> list[Outcome]:
        arns = [_detach(self.scratch, case, "c") for case in cases]
        first = _worker(self.scratch, crash_at=f"idle_commit:{self.crash_at}")
        if first.returncode == -signal.SIGKILL:
            self.crashed += 1
        else:
            _checked(first, 0)
        _checked(_worker(self.scratch), 0)
        return [self.scratch.stored(arn) for arn in arns]


class ServePath(OneByOne):
    """One `asl serve --virtual-time` process for the session, driven with boto3."""

    name = "asl-serve-boto3"

    def __init__(self, client: Any) -> None:
        self.client = client

    def run(self, case: Case) -> Outcome:
        sfn = self.client
        for child, text in case.children:
            sfn.create_state_machine(
                name=child, definition=text, roleArn="arn:aws:iam::111111111111:role/asl-engine"
            )
        machine = sfn.create_state_machine(
            name=case.named("b"),
            definition=case.definition,
            roleArn="arn:aws:iam::111111111111:role/asl-engine",
            type=case.machine_type,
        )
        arn = sfn.start_execution(
            stateMachineArn=machine["stateMachineArn"], input=json.dumps(case.input)
        )["executionArn"]
        described = _poll_closed(sfn, arn)
        events: list[dict[str, JSON]] = []
        token: str | None = None
        while True:
            page = sfn.get_execution_history(
                executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {})
            )
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                break
        output = described.get("output")
        return Outcome(
            described["status"],
            json.loads(output) if output is not None else None,
            described.get("error"),
            described.get("cause"),
            history_of(events),
            _boto3_map_runs(sfn, arn),
        )


def _boto3_map_runs(sfn: Any, arn: str) -> tuple[JSON, ...]:
    """ListMapRuns, DescribeMapRun and ListExecutions with mapRunArn through boto3."""
    runs = sfn.list_map_runs(executionArn=arn, maxResults=1000)["mapRuns"]
    seen = []
    for run in reversed(runs):  # newest first
        children: list[str] = []
        token: str | None = None
        while True:
            page = sfn.list_executions(
                mapRunArn=run["mapRunArn"],
                maxResults=1000,
                **({"nextToken": token} if token else {}),
            )
            for child in page["executions"]:  # settled, as `service_map_runs` says
                if child["status"] == "RUNNING":
                    child = _poll_closed(sfn, child["executionArn"])
                children.append(child["status"])
            token = page.get("nextToken")
            if not token:
                break
        described = sfn.describe_map_run(mapRunArn=run["mapRunArn"])  # once settled
        seen.append(map_run_seen(described, children))
    return tuple(seen)


def _poll_closed(sfn: Any, arn: str) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + BOUND_SECONDS
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"{arn} still RUNNING after {BOUND_SECONDS} s"
        time.sleep(0.02)  # polling a real server: the only way to see it close


@contextmanager
def serve(scratch: Scratch) -> Iterator[Any]:
    """`asl serve --virtual-time` on a free loopback port; yields a boto3 client for it.

    Its log goes to a file (a pipe nobody reads would fill up and stall the server)."""
    import time

    from tests.serve_process import sfn_client

    log_path = scratch.folder / "serve.log"
    store = f"sqlite:///{scratch.folder / 'served.db'}"
    with socket.socket() as probe:  # a free loopback port, for the server to take
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        command = [*ASL, "serve", "--store", store, "--port", str(port), "--virtual-time"]
        process = subprocess.Popen(
            [*command, "--functions", str(HANDLERS)],
            stdout=log,
            stderr=log,
            cwd=REPO,
            env={**os.environ, **scratch.env},
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None, f"asl serve exited: {log_path.read_text()}"
                assert time.monotonic() < deadline, "asl serve did not listen within 60 s"
                time.sleep(0.05)  # waiting for another process to listen
        yield sfn_client(url)
    finally:
        process.terminate()
        process.wait(timeout=30)


def open_path_store(kind: str, folder: Path, postgres: str | None) -> Store:
    if kind == "memory":
        from engine.store.memory import MemoryStore

        return MemoryStore()
    if kind == "sqlite":
        return open_store(f"sqlite:///{folder / 'service.db'}")
    assert postgres is not None
    return open_store(postgres)
