"""Differential execution: one generated machine and input, every path a user has, one answer.

Each example is a machine from tests/generated/strategies.py. The in-process `Engine` is the
reference; every other path (the Service on each store, `asl run`, `asl start` attached and
detached with `asl worker`, `asl serve` through boto3, a worker killed mid-run and resumed) must
agree with it on status, output, error, cause and the history's event types (outcome.py says
what may differ between two runs). A disagreement is a bug in one of them.

Profiles (the machine count is printed at the end of the run): CI tries ASL_DIFF_EXAMPLES
machines in process (default 60), and ASL_DIFF_PROCESS_BATCHES batches (default 2) of
ASL_DIFF_PROCESS_EXAMPLES machines (default 6) through every path (one worker drives a batch);
`make fuzz` runs tests/differential/fuzz.py, which tries many more.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.differential.outcome import disagreement, well_formed
from tests.differential.paths import Case, CrashPath, EnginePath, Path_, ServicePath
from tests.differential.tally import tally
from tests.generated.strategies import GeneratedMachine, machines

IN_PROCESS_EXAMPLES = int(os.environ.get("ASL_DIFF_EXAMPLES", "60"))
PROCESS_EXAMPLES = int(os.environ.get("ASL_DIFF_PROCESS_EXAMPLES", "6"))
PROCESS_BATCHES = int(os.environ.get("ASL_DIFF_PROCESS_BATCHES", "2"))

# No shrinking in CI: a failure prints the machine, and tests/differential/fuzz.py (or a
# regression case) reproduces it; shrinking through subprocesses would take minutes.
CI = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def case_of(generated: GeneratedMachine) -> Case:
    return Case(generated.text, generated.input, generated.machine_type)


def check_agreement(
    generated: list[GeneratedMachine], reference: EnginePath, paths: list[Path_]
) -> None:
    """Every path runs every machine; each outcome must agree with the engine's."""
    cases = [case_of(machine) for machine in generated]
    expected = reference.run_all(cases)
    for machine, outcome in zip(generated, expected, strict=True):
        problem = well_formed(outcome)
        assert problem is None, f"engine: {problem} for {machine!r}"
    failures = []
    for path in paths:
        for machine, want, got in zip(generated, expected, path.run_all(cases), strict=True):
            differs = disagreement(want, got, unordered=machine.unordered)
            if differs is not None:
                failures.append(f"{path.name}: {differs}\n  for {machine!r}")
    assert not failures, "paths disagree with the in-process engine:\n" + "\n".join(failures)


@settings(CI, max_examples=IN_PROCESS_EXAMPLES)
@given(generated=machines(max_states=4, allow_timeouts=False, allow_express=True))
def test_the_service_on_every_store_agrees_with_the_engine(
    generated: GeneratedMachine, engine_path: EnginePath, service_paths: list[ServicePath]
) -> None:
    check_agreement([generated], engine_path, list(service_paths))
    tally("in-process")


@settings(CI, max_examples=PROCESS_BATCHES)
@given(
    generated=st.lists(
        machines(max_states=3, allow_timeouts=False, allow_express=True),
        min_size=PROCESS_EXAMPLES,
        max_size=PROCESS_EXAMPLES,
    ),
    crash_at=st.integers(1, 4),
)
def test_every_user_path_agrees_with_the_engine(
    generated: list[GeneratedMachine],
    crash_at: int,
    engine_path: EnginePath,
    service_paths: list[ServicePath],
    process_paths: list[Path_],
) -> None:
    crashes = [p for p in process_paths if isinstance(p, CrashPath)]
    for path in crashes:
        path.crash_at = crash_at  # the worker dies after this many quiet commits
    before = sum(p.crashed for p in crashes)
    check_agreement(generated, engine_path, [*service_paths, *process_paths])
    for _ in generated:
        tally("every-path")
    tally("crashes", crashed=sum(p.crashed for p in crashes) - before)
