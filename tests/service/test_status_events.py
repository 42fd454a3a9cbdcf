"""Status-change events from a running service: the background dispatcher delivers a start, a
failure, a redrive and the redriven run's failure to a webhook, in order, signed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.service import Service
from engine.store.open import open_store
from tests.cli.harness import poll
from tests.service.helpers import machine_arn, text
from tests.webhook_receiver import SECRET, Receiver, receiver

__all__ = ["receiver"]  # the fixture

FAILS = text({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}})


def test_start_failure_redrive_are_delivered_in_order(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    config = tmp_path / "asl.toml"
    config.write_text(
        f'[events.webhooks.ops]\nurl = "{receiver.url}"\nsecret_env = "HOOK_SECRET"\n'
        "backoff_seconds = 0.01\n"
    )
    receiver.fail = {2}  # the second call fails once: retried, order kept
    store = open_store(f"sqlite:///{tmp_path}/a.db")

    async def main() -> None:
        async with Service(store, functions_config=config) as service:
            await service.create_state_machine("fails", FAILS)
            started = await service.start_execution(machine_arn("fails"), name="x")
            await service.wait_for(started.arn)
            await service.redrive_execution(started.arn)
            await service.wait_for(started.arn)
            # the dispatcher polls each second: wait, with a deadline, for the four events
            await asyncio.to_thread(poll, lambda: len(receiver.accepted) >= 4, "four events", 30.0)

    asyncio.run(main())
    store.close()
    seen = [
        (e["detail"]["status"], e["detail"]["redriveCount"])  # type: ignore[index]
        for e in receiver.accepted
    ]
    assert seen == [("RUNNING", 0), ("FAILED", 0), ("RUNNING", 1), ("FAILED", 1)]
    assert receiver.bad_signatures == 0
    assert receiver.calls == 5
