"""The store seam: what the engine persists and the one interface every store implements.

Owns: the stored records (machines and their versions, executions, history events, timers,
task tokens, inbox events, activities) as frozen values, the `Commit` a runtime writes after a
step, and the `Store` Protocol. Must never: know SQL or any storage technology, or decide
semantics (idempotency rules are decided by the service; the store only applies them
atomically).

Durability contract (DESIGN.md, "Semantics the engine promises"): `commit` writes every commit
of a batch in ONE transaction (group commit) and returns only when it is durable; a runtime
carries out a step's commands (invoke a task, ...) only after the step's commit returned. A store
method either completes or raises `StoreError`; it never half-applies.

All methods are synchronous (SQLAlchemy's sync API); the runtime calls them from one dedicated
thread so the event loop never blocks on I/O. Times are epoch seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from engine.errors import EngineError
from engine.values import JSON


class StoreError(EngineError):
    """The store could not complete an operation (connection lost, disk full, ...)."""

    code = "ServiceUnavailable"


class StoreRefused(StoreError):
    """The store works but refused this write (a conflicting key, a value it cannot hold):
    the same write alone fails again, and other writes batched with it need not."""


class ValueRefused(StoreRefused):
    """The store cannot hold a value of the request (PostgreSQL: a NUL character in text): the
    client's to fix, so a client error (ValidationException), not the server's 503."""

    code = "ValidationException"


def database_reason(exc: BaseException) -> str:
    """A database error as one line: the first line of the driver's own message, without the
    statement, its parameters or the server's DETAIL (another caller's data may be in them) or
    SQLAlchemy's link to its documentation."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("[SQL:", "[parameters:", "(Background", "DETAIL:")):
            return line
    return type(exc).__name__


@dataclass(frozen=True, slots=True)
class MachineRecord:
    """A state machine: its current definition revision and settings."""

    arn: str
    name: str
    machine_type: str  # STANDARD | EXPRESS
    definition: str  # the definition text as given
    revision_id: str
    role_arn: str
    created: float
    updated: float
    logging_level: str = "OFF"  # ALL | ERROR | FATAL | OFF (Express history)
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    # loggingConfiguration's other members and tracingConfiguration (docs/observability.md)
    include_execution_data: bool = False
    log_destinations: list[str] = field(default_factory=list)  # CloudWatch log group ARNs
    tracing_enabled: bool = False


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """A published, immutable version of a machine (PublishStateMachineVersion)."""

    machine_arn: str
    version: int
    revision_id: str
    definition: str
    description: str
    created: float

    @property
    def arn(self) -> str:
        return f"{self.machine_arn}:{self.version}"


@dataclass(frozen=True, slots=True)
class AliasRecord:
    machine_arn: str
    name: str
    routing: tuple[tuple[int, int], ...]  # (version, weight percent)
    description: str
    created: float
    updated: float

    @property
    def arn(self) -> str:
        return f"{self.machine_arn}:{self.name}"


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """An execution's summary row plus (for Standard) its last committed interpreter state."""

    arn: str
    machine_arn: str
    revision_id: str
    name: str
    machine_type: str  # STANDARD | EXPRESS
    input: JSON
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
    start: float
    stop: float | None = None
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    state: JSON = None  # codec.state_to_json(ExecutionState); None before the first commit
    sync: bool = False  # StartSyncExecution: never re-run after a crash
    redrive_count: int = 0
    version_arn: str | None = None
    alias_arn: str | None = None
    trace_header: str | None = None
    test_case: str | None = None  # Step Functions Local test case (`<machine ARN>#<test case>`)
    # Claims in a row that found no new history event since the previous claim, 0 once
    # released cleanly: drives of it that were lost (its worker died or dropped it). A worker
    # closes it as FAILED past CRASH_LIMIT (runtime/worker.py) instead of claiming it for ever.
    claims: int = 0
    # A child started by a parent's `states:startExecution` Task: the parent's ARN; for
    # `.sync`/`.sync:2` the token of the parent's waiting Task and the pattern ("sync",
    # "sync:2"), by which the closing commit answers it and a parent's stop finds it.
    parent_arn: str | None = None
    parent_token: str | None = None
    parent_pattern: str | None = None
    # A Distributed Map item's child execution: the Map Run it belongs to (ListExecutions
    # with mapRunArn; its parent link above has the pattern "mapRun"), and how many items it
    # ran (one, or the items of its ItemBatcher batch: ListExecutions' itemCount).
    map_run_arn: str | None = None
    item_count: int | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A history event as stored: details already rendered to AWS's JSON shape."""

    execution_arn: str
    id: int
    previous_event_id: int
    timestamp: float
    type: str
    details: JSON  # the `<camelType>EventDetails` object, or None


@dataclass(frozen=True, slots=True)
class TimerRecord:
    execution_arn: str
    timer_id: str
    due: float


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A task token handed to a `.waitForTaskToken` task or an activity worker, or held by a
    `startExecution.sync` task for its child to answer."""

    token: str
    execution_arn: str
    created: float
    activity_arn: str | None = None
    # OPEN | ANSWERED (a callback was accepted and waits to be applied: another one gets
    # TaskDoesNotExist) | TIMED_OUT (a tombstone: callbacks get TaskTimedOut)
    status: str = "OPEN"


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """An event for an execution from outside its worker (stop, callback, heartbeat, redrive)."""

    seq: int
    execution_arn: str
    payload: JSON  # codec.event_to_json(Event)


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    arn: str
    name: str
    created: float
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActivityTask:
    """A scheduled activity task waiting for (or handed to) a worker."""

    token: str
    activity_arn: str
    execution_arn: str
    input: JSON
    created: float
    worker_name: str | None = None


@dataclass(frozen=True, slots=True)
class ParentCallback:
    """A closing child's answer to its parent's `.sync` Task: `post_callback` of `token` (to
    `parent_arn`) in the transaction of the commit that carries it."""

    token: str
    parent_arn: str
    payload: JSON  # codec.event_to_json(TaskCallback)


@dataclass(frozen=True, slots=True)
class ChildStop:
    """Queue `payload` (a StopRequested) for the RUNNING child whose `parent_token` is
    `token`, in the transaction of the commit that carries it; nothing when there is none."""

    token: str
    payload: JSON  # codec.event_to_json(StopRequested)


@dataclass(frozen=True, slots=True)
class MapRunRecord:
    """A Distributed Map's Map Run (DescribeMapRun): the row its parent's commits write. The
    item and execution counts are not kept here: they are its child executions, counted by
    status (`Store.map_run_tallies`); here are only the totals (items, and child executions:
    batches with an ItemBatcher) and whether the run's results were written (by its
    ResultWriter, or as the Map's output), which AWS's `resultsWritten` counts."""

    arn: str
    execution_arn: str  # the parent execution
    status: str  # RUNNING | SUCCEEDED | FAILED | ABORTED
    start: float
    stop: float | None
    total_items: int
    max_concurrency: int
    tolerated_failure_count: int
    tolerated_failure_percentage: float
    redrive_count: int = 0
    redrive_date: float | None = None
    total_executions: int = 0
    results_written: bool = False


@dataclass(frozen=True, slots=True)
class MapRunItems:
    """The inputs of a Map Run's child runs, in order, as JSON texts: written once, with the
    commit of the step that started (or redrove) the run, replacing any written before; each
    child's start reads its own (`Store.map_run_items`). Kept for the parent's life: a redrive
    runs the failed items again; purged with the parent's history."""

    arn: str
    inputs: tuple[str, ...]


UNSUCCESSFUL_STATUSES: Final = frozenset({"FAILED", "ABORTED", "TIMED_OUT"})
PENDING_REDRIVE: Final = "PENDING_REDRIVE"


def is_pending_redrive(record: ExecutionRecord, redrive_date: float | None) -> bool:
    """Whether a Map Run's child is waiting to be redriven: unsuccessful, and closed before
    the redrive of its Map Run that is running (`redrive_date`, None when none is)."""
    return (
        redrive_date is not None
        and record.status in UNSUCCESSFUL_STATUSES
        and record.stop is not None
        and record.stop < redrive_date
    )


@dataclass(frozen=True, slots=True)
class MapRunTally:
    """The child executions of a Map Run that share a status and both flags, and the items
    they ran: `stale`, unsuccessful and closed before the Map Run's redrive (waiting to be
    redriven); `stuck`, unsuccessful and no longer redrivable (a Standard child closed before
    the redrivable period, or redriven the most times allowed)."""

    status: str
    stale: bool
    stuck: bool
    executions: int
    items: int


@dataclass(frozen=True, slots=True)
class Commit:
    """What one step changed for one execution, written atomically with its batch."""

    execution_arn: str
    state: JSON  # the new ExecutionState as JSON (None: do not store a snapshot, e.g. Express)
    events: tuple[StoredEvent, ...] = ()
    timers_added: tuple[TimerRecord, ...] = ()
    timers_cancelled: tuple[str, ...] = ()
    tokens_added: tuple[TokenRecord, ...] = ()
    tokens_removed: tuple[str, ...] = ()
    tokens_timed_out: tuple[TokenRecord, ...] = ()  # replace the token by its tombstone
    activity_tasks: tuple[ActivityTask, ...] = ()
    inbox_consumed: tuple[int, ...] = ()  # InboxEvent.seq values this step applied
    callbacks: tuple[ParentCallback, ...] = ()  # applied after the rest of the commit
    child_stops: tuple[ChildStop, ...] = ()
    map_runs: tuple[MapRunRecord, ...] = ()  # Map Runs started, changed or closed (upserts)
    map_items: tuple[MapRunItems, ...] = ()  # Map Runs' items, written when the run starts
    status: str | None = None  # set when the execution closed
    stop: float | None = None
    output: JSON = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """A status-change event waiting in the outbox: written in the transaction of the status
    change it reports (engine/store/status_events.py renders it), read by the dispatcher in
    `seq` order (engine/runtime/outbox.py)."""

    seq: int
    execution_arn: str
    time: float
    event: JSON  # EventBridge's "Step Functions Execution Status Change" event


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A schedule that starts executions of a machine (`asl schedule`, docs/triggers.md)."""

    name: str
    machine_arn: str
    expression: str  # EventBridge Scheduler's: cron(...), rate(...) or at(...)
    timezone: str  # IANA name; cron and at are read in it
    input: JSON
    # ENABLED | DISABLED (not `state`: that column name holds JSON in the stored rows)
    schedule_state: str
    created: float
    updated: float
    next_fire: float | None  # the next tick; None when an at() schedule has fired
    last_fire: float | None = None  # the tick fired last


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[object, ...]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class Lease:
    execution_arn: str
    worker_id: str
    host: str
    pid: int
    expires: float


class TriggerStore(Protocol):
    """The outbox of status-change events and the delivery cursor of each destination.

    While some destination is registered (has a cursor), every store writes a Standard
    execution's status changes (its creation as RUNNING, its close, a redrive, the stop of a
    pending execution) to the outbox in the same transaction as the change itself: an event
    exists exactly when its change was committed. With no destination nothing is written (as
    EventBridge drops the events no rule matches): a start or close costs no event. Delivery
    is at least once: a destination's cursor moves only past events it has finished with.
    """

    def register_destination(self, destination: str) -> int:
        """Register `destination` (again: nothing changes) and return its cursor. A new one
        starts at the outbox's end: it gets the event of every change committed after this
        call commits, in this process or any other sharing the store, and none before."""
        ...

    def outbox_after(self, seq: int, limit: int) -> list[OutboxEvent]:
        """Outbox events with `seq` above the given one, ascending, at most `limit`."""
        ...

    def outbox_cursor(self, destination: str) -> int:
        """The highest seq `destination` finished with (every lower one too); 0 at first."""
        ...

    def set_outbox_cursor(self, destination: str, seq: int) -> None:
        """Move the destination's cursor forward to `seq` (never back)."""
        ...

    def lease_destination(self, destination: str, owner: str, now: float, seconds: float) -> bool:
        """Take or renew the lease on delivering to `destination` until `now + seconds`:
        granted when nobody holds it, `owner` does, or the holder's lease expired. One
        dispatcher at a time delivers to a destination, so each execution's events keep
        their order however many processes share the store. A negative `seconds` from the
        holder releases it."""
        ...


class ScheduleStore(Protocol):
    """Schedules, stored with the executions they start. Firing a tick is a compare-and-set
    of `next_fire`: of several workers that saw one tick due, exactly one moves it on."""

    def create_schedule(self, record: ScheduleRecord) -> bool:
        """Insert unless a schedule of that name exists; whether it was created."""
        ...

    def get_schedule(self, name: str) -> ScheduleRecord | None: ...

    def list_schedules(self) -> list[ScheduleRecord]:
        """Every schedule, by name."""
        ...

    def update_schedule(self, record: ScheduleRecord) -> bool:
        """Replace a schedule (pause, resume); False when there is none of that name."""
        ...

    def delete_schedule(self, name: str) -> bool: ...

    def due_schedules(self, now: float) -> list[ScheduleRecord]:
        """ENABLED schedules whose `next_fire` is at or before `now`."""
        ...

    def advance_schedule(
        self, name: str, expected: float, next_fire: float | None, fired: float
    ) -> bool:
        """If the ENABLED schedule's `next_fire` is still `expected`, set it to `next_fire` and
        `last_fire` to `fired`, atomically; whether this call did."""
        ...


class Store(TriggerStore, ScheduleStore, Protocol):
    """Persistence for machines, executions and their durable runtime state."""

    # -- machines --------------------------------------------------------------------------------
    def put_machine(self, record: MachineRecord) -> None:
        """Create or replace a machine (the service decides whether that is allowed)."""
        ...

    def get_machine(self, arn: str) -> MachineRecord | None: ...

    def find_machine(self, name: str) -> MachineRecord | None: ...

    def list_machines(self) -> list[MachineRecord]: ...

    def delete_machine(self, arn: str) -> None: ...

    def get_definition(self, revision_id: str) -> str | None:
        """The definition text of any revision ever stored (executions pin their revision)."""
        ...

    def put_version(self, record: VersionRecord) -> None: ...

    def list_versions(self, machine_arn: str) -> list[VersionRecord]: ...

    def delete_version(self, machine_arn: str, version: int) -> None: ...

    def put_alias(self, record: AliasRecord) -> None: ...

    def get_alias(self, arn: str) -> AliasRecord | None: ...

    def list_aliases(self, machine_arn: str) -> list[AliasRecord]: ...

    def delete_alias(self, arn: str) -> None: ...

    # -- executions ------------------------------------------------------------------------------
    def create_execution(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        """Insert unless an execution with the same ARN exists: (stored record, created?).

        Atomic: two concurrent calls with one ARN create one execution. The caller applies
        AWS's idempotency rule to an existing record it gets back.
        """
        ...

    def create_executions(
        self, records: Sequence[ExecutionRecord], lease: Lease | None = None
    ) -> list[tuple[ExecutionRecord, bool]]:
        """`create_execution` for many records in ONE transaction (group commit of starts).

        With `lease`, every execution created here is leased to that worker in the same
        transaction, so the worker that started it can drive it without claiming it.
        """
        ...

    def get_execution(self, arn: str) -> ExecutionRecord | None: ...

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
        """Newest first; `after` is the opaque token returned by the previous page; `name`
        keeps the executions whose name contains it, ignoring case (the console's search).
        `map_run_arn`: the child executions of that Map Run (then `machine_arn` is ignored).
        `redriven`: only those redriven at least once (True) or never (False) (AWS's
        redriveFilter). `pending_redrive_before`: the redrive date of the Map Run while its
        redriven run runs; an unsuccessful child that closed before it is waiting to be
        redriven, and `status` matches it as PENDING_REDRIVE, not as its own status
        (`is_pending_redrive`; the `stale` of `MapRunTally`)."""
        ...

    def update_execution(
        self, record: ExecutionRecord, *, changed_at: float | None = None, restart: bool = False
    ) -> None:
        """Replace an execution's row (redrive, Express restart, stop of a pending one).

        With `changed_at`, the record's status is a status change made at that time, and (for
        a Standard execution) its event goes to the outbox in the same transaction. With
        `restart`, its history is dropped too: it runs again from its start, under its ARN (an
        Express child of a redriven Map Run).
        """
        ...

    def commit(self, commits: Sequence[Commit]) -> None:
        """Apply every commit in one transaction (group commit). Durable when it returns."""
        ...

    def get_history(
        self, arn: str, *, after_id: int = 0, limit: int = 1000, reverse: bool = False
    ) -> list[StoredEvent]:
        """Events with id > after_id (reverse: id < after_id, or the newest when 0)."""
        ...

    # -- scheduling and leases ---------------------------------------------------------------------
    def claim(
        self, worker_id: str, host: str, pid: int, now: float, lease_seconds: float, limit: int
    ) -> list[ExecutionRecord]:
        """Lease RUNNING executions that no live worker holds; returns those now held.

        A lease is free when it has none, when it expired, or when its holder was a process on
        this host (`host`) that no longer exists (the caller passes the dead pids it found via
        `leases_on_host`).
        """
        ...

    def leases_on_host(self, host: str) -> list[Lease]: ...

    def lease_pids_on_host(self, host: str) -> list[int]:
        """The distinct pids holding leases on `host`, ascending: what a worker checks for
        dead processes every second, without reading every lease (100,000 of them are held
        while as many executions wait)."""
        ...

    def expire_leases(self, host: str, pids: Sequence[int]) -> int:
        """Free the leases of processes on `host` known to be dead. Returns how many."""
        ...

    def renew(
        self, worker_id: str, arns: Sequence[str], now: float, lease_seconds: float
    ) -> None: ...

    def renew_held(
        self, worker_id: str, lapsing: Sequence[str], now: float, lease_seconds: float
    ) -> None:
        """Extend every lease `worker_id` holds but those of `lapsing` (executions it stopped
        driving without releasing them: their leases must lapse so that a worker resumes
        them). One statement whatever the number held: a worker holding 100,000 waiting
        executions renewed them 500 per statement every 10 s, which grew the cost of each
        start with the number waiting (bench/README.md section 7b)."""
        ...

    def release(self, worker_id: str, arns: Sequence[str]) -> None: ...

    def forgive_claims(self, worker_id: str, arns: Sequence[str]) -> None:
        """Start the claims count over (`claims` 0) for executions `worker_id` holds, keeping
        the lease: their drive ended on the store's error, not on an engine crash."""
        ...

    def timers_for(self, arn: str) -> list[TimerRecord]: ...

    def timers_of(self, arns: Sequence[str]) -> dict[str, list[TimerRecord]]:
        """`timers_for` of many executions in one read (a worker adopting a claimed batch);
        executions without timers are left out."""
        ...

    def post_event(self, execution_arn: str, payload: JSON) -> int:
        """Queue an event for an execution's worker; returns its sequence number."""
        ...

    def pending_events(self, execution_arn: str) -> list[InboxEvent]: ...

    def pending_events_of(self, arns: Sequence[str]) -> dict[str, list[InboxEvent]]:
        """`pending_events` of many executions in one read, each list in `seq` order;
        executions without events are left out."""
        ...

    def executions_with_events(self) -> list[str]: ...

    def find_token(self, token: str) -> TokenRecord | None: ...

    def post_callback(self, token: str, payload: JSON) -> TokenRecord | None:
        """Answer a task token: if it is OPEN, mark it ANSWERED and queue `payload` for its
        execution, in one transaction (of two concurrent callbacks exactly one is accepted).
        Returns the token as it was before (None when unknown); nothing is queued unless its
        status was OPEN."""
        ...

    def listen(self, wake: Callable[[str], None]) -> Callable[[], None] | None:
        """Call `wake("claim")` or `wake("events")`, on another thread, when another process
        made an execution runnable or queued an inbox event; returns the function that stops
        listening, or None when the store cannot tell (then only polling finds that work)."""
        ...

    # -- activities ------------------------------------------------------------------------------
    def put_activity(self, record: ActivityRecord) -> None: ...

    def get_activity(self, arn: str) -> ActivityRecord | None: ...

    def list_activities(self) -> list[ActivityRecord]: ...

    def delete_activity(self, arn: str) -> None: ...

    def take_activity_task(self, activity_arn: str, worker_name: str | None) -> ActivityTask | None:
        """Hand the oldest unclaimed task of the activity to a worker (atomically)."""
        ...

    # -- Map Runs --------------------------------------------------------------------------------
    def get_map_run(self, arn: str) -> MapRunRecord | None: ...

    def list_map_runs(self, execution_arn: str) -> list[MapRunRecord]:
        """The Map Runs of a parent execution, newest first."""
        ...

    def put_map_run(self, record: MapRunRecord) -> None:
        """Replace a Map Run's row (UpdateMapRun); commits write theirs with `Commit.map_runs`."""
        ...

    def map_run_tallies(
        self, arn: str, redriven: float | None, expired: float, max_redrives: int
    ) -> list[MapRunTally]:
        """The Map Run's child executions grouped by status, `stale` (unsuccessful and stopped
        before `redriven`, the run's redrive date) and `stuck` (unsuccessful, Standard, and
        stopped before `expired` or redriven `max_redrives` times), with their items."""
        ...

    def map_run_outputs(self, arn: str) -> dict[str, JSON]:
        """The outputs of the Map Run's child executions that succeeded, by execution name
        (a Map gathers its result from them when it ends)."""
        ...

    def map_run_failures(self, arn: str) -> dict[str, tuple[str, str | None, str | None]]:
        """The Map Run's child executions that closed unsuccessfully (FAILED, TIMED_OUT,
        ABORTED), by execution name: (status, error, cause). A Map that tolerated their
        failures gathers their error outputs from them when it ends."""
        ...

    def map_run_items(self, arn: str, start: int, stop: int) -> list[str]:
        """The inputs (JSON texts) of the Map Run's child runs `start` to `stop` (excluded),
        in order; fewer past its last."""
        ...

    def map_run_children(self, map_run_arn: str, arns: Sequence[str]) -> dict[str, ExecutionRecord]:
        """The Map Run's child executions among `arns`, by ARN, without their interpreter state
        (`state` None): one page of its children in item order, as its ResultWriter reads them
        (engine/service/map_results.py); an ARN that is not the Map Run's child is left out."""
        ...

    # -- retention -------------------------------------------------------------------------------
    def purge(self, closed_before: float) -> int:
        """Delete executions closed before the time, with their history, and outbox events
        older than the time (delivered or not). Returns how many executions."""
        ...

    def close(self) -> None: ...


DEFAULT_RETENTION_SECONDS = 90 * 24 * 3600
"""History is kept 90 days after an execution closes (AWS's retention for Standard)."""

DEFAULT_LEASE_SECONDS = 30.0
