"""What every path's run of one execution is reduced to, and how two of them are compared.

Owns: `Outcome` (status, output, error, cause and the history as event types with their
`previousEventId` links), the normalisation of what may legitimately differ between two runs of
the same execution (ARNs, request ids and stack traces in Lambda error envelopes, the
interleaving of concurrent branches), and `disagreement`, the one sentence a failing test
prints. Must never: run an execution (paths.py does).

Concurrency: branches of a Parallel and iterations of a Map run concurrently, and blocking
handlers run on a thread pool, so two runs may interleave their events differently. The events
form a tree through `previousEventId` (each branch is its own chain); two histories agree when
their trees of event types are the same once each event's children are sorted. Within one
chain the order is compared exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.values import JSON

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


@dataclass(frozen=True, slots=True)
class HistoryLine:
    id: int
    previous: int
    type: str


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    output: JSON
    error: str | None
    cause: str | None
    history: tuple[HistoryLine, ...]
    map_runs: tuple[JSON, ...] | None = None
    """The execution's Map Runs, oldest first, as `map_run_seen` reduces them, on a path that
    shows them (DescribeMapRun, ListExecutions with mapRunArn); None where a path has none."""

    @property
    def types(self) -> list[str]:
        return [line.type for line in self.history]


def history_of(events: Iterable[Mapping[str, JSON]]) -> tuple[HistoryLine, ...]:
    """Lines of AWS-shaped history events (`id`, `previousEventId`, `type`)."""
    lines = []
    for event in events:
        event_id, previous, kind = event["id"], event.get("previousEventId", 0), event["type"]
        assert isinstance(event_id, int)
        assert isinstance(previous, int)
        assert isinstance(kind, str)
        lines.append(HistoryLine(event_id, previous, kind))
    return tuple(lines)


def normalised(value: JSON) -> JSON:
    """`value` with what differs between two runs of one execution taken out: the request id
    and stack trace of a Lambda error envelope (JSON text inside a cause), and request ids,
    trace ids and Dates a text quotes, nested anywhere."""
    if isinstance(value, str):
        return _normalised_text(value)
    if isinstance(value, list):
        return [normalised(item) for item in value]
    if isinstance(value, dict):
        return {key: normalised(item) for key, item in value.items()}
    return value


# Values Lambda generates per call (AWS does too), wherever a text quotes them: a cause that
# quotes a `lambda:invoke` result holds its request id, trace id and Date.
_PER_CALL = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<request id>"),
    (re.compile(r"root=1-[0-9a-f]{8}-[0-9a-f]{24};parent=[0-9a-f]{16};sampled=[01]"), "<trace>"),
    (re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT"), "<date>"),
)


def _normalised_text(text: str) -> str:
    for pattern, stand_in in _PER_CALL:
        text = pattern.sub(stand_in, text)
    if not text.startswith("{") or "errorType" not in text:
        return text
    try:
        envelope = json.loads(text)
    except ValueError:
        return text
    if not isinstance(envelope, dict):
        return text
    kept = {k: envelope[k] for k in ("errorType", "errorMessage") if k in envelope}
    return json.dumps(kept, sort_keys=True)


def canonical_tree(history: tuple[HistoryLine, ...]) -> JSON:
    """The history as a tree of event types through previousEventId, children sorted."""
    children: dict[int, list[int]] = {}
    kinds = {line.id: line.type for line in history}
    for line in history:
        children.setdefault(line.previous, []).append(line.id)

    def shape(event_id: int) -> JSON:
        below = sorted((shape(child) for child in children.get(event_id, [])), key=json.dumps)
        return [kinds.get(event_id, "<root>"), below]

    return shape(0)


MAP_RUN_FIELDS = (
    "status",
    "maxConcurrency",
    "toleratedFailureCount",
    "toleratedFailurePercentage",
    "itemCounts",
    "executionCounts",
    "redriveCount",
)
"""What is compared of DescribeMapRun (not its ARNs and dates)."""


def map_run_seen(described: Mapping[str, object], children: Iterable[str]) -> JSON:
    """A Map Run as a path shows it: DescribeMapRun's `MAP_RUN_FIELDS` and the statuses of
    its child executions (ListExecutions with its mapRunArn), sorted."""
    seen: dict[str, JSON] = {key: json.loads(json.dumps(described[key])) for key in MAP_RUN_FIELDS}
    statuses: list[JSON] = sorted(children)
    seen["children"] = statuses
    return seen


def map_run_problem(seen: JSON) -> str | None:
    """Why one Map Run contradicts itself, or None: a closed run with children still
    RUNNING, counts that do not add up to their total, or execution counts that are not its
    children's statuses."""
    assert isinstance(seen, dict)
    status, children = seen["status"], seen["children"]
    executions, items = seen["executionCounts"], seen["itemCounts"]
    assert isinstance(children, list)
    assert isinstance(executions, dict)
    assert isinstance(items, dict)
    if status != "RUNNING" and "RUNNING" in children:
        return f"Map Run {status} with children RUNNING: {children}"
    statuses = ("running", "succeeded", "failed", "timedOut", "aborted")
    for name, counts in (("executionCounts", executions), ("itemCounts", items)):
        parts = [counts[key] for key in ("pending", *statuses)]
        if sum(parts) != counts["total"]:  # type: ignore[arg-type]
            return f"{name} do not add up to their total: {counts}"
    by_status = {key: children.count(key.upper()) for key in statuses if key != "timedOut"}
    by_status["timedOut"] = children.count("TIMED_OUT")
    if any(executions[key] != count for key, count in by_status.items()):
        return f"executionCounts {executions} are not its children's statuses {children}"
    return None


def map_run_disagreement(reference: JSON, other: JSON) -> str | None:
    """How one Map Run differs from the same Map Run on the reference path, or None.

    Runs that ended as generated agree in full. A FAILED run whose children ran concurrently
    may legitimately differ in which children were still running when the threshold was
    passed (aborted) or had finished (succeeded, or failed too): then only its status, totals
    and settings are compared (each is still checked against itself: `map_run_problem`)."""
    problem = map_run_problem(other)
    if problem is not None:
        return problem
    assert isinstance(reference, dict)
    assert isinstance(other, dict)
    if reference == other:
        return None
    exact = reference["status"] == "SUCCEEDED" or reference["maxConcurrency"] == 1
    if exact:
        return f"Map Run {other} != {reference}"
    for key in MAP_RUN_FIELDS:
        mine, theirs = other[key], reference[key]
        if key.endswith("Counts"):
            assert isinstance(mine, dict)
            assert isinstance(theirs, dict)
            mine, theirs = mine["total"], theirs["total"]
        if mine != theirs:
            return f"Map Run {key} {mine!r} != {theirs!r}"
    return None


def well_formed(outcome: Outcome) -> str | None:
    """Why a terminal outcome's history is malformed, or None."""
    if outcome.status not in TERMINAL:
        return f"the execution did not end: {outcome.status}"
    ids = [line.id for line in outcome.history]
    if ids != list(range(1, len(ids) + 1)):
        return f"event ids are not 1..n: {ids}"
    for line in outcome.history:
        if not 0 <= line.previous < line.id:
            return f"event {line.id} links to {line.previous}"
    closing = [line for line in outcome.history if line.type.startswith("Execution")]
    closing = [line for line in closing if line.type not in ("ExecutionStarted",)]
    if len(closing) != 1 or outcome.history[-1] is not closing[0]:
        return f"not exactly one closing event, last: {[c.type for c in closing]}"
    return None


def disagreement(reference: Outcome, other: Outcome, *, unordered: bool = False) -> str | None:
    """How `other` differs from `reference`, or None when they agree.

    `unordered`: which of this machine's concurrent events comes first is not fixed (a Task
    sleeps past its TimeoutSeconds in real time while others fail, or concurrent retries with
    FULL jitter wait random delays drawn per execution), so which failure comes first, and with
    it the outcome, may differ: only the shape of a well-formed history is compared. Otherwise
    the generated handlers are `async def` and finish in the order they started on every path,
    and virtual time orders timers, so every other machine is compared in full.
    """
    problem = well_formed(other)
    if problem is not None:
        return problem
    for seen in other.map_runs or ():
        problem = map_run_problem(seen)
        if problem is not None:
            return problem
    if unordered:
        return None
    if other.status != reference.status:
        return f"status {other.status!r} != {reference.status!r}"
    for field in ("error", "cause", "output"):
        mine, theirs = getattr(other, field), getattr(reference, field)
        if normalised(mine) != normalised(theirs):
            return f"{field} {mine!r} != {theirs!r}"
    if canonical_tree(other.history) != canonical_tree(reference.history):
        return f"history {other.types} != {reference.types}"
    if reference.map_runs is not None and other.map_runs is not None:
        if len(other.map_runs) != len(reference.map_runs):
            return f"{len(other.map_runs)} Map Runs != {len(reference.map_runs)}"
        for mine, theirs in zip(other.map_runs, reference.map_runs, strict=True):
            differs = map_run_disagreement(theirs, mine)
            if differs is not None:
                return differs
    return None
