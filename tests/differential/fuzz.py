"""`make fuzz`: the differential tests for longer, with shrinking, printing what they tried.

    python -m tests.differential.fuzz [--minutes M] [--process-every K] [--seed S]

Generates machines until M minutes have passed (default 10), with each batch up to two built
around a Distributed Map (tests/generated/distributed.py; their Map Runs compared too): each
runs in process (`Engine`, the Service on memory, SQLite and, with ASL_TEST_POSTGRES_URL,
PostgreSQL), and every K-th batch (default 5) also through every process path (`asl run`,
`asl start` attached and detached, `asl serve` with boto3, a crashed and resumed worker). A
disagreement is shrunk to a small machine by Hypothesis and printed, and the run exits 1;
otherwise it prints how many machines it tried and exits 0. Task timeouts (real seconds) are
included here, not in CI.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.differential.outcome import disagreement, well_formed
from tests.differential.paths import (
    Case,
    CrashPath,
    DetachPath,
    EnginePath,
    Path_,
    RunPath,
    Scratch,
    ServePath,
    ServicePath,
    StartPath,
    open_path_store,
    serve,
)
from tests.differential.test_distributed_paths import check_map_agreement
from tests.generated.distributed import MapMachine, distributed_maps
from tests.generated.strategies import GeneratedMachine, machines
from tests.store import postgres_schema, postgres_url

CHUNK = 10  # examples per Hypothesis run; the budget is checked between runs


class Budget:
    def __init__(self, minutes: float) -> None:
        self.deadline = time.monotonic() + minutes * 60
        self.in_process = 0
        self.every_path = 0
        self.crashes = 0

    @property
    def over(self) -> bool:
        return time.monotonic() >= self.deadline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make fuzz", description=__doc__.split("\n\n")[1])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--process-every", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    budget = Budget(args.minutes)
    folder = Path(tempfile.mkdtemp(prefix="asl-fuzz-"))
    url = postgres_url()
    schema = postgres_schema(url) if url is not None else None
    kinds = ["memory", "sqlite"] + (["postgresql"] if schema is not None else [])
    pg = schema.__enter__() if schema is not None else None
    stores = [(kind, open_path_store(kind, folder, pg)) for kind in kinds]
    scratch = Scratch(folder / "processes")
    reference = EnginePath()
    services: list[Path_] = [ServicePath(kind, store) for kind, store in stores]
    crash = CrashPath(scratch)
    try:
        with serve(scratch) as client:
            processes: list[Path_] = [
                RunPath(scratch),
                StartPath(scratch),
                DetachPath(scratch),
                ServePath(client),
                crash,
            ]
            batches = st.lists(
                machines(max_states=5, allow_timeouts=True, allow_express=True),
                min_size=1,
                max_size=4,
            )

            examples = iter(range(10**9))
            base_seed = args.seed if args.seed is not None else int(time.time())

            @settings(
                max_examples=CHUNK,
                deadline=None,
                database=None,
                phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            @given(
                generated=batches,
                maps=st.lists(distributed_maps(), max_size=2),
                crash_at=st.integers(1, 6),
            )
            def fuzz(
                generated: list[GeneratedMachine], maps: list[MapMachine], crash_at: int
            ) -> None:
                through_processes = next(examples) % max(1, args.process_every) == 0
                crash.crash_at = crash_at
                paths = [*services, *(processes if through_processes else [])]
                check(generated, reference, paths)
                if maps:
                    check_map_agreement(maps, reference, paths)
                budget.in_process += len(generated) + len(maps)
                if through_processes:
                    budget.every_path += len(generated) + len(maps)

            chunk = 0
            while not budget.over:  # chunks of CHUNK examples, each from its own seed
                try:
                    seed(base_seed + chunk)(fuzz)()
                except AssertionError as failure:
                    print(f"fuzz: FOUND a disagreement\n{failure}", file=sys.stderr)
                    print(f"fuzz: reproduce with --seed {base_seed + chunk}", file=sys.stderr)
                    report(budget, crash)
                    return 1
                chunk += 1
    finally:
        for _, store in stores:
            store.close()
        if schema is not None:
            schema.__exit__(None, None, None)
    report(budget, crash)
    return 0


def check(generated: list[GeneratedMachine], reference: EnginePath, paths: list[Path_]) -> None:
    cases = [Case(m.text, m.input, m.machine_type) for m in generated]
    expected = reference.run_all(cases)
    for machine, outcome in zip(generated, expected, strict=True):
        problem = well_formed(outcome)
        assert problem is None, f"engine: {problem} for {machine!r}"
    for path in paths:
        for machine, want, got in zip(generated, expected, path.run_all(cases), strict=True):
            differs = disagreement(want, got, unordered=machine.unordered)
            assert differs is None, f"{path.name}: {differs}\n  for {machine!r}"


def report(budget: Budget, crash: CrashPath) -> None:
    print(
        f"fuzz: {budget.in_process} generated machines tried in process "
        f"(Engine and the Service on every store), {budget.every_path} of them through every "
        f"path; {crash.crashed} workers killed mid-run and resumed"
    )


if __name__ == "__main__":
    sys.exit(main())
