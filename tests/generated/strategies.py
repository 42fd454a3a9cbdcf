"""Hypothesis strategies for valid ASL state machines, each with an input that matches it.

API (what the property tests here and the differential harness use)
--------------------------------------------------------------------
    from hypothesis import given
    from tests.generated.strategies import GeneratedMachine, machines

    @given(machines(max_states=4, max_depth=3, allow_timeouts=False))
    def test_every_path_agrees(generated: GeneratedMachine) -> None:
        generated.definition    # dict: a valid definition (validate_text: no ERROR diagnostic)
        generated.text          # the same as JSON text (`asl run FILE`, CreateStateMachine)
        generated.input         # the execution input: it holds what the machine reads
        generated.machine_type  # "STANDARD", or "EXPRESS" with allow_express=True
        generated.features      # frozenset of tags: "Map.DISTRIBUTED.EXPRESS", "Retry", ...
        generated.bounds        # Bounds: most state entries, task calls, timers, steps, events
        generated.real_time     # a Task sleeps past TimeoutSeconds 1 (about 1.2 s of wall time)
        generated.racy          # Tasks run concurrently: if two fail, the first error wins
        generated.random_order  # concurrent retries with FULL jitter wake in a random order
        generated.unordered     # which concurrent event comes first may differ between runs

`machines()` takes keywords only: max_states (blocks per graph at the top level, one fewer per
level down), max_depth (Parallel/Map nesting, 0-3), max_items (Map items per level, 0-3),
max_loop (iterations of a Choice loop), allow_jsonata, allow_timeouts (and prefer_timeouts: a
timing-out Task wherever one may go), allow_distributed, allow_loops, allow_waits,
allow_machine_timeout, allow_express, allow_odd_input and allow_odd_paths (now and then an
input field of the wrong kind, or a path to nothing: error paths must give ASL errors, never
an engine fault), and avoid_known_bugs (the engine bugs of KNOWN_BUGS it steers around by
default, so that they do not hide others).

Running one: every Task calls a function of tests/generated/handlers.py, so every path runs
the same code: `Engine(functions=load_functions("tests/generated/handlers.py"))`, or
`asl run|start|worker|serve --functions tests/generated/handlers.py`. What a call does follows
from its event alone (`handlers.Plan.outcome`), never from a counter or the clock, so a crashed
and resumed execution behaves as one that ran through. Start a virtual clock at
`expressions.T0` for Timestamp waits to fall as generated (any clock gives a valid run).
drivers.py runs a machine by `step` alone (`run_steps`) and through `Engine` (`run_engine`).
Any path's history, in GetExecutionHistory's shape (HistoryEvent, `as_json()` dicts, boto3's
events), goes through the same checks: `oracles.check_history(definition, events, status)`
returns a `Walk` for `outcomes.check_tasks`, `check_catches`, `check_timing` (Timing RUNTIME
off the step level), `check_maps` and `check_choices`; `bounds` limit the StateEntered events
(`oracles.count`), the task calls and the history's length.

Comparing paths: a machine's status, error and output are the same on every path, except (a) a
Lambda error's cause, which holds a request id and a stack trace (compare `Error`, or normalise
`Cause`, also inside a catcher's output), (b) `unordered` machines, and (c) with a machine
TimeoutSeconds, when real time passes (a timing-out Task) or clocks differ. No generated
expression reads the clock, a random value, the execution's name or ARN.

What a machine may contain: all eight state types; Parallel and Map (inline, legacy Iterator,
and DISTRIBUTED with ExecutionType STANDARD or EXPRESS) nested up to max_depth; Retry
(IntervalSeconds, MaxAttempts 0-3, BackoffRate, MaxDelaySeconds, JitterStrategy FULL/NONE) and
Catch (named errors, States.ALL, States.TaskFailed, States.Timeout and other States.* names,
ResultPath, JSONata Output and Assign) on Task, Parallel and Map; Fail with Error/Cause or
ErrorPath/CausePath; forward Choices and bounded Choice loops (a counter in a variable or in
the data, at most max_loop iterations); Wait with Seconds, SecondsPath, Timestamp,
TimestampPath; Lambda Tasks in both forms (function ARN; `lambda:invoke` with FunctionName)
that pass `$$.State.RetryCount`, sometimes with TimeoutSeconds(Path); JSONPath (InputPath,
Parameters with `.$` paths and intrinsics, ResultSelector, ResultPath, OutputPath), JSONata
(whole machines, or JSONata states in a JSONPath machine: Arguments, Output, Assign,
Condition, Items, ItemSelector, MaxConcurrency and tolerances as expressions), Map
MaxConcurrency(Path) and ToleratedFailure*(Path), variables in both languages. Graphs only
jump forward, except each loop's increment state back to its check: every execution ends, and
`bounds` follow from the definition (builder.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass

from hypothesis import strategies as st

from engine.values import JSON
from tests.generated import concurrency
from tests.generated import expressions as ex
from tests.generated.builder import Bounds, Builder, Graph, Options
from tests.generated.expressions import FUNCTION_ARN, JSONATA, JSONPATH, LAMBDA_INVOKE
from tests.generated.spoil import spoil_one_path

__all__ = [
    "FUNCTION_ARN",
    "KNOWN_BUGS",
    "LAMBDA_INVOKE",
    "Bounds",
    "GeneratedMachine",
    "machines",
]

KNOWN_BUGS: frozenset[int] = frozenset()
"""Engine bugs (numbered as in test_findings.py) that `machines()` avoids by default, each
because it would fail examples and hide other bugs:

1. (fixed) A Wait of 10**12 s read from the input left a history that could not be rendered;
   avoided by keeping `secs` 10**12 out of inputs.
2. States.TaskFailed catches (and retries) `States.*` errors such as States.NoChoiceMatched,
   where docs/semantics.md promises it matches only non-`States.*` names. Avoided: no
   Parallel or Map lists States.TaskFailed in its Retry or Catch.
"""

_AVOIDED_INPUTS: dict[int, frozenset[tuple[str, int]]] = {1: frozenset({("secs", 10**12)})}


@dataclass(frozen=True)
class GeneratedMachine:
    """A generated machine, its input and what is known about it (see the module docstring)."""

    definition: dict[str, JSON]
    input: JSON
    features: frozenset[str]
    bounds: Bounds
    real_time: bool = False
    racy: bool = False
    random_order: bool = False
    machine_type: str = "STANDARD"

    @property
    def unordered(self) -> bool:
        """Two runs may order concurrent events differently, and with them the first failure:
        a Task races real time (`racy` and `real_time`), or retries with FULL jitter in
        concurrent branches wake after random delays (drawn per execution, as on AWS)."""
        return (self.racy and self.real_time) or self.random_order

    @property
    def text(self) -> str:
        """The definition as JSON text."""
        return json.dumps(self.definition)

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example
        return (
            f"GeneratedMachine(machine_type={self.machine_type!r},\n"
            f"  definition={json.dumps(self.definition)},\n"
            f"  input={json.dumps(self.input)})"
        )


def machines(
    *,
    max_states: int = 4,
    max_depth: int = 3,
    max_items: int = 3,
    max_loop: int = 2,
    allow_jsonata: bool = True,
    allow_timeouts: bool = False,
    prefer_timeouts: bool = False,
    allow_distributed: bool = True,
    allow_loops: bool = True,
    allow_waits: bool = True,
    allow_machine_timeout: bool = True,
    allow_express: bool = False,
    allow_odd_input: bool = True,
    allow_odd_paths: bool = True,
    avoid_known_bugs: Collection[int] = KNOWN_BUGS,
) -> st.SearchStrategy[GeneratedMachine]:
    """Valid state machines with matching inputs; see the module docstring."""
    options = Options(
        max_states=max(1, max_states),
        max_depth=max(0, min(3, max_depth)),
        max_items=max(0, min(ex.MAX_ARRAY, max_items)),
        max_loop=max(0, max_loop),
        allow_jsonata=allow_jsonata,
        allow_timeouts=allow_timeouts,
        prefer_timeouts=allow_timeouts and prefer_timeouts,
        allow_distributed=allow_distributed,
        allow_loops=allow_loops,
        allow_waits=allow_waits,
        allow_machine_timeout=allow_machine_timeout,
        allow_express=allow_express,
        allow_odd_input=allow_odd_input,
        allow_odd_paths=allow_odd_paths,
        avoid_known_bugs=frozenset(avoid_known_bugs),
    )
    return _machines(options)


@st.composite
def _machines(draw: st.DrawFn, options: Options) -> GeneratedMachine:
    modes = [JSONPATH, JSONATA, "mixed"] if options.allow_jsonata else [JSONPATH]
    build = Builder(draw, options, draw(st.sampled_from(modes)))
    top = Graph(
        depth=0,
        shape=ex.standard_shape(options.max_depth),
        variables={},
        repeat=False,
        loops=0,
        items_depth=options.max_depth,
    )
    graph, bounds = build.graph(top)
    definition: dict[str, JSON] = {"Comment": "generated", **graph}
    if build.mode == JSONATA:
        definition = {"QueryLanguage": JSONATA, **definition}
        build.features.add("JSONata.machine")
    elif build.mode == "mixed":
        build.features.add("JSONata.mixed")
    if options.allow_machine_timeout and draw(st.integers(0, 4)) == 4:
        definition["TimeoutSeconds"] = draw(st.sampled_from([30, 600, 86_400]))
        build.features.add("machine.TimeoutSeconds")
    if options.allow_odd_paths:
        spoil_one_path(draw, definition, build.features)
    if re.search(r'": "States\.\w+\(', json.dumps(definition)):
        build.features.add("intrinsic")
    machine_type = "STANDARD"
    if options.allow_express and draw(st.booleans()):
        machine_type = "EXPRESS"
        build.features.add("EXPRESS")
    spoiled: list[str] = []
    execution_input = draw(
        ex.data(
            options.max_depth,
            options.max_items,
            odd=options.allow_odd_input,
            spoiled_keys=spoiled,
            excluded=frozenset().union(
                *(_AVOIDED_INPUTS.get(bug, frozenset()) for bug in options.avoid_known_bugs)
            ),
        )
    )
    build.features.update(f"odd_input.{key}" for key in spoiled)
    return GeneratedMachine(
        definition=definition,
        input=execution_input,
        features=frozenset(build.features),
        bounds=bounds,
        real_time=build.timeouts > 0,
        racy=concurrency.racy(definition),
        random_order=concurrency.random_order(definition),
        machine_type=machine_type,
    )
