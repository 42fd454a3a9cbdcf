"""Running the cases of a test file on the embedded engine, and checking what they expect.

Owns: one fresh `Engine` per case (a virtual clock, seed 0, the file's functions, config and
mock config), the execution's name (`case-N`, N from 1, so `$$.Execution.Name` is the same on
every run), a real-time limit per case (a Task waiting for a callback that never comes must
not hang the suite), and `check`, which compares an execution with a case's `Expectation` and
lists every difference. Must never: decide semantics (`Engine` runs the execution) or stop at
the first difference.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.asltest.coverage import ExecutionFacts, MachineCoverage
from engine.asltest.files import Case, Expectation, TestFile
from engine.asltest.matching import MISSING, differences, is_subsequence, show
from engine.asltest.trace import Trace, read_trace
from engine.embedded import Engine, ExecutionResult
from engine.errors import EngineError
from engine.interpreter.history import Payload
from engine.runtime.clock import VirtualClock
from engine.values import JSON

__all__ = ["CaseResult", "Mismatch", "check", "run_case", "run_file"]

DEFAULT_CASE_TIMEOUT = 60.0
"""Seconds of real time a case may take (virtual time is free: Waits cost nothing)."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One thing a case expected that the execution did not do."""

    field: str
    message: str
    path: str | None = None
    expected: object = MISSING
    actual: object = MISSING

    def line(self) -> str:
        where = self.field if self.path is None else f"{self.field} {self.path}"
        return f"{where}: {self.message}"

    def as_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {"field": self.field, "message": self.message}
        if self.path is not None:
            out["path"] = self.path
        if self.expected is not MISSING:
            out["expected"] = self.expected  # type: ignore[assignment]
        if self.actual is not MISSING:
            out["actual"] = self.actual  # type: ignore[assignment]
        return out


@dataclass(slots=True)
class CaseResult:
    """A case that ran (`result` set) or could not run (`error` set)."""

    file: str
    case: Case
    mismatches: list[Mismatch] = field(default_factory=list)
    result: ExecutionResult | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and not self.mismatches

    @property
    def outcome(self) -> str:
        return "error" if self.error is not None else "failed" if self.mismatches else "passed"


async def run_file(
    test_file: TestFile,
    coverage: MachineCoverage | None = None,
    *,
    time_limit: float = DEFAULT_CASE_TIMEOUT,
) -> list[CaseResult]:
    """Run every case of the file in order; adds what each execution covered to `coverage`."""
    return [
        await run_case(test_file, case, coverage, time_limit=time_limit) for case in test_file.cases
    ]


async def run_case(
    test_file: TestFile,
    case: Case,
    coverage: MachineCoverage | None = None,
    *,
    time_limit: float = DEFAULT_CASE_TIMEOUT,
) -> CaseResult:
    started = time.perf_counter()
    outcome = CaseResult(test_file.path, case)
    engine = Engine(
        functions=test_file.functions,
        config=test_file.config,
        clock=VirtualClock(),
        seed=0,
        mock_config=test_file.mock_config,
    )
    try:
        machine = engine.load(
            test_file.machine, name=test_file.machine_name, machine_type=test_file.machine_type
        )
        run = engine.run(
            machine, case.input, name=f"case-{case.index + 1}", test_case=case.test_case
        )
        result = await asyncio.wait_for(run, time_limit)
    except TimeoutError:
        outcome.error = (
            f"the execution did not finish within {time_limit:g} s of real time (a Task waiting "
            "for a callback nobody sends, or a handler that does not return?)"
        )
    except EngineError as exc:
        outcome.error = f"the execution could not start: {exc.code}: {exc.message}"
    else:
        outcome.result = result
        trace = read_trace(test_file.machine, result.events)
        outcome.mismatches = check(case.expect, result, trace)
        if coverage is not None:
            coverage.record(trace, facts(result, machine.arn, machine.name))
    finally:
        await engine.aclose()
    outcome.seconds = time.perf_counter() - started
    return outcome


def facts(result: ExecutionResult, machine_arn: str, machine_name: str) -> ExecutionFacts:
    """The context-object facts of an execution (for Choice rules that read `$$`)."""
    started = result.events[0].details if result.events else None
    execution_input = (started or {}).get("input")
    role = (started or {}).get("roleArn")
    return ExecutionFacts(
        execution_arn=result.execution_arn,
        name=result.name,
        input=execution_input.value if isinstance(execution_input, Payload) else None,
        start_time=result.start_date,
        machine_arn=machine_arn,
        machine_name=machine_name,
        role_arn=role if isinstance(role, str) else "",
    )


def check(expect: Expectation, result: ExecutionResult, trace: Trace) -> list[Mismatch]:
    """Every way the execution differs from what the case expects."""
    found: list[Mismatch] = []
    if result.status != expect.status:
        found.append(
            Mismatch(
                "status",
                f"expected {expect.status}, got {result.status}{_why(result)}",
                expected=expect.status,
                actual=result.status,
            )
        )
    for name, want, got in (
        ("error", expect.error, result.error),
        ("cause", expect.cause, result.cause),
    ):
        if want is not None and want != got:
            found.append(
                Mismatch(name, f"expected {show(want)}, got {show(got)}", expected=want, actual=got)
            )
    if expect.cause_contains is not None and expect.cause_contains not in (result.cause or ""):
        found.append(
            Mismatch(
                "causeContains",
                f"{show(expect.cause_contains)} is not in the cause {show(result.cause)}",
                expected=expect.cause_contains,
                actual=result.cause,
            )
        )
    found += _values("output", expect.output, result.output, subset=False)
    found += _values("outputContains", expect.output_contains, result.output, subset=True)
    taken = trace.path()
    if expect.path is not None and list(expect.path) != taken:
        found.append(
            Mismatch(
                "path",
                f"expected {_names(expect.path)}, got {_names(taken)}"
                + _first_difference(expect.path, taken),
                expected=list(expect.path),
                actual=list(taken),
            )
        )
    if expect.path_contains is not None and not is_subsequence(expect.path_contains, taken):
        found.append(
            Mismatch(
                "pathContains",
                f"{_names(expect.path_contains)} is not in the path taken, in this order: "
                f"{_names(taken)}",
                expected=list(expect.path_contains),
                actual=list(taken),
            )
        )
    for state in expect.states:
        visits = trace.visits_of(state.state)
        at = f"states.{state.state}"
        if state.calls is not None:
            calls = sum(visit.calls for visit in visits)
            if calls != state.calls:
                found.append(
                    Mismatch(
                        f"{at}.calls",
                        f"expected {state.calls}, got {calls}",
                        expected=state.calls,
                        actual=calls,
                    )
                )
        wanted = [
            ("input", state.input, False),
            ("inputContains", state.input_contains, True),
            ("output", state.output, False),
            ("outputContains", state.output_contains, True),
        ]
        if all(value is MISSING for _, value, _ in wanted):
            continue
        if state.visit >= len(visits):
            entered = f"entered {len(visits)} time{'s' if len(visits) != 1 else ''}"
            found.append(
                Mismatch(
                    at,
                    f"the state was {entered}; there is no visit {state.visit} to check",
                    expected=state.visit,
                    actual=len(visits),
                )
            )
            continue
        visit = visits[state.visit]
        for key, value, subset in wanted:
            if value is MISSING:
                continue
            if key.startswith("output") and not visit.exited:
                found.append(Mismatch(f"{at}.{key}", "the state did not exit, so it has no output"))
                continue
            actual = visit.input if key.startswith("input") else visit.output
            found += _values(f"{at}.{key}", value, actual, subset=subset)
    return found


def _values(name: str, expected: object, actual: JSON, *, subset: bool) -> list[Mismatch]:
    if expected is MISSING:
        return []
    return [
        Mismatch(name, d.message().split(": ", 1)[1], d.path, d.expected, d.actual)
        for d in differences(expected, actual, subset=subset)  # type: ignore[arg-type]
    ]


def _why(result: ExecutionResult) -> str:
    if result.status == "SUCCEEDED" or result.error is None:
        return ""
    cause = f": {show(result.cause)}" if result.cause else ""
    return f" ({result.error}{cause})"


def _names(names: Sequence[str]) -> str:
    return "[" + ", ".join(names) + "]"


def _first_difference(expected: Sequence[str], actual: Sequence[str]) -> str:
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if want != got:
            return f" (first difference at {index}: expected {want}, got {got})"
    shorter, longer = sorted((len(expected), len(actual)))
    if shorter != longer:
        return f" (they agree up to {shorter} states)"
    return ""
