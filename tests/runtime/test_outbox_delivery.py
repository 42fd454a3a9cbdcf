"""Delivery of status-change events: a real local HTTP receiver that fails on purpose, and
EventBridge through moto's server (a rule whose target is an SQS queue).

What must hold (issue 19): every event arrives, each signature verifies, the events of one
execution arrive in order (a failing event holds back its own execution's later events, not
others'), an event failing `max_attempts` times goes to the dead-letter file and the rest
flows on, and a restarted dispatcher resumes at its stored cursor. The back-off waits on a
virtual clock, so the test asserts the exact schedule without waiting. The store writes events
only for registered destinations: each test registers its destination before the executions
run, as a service does when it opens.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from engine.backends.aws_endpoints import AwsSettings
from engine.runtime.clock import VirtualClock
from engine.runtime.destinations import EventBridge, Webhook, signature
from engine.runtime.outbox import Destination, OutboxDispatcher, RetryPolicy
from engine.service import Service, ServiceConfig
from engine.store.base import Commit, Store
from engine.store.memory import MemoryStore
from engine.store.open import open_store
from tests.aws_server import REGION, aws_client, unique_name
from tests.store.test_contract import T0, arn_of, execution
from tests.webhook_receiver import SECRET, Receiver, receiver

__all__ = ["receiver"]  # the fixture


def run_executions(store: Store, names: list[str], destination: str = "webhook:orders") -> None:
    """Each execution starts, then closes: two events each, interleaved across executions
    (the destination registered first, so that the store writes them)."""
    store.register_destination(destination)
    for i, name in enumerate(names):
        store.create_execution(execution(name, start=T0 + i))
    for i, name in enumerate(names):
        status = "FAILED" if i % 2 else "SUCCEEDED"
        store.commit([Commit(arn_of(name), state=None, status=status, stop=T0 + 10 + i)])


def deliver(store: Store, destinations: list[Destination], clock: VirtualClock) -> None:
    async def main() -> None:
        async def call(fn, *args):  # type: ignore[no-untyped-def]
            return fn(*args)

        dispatcher = OutboxDispatcher(store, destinations, call=call, clock=clock)
        try:
            await dispatcher.deliver_pending()
        finally:
            await dispatcher.aclose()

    asyncio.run(main())


def webhook(url: str, dead_letter: Path, attempts: int = 5) -> Webhook:
    return Webhook(
        "orders",
        url,
        SECRET,
        policy=RetryPolicy(max_attempts=attempts, backoff_seconds=1.0),
        dead_letter=dead_letter,
    )


def by_execution(events: list[dict[str, object]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for event in events:
        detail = event["detail"]
        assert isinstance(detail, dict)
        out.setdefault(detail["name"], []).append(detail["status"])
    return out


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_every_event_arrives_signed_and_in_order_despite_failures(
    receiver: Receiver, tmp_path: Path, store_kind: str
) -> None:
    store = MemoryStore() if store_kind == "memory" else open_store(f"sqlite:///{tmp_path}/a.db")
    names = [f"o-{i}" for i in range(6)]
    run_executions(store, names)
    receiver.fail = {1, 2, 3}  # the first three calls fail
    clock = VirtualClock(T0 + 100)
    deliver(store, [webhook(receiver.url, tmp_path / "dead.jsonl")], clock)

    outbox = store.outbox_after(0, 100)
    assert receiver.bad_signatures == 0
    assert sorted(e["id"] for e in receiver.accepted) == sorted(
        e.event["id"]  # type: ignore[index]
        for e in outbox
    )
    assert by_execution(receiver.accepted) == {
        name: ["RUNNING", "FAILED" if i % 2 else "SUCCEEDED"] for i, name in enumerate(names)
    }
    assert receiver.calls == len(outbox) + 3
    assert store.outbox_cursor("webhook:orders") == outbox[-1].seq
    assert not (tmp_path / "dead.jsonl").exists()
    # the failed calls waited 1 s (then 2 s when one event failed twice): virtual time only
    assert T0 + 101 <= clock.now() <= T0 + 100 + 1 + 2 + 4
    store.close()


def test_a_dead_lettered_event_releases_its_execution_and_blocks_no_other(
    receiver: Receiver, tmp_path: Path
) -> None:
    store = MemoryStore()
    run_executions(store, ["good", "bad"])
    receiver.refuse = {"bad"}
    clock = VirtualClock(T0 + 100)
    dead = tmp_path / "dead" / "orders.jsonl"
    deliver(store, [webhook(receiver.url, dead, attempts=3)], clock)

    assert by_execution(receiver.accepted) == {"good": ["RUNNING", "SUCCEEDED"]}
    lines = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [(x["destination"], x["attempts"], x["reason"]) for x in lines] == [
        ("webhook:orders", 3, f"HTTP 500 from {receiver.url}"),
        ("webhook:orders", 3, f"HTTP 500 from {receiver.url}"),
    ]
    assert [x["event"]["detail"]["status"] for x in lines] == ["RUNNING", "FAILED"]
    assert clock.now() == T0 + 100 + (1 + 2) * 2  # two events, each waited 1 s then 2 s
    assert store.outbox_cursor("webhook:orders") == store.outbox_after(0, 10)[-1].seq


def test_a_restarted_dispatcher_resumes_at_its_cursor(receiver: Receiver, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/a.db")
    run_executions(store, ["a"])
    clock = VirtualClock(T0 + 100)
    deliver(store, [webhook(receiver.url, tmp_path / "d.jsonl")], clock)
    run_executions(store, ["b"])
    deliver(store, [webhook(receiver.url, tmp_path / "d.jsonl")], clock)
    assert by_execution(receiver.accepted) == {
        "a": ["RUNNING", "SUCCEEDED"],
        "b": ["RUNNING", "SUCCEEDED"],
    }
    assert receiver.calls == 4  # nothing delivered twice
    store.close()


def test_the_signature_is_the_hex_hmac_of_the_body() -> None:
    body = b'{"a":1}'
    assert signature("key", body) == (
        "sha256=" + hmac.new(b"key", body, hashlib.sha256).hexdigest()
    )


def test_eventbridge_put_events_reach_a_rule_target(moto_endpoint: str, tmp_path: Path) -> None:
    events = aws_client("events", moto_endpoint)
    sqs = aws_client("sqs", moto_endpoint)
    queue_url = sqs.create_queue(QueueName=unique_name("status"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    bus = unique_name("bus")
    events.create_event_bus(Name=bus)
    rule = unique_name("rule")
    pattern = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])

    store = MemoryStore()
    run_executions(store, ["e-1"], destination="eventbridge")
    settings = AwsSettings(
        endpoint_url=moto_endpoint,
        region=REGION,
        configured=True,
        environ={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )
    destination = EventBridge(
        settings, bus=bus, policy=RetryPolicy(max_attempts=2), dead_letter=tmp_path / "eb.jsonl"
    )
    deliver(store, [destination], VirtualClock(T0 + 100))

    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    bodies = [json.loads(m["Body"]) for m in received.get("Messages", [])]
    sent = [e.event for e in store.outbox_after(0, 10)]
    # a standard queue keeps no order: compare as sets
    assert sorted(json.dumps(b["detail"]) for b in bodies) == sorted(
        json.dumps(e["detail"])  # type: ignore[index]
        for e in sent
    )
    assert {(b["source"], b["detail-type"], b["time"]) for b in bodies} == {
        ("aws.states", "Step Functions Execution Status Change", e["time"])  # type: ignore[index]
        for e in sent
    }
    assert [b["resources"] for b in bodies] == [[arn_of("e-1")]] * 2
    assert not (tmp_path / "eb.jsonl").exists()


def test_a_service_registers_its_destinations_as_it_opens(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`asl serve` / `asl worker` register the config's destinations before any execution
    runs, so none of their changes goes unrecorded; a store nobody listens to records none."""
    config = tmp_path / "asl.toml"
    config.write_text(
        f'[events.webhooks.orders]\nurl = "{receiver.url}"\nsecret_env = "HOOK_SECRET"\n'
    )
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    quiet, listened = MemoryStore(), MemoryStore()

    async def open_and_close(store: Store, functions_config: Path | None) -> None:
        service = Service(
            store, config=ServiceConfig(worker=True), functions_config=functions_config
        )
        await service.aclose()

    asyncio.run(open_and_close(quiet, None))
    asyncio.run(open_and_close(listened, config))
    for store in (quiet, listened):
        run_executions_unregistered(store, ["a"])
    assert store_statuses(quiet) == []
    assert store_statuses(listened) == ["RUNNING", "SUCCEEDED"]
    assert listened.outbox_cursor("webhook:orders") == 0


def run_executions_unregistered(store: Store, names: list[str]) -> None:
    for i, name in enumerate(names):
        store.create_execution(execution(name, start=T0 + i))
        store.commit([Commit(arn_of(name), state=None, status="SUCCEEDED", stop=T0 + 10 + i)])


def store_statuses(store: Store) -> list[str]:
    return [e.event["detail"]["status"] for e in store.outbox_after(0, 10)]  # type: ignore[index]


def test_one_process_at_a_time_delivers_to_a_destination(
    receiver: Receiver, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/a.db")
    run_executions(store, ["a"])
    clock = VirtualClock(T0 + 100)

    async def main() -> None:
        async def call(fn, *args):  # type: ignore[no-untyped-def]
            return fn(*args)

        def dispatcher() -> OutboxDispatcher:
            hook = webhook(receiver.url, tmp_path / "d.jsonl")
            return OutboxDispatcher(store, [hook], call=call, clock=clock)

        first, second = dispatcher(), dispatcher()
        await first.deliver_pending()  # holds the destination's lease from now on
        run_executions(store, ["b"])
        await second.deliver_pending()  # the lease is first's: delivers nothing
        assert receiver.calls == 2
        await first.aclose()  # a clean stop releases the lease
        await second.deliver_pending()
        await second.aclose()

    asyncio.run(main())
    assert by_execution(receiver.accepted) == {
        "a": ["RUNNING", "SUCCEEDED"],
        "b": ["RUNNING", "SUCCEEDED"],
    }
    assert receiver.calls == 4
    store.close()
