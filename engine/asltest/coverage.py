"""Coverage of a state machine by test cases: which of its elements the executions exercised.

Owns: the elements of a compiled machine that coverage counts, each named by the JSON pointer
of its node in the definition (nested states in Parallel branches and Map processors included):

    state        every state                             /States/Charge
    choice rule  each rule of a Choice, by index          /States/Route/Choices/0
                 and its Default                          /States/Route/Default
    retrier      each Retry clause, by index              /States/Charge/Retry/0
    catcher      each Catch clause, by index              /States/Charge/Catch/1
    branch       each Parallel branch, by index           /States/Fan/Branches/0
                 and each Map's item processor            /States/Each/ItemProcessor

and how one execution covers them, computed from its history (trace.py) and the compiled
definition, by pure re-evaluation: a Choice rule is the one that matches the input recorded on
ChoiceStateEntered (its InputPath applied, with the variables the history shows assigned, and
the Next it names must be the state entered next); a retrier or catcher is the first whose
ErrorEquals matches an error the history records for the state (a retrier counts when it matched,
whether or not it had attempts left; a catcher when the state's failure was caught). When the
history does not record the error (an expression error inside the state, a Fail state inside a
branch), the catcher is the first whose Next is the state entered next.

The states inside a Distributed Map's item processor run as child executions whose history
the parent's does not hold: they are listed as not measured, outside every count.

Must never: run an execution, touch the interpreter, or count an element twice per visit in a
way that lets a percentage exceed 100 (a percentage is covered elements over elements).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from engine.asltest.trace import Trace, Visit, states_by_name
from engine.definition.compile import (
    JSONATA,
    ChoiceState,
    Graph,
    Machine,
    MapState,
    ParallelState,
    State,
    TaskState,
)
from engine.definition.diagnostics import join_pointer
from engine.definition.scope import Scope
from engine.interpreter.failures import Failure as RuntimeFailure
from engine.interpreter.failures import error_matches
from engine.interpreter.history import format_time
from engine.interpreter.retry import match_retrier
from engine.values import JSON

__all__ = ["KINDS", "Element", "ExecutionFacts", "MachineCoverage", "Totals", "elements_of"]

KINDS: Final = ("state", "choice rule", "retrier", "catcher", "branch")
"""The kinds of element, in the order tables show them."""


@dataclass(frozen=True, slots=True)
class Element:
    """One thing a test suite can exercise, named by its definition's JSON pointer."""

    kind: str
    pointer: str
    label: str
    measured: bool = True


@dataclass(frozen=True, slots=True)
class Totals:
    covered: int
    total: int

    @property
    def percent(self) -> float:
        """Covered over total, 100 when there is nothing to cover."""
        return 100.0 if self.total == 0 else 100.0 * self.covered / self.total


@dataclass(frozen=True, slots=True)
class ExecutionFacts:
    """What a `$$` in a Choice rule may read, for re-evaluation (the context object)."""

    execution_arn: str
    name: str
    input: JSON
    start_time: float
    machine_arn: str
    machine_name: str
    role_arn: str = ""


def elements_of(machine: Machine) -> list[Element]:
    """Every element of the machine, in definition order (a state, then its clauses, then the
    states nested in it)."""
    out: list[Element] = []
    _graph_elements(machine.root, out, measured=True)
    return out


def _graph_elements(graph: Graph, out: list[Element], *, measured: bool) -> None:
    for name, state in graph.states.items():
        at = join_pointer(graph.key, "States", name)
        out.append(Element("state", at, f"{state.type} {name}", measured))
        if isinstance(state, ChoiceState):
            for index, branch in enumerate(state.choices):
                out.append(
                    Element(
                        "choice rule",
                        join_pointer(at, "Choices", index),
                        f"{name}: rule #{index} -> {branch.next}",
                        measured,
                    )
                )
            if state.default is not None:
                out.append(
                    Element(
                        "choice rule",
                        join_pointer(at, "Default"),
                        f"{name}: Default -> {state.default}",
                        measured,
                    )
                )
        if isinstance(state, TaskState | ParallelState | MapState):
            for index, retrier in enumerate(state.retry):
                errors = ", ".join(retrier.error_equals)
                out.append(
                    Element(
                        "retrier",
                        join_pointer(at, "Retry", index),
                        f"{name}: Retry #{index} [{errors}]",
                        measured,
                    )
                )
            for index, catcher in enumerate(state.catch):
                errors = ", ".join(catcher.error_equals)
                out.append(
                    Element(
                        "catcher",
                        join_pointer(at, "Catch", index),
                        f"{name}: Catch #{index} [{errors}] -> {catcher.next}",
                        measured,
                    )
                )
        if isinstance(state, ParallelState):
            for index, branch_graph in enumerate(state.branches):
                out.append(
                    Element(
                        "branch",
                        branch_graph.key,
                        f"{name}: branch #{index} (StartAt {branch_graph.start_at})",
                        measured,
                    )
                )
                _graph_elements(branch_graph, out, measured=measured)
        elif isinstance(state, MapState):
            processor = state.processor
            out.append(
                Element(
                    "branch",
                    processor.key,
                    f"{name}: item processor (StartAt {processor.start_at})",
                    measured,
                )
            )
            _graph_elements(processor, out, measured=measured and not state.distributed)


@dataclass
class MachineCoverage:
    """The elements of one machine and how many times the recorded executions hit each."""

    label: str
    machine: Machine
    elements: list[Element] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.elements:
            self.elements = elements_of(self.machine)
        for element in self.elements:
            self.hits.setdefault(element.pointer, 0)
        self._states = states_by_name(self.machine)
        self._where = _state_pointers(self.machine)

    def record(self, trace: Trace, facts: ExecutionFacts) -> None:
        """Add what one execution exercised."""
        for pointer in exercised(self.machine, trace, facts, self._states, self._where):
            if pointer in self.hits:
                self.hits[pointer] += 1

    def totals(self, kind: str | None = None) -> Totals:
        """Covered and measured elements, of one kind or of all."""
        chosen = [e for e in self.elements if e.measured and (kind is None or e.kind == kind)]
        covered = sum(1 for e in chosen if self.hits[e.pointer] > 0)
        return Totals(covered, len(chosen))

    def uncovered(self) -> list[Element]:
        return [e for e in self.elements if e.measured and self.hits[e.pointer] == 0]

    def as_json(self) -> dict[str, JSON]:
        summary: dict[str, JSON] = {}
        for kind in (*KINDS, None):
            totals = self.totals(kind)
            summary[kind or "total"] = {
                "covered": totals.covered,
                "total": totals.total,
                "percent": round(totals.percent, 2),
            }
        return {
            "machine": self.label,
            "summary": summary,
            "elements": [
                {
                    "kind": e.kind,
                    "pointer": e.pointer,
                    "label": e.label,
                    "measured": e.measured,
                    "hits": self.hits[e.pointer],
                }
                for e in self.elements
            ],
        }


def _state_pointers(machine: Machine) -> dict[str, str]:
    """The JSON pointer of each state, by name."""
    return {
        name: join_pointer(graph.key, "States", name)
        for graph in machine.graphs.values()
        for name in graph.states
    }


def exercised(
    machine: Machine,
    trace: Trace,
    facts: ExecutionFacts,
    states: Mapping[str, State],
    where: Mapping[str, str],
) -> Iterator[str]:
    """The pointer of every element the execution exercised, once per time it did."""
    graphs_started: set[str] = set()
    for visit in trace.visits:
        state = states.get(visit.state)
        at = where.get(visit.state)
        if state is None or at is None:
            continue
        yield at
        if isinstance(state, ChoiceState) and visit.exited:
            index = choice_taken(state, visit, facts)
            if index is not None:
                yield (
                    join_pointer(at, "Choices", index)
                    if index >= 0
                    else join_pointer(at, "Default")
                )
        if isinstance(state, TaskState | ParallelState | MapState):
            for failure in visit.failures:
                if failure.error is None:
                    continue
                index = match_retrier(state.retry, RuntimeFailure(failure.error, failure.cause))
                if index is not None:
                    yield join_pointer(at, "Retry", index)
            if visit.caught:
                index = catcher_taken(state, visit)
                if index is not None:
                    yield join_pointer(at, "Catch", index)
        if isinstance(state, MapState) and state.distributed and visit.map_run:
            graphs_started.add(state.processor.key)
    for graph in machine.graphs.values():
        if graph.key == "":
            continue
        if graph.key in graphs_started or any(v.state == graph.start_at for v in trace.visits):
            yield graph.key


def catcher_taken(state: TaskState | ParallelState | MapState, visit: Visit) -> int | None:
    """The index of the Catch clause that caught the visit's failure."""
    failure = visit.failures[-1] if visit.failures else None
    if failure is not None and failure.error is not None:
        for index, catcher in enumerate(state.catch):
            if error_matches(catcher.error_equals, failure.error):
                if visit.next_state is None or catcher.next == visit.next_state:
                    return index
                break
    for index, catcher in enumerate(state.catch):
        if catcher.next == visit.next_state:
            return index
    return None


_RNG: Final = random.Random(0)  # noqa: S311 - no Choice rule draws from it; Scope wants one

DEFAULT_RULE: Final = -1
"""`choice_taken`'s answer for the Default."""


def choice_taken(state: ChoiceState, visit: Visit, facts: ExecutionFacts) -> int | None:
    """The index of the rule that matched the recorded input (`DEFAULT_RULE` for the Default),
    checked against the state entered next; None when neither tells."""
    evaluated = _evaluate_choice(state, visit, facts)
    if evaluated is not None:
        target = state.default if evaluated == DEFAULT_RULE else state.choices[evaluated].next
        if visit.next_state is None or target == visit.next_state:
            return evaluated
    if visit.next_state is None:
        return None
    for index, branch in enumerate(state.choices):
        if branch.next == visit.next_state:
            return index
    return DEFAULT_RULE if state.default == visit.next_state else None


def _evaluate_choice(state: ChoiceState, visit: Visit, facts: ExecutionFacts) -> int | None:
    # The rules are the compiled ones the interpreter runs; any error they raise here means
    # the recorded facts are not enough (the caller then reads the path taken instead).
    context = _context(state, visit, facts) if state.uses_context else None
    scope = Scope(context, visit.variables, _RNG)
    try:
        if state.query_language == JSONATA:
            from engine.interpreter.jsonata_flow import jsonata_states

            states = jsonata_states(visit.input, scope)
            for index, branch in enumerate(state.choices):
                condition = branch.condition_value
                if condition is None:
                    continue
                result = condition.evaluate_typed(states, scope, "boolean", visit.entered_time)
                if result is True:
                    return index
        else:
            from engine.interpreter.dataflow import apply_input_path

            effective = apply_input_path(state.input_path, visit.input, scope)
            for index, branch in enumerate(state.choices):
                if branch.rule is not None and branch.rule.matches(effective, scope):
                    return index
    except Exception:  # any failure to re-evaluate falls back to the path taken
        return None
    return DEFAULT_RULE if state.default is not None else None


def _context(state: ChoiceState, visit: Visit, facts: ExecutionFacts) -> dict[str, JSON]:
    return {
        "Execution": {
            "Id": facts.execution_arn,
            "Input": facts.input,
            "StartTime": format_time(facts.start_time),
            "Name": facts.name,
            "RoleArn": facts.role_arn,
            "RedriveCount": 0,
        },
        "StateMachine": {"Id": facts.machine_arn, "Name": facts.machine_name},
        "State": {
            "Name": state.name,
            "EnteredTime": format_time(visit.entered_time),
            "RetryCount": 0,
        },
    }
