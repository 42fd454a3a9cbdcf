"""Invariants over generated machines (issue 12 item 2): bugs found by inputs nobody thought of.

Every example is a valid machine from strategies.py with an input that matches it. Checked on
every one, both by `step` alone (tests/interpreter/helpers.Harness, tasks answered as
handlers.py answers them, tasks and timers taken in a generated order, stale events replayed,
a stop at a generated step) and through `Engine` on a `VirtualClock`:

- `step` never raises and never contains an engine fault (`ENGINE_FAULT_PREFIX`: a found bug);
  the same state and event give the same result, and the state passed in is left untouched;
- every execution closes within the bounds derived from its definition (steps, state
  entries, task calls), leaving no task or timer behind;
- the history is well formed (oracles.check_history), every Task attempt did what its handler
  does, retries follow the Retry field (count and back-off), and caught failures are handed
  on as declared (outcomes.check_tasks, outcomes.check_catches).

Default profile: CI-sized, derandomized, no example database, so a run is reproducible. For a
long run, set ASL_FUZZ_EXAMPLES (e.g. `ASL_FUZZ_EXAMPLES=5000 .venv/bin/pytest
tests/generated`): examples then come from a random seed, which Hypothesis prints with any
failure (re-run it with `--hypothesis-seed=N`). Each finding becomes a regression test in
test_findings.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.backends.python import load_functions
from engine.definition.validate import validate_text
from engine.interpreter.frames import ExecutionStatus
from engine.values import JSON
from tests.generated import dataflow, drivers, oracles, outcomes
from tests.generated.handlers import FUNCTION_NAMES, SLEEP_SECONDS, Plan
from tests.generated.strategies import GeneratedMachine, machines

LONG_RUN = int(os.environ.get("ASL_FUZZ_EXAMPLES", "0"))

# A long run may take longer than the suite's 5-minute limit per test.
pytestmark = [pytest.mark.timeout(0)] if LONG_RUN else []


def profile(ci_examples: int, *, long_share: int = 1) -> settings:
    """CI: `ci_examples`, derandomized. Long run: ASL_FUZZ_EXAMPLES // long_share examples
    from a random seed."""
    return settings(
        max_examples=max(ci_examples, LONG_RUN // long_share) if LONG_RUN else ci_examples,
        derandomize=not LONG_RUN,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}

schedules = st.builds(
    drivers.Schedule,
    order=st.lists(st.integers(0, 4), max_size=6).map(tuple),
    stop_at=st.one_of(st.none(), st.none(), st.none(), st.integers(1, 12)),
    stale=st.booleans(),
)


@profile(200)
@given(generated=machines(allow_timeouts=True), schedule=schedules)
def test_step_level_invariants(generated: GeneratedMachine, schedule: drivers.Schedule) -> None:
    run = drivers.run_steps(generated, schedule)
    harness = run.harness
    finish = harness.finish
    assert finish is not None
    assert harness.state.status is not ExecutionStatus.RUNNING
    assert finish.status == harness.state.status.value
    assert not drivers.is_engine_fault(finish.cause), finish.cause
    assert len(run.invocations) <= generated.bounds.attempts
    walk = oracles.check_history(generated.definition, harness.history, finish.status)
    assert oracles.count(walk, "StateEntered") <= generated.bounds.entries
    assert len(walk.events) <= generated.bounds.history_events
    attempts = outcomes.check_tasks(walk, outcomes.EXACT)
    outcomes.check_catches(walk)
    outcomes.check_timing(walk, generated.definition, outcomes.EXACT)
    outcomes.check_maps(walk)
    outcomes.check_choices(walk)
    outcomes.check_failure_events(walk)
    outcomes.check_branch_order(walk)
    dataflow.check_passes(walk)
    event(f"status {finish.status}")
    event("tasks checked" if attempts else "no task ran")


def _engine_invariants(generated: GeneratedMachine, copies: int = 1) -> int:
    """Run through Engine and check every invariant; returns how many task calls timed out."""
    results = asyncio.run(drivers.run_engine(generated, copies=copies))
    timed_out = 0
    for result in results:
        assert result.status in TERMINAL
        assert not drivers.is_engine_fault(result.cause), result.cause
        # Checked as users see it: `asl run --json --history`, GetExecutionHistory.
        rendered = result.as_json(history=True)
        events = rendered["events"]
        assert isinstance(events, list)
        walk = oracles.check_history(generated.definition, events, result.status)
        assert oracles.count(walk, "StateEntered") <= generated.bounds.entries
        assert len(walk.events) <= generated.bounds.history_events
        scheduled = oracles.count(walk, "LambdaFunctionScheduled") + oracles.count(
            walk, "TaskScheduled"
        )
        assert scheduled <= generated.bounds.attempts
        outcomes.check_tasks(walk, outcomes.RUNTIME)
        outcomes.check_catches(walk)
        outcomes.check_timing(walk, generated.definition, outcomes.RUNTIME)
        outcomes.check_maps(walk)
        outcomes.check_choices(walk)
        outcomes.check_failure_events(walk)
        outcomes.check_branch_order(walk)
        dataflow.check_passes(walk)
        timed_out += oracles.count(walk, "TimedOut")
    if not (generated.racy or generated.random_order) and "machine.TimeoutSeconds" not in (
        generated.features
    ):
        endings = {(r.status, r.error) for r in results}
        assert len(endings) == 1, f"the same execution ended differently: {endings}"
    event(f"status {results[0].status}")
    return timed_out


@profile(100)
@given(generated=machines(allow_express=True))
def test_engine_invariants(generated: GeneratedMachine) -> None:
    """Two executions at once: neither may disturb the other."""
    _engine_invariants(generated, copies=2)


with_real_timeouts = machines(
    allow_timeouts=True, prefer_timeouts=True, allow_express=True, max_depth=2
).filter(lambda generated: generated.real_time)


def test_engine_invariants_with_real_timeouts() -> None:
    """Lambda timeouts run on real time, also on a virtual clock: a few examples only, and at
    least one of them must really time out."""
    timed_out: list[int] = []

    @profile(6, long_share=50)
    @given(generated=with_real_timeouts)
    def run(generated: GeneratedMachine) -> None:
        timed_out.append(_engine_invariants(generated))

    run()
    assert sum(timed_out) > 0, "no generated Task timed out"


REQUIRED_FEATURES = {
    *("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"),
    *("Map.INLINE", "Map.DISTRIBUTED.STANDARD", "Map.DISTRIBUTED.EXPRESS", "Map.tolerance"),
    *("Retry", "Retry.Jitter.FULL", "Retry.Jitter.NONE", "Retry.MaxDelaySeconds", "Catch"),
    *("ErrorEquals.States.ALL", "ErrorEquals.States.TaskFailed", "ErrorEquals.States.Timeout"),
    *("Fail.ErrorPath", "Fail.CausePath", "loop.variable", "loop.data"),
    *("Wait.Seconds", "Wait.SecondsPath", "Wait.Timestamp", "Wait.TimestampPath"),
    *(
        "Task.function_arn",
        "Task.lambda:invoke",
        "Task.timeout",
        *map("Task.{}".format, FUNCTION_NAMES),
    ),
    *("InputPath", "Parameters", "intrinsic", "ResultSelector", "ResultPath", "ItemSelector"),
    *("JSONata.machine", "JSONata.mixed", "JSONata.Task", "JSONata.Choice", "JSONata.Map"),
    *("Assign", "machine.TimeoutSeconds", "EXPRESS"),
}


def test_every_generated_machine_is_valid_and_every_feature_is_reached() -> None:
    seen: set[str] = set()
    depths: set[int] = set()

    @profile(200)
    @given(generated=machines(allow_timeouts=True, prefer_timeouts=True, allow_express=True))
    def valid(generated: GeneratedMachine) -> None:
        diagnostics = validate_text(generated.text, machine_type=generated.machine_type)
        assert [d for d in diagnostics if d.severity == "ERROR"] == []
        seen.update(generated.features)
        depths.add(_nesting(generated.definition))

    valid()
    assert REQUIRED_FEATURES - seen == set()
    assert 3 in depths, "Parallel and Map nest three deep"


def _nesting(graph: object, depth: int = 0) -> int:
    """How deep Parallel branches and Map processors nest in a definition."""
    if not isinstance(graph, dict) or not isinstance(graph.get("States"), dict):
        return depth
    deepest = depth
    for body in graph["States"].values():
        children = list(body.get("Branches") or [])
        processor = body.get("ItemProcessor") or body.get("Iterator")
        if processor is not None:
            children.append(processor)
        for child in children:
            deepest = max(deepest, _nesting(child, depth + 1))
    return deepest


# -- the handlers file ----------------------------------------------------------------------------


def test_the_handlers_file_serves_exactly_its_three_functions() -> None:
    assert sorted(load_functions(str(drivers.HANDLERS))) == sorted(FUNCTION_NAMES)


@pytest.mark.parametrize(
    ("function", "event_", "expected"),
    [
        ("gen_plan", {"plan": ["Transient", "ok"], "attempt": 0, "value": 1}, "Transient"),
        ("gen_plan", {"plan": ["Transient", "ok"], "attempt": 1, "value": 1}, "ok"),
        ("gen_plan", {"plan": ["Transient", "ok"], "attempt": 5, "value": 1}, "ok"),
        ("gen_plan", {"plan": ["timeout", "ok"], "attempt": 0}, "timeout"),
        ("gen_plan", {"plan": ["NoSuchError"]}, "Permanent"),
        ("gen_plan", "not an object", "ok"),
        ("gen_parity", {"value": 3, "attempt": 0}, "OddValue"),
        ("gen_parity", {"value": 3, "attempt": 2, "heal": 2}, "ok"),
        ("gen_parity", {"value": 4}, "ok"),
        ("gen_echo", {"plan": ["Permanent"]}, "ok"),
    ],
    ids=[
        "plan-first-attempt",
        "plan-second-attempt",
        "plan-last-step-repeats",
        "plan-timeout",
        "plan-unknown-error",
        "plan-no-object",
        "parity-odd",
        "parity-heals",
        "parity-even",
        "echo",
    ],
)
def test_a_handler_outcome_is_a_function_of_its_event(
    function: str, event_: JSON, expected: str
) -> None:
    kind, _ = Plan.outcome(function, event_)
    assert kind == expected


def test_a_handler_raises_its_planned_error_and_returns_its_result() -> None:
    gen_plan = drivers.handler_functions()["gen_plan"]

    def call(event: JSON) -> object:  # the handlers are `async def` (see handlers.py)
        called = gen_plan(event, None)
        assert asyncio.iscoroutine(called)
        return asyncio.run(called)

    with pytest.raises(Exception, match="gen_plan failed with CardDeclined") as raised:
        call({"plan": ["CardDeclined"], "attempt": 0})
    assert type(raised.value).__name__ == "CardDeclined"
    assert call({"plan": ["ok"], "attempt": 1, "value": 7}) == {
        "fn": "gen_plan",
        "attempt": 1,
        "value": 7,
    }
    assert SLEEP_SECONDS > 1, "a timeout outcome outlives TimeoutSeconds 1"


_DIGEST = """
import hashlib, json
from hypothesis import HealthCheck, given, settings
from tests.generated import drivers
from tests.generated.strategies import machines
digest = hashlib.sha256()
@settings(max_examples=40, database=None, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(machines(allow_timeouts=True))
def run(generated):
    history = drivers.run_steps(generated, check_purity=False).harness.history
    digest.update(json.dumps([event.as_json() for event in history]).encode())
run()
print(digest.hexdigest())
"""


def test_the_same_machines_and_runs_in_another_process() -> None:
    """Generation and every step are functions of their inputs, not of the process: another
    process (another hash seed) builds the same machines and records the same histories, as a
    resumed execution or the differential harness's other paths need."""
    root = Path(__file__).parents[2]
    digests = {
        subprocess.run(
            [sys.executable, "-c", _DIGEST],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1, digests
