"""The in-memory store: every `Store` method over plain dicts, for `asl run`, tests and benches.

Owns: the reference semantics of the `Store` contract (tests/store/test_contract.py runs the same
assertions against this store and the SQL one), and the opaque page token both stores use. Must
never: copy or re-encode values on the hot path (records are frozen; JSON values are stored as
given, so callers must not mutate a value after handing it over or after reading it back), or
survive the process (nothing here is durable; `commit` is atomic, not durable).

Every method takes one lock, so calls from the runtime's store thread and from a test's main
thread interleave safely; `commit` validates the whole batch before changing anything, so a
failing batch leaves the store untouched, as a rolled-back transaction would.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import itertools
import json
import math
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import NamedTuple

from engine.errors import InvalidRequest
from engine.store.base import (
    PENDING_REDRIVE,
    UNSUCCESSFUL_STATUSES,
    ActivityRecord,
    ActivityTask,
    AliasRecord,
    Commit,
    ExecutionRecord,
    InboxEvent,
    Lease,
    MachineRecord,
    MapRunRecord,
    MapRunTally,
    OutboxEvent,
    ScheduleRecord,
    StoredEvent,
    StoreError,
    TimerRecord,
    TokenRecord,
    VersionRecord,
    is_pending_redrive,
)
from engine.store.packed import PackedHistory, pack_history, unpack_history
from engine.store.status_events import emits_events, status_change_event
from engine.values import JSON

RUNNING = "RUNNING"
OPEN_STATUSES = frozenset({RUNNING, PENDING_REDRIVE})
"""Statuses of executions that are not closed (purge keeps them whatever their stop time)."""


class _Queued(NamedTuple):
    """An outbox event as kept: the record it announces, rendered when it is read (the
    dispatcher reads few; a rendered event per status change took ~1 KiB each)."""

    seq: int
    execution_arn: str
    time: float
    record: ExecutionRecord


def _shared(record: ExecutionRecord) -> ExecutionRecord:
    """`record` with the texts many executions repeat (the machine, the revision, a Map
    Run's parent and ARN) as one object each: 100,000 children held them 100,000 times."""
    return replace(
        record,
        machine_arn=sys.intern(record.machine_arn),
        revision_id=sys.intern(record.revision_id),
        parent_arn=None if record.parent_arn is None else sys.intern(record.parent_arn),
        map_run_arn=None if record.map_run_arn is None else sys.intern(record.map_run_arn),
    )


def page_token(start: float, arn: str) -> str:
    """The opaque `after` token of `list_executions`: the last row's sort key."""
    return base64.urlsafe_b64encode(json.dumps([start, arn]).encode()).decode()


def read_page_token(token: str) -> tuple[float, str]:
    """The sort key inside a page token; InvalidToken (as AWS) when it is not one of ours."""
    try:
        start, arn = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(start, int | float) and isinstance(arn, str):
            return float(start), arn
    except (ValueError, TypeError, binascii.Error):
        pass
    raise InvalidRequest("InvalidToken", f"Invalid Token: '{token}'")


def newest_first(record: ExecutionRecord) -> tuple[float, str]:
    """The sort key of `list_executions`, largest first: start descending, then ARN descending."""
    return (record.start, record.arn)


class MemoryStore:
    """A `Store` kept in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._machines: dict[str, MachineRecord] = {}
        self._definitions: dict[str, str] = {}
        self._versions: dict[str, dict[int, VersionRecord]] = {}
        self._aliases: dict[str, AliasRecord] = {}
        self._executions: dict[str, ExecutionRecord] = {}
        self._map_runs: dict[str, MapRunRecord] = {}
        self._map_items: dict[str, tuple[str, ...]] = {}  # JSON texts, by Map Run
        # Snapshots newer than the record in `_executions`, folded in when the record is read:
        # rebuilding a frozen record per commit (dataclasses.replace) would dominate `commit`.
        self._snapshots: dict[str, JSON] = {}
        # history per execution, in id order (ids only grow, so appends keep it sorted); a
        # closed execution's packed (engine/store/packed.py), its ids then not kept
        self._history: dict[str, list[StoredEvent] | PackedHistory] = {}
        self._event_ids: dict[str, set[int]] = {}
        self._timers: dict[str, dict[str, TimerRecord]] = {}
        self._tokens: dict[str, TokenRecord] = {}
        self._leases: dict[str, Lease] = {}
        # the newest history event id of each execution at its last claim (claims, base.py)
        self._claim_marks: dict[str, int] = {}
        self._inbox: dict[int, InboxEvent] = {}
        self._inbox_seq = itertools.count(1)
        self._activities: dict[str, ActivityRecord] = {}
        self._activity_tasks: dict[str, ActivityTask] = {}  # by token, in insertion order
        self._taken: set[str] = set()  # tokens of activity tasks already handed out
        self._outbox: list[_Queued] = []  # in seq order
        self._outbox_seq = itertools.count(1)
        self._cursors: dict[str, int] = {}
        self._destination_leases: dict[str, tuple[str, float]] = {}
        self._schedules: dict[str, ScheduleRecord] = {}

    # -- machines --------------------------------------------------------------------------------
    def put_machine(self, record: MachineRecord) -> None:
        with self._lock:
            self._machines[record.arn] = record
            self._definitions.setdefault(record.revision_id, record.definition)

    def get_machine(self, arn: str) -> MachineRecord | None:
        return self._machines.get(arn)

    def find_machine(self, name: str) -> MachineRecord | None:
        with self._lock:
            return next((m for m in self._machines.values() if m.name == name), None)

    def list_machines(self) -> list[MachineRecord]:
        with self._lock:
            return sorted(self._machines.values(), key=lambda m: m.name)

    def delete_machine(self, arn: str) -> None:
        # AWS's DeleteStateMachine removes the machine's versions and aliases with it;
        # definitions stay, since executions pin their revision.
        with self._lock:
            self._machines.pop(arn, None)
            self._versions.pop(arn, None)
            for alias_arn in [a.arn for a in self._aliases.values() if a.machine_arn == arn]:
                del self._aliases[alias_arn]

    def get_definition(self, revision_id: str) -> str | None:
        return self._definitions.get(revision_id)

    def put_version(self, record: VersionRecord) -> None:
        with self._lock:
            versions = self._versions.setdefault(record.machine_arn, {})
            if record.version in versions:
                raise StoreError(f"version {record.arn} exists; versions are immutable")
            versions[record.version] = record
            self._definitions.setdefault(record.revision_id, record.definition)

    def list_versions(self, machine_arn: str) -> list[VersionRecord]:
        with self._lock:
            return sorted(self._versions.get(machine_arn, {}).values(), key=lambda v: v.version)

    def delete_version(self, machine_arn: str, version: int) -> None:
        with self._lock:
            self._versions.get(machine_arn, {}).pop(version, None)

    def put_alias(self, record: AliasRecord) -> None:
        with self._lock:
            self._aliases[record.arn] = record

    def get_alias(self, arn: str) -> AliasRecord | None:
        return self._aliases.get(arn)

    def list_aliases(self, machine_arn: str) -> list[AliasRecord]:
        with self._lock:
            found = [a for a in self._aliases.values() if a.machine_arn == machine_arn]
            return sorted(found, key=lambda a: a.name)

    def delete_alias(self, arn: str) -> None:
        with self._lock:
            self._aliases.pop(arn, None)

    # -- executions ------------------------------------------------------------------------------
    def create_execution(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        with self._lock:
            if record.arn in self._executions:
                return self._record(record.arn), False
            record = _shared(record)
            self._executions[record.arn] = record
            self._announce(record, record.start)
            return record, True

    def create_executions(
        self, records: Sequence[ExecutionRecord], lease: Lease | None = None
    ) -> list[tuple[ExecutionRecord, bool]]:
        with self._lock:
            results = []
            for record in records:
                if record.arn in self._executions:
                    results.append((self._record(record.arn), False))
                    continue
                record = _shared(record)
                self._executions[record.arn] = record
                self._announce(record, record.start)
                if lease is not None:
                    self._leases[record.arn] = Lease(
                        record.arn, lease.worker_id, lease.host, lease.pid, lease.expires
                    )
                results.append((record, True))
            return results

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        with self._lock:
            return self._record(arn) if arn in self._executions else None

    def _record(self, arn: str) -> ExecutionRecord:
        """The execution's record with its newest snapshot folded in."""
        record = self._executions[arn]
        if arn in self._snapshots:
            record = replace(record, state=self._snapshots.pop(arn))
            self._executions[arn] = record
        return record

    def list_executions(
        self,
        machine_arn: str,
        *,
        status: str | None = None,
        limit: int = 100,
        after: str | None = None,
        name: str | None = None,
        map_run_arn: str | None = None,
        redriven: bool | None = None,
        pending_redrive_before: float | None = None,
    ) -> tuple[list[ExecutionRecord], str | None]:
        bound = read_page_token(after) if after is not None else None
        wanted = name.lower() if name is not None else None

        def shown_status(e: ExecutionRecord) -> str:
            return PENDING_REDRIVE if is_pending_redrive(e, pending_redrive_before) else e.status

        with self._lock:
            rows = [
                self._record(e.arn)
                for e in list(self._executions.values())
                if (
                    e.machine_arn == machine_arn
                    if map_run_arn is None
                    else e.map_run_arn == map_run_arn
                )
                and (status is None or shown_status(e) == status)
                and (redriven is None or (e.redrive_count > 0) == redriven)
                and (wanted is None or wanted in e.name.lower())
                and (bound is None or newest_first(e) < bound)
            ]
        page = heapq.nlargest(limit + 1, rows, key=newest_first)
        if len(page) <= limit:
            return page, None
        del page[limit:]
        return page, page_token(page[-1].start, page[-1].arn)

    def update_execution(
        self, record: ExecutionRecord, *, changed_at: float | None = None, restart: bool = False
    ) -> None:
        with self._lock:
            if record.arn not in self._executions:
                raise StoreError(f"execution {record.arn} does not exist")
            self._executions[record.arn] = record
            self._snapshots.pop(record.arn, None)
            if restart:
                self._history.pop(record.arn, None)
                self._event_ids.pop(record.arn, None)
            if changed_at is not None:
                self._announce(record, changed_at)

    def commit(self, commits: Sequence[Commit]) -> None:
        with self._lock:
            self._check(commits)
            for c in commits:
                self._apply(c)

    def _check(self, commits: Sequence[Commit]) -> None:
        """Refuse the whole batch before touching anything, as a failed transaction would."""
        new_ids: dict[str, set[int]] = {}
        for c in commits:
            if c.execution_arn not in self._executions:
                raise StoreError(f"commit for unknown execution {c.execution_arn}")
            seen = self._seen_ids(c.execution_arn)
            batch = new_ids.setdefault(c.execution_arn, set())
            for event in c.events:
                if event.execution_arn != c.execution_arn:
                    raise StoreError(
                        f"event {event.id} of {event.execution_arn} in the commit of "
                        f"{c.execution_arn}"
                    )
                if event.id in seen or event.id in batch:
                    raise StoreError(
                        f"history event {event.id} of {c.execution_arn} is already stored"
                    )
                batch.add(event.id)
            for task in c.activity_tasks:
                if task.token in self._activity_tasks:
                    raise StoreError(f"activity task {task.token} is already stored")

    def _seen_ids(self, arn: str) -> set[int]:
        """The ids of the execution's stored history events."""
        history = self._history.get(arn)
        if isinstance(history, PackedHistory):
            return {e.id for e in unpack_history(arn, history)}
        return self._event_ids.get(arn, set())

    def _live_history(self, arn: str) -> list[StoredEvent]:
        """The execution's history as a list to append to (unpacked again if it was packed:
        a redrive reopens an execution)."""
        history = self._history.get(arn)
        if isinstance(history, PackedHistory):
            history = self._history[arn] = unpack_history(arn, history)
            self._event_ids[arn] = {e.id for e in history}
        elif history is None:
            history = self._history[arn] = []
        return history

    def _apply(self, c: Commit) -> None:
        arn = c.execution_arn
        if c.status is not None:
            record = self._record(arn)
            self._executions[arn] = replace(
                record,
                status=c.status,
                stop=c.stop,
                output=c.output,
                error=c.error,
                cause=c.cause,
                state=c.state if c.state is not None else record.state,
            )
            self._announce(self._executions[arn], c.stop if c.stop is not None else record.start)
        elif c.state is not None:
            self._snapshots[arn] = c.state
        if c.events:
            self._live_history(arn).extend(c.events)
            self._event_ids.setdefault(arn, set()).update(e.id for e in c.events)
        if c.timers_added or c.timers_cancelled:
            timers = self._timers.setdefault(arn, {})
            # adds first, then cancels: a timer started and cancelled by one step is gone
            for timer in c.timers_added:
                timers[timer.timer_id] = timer
            for timer_id in c.timers_cancelled:
                timers.pop(timer_id, None)
        for token in c.tokens_added:
            self._tokens[token.token] = token
        for task in c.activity_tasks:
            self._activity_tasks[task.token] = task
        for token_id in c.tokens_removed:
            self._tokens.pop(token_id, None)
            self._drop_activity_task(token_id)
        for tombstone in c.tokens_timed_out:
            self._tokens[tombstone.token] = tombstone
            self._drop_activity_task(tombstone.token)
        for seq in c.inbox_consumed:
            event = self._inbox.get(seq)
            if event is not None and event.execution_arn == arn:
                del self._inbox[seq]
        if c.status is not None:
            self._close(arn)
            history = self._history.get(arn)
            if c.status not in OPEN_STATUSES and isinstance(history, list):
                self._history[arn] = pack_history(history)
                self._event_ids.pop(arn, None)
        for callback in c.callbacks:
            if callback.parent_arn in self._executions:
                self.post_callback(callback.token, callback.payload)
        for stop in c.child_stops:
            for child in self._executions.values():
                if child.parent_token == stop.token and child.status == "RUNNING":
                    self.post_event(child.arn, stop.payload)
        for run in c.map_runs:
            self._map_runs[run.arn] = run
        for items in c.map_items:
            self._map_items[items.arn] = items.inputs

    def _close(self, arn: str) -> None:
        """A closed execution keeps its row and history; its runtime state goes, with any
        inbox events it never applied (a stop or callback that lost the race with the close)."""
        self._timers.pop(arn, None)
        for seq in [s for s, e in self._inbox.items() if e.execution_arn == arn]:
            del self._inbox[seq]
        self._leases.pop(arn, None)
        for token_id in [t.token for t in self._tokens.values() if t.execution_arn == arn]:
            del self._tokens[token_id]
        tasks = [t.token for t in self._activity_tasks.values() if t.execution_arn == arn]
        for token_id in tasks:
            self._drop_activity_task(token_id)

    def _drop_activity_task(self, token: str) -> None:
        self._activity_tasks.pop(token, None)
        self._taken.discard(token)

    def get_history(
        self, arn: str, *, after_id: int = 0, limit: int = 1000, reverse: bool = False
    ) -> list[StoredEvent]:
        with self._lock:
            history = self._history.get(arn, [])
            events = unpack_history(arn, history) if isinstance(history, PackedHistory) else history
            if reverse:
                older = [e for e in events if after_id == 0 or e.id < after_id]
                return older[::-1][:limit]
            return [e for e in events if e.id > after_id][:limit]

    # -- scheduling and leases ---------------------------------------------------------------------
    def claim(
        self, worker_id: str, host: str, pid: int, now: float, lease_seconds: float, limit: int
    ) -> list[ExecutionRecord]:
        with self._lock:
            free = (
                e
                for e in self._executions.values()
                if e.status == RUNNING and self._lease_free(e.arn, now)
            )
            taken = sorted(free, key=lambda e: (e.start, e.arn))[:limit]
            for e in taken:
                self._leases[e.arn] = Lease(e.arn, worker_id, host, pid, now + lease_seconds)
                self._count_claim(e.arn)
            return [self._record(e.arn) for e in taken]

    def _count_claim(self, arn: str) -> None:
        """`claims` + 1 when no history event was added since the previous claim, else 1."""
        history = self._history.get(arn)
        if isinstance(history, PackedHistory):
            progress = history.last_id
        else:
            progress = history[-1].id if history else 0
        record = self._record(arn)
        same = self._claim_marks.get(arn) == progress
        self._claim_marks[arn] = progress
        self._executions[arn] = replace(record, claims=record.claims + 1 if same else 1)

    def _lease_free(self, arn: str, now: float) -> bool:
        lease = self._leases.get(arn)
        return lease is None or lease.expires < now

    def leases_on_host(self, host: str) -> list[Lease]:
        with self._lock:
            return [lease for lease in self._leases.values() if lease.host == host]

    def lease_pids_on_host(self, host: str) -> list[int]:
        with self._lock:
            return sorted({lease.pid for lease in self._leases.values() if lease.host == host})

    def expire_leases(self, host: str, pids: Sequence[int]) -> int:
        dead = set(pids)
        with self._lock:
            gone = [a for a, x in self._leases.items() if x.host == host and x.pid in dead]
            for arn in gone:
                del self._leases[arn]
            return len(gone)

    def renew(self, worker_id: str, arns: Sequence[str], now: float, lease_seconds: float) -> None:
        with self._lock:
            for arn in arns:
                lease = self._leases.get(arn)
                if lease is not None and lease.worker_id == worker_id:
                    self._leases[arn] = replace(lease, expires=now + lease_seconds)

    def renew_held(
        self, worker_id: str, lapsing: Sequence[str], now: float, lease_seconds: float
    ) -> None:
        skip = set(lapsing)
        with self._lock:
            for arn, lease in self._leases.items():
                if lease.worker_id == worker_id and arn not in skip:
                    self._leases[arn] = replace(lease, expires=now + lease_seconds)

    def release(self, worker_id: str, arns: Sequence[str]) -> None:
        with self._lock:
            for arn in arns:
                lease = self._leases.get(arn)
                if lease is not None and lease.worker_id == worker_id:
                    del self._leases[arn]
                    self._reset_claims(arn)  # released cleanly: no drive was lost

    def forgive_claims(self, worker_id: str, arns: Sequence[str]) -> None:
        with self._lock:
            for arn in arns:
                lease = self._leases.get(arn)
                if lease is not None and lease.worker_id == worker_id:
                    self._reset_claims(arn)

    def _reset_claims(self, arn: str) -> None:
        """Start an execution's claims count over (the caller holds the lock)."""
        self._claim_marks.pop(arn, None)
        if arn in self._executions:
            self._executions[arn] = replace(self._record(arn), claims=0)

    def timers_for(self, arn: str) -> list[TimerRecord]:
        with self._lock:
            timers = self._timers.get(arn, {}).values()
            return sorted(timers, key=lambda t: (t.due, t.timer_id))

    def timers_of(self, arns: Sequence[str]) -> dict[str, list[TimerRecord]]:
        with self._lock:
            return {arn: self.timers_for(arn) for arn in arns if self._timers.get(arn)}

    def post_event(self, execution_arn: str, payload: JSON) -> int:
        with self._lock:
            if execution_arn not in self._executions:
                raise StoreError(f"event for unknown execution {execution_arn}")
            seq = next(self._inbox_seq)
            self._inbox[seq] = InboxEvent(seq, execution_arn, payload)
            return seq

    def pending_events(self, execution_arn: str) -> list[InboxEvent]:
        with self._lock:
            return [e for e in self._inbox.values() if e.execution_arn == execution_arn]

    def pending_events_of(self, arns: Sequence[str]) -> dict[str, list[InboxEvent]]:
        wanted = set(arns)
        found: dict[str, list[InboxEvent]] = {}
        with self._lock:
            for event in self._inbox.values():  # in seq order: the dict keeps insertion order
                if event.execution_arn in wanted:
                    found.setdefault(event.execution_arn, []).append(event)
        return found

    def executions_with_events(self) -> list[str]:
        with self._lock:
            return list(dict.fromkeys(e.execution_arn for e in self._inbox.values()))

    def listen(self, wake: Callable[[str], None]) -> Callable[[], None] | None:
        return None  # one process: its own pokes are all there is

    def find_token(self, token: str) -> TokenRecord | None:
        return self._tokens.get(token)

    def post_callback(self, token: str, payload: JSON) -> TokenRecord | None:
        with self._lock:
            found = self._tokens.get(token)
            if found is None or found.status != "OPEN":
                return found
            self._tokens[token] = replace(found, status="ANSWERED")
            self.post_event(found.execution_arn, payload)
            return found

    # -- activities ------------------------------------------------------------------------------
    def put_activity(self, record: ActivityRecord) -> None:
        with self._lock:
            self._activities[record.arn] = record

    def get_activity(self, arn: str) -> ActivityRecord | None:
        return self._activities.get(arn)

    def list_activities(self) -> list[ActivityRecord]:
        with self._lock:
            return sorted(self._activities.values(), key=lambda a: a.name)

    def delete_activity(self, arn: str) -> None:
        with self._lock:
            self._activities.pop(arn, None)

    def take_activity_task(self, activity_arn: str, worker_name: str | None) -> ActivityTask | None:
        with self._lock:
            for task in self._activity_tasks.values():
                if task.activity_arn == activity_arn and task.token not in self._taken:
                    handed = replace(task, worker_name=worker_name)
                    self._activity_tasks[task.token] = handed
                    self._taken.add(task.token)
                    return handed
            return None

    # -- status-change events --------------------------------------------------------------------
    def _announce(self, record: ExecutionRecord, changed_at: float) -> None:
        """Queue the status-change event of `record` (under the caller's lock: one change),
        when some destination is registered to receive it."""
        if self._cursors and emits_events(record):
            queued = _Queued(next(self._outbox_seq), record.arn, changed_at, record)
            self._outbox.append(queued)

    def outbox_after(self, seq: int, limit: int) -> list[OutboxEvent]:
        with self._lock:
            first = bisect.bisect_right(self._outbox, seq, key=lambda e: e.seq)
            return [
                OutboxEvent(e.seq, e.execution_arn, e.time, status_change_event(e.record, e.time))
                for e in self._outbox[first : first + limit]
            ]

    def register_destination(self, destination: str) -> int:
        with self._lock:
            end = self._outbox[-1].seq if self._outbox else 0
            return self._cursors.setdefault(destination, end)

    def outbox_cursor(self, destination: str) -> int:
        with self._lock:
            return self._cursors.get(destination, 0)

    def set_outbox_cursor(self, destination: str, seq: int) -> None:
        with self._lock:
            self._cursors[destination] = max(seq, self._cursors.get(destination, 0))

    def lease_destination(self, destination: str, owner: str, now: float, seconds: float) -> bool:
        with self._lock:
            held = self._destination_leases.get(destination)
            if held is not None and held[0] != owner and held[1] >= now:
                return False
            self._destination_leases[destination] = (owner, now + seconds)
            return True

    # -- schedules -------------------------------------------------------------------------------
    def create_schedule(self, record: ScheduleRecord) -> bool:
        with self._lock:
            if record.name in self._schedules:
                return False
            self._schedules[record.name] = record
            return True

    def get_schedule(self, name: str) -> ScheduleRecord | None:
        with self._lock:
            return self._schedules.get(name)

    def list_schedules(self) -> list[ScheduleRecord]:
        with self._lock:
            return [self._schedules[n] for n in sorted(self._schedules)]

    def update_schedule(self, record: ScheduleRecord) -> bool:
        with self._lock:
            if record.name not in self._schedules:
                return False
            self._schedules[record.name] = record
            return True

    def delete_schedule(self, name: str) -> bool:
        with self._lock:
            return self._schedules.pop(name, None) is not None

    def due_schedules(self, now: float) -> list[ScheduleRecord]:
        with self._lock:
            return [
                s
                for s in self.list_schedules()
                if s.schedule_state == "ENABLED" and s.next_fire is not None and s.next_fire <= now
            ]

    def advance_schedule(
        self, name: str, expected: float, next_fire: float | None, fired: float
    ) -> bool:
        with self._lock:
            found = self._schedules.get(name)
            if found is None or found.schedule_state != "ENABLED" or found.next_fire != expected:
                return False
            self._schedules[name] = replace(found, next_fire=next_fire, last_fire=fired)
            return True

    # -- retention -------------------------------------------------------------------------------
    def get_map_run(self, arn: str) -> MapRunRecord | None:
        with self._lock:
            return self._map_runs.get(arn)

    def list_map_runs(self, execution_arn: str) -> list[MapRunRecord]:
        with self._lock:
            runs = [r for r in self._map_runs.values() if r.execution_arn == execution_arn]
        return sorted(runs, key=lambda r: (r.start, r.arn), reverse=True)

    def put_map_run(self, record: MapRunRecord) -> None:
        with self._lock:
            self._map_runs[record.arn] = record

    def map_run_tallies(
        self, arn: str, redriven: float | None, expired: float, max_redrives: int
    ) -> list[MapRunTally]:
        groups: dict[tuple[str, bool, bool], tuple[int, int]] = {}
        with self._lock:
            for e in self._executions.values():
                if e.map_run_arn != arn:
                    continue
                unsuccessful = e.status in UNSUCCESSFUL_STATUSES
                stopped = e.stop if e.stop is not None else math.inf
                stale = unsuccessful and redriven is not None and stopped < redriven
                stuck = (
                    unsuccessful
                    and e.machine_type == "STANDARD"
                    and (stopped < expired or e.redrive_count >= max_redrives)
                )
                executions, items = groups.get((e.status, stale, stuck), (0, 0))
                groups[e.status, stale, stuck] = (executions + 1, items + (e.item_count or 1))
        return [MapRunTally(*key, *value) for key, value in groups.items()]

    def map_run_outputs(self, arn: str) -> dict[str, JSON]:
        with self._lock:
            return {
                e.name: e.output
                for e in self._executions.values()
                if e.map_run_arn == arn and e.status == "SUCCEEDED"
            }

    def map_run_failures(self, arn: str) -> dict[str, tuple[str, str | None, str | None]]:
        with self._lock:
            return {
                e.name: (e.status, e.error, e.cause)
                for e in self._executions.values()
                if e.map_run_arn == arn and e.status in UNSUCCESSFUL_STATUSES
            }

    def map_run_items(self, arn: str, start: int, stop: int) -> list[str]:
        with self._lock:
            return list(self._map_items.get(arn, ())[max(start, 0) : max(stop, 0)])

    def map_run_children(self, map_run_arn: str, arns: Sequence[str]) -> dict[str, ExecutionRecord]:
        found: dict[str, ExecutionRecord] = {}
        with self._lock:
            for arn in arns:
                record = self._executions.get(arn)
                if record is not None and record.map_run_arn == map_run_arn:
                    found[arn] = replace(record, state=None)
        return found

    def purge(self, closed_before: float) -> int:
        with self._lock:
            self._outbox = [e for e in self._outbox if e.time >= closed_before]
            gone = [
                e.arn
                for e in self._executions.values()
                if e.status not in OPEN_STATUSES and e.stop is not None and e.stop < closed_before
            ]
            self._forget(gone)
            return len(gone)

    def _forget(self, arns: Iterable[str]) -> None:
        for arn in arns:
            self._close(arn)
            del self._executions[arn]
            for run in [r.arn for r in self._map_runs.values() if r.execution_arn == arn]:
                del self._map_runs[run]
                self._map_items.pop(run, None)
            self._snapshots.pop(arn, None)
            self._history.pop(arn, None)
            self._claim_marks.pop(arn, None)
            self._event_ids.pop(arn, None)
            for seq in [s for s, e in self._inbox.items() if e.execution_arn == arn]:
                del self._inbox[seq]

    def close(self) -> None:
        """Nothing to release: the data lives and dies with the object."""
