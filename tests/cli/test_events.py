"""Status-change events from `asl worker`: `[events.webhooks.NAME]` in asl.toml, delivered to a
real local receiver before `--until-idle` exits; a secret that is not set is a usage error."""

from __future__ import annotations

import pytest

from tests.cli.harness import Cli
from tests.webhook_receiver import SECRET, Receiver, receiver

__all__ = ["receiver"]  # the fixture


def config(url: str) -> str:
    return (
        "[events.webhooks.audit]\n"
        f'url = "{url}"\n'
        'secret_env = "ASL_TEST_HOOK_SECRET"\n'
        "max_attempts = 3\n"
    )


def test_the_worker_delivers_every_status_change(
    cli: Cli, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASL_TEST_HOOK_SECRET", SECRET)
    cli.write("asl.toml", config(receiver.url))
    receiver.fail = {1}
    hello = cli.start_detached("hello", "h")
    declines = cli.start_detached("declines", "d")
    cli.worker_until_idle()

    assert receiver.bad_signatures == 0
    seen = {(e["resources"][0], e["detail"]["status"]) for e in receiver.accepted}  # type: ignore[index]
    assert seen == {
        (hello, "RUNNING"),
        (hello, "SUCCEEDED"),
        (declines, "RUNNING"),
        (declines, "FAILED"),
    }
    assert len(receiver.accepted) == 4
    failed = next(e for e in receiver.accepted if e["detail"]["status"] == "FAILED")  # type: ignore[index]
    assert failed["detail"]["error"] == cli.describe(declines)["error"]  # type: ignore[index]


def test_a_webhook_secret_that_is_not_set_is_a_usage_error(cli: Cli, receiver: Receiver) -> None:
    cli.write("asl.toml", config(receiver.url))
    done = cli("worker", "--until-idle")
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        "asl: InvalidConfig: Invalid config file asl.toml:\n"
        "  events.webhooks.audit.secret_env: the environment variable ASL_TEST_HOOK_SECRET is "
        "not set; export it before starting (a webhook's secret is read from the environment "
        "only)\n"
    )
