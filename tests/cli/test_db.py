"""`asl db upgrade` (apply migrations; `URL: schema is up to date`) and `asl db purge` (delete
histories closed longer than the retention window, 90 days; `{"purged": N}`), exit 0; exit 2
with one line for a store that cannot be opened.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from engine.runtime.clock import VirtualClock
from engine.service import Service
from engine.store.open import open_store
from tests.cli.harness import MACHINES, Cli, assert_one_asl_line, execution_arn

BAD_URL = (
    "asl: ValidationException: unsupported store URL 'bogus://x': use memory://, "
    "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE\n"
)


def test_db_upgrade_the_default_store(cli: Cli) -> None:
    for _ in range(2):  # and again: nothing left to apply
        done = cli("db", "upgrade")
        assert (done.code, done.err) == (0, "")
        assert done.lines() == [f"{cli.store}: schema is up to date"]
    assert (cli.folder / "home" / "asl.db").is_file()


def test_db_upgrade_a_given_store(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    given = f"sqlite:///{cli.folder / 'given.db'}"
    assert cli("db", "upgrade", "--store", given).lines() == [f"{given}: schema is up to date"]
    monkeypatch.setenv("ASL_STORE", f"sqlite:///{cli.folder / 'env.db'}")
    assert cli("db", "upgrade").lines() == [
        f"sqlite:///{cli.folder / 'env.db'}: schema is up to date"
    ]
    assert not (cli.folder / "home").exists()


@pytest.mark.parametrize("command", ["upgrade", "purge"])
def test_db_refuses_an_unknown_store_url(cli: Cli, command: str) -> None:
    assert assert_one_asl_line(cli("db", command, "--store", "bogus://x")) == BAD_URL


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "purge"], ["list"]])
def test_a_store_that_cannot_be_opened_is_one_line(cli: Cli, command: list[str]) -> None:
    cli.write("not-a-db.db", "this is not a database\n" * 100)
    url = f"sqlite:///{cli.folder / 'not-a-db.db'}"
    done = cli(*command, "--store", url)
    assert assert_one_asl_line(done) == (
        f"asl: ServiceUnavailable: cannot migrate the store at {url}: file is not a database\n"
    )


def test_db_without_a_command_is_a_usage_error(cli: Cli) -> None:
    done = cli("db")
    assert (done.code, done.out) == (2, "")
    assert (
        done.err.splitlines()[-1] == "asl db: error: the following arguments are required: COMMAND"
    )


async def run_days_ago(url: str, days: float) -> None:
    """On `url`: `hello` executions `old` (closed `days` ago) and `old-open` (started then,
    still waiting on its task token)."""
    store = open_store(url)
    try:
        # `note` takes the token and returns: `old-open` waits for its callback, whether or
        # not this service gets to invoke its Task before it closes (without the function the
        # Task failed at once and the execution closed, 91 days ago, and was purged too)
        async with Service(
            store,
            clock=VirtualClock(time.time() - days * 86400),
            functions={"note": lambda event, context: {}},
        ) as service:
            hello, _ = await service.create_state_machine("hello", json.dumps(MACHINES["hello"]))
            waiting, _ = await service.create_state_machine(
                "callback", json.dumps(MACHINES["callback"])
            )
            closed = await service.start_execution(hello.arn, name="old")
            await service.wait_for(closed.arn)
            await service.start_execution(waiting.arn, name="old-open")
    finally:
        store.close()


def test_db_purge_deletes_only_histories_past_the_retention_window(cli: Cli) -> None:
    assert cli("db", "purge").lines() == ['{"purged": 0}']  # a fresh store
    # recent first: an attached `asl start` runs the retention job too, as every worker does
    assert cli("start", cli.machine("hello"), "--name", "recent").code == 0
    asyncio.run(run_days_ago(cli.store, 91))
    old, recent = execution_arn("hello", "old"), execution_arn("hello", "recent")
    assert cli.describe(old)["status"] == "SUCCEEDED"

    done = cli("db", "purge")
    assert (done.code, done.err) == (0, "")
    assert done.json() == {"purged": 1}
    assert assert_one_asl_line(cli("describe", old)) == (
        f"asl: ExecutionDoesNotExist: Execution Does Not Exist: '{old}'\n"
    )
    assert cli.describe(recent)["status"] == "SUCCEEDED"
    assert cli.describe(execution_arn("callback", "old-open"))["status"] == "RUNNING"
    assert cli("db", "purge").json() == {"purged": 0}
    # the name is free again
    again = cli("start", cli.machine("hello"), "--name", "old", "--json")
    assert (again.code, again.json()["status"]) == (0, "SUCCEEDED")


def test_db_purge_keeps_what_closed_inside_the_window(cli: Cli) -> None:
    asyncio.run(run_days_ago(cli.store, 89))
    assert cli("db", "purge").json() == {"purged": 0}
    assert cli.describe(execution_arn("hello", "old"))["status"] == "SUCCEEDED"
