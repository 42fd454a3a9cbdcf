"""`asl worker`: `--until-idle` (exit 0 once nothing is runnable or waiting on a timer) and the
daemon mode (runs until SIGTERM or SIGINT, then releases its leases and exits 0).

The daemon runs as a real process; this process starts executions and reads the store, polling
it with a deadline (never a sleep that guesses how long the worker takes).
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from engine.service import Service, ServiceConfig
from engine.store.base import Store
from engine.store.open import open_store
from tests.cli.harness import ASL, FUNCTIONS, MACHINES, Cli, assert_one_asl_line, poll


def test_worker_until_idle_on_an_empty_store_exits_0_silently(cli: Cli) -> None:
    cli.worker_until_idle()


def test_worker_until_idle_drives_every_runnable_execution(cli: Cli) -> None:
    expected = {
        cli.start_detached("hello", "h"): "SUCCEEDED",
        cli.start_detached("waits", "w", "--input", "{}"): "SUCCEEDED",  # a day, virtual
        cli.start_detached("declines", "d"): "FAILED",
        cli.start_detached("times_out", "t"): "TIMED_OUT",
    }
    cli.worker_until_idle()
    assert {arn: cli.describe(arn)["status"] for arn in expected} == expected
    assert cli("list", "--status", "RUNNING", "--json").json() == {"executions": []}


def test_worker_until_idle_does_not_wait_for_a_task_token(cli: Cli) -> None:
    arn = cli.start_detached("callback", "parked")
    cli.worker_until_idle()
    assert cli.describe(arn)["status"] == "RUNNING"
    assert [e["type"] for e in cli.events(arn)][-1] == "TaskSubmitted"


def test_worker_until_idle_times_out_a_heartbeat_on_virtual_time(cli: Cli) -> None:
    arn = cli.start_detached("heartbeat", "silent")
    cli.worker_until_idle()
    described = cli.describe(arn)
    assert (described["status"], described["error"]) == ("FAILED", "States.HeartbeatTimeout")


@pytest.mark.parametrize(
    ("args", "err"),
    [
        (
            ["--store", "bogus://x"],
            "asl: ValidationException: unsupported store URL 'bogus://x': use memory://, "
            "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE\n",
        ),
        (
            ["--functions", "missing.py"],
            "asl: Cannot load functions from 'missing.py': no such file\n",
        ),
        (
            ["--mock-config", "missing.json"],
            "asl: missing.json: no such mock config file\n",
        ),
    ],
    ids=["store-url", "functions", "mock-config"],
)
@pytest.mark.parametrize("until_idle", [True, False], ids=["until-idle", "daemon"])
def test_worker_usage_errors_exit_2_with_one_line(
    cli: Cli, args: list[str], err: str, until_idle: bool
) -> None:
    done = cli("worker", *args, *(["--until-idle"] if until_idle else []))
    assert assert_one_asl_line(done) == err


async def start_many(url: str, count: int) -> None:
    """`count` recorded Standard executions of `hello`, started through the service in a few
    transactions (as many `asl start --detach` would, in a fraction of the time)."""
    store = open_store(url)
    try:
        service = Service(store, config=ServiceConfig(worker=False))
        machine, _ = await service.create_state_machine("hello", json.dumps(MACHINES["hello"]))
        await asyncio.gather(
            *(service.start_execution(machine.arn, name=f"e-{i}") for i in range(count))
        )
        await service.aclose()
    finally:
        store.close()


@pytest.mark.slow
def test_worker_until_idle_drives_more_than_one_claim_batch(cli: Cli) -> None:
    # The worker claims 1,000 executions per store round trip; --until-idle once exited after
    # the first batch, leaving the rest RUNNING.
    asyncio.run(start_many(cli.store, 1001))
    cli.worker_until_idle()
    assert cli("list", "--status", "RUNNING", "--json").json() == {"executions": []}
    done = cli("list", "--status", "SUCCEEDED", "--limit", "2000", "--json").json()
    assert len(done["executions"]) == 1001


# -- the daemon ------------------------------------------------------------------------------


def status_of(store: Store, arn: str) -> str | None:
    record = store.get_execution(arn)
    return None if record is None else record.status


def leases_of(store: Store, pid: int) -> list[str]:
    return [
        lease.execution_arn
        for lease in store.leases_on_host(socket.gethostname())
        if lease.pid == pid
    ]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_worker_daemon_drives_detached_executions_and_releases_its_leases_on_signal(
    cli: Cli, tmp_path: Path, signum: signal.Signals
) -> None:
    worker = subprocess.Popen(
        [ASL, "worker", "--functions", FUNCTIONS],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = open_store(cli.store)
    try:
        done = cli.start_detached("echo", "by-daemon", "--input", '{"via": "daemon"}')
        poll(lambda: status_of(store, done) == "SUCCEEDED", "the daemon to finish the execution")
        assert json.loads(cli.describe(done)["output"]) == {"via": "daemon"}

        parked = cli.start_detached("callback", "held")
        poll(lambda: parked in leases_of(store, worker.pid), "the daemon to hold the parked one")
        poll(
            # [-1:]: the execution may have no event yet when first looked at
            lambda: [e["type"] for e in cli.events(parked)][-1:] == ["TaskSubmitted"],
            "the callback task to be submitted",
        )

        worker.send_signal(signum)
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert (worker.returncode, out, err) == (0, "", "")
    assert leases_of(store, worker.pid) == []  # released, not left to expire
    store.close()
    assert cli.describe(parked)["status"] == "RUNNING"  # a later worker takes it over

    answered = cli("send-task-success", cli.token(parked), "--output", '{"approved": true}')
    assert (answered.code, answered.out, answered.err) == (0, "", "")
    cli.worker_until_idle()
    described = cli.describe(parked)
    assert (described["status"], described["output"]) == ("SUCCEEDED", '{"approved":true}')
