"""The `TriggerStore` contract: status-change events written with the change, while some
destination is registered, and cursors.

Runs on every store of tests/store/test_contract.py (memory, SQLite, PostgreSQL when
ASL_TEST_POSTGRES_URL is set). The event's shape is EventBridge's "Step Functions Execution
Status Change" (AWS's EventBridge reference and the developer guide's examples).
"""

from __future__ import annotations

import pytest

from engine.store.base import Commit, OutboxEvent, Store, StoreError
from engine.store.open import open_store
from engine.store.sql import SqlStore
from tests.store import test_contract as contract
from tests.store.test_contract import MACHINE, T0, arn_of, execution

# The contract's fixtures: every store, PostgreSQL's schema for the session.
store = contract.store
postgres_store_url = contract.postgres_store_url

ARN = arn_of("o-1")


def events(store: Store) -> list[OutboxEvent]:
    return store.outbox_after(0, 1000)


@pytest.fixture
def watched(store: Store) -> Store:
    """The store with a destination registered: it writes status-change events."""
    assert store.register_destination("webhook:audit") == 0
    return store


def changes(store: Store, name: str, at: float) -> None:
    """A start, a close and a redrive of the execution `name`: three status changes."""
    store.create_executions([execution(name, start=at)])
    store.commit([Commit(arn_of(name), state=None, status="FAILED", stop=at + 1, error="E")])
    store.update_execution(execution(name, start=at, redrive_count=1), changed_at=at + 2)


def test_no_destination_no_events(store: Store) -> None:
    changes(store, "o-1", T0)
    store.create_execution(execution("o-2"))
    store.commit([Commit(arn_of("o-2"), state=None, status="SUCCEEDED", stop=T0 + 1, output=1)])
    assert events(store) == []


def test_a_destination_gets_every_change_after_its_registration(store: Store) -> None:
    changes(store, "before", T0)  # nobody listens yet: not recorded
    assert store.register_destination("webhook:a") == 0
    changes(store, "after", T0 + 10)
    assert [(e.execution_arn, e.event["detail"]["status"]) for e in events(store)] == [  # type: ignore[index]
        (arn_of("after"), "RUNNING"),
        (arn_of("after"), "FAILED"),
        (arn_of("after"), "RUNNING"),
    ]
    # a destination registered later starts at the outbox's end; a registered one keeps its
    # cursor when it registers again (a restarted process)
    end = events(store)[-1].seq
    assert store.register_destination("eventbridge") == end
    store.set_outbox_cursor("webhook:a", end - 1)
    assert store.register_destination("webhook:a") == end - 1
    changes(store, "later", T0 + 20)
    assert [e.execution_arn for e in store.outbox_after(end, 10)] == [arn_of("later")] * 3


def test_a_registration_by_another_process_is_seen_by_the_next_change(store: Store) -> None:
    if not isinstance(store, SqlStore):
        pytest.skip("one process's memory store")
    changes(store, "before", T0)  # this process saw no destination
    other = open_store(store.engine.url.render_as_string(hide_password=False))
    try:
        other.register_destination("webhook:a")
    finally:
        other.close()
    changes(store, "after", T0 + 10)
    assert [e.execution_arn for e in events(store)] == [arn_of("after")] * 3


def test_a_standard_start_writes_the_running_event(watched: Store) -> None:
    store = watched
    store.create_execution(execution("o-1"))
    [written] = events(store)
    assert written.execution_arn == ARN
    assert written.time == T0
    assert written.event == {
        "version": "0",
        "id": written.event["id"],  # type: ignore[index]
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2023-11-14T22:13:20Z",
        "region": "us-east-1",
        "resources": [ARN],
        "detail": {
            "executionArn": ARN,
            "stateMachineArn": MACHINE,
            "name": "o-1",
            "status": "RUNNING",
            "startDate": 1_700_000_000_125,
            "stopDate": None,
            "input": '{"order":"o-1"}',
            "output": None,
            "inputDetails": {"included": True},
            "outputDetails": None,
            "error": None,
            "cause": None,
            "redriveCount": 0,
            "redriveStatus": "NOT_REDRIVABLE",
            "redriveStatusReason": "Execution is RUNNING and cannot be redriven",
        },
    }


def test_express_executions_and_repeated_starts_write_nothing(watched: Store) -> None:
    store = watched
    store.create_execution(execution("x-1", machine_type="EXPRESS"))
    store.create_execution(execution("o-1"))
    store.create_execution(execution("o-1"))  # the same ARN: not created, no event
    store.create_executions([execution("o-1"), execution("x-2", machine_type="EXPRESS")])
    assert [e.execution_arn for e in events(store)] == [ARN]


def test_a_close_writes_its_event_in_the_commit(watched: Store) -> None:
    store = watched
    store.create_execution(execution("o-1"))
    store.commit([Commit(ARN, state={"s": 1})])  # a step that closes nothing: no event
    store.commit([Commit(ARN, state=None, status="SUCCEEDED", stop=T0 + 2, output={"ok": 1})])
    running, closed = events(store)
    assert closed.time == T0 + 2
    assert closed.event["id"] != running.event["id"]  # type: ignore[index]
    detail = closed.event["detail"]  # type: ignore[index]
    assert detail["status"] == "SUCCEEDED"
    assert detail["stopDate"] == 1_700_000_002_125
    assert detail["output"] == '{"ok":1}'
    assert detail["outputDetails"] == {"included": True}
    assert detail["redriveStatus"] == "NOT_REDRIVABLE"
    assert detail["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"


def test_a_failure_and_its_redrive(watched: Store) -> None:
    store = watched
    store.create_execution(execution("o-1"))
    store.commit(
        [Commit(ARN, state={"s": 1}, status="FAILED", stop=T0 + 3, error="Boom", cause="it broke")]
    )
    failed = events(store)[1].event["detail"]  # type: ignore[index]
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Boom", "it broke")
    assert failed["output"] is None
    assert failed["redriveStatus"] == "REDRIVABLE"
    assert "redriveStatusReason" not in failed
    redriven = execution("o-1", redrive_count=1)
    store.update_execution(redriven)  # no time of change given: not a status change
    assert len(events(store)) == 2
    store.update_execution(redriven, changed_at=T0 + 10)
    again = events(store)[2]
    detail = again.event["detail"]  # type: ignore[index]
    assert (detail["status"], detail["redriveCount"]) == ("RUNNING", 1)
    assert detail["redriveDate"] == 1_700_000_010_125
    assert again.event["id"] not in {e.event["id"] for e in events(store)[:2]}  # type: ignore[index]


def test_a_refused_commit_writes_no_event(watched: Store) -> None:
    store = watched
    store.create_execution(execution("o-1"))
    closing = Commit(ARN, state=None, status="SUCCEEDED", stop=T0 + 1, output=1)
    with pytest.raises(StoreError):
        store.commit([closing, Commit(arn_of("nobody"), state=None, status="FAILED", stop=T0)])
    assert [e.event["detail"]["status"] for e in events(store)] == ["RUNNING"]  # type: ignore[index]


def test_reading_after_a_seq_in_order_and_pages(watched: Store) -> None:
    store = watched
    for i in range(5):
        store.create_execution(execution(f"o-{i}", start=T0 + i))
    every = events(store)
    seqs = [e.seq for e in every]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5
    assert [e.seq for e in store.outbox_after(seqs[1], 2)] == seqs[2:4]
    assert store.outbox_after(seqs[-1], 10) == []


def test_cursors_are_per_destination_and_only_move_forward(store: Store) -> None:
    assert store.outbox_cursor("webhook:a") == 0
    store.set_outbox_cursor("webhook:a", 7)
    store.set_outbox_cursor("webhook:a", 3)
    store.set_outbox_cursor("eventbridge", 2)
    assert (store.outbox_cursor("webhook:a"), store.outbox_cursor("eventbridge")) == (7, 2)


def test_purge_drops_events_older_than_the_cutoff(watched: Store) -> None:
    store = watched
    store.create_execution(execution("old", start=T0))
    store.create_execution(execution("new", start=T0 + 100))
    store.purge(T0 + 50)
    assert [e.execution_arn for e in events(store)] == [arn_of("new")]


def test_one_dispatcher_at_a_time_holds_a_destination(store: Store) -> None:
    assert store.lease_destination("webhook:a", "p1", T0, 30)
    assert store.lease_destination("webhook:a", "p1", T0 + 10, 30)  # renewed
    assert not store.lease_destination("webhook:a", "p2", T0 + 39, 30)  # p1's holds till +40
    assert store.lease_destination("eventbridge", "p2", T0 + 39, 30)  # another destination
    assert store.lease_destination("webhook:a", "p2", T0 + 41, 30)  # lapsed: taken over
    assert not store.lease_destination("webhook:a", "p1", T0 + 42, 30)
    store.set_outbox_cursor("webhook:a", 5)  # the cursor and the lease share a row
    assert store.outbox_cursor("webhook:a") == 5
    assert not store.lease_destination("webhook:a", "p1", T0 + 43, 30)
