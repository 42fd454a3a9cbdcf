"""Distributed Maps down every path: generated machines built around one Distributed Map
(tests/generated/distributed.py) must end the same way on each path, and their Map Runs must
look the same on every path that shows them.

The in-process `Engine` is the reference for status, output, error, cause and history, as in
test_paths_agree.py. It runs a Distributed Map's items inside the execution (no child
executions, no Map Run to describe), so the Map Runs are compared between the paths that show
them: the Service on each store, `asl start` attached and detached, the crashed and resumed
worker (read through a Service over their store, as `asl map-run` reads it) and `asl serve`
through boto3 (ListMapRuns, DescribeMapRun, ListExecutions with mapRunArn); the first of them
is the reference, and each is also checked against itself (outcome.py `map_run_problem`).

The same machine with an INLINE Map (its `inline` twin) must give the same outcome where AWS
says it does: a Distributed Map without a ResultWriter outputs the array an Inline Map outputs;
when an item fails they differ (the Map Run's tolerance, States.ExceedToleratedFailureThreshold),
so the twins are compared when no iteration of the inline run failed.

Profiles (counted in the run's tally): ASL_DIFF_MAP_EXAMPLES machines in process (default 12),
ASL_DIFF_MAP_BATCHES batches (default 1) of ASL_DIFF_MAP_PROCESS_EXAMPLES machines (default 4)
through every path, and ASL_DIFF_MAP_TWINS twins (default 30) on the engine alone.
"""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.differential.outcome import (
    Outcome,
    disagreement,
    map_run_disagreement,
    normalised,
    well_formed,
)
from tests.differential.paths import Case, CrashPath, EnginePath, Path_, ServicePath
from tests.differential.tally import tally
from tests.differential.test_paths_agree import CI
from tests.generated.distributed import MapMachine, distributed_maps

IN_PROCESS_EXAMPLES = int(os.environ.get("ASL_DIFF_MAP_EXAMPLES", "12"))
PROCESS_EXAMPLES = int(os.environ.get("ASL_DIFF_MAP_PROCESS_EXAMPLES", "4"))
PROCESS_BATCHES = int(os.environ.get("ASL_DIFF_MAP_BATCHES", "1"))
TWINS = int(os.environ.get("ASL_DIFF_MAP_TWINS", "30"))


def check_map_agreement(
    generated: list[MapMachine], reference: EnginePath, paths: list[Path_]
) -> None:
    """Every path runs every machine: each outcome must agree with the engine's, and each
    Map Run with the first path's that shows it."""
    cases = [Case(machine.text, machine.input) for machine in generated]
    expected = reference.run_all(cases)
    for machine, outcome in zip(generated, expected, strict=True):
        problem = well_formed(outcome)
        assert problem is None, f"engine: {problem} for {machine!r}"
    runs_seen: list[Outcome | None] = [None] * len(generated)
    failures = []
    for path in paths:
        outcomes = path.run_all(cases)
        for index, (machine, want, got) in enumerate(
            zip(generated, expected, outcomes, strict=True)
        ):
            differs = disagreement(want, got, unordered=machine.unordered)
            first = runs_seen[index]
            if differs is None and got.map_runs is not None:
                if first is None:
                    runs_seen[index] = got
                else:
                    differs = _map_runs_differ(first, got, exact=not machine.unordered)
            if differs is not None:
                failures.append(f"{path.name}: {differs}\n  for {machine!r}")
    assert not failures, "paths disagree on Distributed Maps:\n" + "\n".join(failures)


def _map_runs_differ(reference: Outcome, other: Outcome, *, exact: bool) -> str | None:
    """How many Map Runs, and each as outcome.py `map_run_disagreement` says; nothing when
    not `exact` (which child fails first may decide the error, and with it a Retry)."""
    assert reference.map_runs is not None
    assert other.map_runs is not None
    if not exact:
        return None
    if len(other.map_runs) != len(reference.map_runs):
        return f"Map Runs {other.map_runs} != {reference.map_runs}"
    for mine, theirs in zip(other.map_runs, reference.map_runs, strict=True):
        differs = map_run_disagreement(theirs, mine)
        if differs is not None:
            return differs
    return None


@settings(CI, max_examples=IN_PROCESS_EXAMPLES)
@given(generated=distributed_maps())
def test_distributed_maps_agree_on_every_store(
    generated: MapMachine, engine_path: EnginePath, service_paths: list[ServicePath]
) -> None:
    check_map_agreement([generated], engine_path, list(service_paths))
    tally("distributed-in-process")


@settings(CI, max_examples=PROCESS_BATCHES)
@given(
    generated=st.lists(distributed_maps(), min_size=PROCESS_EXAMPLES, max_size=PROCESS_EXAMPLES),
    crash_at=st.integers(1, 6),
)
def test_distributed_maps_agree_on_every_user_path(
    generated: list[MapMachine],
    crash_at: int,
    engine_path: EnginePath,
    service_paths: list[ServicePath],
    process_paths: list[Path_],
) -> None:
    crashes = [p for p in process_paths if isinstance(p, CrashPath)]
    for path in crashes:
        path.crash_at = crash_at
    before = sum(p.crashed for p in crashes)
    check_map_agreement(generated, engine_path, [*service_paths, *process_paths])
    for _ in generated:
        tally("distributed-every-path")
    tally("crashes", crashed=sum(p.crashed for p in crashes) - before)


@settings(CI, max_examples=TWINS)
@given(generated=distributed_maps().filter(lambda m: m.inline is not None))
def test_a_distributed_map_outputs_what_its_inline_twin_does(
    generated: MapMachine, engine_path: EnginePath
) -> None:
    assert generated.inline_text is not None
    distributed, inline = engine_path.run_all(
        [Case(generated.text, generated.input), Case(generated.inline_text, generated.input)]
    )
    assert well_formed(distributed) is None
    assert well_formed(inline) is None
    if generated.items_fail:
        # An item fails: the Map Run's own rules (tolerance) decide; a failed Distributed
        # Map fails with an item's error, or States.ExceedToleratedFailureThreshold.
        return
    got = (distributed.status, distributed.error, distributed.cause, distributed.output)
    want = (inline.status, inline.error, inline.cause, inline.output)
    assert normalised(list(got)) == normalised(list(want)), generated
    tally("distributed-inline-twin")
