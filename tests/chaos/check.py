"""What a chaos run must show once its faults have stopped, read from the store and the ledger.

Owns: the figures of one run (`Figures`: executions, faults by kind, lost, duplicated, stuck,
double invocations) and the checks that fill them, Jepsen's way: from the histories the store
kept and the calls the handlers recorded, never from log lines. For every execution whose
start was acknowledged:
- lost: the store does not have it;
- stuck: it is still RUNNING when the bound is over;
- duplicated: history event ids repeated, or a Task state entry with more `...Scheduled` events
  than its first plus one per recorded failure (a task scheduled twice for one attempt);
  a Task state without a Retry is scheduled at most once per entry;
- double invocations: the ledger holds two calls of one attempt of one state entry (execution,
  state, Map item, retry count): a Standard task invoked twice where the engine promises at
  most once (a Retry's next attempt is a new attempt, with the next retry count);
- silent workers (run.py's probe): a worker process alive once the faults stopped that no
  longer drives an execution started while it alone runs (its loop died on a store error);
- a task token that did not survive its worker (a problem): a `.waitForTaskToken` task failed
  as lost after TaskSubmitted (DESIGN.md: task tokens survive restarts);
- malformed (a problem): ids not exactly 1..N, the first event not ExecutionStarted, a closed
  execution without exactly one closing event at the end, an outcome no fault explains.
Must never: inject faults or wait (run.py).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.cli.shapes import event_shape
from engine.runtime.worker import LOST_TASK_CAUSE
from engine.store.base import Store
from engine.values import JSON
from tests.chaos.faults import KINDS
from tests.chaos.machines import RETRIED, TASK_STATES

CLOSING = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}
SCHEDULED = ("LambdaFunctionScheduled", "TaskScheduled")
TASK_FAILURES = (
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "LambdaFunctionStartFailed",
    "LambdaFunctionScheduleFailed",
    "TaskFailed",
    "TaskTimedOut",
    "TaskStartFailed",
    "TaskSubmitFailed",
)
PROBLEMS_SHOWN = 20


@dataclass
class Figures:
    """What one chaos run did and found, on one store."""

    store: str
    executions: int = 0
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    lost: int = 0
    duplicated: int = 0
    double_invocations: int = 0
    stuck: int = 0
    silent_workers: int = 0  # alive, yet driving nothing once the faults stopped
    invocations: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        bad = self.lost + self.duplicated + self.double_invocations + self.stuck
        bad += self.silent_workers
        return bad == 0 and not self.problems

    def line(self) -> str:
        """The figures line a CI log and `make chaos` print."""
        faults = ", ".join(f"{count} {kind}" for kind, count in self.faults.items() if count)
        skipped = "".join(f"; {kind}: not injected ({why})" for kind, why in self.skipped.items())
        return (
            f"chaos {self.store}: {self.executions} executions, {self.invocations} task calls, "
            f"faults: {faults or 'none'}; {self.lost} lost, {self.duplicated} duplicated events, "
            f"{self.double_invocations} double invocations, {self.stuck} stuck, "
            f"{self.silent_workers} silent workers "
            f"({self.seconds:.0f} s){skipped}"
        )

    def report(self) -> str:
        """The line, the outcomes, then the problems (at most PROBLEMS_SHOWN)."""
        lines = [self.line()]
        if self.outcomes:
            outcomes = ", ".join(f"{n} {o}" for o, n in sorted(self.outcomes.items()))
            lines.append(f"  outcomes: {outcomes}")
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.extend(f"  PROBLEM: {p}" for p in self.problems[:PROBLEMS_SHOWN])
        if len(self.problems) > PROBLEMS_SHOWN:
            lines.append(f"  ... and {len(self.problems) - PROBLEMS_SHOWN} more problems")
        return "\n".join(lines)

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=1))

    @classmethod
    def load(cls, path: Path) -> Figures:
        return cls(**json.loads(path.read_text()))


@dataclass(frozen=True, slots=True)
class Started:
    """A start the service acknowledged: the execution must exist from then on."""

    arn: str
    name: str
    machine: str


def check(
    figures: Figures, store: Store, started: Sequence[Started], ledger: Path, stuck: set[str]
) -> None:
    """Fill `figures` from the store and the ledger (see the module docstring)."""
    figures.executions = len(started)
    for start in started:
        record = store.get_execution(start.arn)
        if record is None:
            figures.lost += 1
            figures.problems.append(f"lost: {start.arn} was acknowledged, the store lacks it")
            continue
        if record.status == "RUNNING" or start.arn in stuck:
            figures.stuck += 1
            figures.problems.append(f"stuck: {start.arn} is still RUNNING")
        events = [event_shape(e) for e in store.get_history(start.arn, limit=1_000_000)]
        check_history(figures, start, events, record.status)
        outcome = record.status
        if record.status == "FAILED":
            lost_task = record.error == "States.TaskFailed" and record.cause == LOST_TASK_CAUSE
            outcome = "FAILED (a task lost with its worker)" if lost_task else "FAILED"
            if lost_task and any(e["type"] == "TaskSubmitted" for e in events):
                figures.problems.append(
                    f"a task token did not survive its worker: {start.arn} failed as a lost "
                    "task after its token was handed over (TaskSubmitted)"
                )
            if not lost_task:
                figures.problems.append(
                    f"unexplained outcome: {start.arn} FAILED {record.error}: {record.cause}"
                )
        figures.outcomes[outcome] = figures.outcomes.get(outcome, 0) + 1
    check_ledger(figures, ledger)


def check_history(
    figures: Figures, start: Started, events: Sequence[Mapping[str, JSON]], status: str
) -> None:
    ids = [event["id"] for event in events]
    repeated = len(ids) - len(set(ids))
    if repeated:
        figures.duplicated += repeated
        figures.problems.append(f"duplicated: {start.arn} repeats {repeated} event id(s)")
    if ids != list(range(1, len(ids) + 1)):
        figures.problems.append(f"malformed: {start.arn} event ids are not 1..N: {ids}")
        return
    if not events or events[0]["type"] != "ExecutionStarted":
        figures.problems.append(f"malformed: {start.arn} does not begin with ExecutionStarted")
        return
    closing = [e for e in events if e["type"] in CLOSING]
    if status != "RUNNING" and (
        len(closing) != 1
        or closing[0] is not events[-1]
        or CLOSING[str(closing[0]["type"])] != status
    ):
        figures.problems.append(
            f"malformed: {start.arn} is {status} but its closing events are "
            f"{[e['type'] for e in closing]} (last: {events[-1]['type']})"
        )
    by_id = {int(str(e["id"])): e for e in events}
    scheduled: Counter[int] = Counter()
    failed: Counter[int] = Counter()
    names: dict[int, str] = {}
    for event in events:
        kind = str(event["type"])
        if kind not in SCHEDULED and kind not in TASK_FAILURES:
            continue
        entry = entered(by_id, event)
        if entry is None:
            figures.problems.append(f"malformed: {start.arn} event {event['id']} has no state")
            continue
        details = by_id[entry]["stateEnteredEventDetails"]
        assert isinstance(details, dict)
        names[entry] = str(details["name"])
        (scheduled if kind in SCHEDULED else failed)[entry] += 1
    for entry, count in scheduled.items():
        allowed = 1 + failed[entry] if names[entry] in RETRIED else 1
        known = TASK_STATES.get(start.machine)  # None: not a chaos machine (a shrunk case)
        if known is not None and names[entry] not in known:
            figures.problems.append(f"malformed: {start.arn} schedules unknown {names[entry]}")
        if count > allowed:
            figures.duplicated += count - allowed
            figures.problems.append(
                f"duplicated: {start.arn} scheduled {names[entry]} (entered at event {entry}) "
                f"{count} times with {failed[entry]} failure(s) recorded"
            )


def entered(by_id: Mapping[int, Mapping[str, JSON]], event: Mapping[str, JSON]) -> int | None:
    """The id of the `...StateEntered` event `event` descends from (previousEventId chain)."""
    current = event
    while True:
        previous = int(str(current["previousEventId"]))
        if previous == 0 or previous not in by_id:
            return None
        current = by_id[previous]
        if str(current["type"]).endswith("StateEntered"):
            return previous


def check_ledger(figures: Figures, ledger: Path) -> None:
    """Two recorded calls of one attempt of one state entry are a double invocation."""
    calls: Counter[tuple[str, str, str, int]] = Counter()
    pids: dict[tuple[str, str, str, int], list[int]] = {}
    text = ledger.read_text() if ledger.exists() else ""
    for line in text.splitlines():
        row = json.loads(line)
        event = row["event"]
        key = (
            str(event["execution"]),
            str(event["state"]),
            json.dumps(event["item"]),
            int(event["attempt"]),
        )
        figures.invocations += 1
        calls[key] += 1
        pids.setdefault(key, []).append(int(row["pid"]))
    for key, count in calls.items():
        if count > 1:
            figures.double_invocations += count - 1
            execution, state, item, attempt = key
            figures.problems.append(
                f"double invocation: {execution} {state} item {item} attempt {attempt} "
                f"invoked {count} times (by pids {pids[key]})"
            )
