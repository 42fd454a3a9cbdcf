"""The machine builder behind `machines()`: graphs, Choice loops and the eight state types.

Owns: turning Hypothesis draws into a definition, block by block. A graph is a row of blocks
(a state, or a Choice loop of several states); Next, Choice rules and Catchers only jump
forward, to a later block, and a loop's increment state jumps back to its check, at most
`max_loop` times, so every execution ends, and `Bounds` add up block by block. Each state
reads only what its graph's `Shape` promises (expressions.py), except where a field breaks
the shape on purpose ("disruptive"). Must never: emit a definition the validator rejects, or
read anything that differs between paths (the clock, random values, execution names).

Task states are drawn in tasks.py, Parallel and Map states in containers.py, the fields they
share in fields.py. Draws are arranged to shrink towards simple machines: `flip` shrinks to
False, `pick` to the first option, so a shrunk finding keeps only what it needs.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from hypothesis import strategies as st

from engine.values import JSON
from tests.generated import expressions as ex
from tests.generated import fields
from tests.generated.expressions import (
    ANY,
    FAIL_ERRORS,
    JSONATA,
    JSONPATH,
    Body,
)


@dataclass(frozen=True, slots=True)
class Bounds:
    """Upper limits over one execution, derived from the definition.

    `entries`: state entries (`…StateEntered` events; Distributed Map children count though
    their events stay out of the history). `attempts`: task invocations. `timers`: Wait timers,
    retry back-offs and task timeouts. `steps`: events fed to `step` (Start, one per attempt
    answered or timed out, one per timer, the execution timeout).
    """

    entries: int = 0
    attempts: int = 0
    timers: int = 0

    def __add__(self, other: Bounds) -> Bounds:
        return Bounds(
            self.entries + other.entries,
            self.attempts + other.attempts,
            self.timers + other.timers,
        )

    def __mul__(self, times: int) -> Bounds:
        return Bounds(self.entries * times, self.attempts * times, self.timers * times)

    @property
    def steps(self) -> int:
        return 2 + self.attempts + self.timers

    @property
    def history_events(self) -> int:
        """Each entry records at most 8 events of its own, each attempt 3, each timer 1."""
        return 2 + 8 * self.entries + 3 * self.attempts + self.timers


@dataclass(frozen=True, slots=True)
class Options:
    max_states: int = 4
    max_depth: int = 3
    max_items: int = 3
    max_loop: int = 2
    allow_jsonata: bool = True
    allow_timeouts: bool = False
    prefer_timeouts: bool = False
    allow_distributed: bool = True
    allow_loops: bool = True
    allow_waits: bool = True
    allow_machine_timeout: bool = True
    allow_express: bool = False
    allow_odd_input: bool = True
    allow_odd_paths: bool = True
    avoid_known_bugs: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Graph:
    """What a graph being generated may rely on."""

    depth: int  # Parallel/Map nesting: 0 at the top level
    shape: ex.Shape  # the input every state of the graph is promised
    variables: Mapping[str, str]  # visible variable -> kind (INT or "any")
    repeat: bool  # may run more than once per execution (a loop, a Map, a retried parent)
    loops: int  # enclosing Choice loops in this graph
    items_depth: int  # levels of `items` the input still holds


@dataclass
class Builder:
    draw: st.DrawFn
    options: Options
    mode: str
    features: set[str] = field(default_factory=set)
    counter: int = 0
    timeouts: int = 0

    # -- helpers -------------------------------------------------------------------------------

    def name(self, kind: str) -> str:
        """A state name unique in the machine; sometimes with a space or a non-ASCII letter."""
        self.counter += 1
        style = self.integer(0, 7)
        if style == 6:
            return f"{kind} {self.counter}"
        if style == 7:
            return f"{kind}-é{self.counter}"
        return f"{kind}{self.counter}"

    def integer(self, low: int, high: int) -> int:
        """A draw from a cached strategy: building strategies anew is most of the cost."""
        return self.draw(_integers(low, high))

    def flip(self, weight: int = 2) -> bool:
        """True one time in `weight` (shrinks to False)."""
        return self.integer(0, weight - 1) == weight - 1

    def pick(self, options: list[str] | tuple[str, ...]) -> str:
        return options[self.integer(0, len(options) - 1)]

    def language(self) -> str:
        if self.mode == "mixed":
            return JSONATA if self.flip(3) else JSONPATH
        return self.mode

    def mark(self, body: Body, language: str) -> Body:
        """Tag a state's language: explicit only for a JSONata state in a JSONPath machine."""
        if self.mode == "mixed" and language == JSONATA:
            return {"QueryLanguage": JSONATA, **body}
        return body

    def disruptive(self) -> bool:
        """Rarely, a field that breaks the data shape on purpose (later reads may fail)."""
        if self.flip(16):
            self.features.add("disruptive")
            return True
        return False

    # -- graphs --------------------------------------------------------------------------------

    def graph(self, ctx: Graph) -> tuple[Body, Bounds]:
        """A graph (the machine, a branch or an item processor): `{"StartAt", "States"}`."""
        states: dict[str, Body] = {}
        budget = max(1, self.options.max_states - ctx.depth)
        # The top level has at least two blocks: Hypothesis draws many minimal examples, and a
        # lone Pass state tests nothing.
        count = self.integer(min(2, budget) if ctx.depth == 0 else 1, budget)
        new_variables = self.integer(0, 2) if self.flip(2) else 0
        init: str | None = None
        if new_variables:
            init = self.name("Init")
            assign: Body = {}
            variables = dict(ctx.variables)
            for _ in range(new_variables):
                name = f"v{self.counter}"
                self.counter += 1
                kind = self.pick([ex.INT, ANY])
                variables[name] = kind
                assign[name] = self.integer(0, 3) if kind == ex.INT else self.draw(ex.literals)
            ctx = replace(ctx, variables=variables)
            self.features.add("Assign")
        bounds = Bounds(entries=1) if init else Bounds()
        entry, inner = self.sequence(ctx, count, None, [], states)
        if init is not None:
            language = self.language()
            states[init] = self.mark({"Type": "Pass", "Assign": assign, "Next": entry}, language)
            entry = init
        _prune(entry, states)
        return {"StartAt": entry, "States": dict(states)}, bounds + inner

    def sequence(
        self,
        ctx: Graph,
        count: int,
        follow: str | None,
        escapes: list[str],
        states: dict[str, Body],
    ) -> tuple[str, Bounds]:
        """`count` blocks in a row; the last goes to `follow` (None: it ends the graph).

        Choices and Catches may jump to any later block, to `follow` or to `escapes`, never
        back: with loops' back edges the only exception, bounds add up block by block.
        """
        kinds = [self.block_kind(ctx, last=i == count - 1 and follow is None) for i in range(count)]
        names = [self.name(_ENTRY_NAMES[kind]) for kind in kinds]
        tails: list[str] = []
        if follow is None and self.flip(2):
            tail = self.name("Fail")
            language = self.language()
            states[tail] = self.mark(self.fail_body(ctx, language), language)
            tails.append(tail)
        total = Bounds(entries=len(tails))
        for index, kind in enumerate(kinds):
            nxt = names[index + 1] if index + 1 < count else follow
            later = names[index + 1 :] + ([follow] if follow else []) + tails + escapes
            total += self.block(kind, names[index], ctx, nxt, later, states)
        return names[0], total

    def block_kind(self, ctx: Graph, *, last: bool) -> str:
        kinds = ["pass", "task"]
        if not last:
            kinds.append("choice")
        if self.options.allow_waits:
            kinds.append("wait")
        if ctx.depth < self.options.max_depth:
            kinds.append("parallel")
            if "items" in ctx.shape or "plan" in ctx.shape:
                kinds.append("map")
        if self.options.allow_loops and ctx.loops < 2 and self.options.max_loop > 0:
            kinds.append("loop")
        if last:
            kinds += ["succeed", "fail"]
        return self.pick(kinds)

    def block(
        self,
        kind: str,
        name: str,
        ctx: Graph,
        nxt: str | None,
        later: list[str],
        states: dict[str, Body],
    ) -> Bounds:
        from tests.generated import containers, tasks  # they build on this module

        if kind == "loop":
            return self.loop(name, ctx, nxt, later, states)
        language = self.language()
        self.features.add(_TYPES[kind])
        if language == JSONATA:
            self.features.add(f"JSONata.{_TYPES[kind]}")
        bounds = Bounds(entries=1)
        if kind == "pass":
            body = self.pass_body(ctx, language)
        elif kind == "task":
            body, bounds = tasks.task_body(self, ctx, language, later)
        elif kind == "choice":
            assert nxt is not None
            body = self.choice_body(ctx, language, nxt, later)
        elif kind == "wait":
            body = self.wait_body(ctx, language)
            bounds = Bounds(entries=1, timers=1)
        elif kind == "parallel":
            body, bounds = containers.parallel_body(self, ctx, language, later)
        elif kind == "map":
            body, bounds = containers.map_body(self, ctx, language, later)
        elif kind == "succeed":
            body = self.succeed_body(ctx, language)
        else:
            body = self.fail_body(ctx, language)
        if kind not in ("choice", "succeed", "fail"):
            if nxt is None:
                body["End"] = True
            else:
                body["Next"] = nxt
        states[name] = self.mark(body, language)
        return bounds

    # -- loops ---------------------------------------------------------------------------------

    def loop(
        self, init: str, ctx: Graph, nxt: str | None, later: list[str], states: dict[str, Body]
    ) -> Bounds:
        """Init -> Check -(counter < K)-> body... -> Inc -> Check; Check's Default exits."""
        language = self.language()
        number = self.counter
        check, inc = self.name("LoopCheck"), self.name("LoopInc")
        counter = f"loop{number}"
        exit_to = nxt
        extra = Bounds()
        if exit_to is None:
            exit_to = self.name("LoopExit")
            states[exit_to] = self.mark({"Type": "Pass", "End": True}, language)
            extra = Bounds(entries=1)
        times = self.integer(0, self.options.max_loop)
        in_data = self.flip(2)
        self.features.add(f"loop.{'data' if in_data else 'variable'}")
        body_ctx = replace(ctx, repeat=True, loops=ctx.loops + 1)
        count = self.draw(st.integers(1, max(1, self.options.max_states - ctx.depth - 1)))
        body, inner = self.sequence(body_ctx, count, inc, [exit_to, *later], states)
        if language == JSONATA:
            if in_data:
                start: Body = {"Output": f"{{% $merge([$states.input, {{'{counter}': 0}}]) %}}"}
                value = f"$states.input.{counter}"
                test = f"$type({value}) = 'number' and {value} < {times}"
                step: Body = {
                    "Output": f"{{% $merge([$states.input, {{'{counter}': {value} + 1}}]) %}}"
                }
            else:
                start = {"Assign": {counter: 0}}
                test = f"${counter} < {times}"
                step = {"Assign": {counter: f"{{% ${counter} + 1 %}}"}}
            choices: list[JSON] = [{"Condition": f"{{% {test} %}}", "Next": body}]
        elif in_data:
            start = {"Result": {"i": 0}, "ResultPath": f"$.{counter}"}
            value = f"$.{counter}.i"
            choices = [
                {"Not": {"Variable": value, "IsPresent": True}, "Next": exit_to},
                {"Not": {"Variable": value, "IsNumeric": True}, "Next": exit_to},
                {"Variable": value, "NumericLessThan": times, "Next": body},
            ]
            step = {
                "Parameters": {"i.$": f"States.MathAdd({value}, 1)"},
                "ResultPath": f"$.{counter}",
            }
        else:
            start = {"Assign": {counter: 0}}
            choices = [{"Variable": f"${counter}", "NumericLessThan": times, "Next": body}]
            step = {"Assign": {f"{counter}.$": f"States.MathAdd(${counter}, 1)"}}
        states[init] = self.mark({"Type": "Pass", **start, "Next": check}, language)
        states[check] = self.mark(
            {"Type": "Choice", "Choices": choices, "Default": exit_to}, language
        )
        states[inc] = self.mark({"Type": "Pass", **step, "Next": check}, language)
        self.features.update({"Choice", "Pass", "loop"})
        return extra + Bounds(entries=2 + times) + (inner + Bounds(entries=1)) * times

    # -- the eight state types ------------------------------------------------------------------

    def pass_body(self, ctx: Graph, language: str) -> Body:
        body: Body = {"Type": "Pass"}
        if language == JSONATA:
            if self.flip(2):
                value = self.draw(ex.jsonata_values(ctx.shape, ctx.variables))
                body["Output"] = f"{{% $merge([$states.input, {{'res': {value}}}]) %}}"
            elif self.disruptive():
                body["Output"] = self.draw(ex.literals)
            assign = fields.jsonata_assign(self, ctx, "$states.input")
        else:
            shape = ctx.shape
            produced = self.pick(["input", "result", "parameters"])
            if self.flip(8):
                body["InputPath"] = "$"
                self.features.add("InputPath")
            elif produced == "parameters" and "obj" in shape and self.flip(4):
                body["InputPath"] = "$.obj"
                shape = ex.OBJ_SHAPE
                self.features.add("InputPath")
            elif produced == "parameters" and self.flip(10):
                body["InputPath"] = "$$.Execution.Input"
                shape = ex.standard_shape(self.options.max_depth)
                self.features.add("InputPath.context")
            if produced == "result":
                body["Result"] = self.draw(ex.literals)
            elif produced == "parameters":
                body["Parameters"] = fields.template(self, shape, ctx.variables)
                self.features.add("Parameters")
            if produced != "input":
                body.update(fields.result_path(self))
            elif self.flip(4):
                # The input as the result: only `null` keeps the data from nesting in itself.
                body["ResultPath"] = None
            body.update(fields.output_path(self))
            reads = shape if produced == "input" else {}
            assign = fields.jsonpath_assign(self, ctx, reads)
        if assign:
            body["Assign"] = assign
        return body

    def succeed_body(self, ctx: Graph, language: str) -> Body:
        body: Body = {"Type": "Succeed"}
        if language == JSONATA:
            if self.flip(3):
                value = self.draw(ex.jsonata_values(ctx.shape, ctx.variables))
                body["Output"] = f"{{% {{'done': {value}}} %}}"
        else:
            body.update(fields.output_path(self))
        return body

    def fail_body(self, ctx: Graph, language: str) -> Body:
        self.features.add("Fail")
        body: Body = {"Type": "Fail"}
        if language == JSONATA:
            if self.flip(3) and ex.jsonata_paths(ctx.shape, ex.INT):
                path = self.pick(ex.jsonata_paths(ctx.shape, ex.INT))
                body["Error"] = f"{{% 'E' & $string({path}) %}}"
            elif self.flip(4):
                body["Error"] = self.pick(FAIL_ERRORS)
            if self.flip(2):
                body["Cause"] = self.pick(["it broke", "{% $string($states.input) %}"])
            return body
        if self.flip(3):
            strings = ex.paths(ctx.shape, ex.STR) + ex.paths(ctx.shape, ex.INT)
            if strings:
                path = self.pick(strings)
                body["ErrorPath"] = self.pick([path, f"States.Format('E{{}}', {path})"])
                self.features.add("Fail.ErrorPath")
        elif self.flip(4):
            body["Error"] = self.pick(FAIL_ERRORS)
        if self.flip(3):
            body["CausePath"] = self.pick(["$.s", "States.JsonToString($.obj)", "$$.State.Name"])
            self.features.add("Fail.CausePath")
        elif self.flip(2):
            body["Cause"] = "it broke"
        if body.get("CausePath") in ("$.s", "States.JsonToString($.obj)") and (
            "s" not in ctx.shape or "obj" not in ctx.shape
        ):
            body["CausePath"] = "$$.State.Name"
        return body

    def choice_body(self, ctx: Graph, language: str, nxt: str, later: list[str]) -> Body:
        rules: list[JSON] = []
        for _ in range(self.integer(1, 3)):
            target = self.pick(later)
            if language == JSONATA:
                condition = self.draw(ex.jsonata_conditions(ctx.shape, ctx.variables))
                rule: Body = {"Condition": f"{{% {condition} %}}", "Next": target}
                if self.flip(4):
                    value = self.draw(ex.jsonata_values(ctx.shape, ctx.variables))
                    rule["Output"] = f"{{% $merge([$states.input, {{'res': {value}}}]) %}}"
                assign = fields.jsonata_assign(self, ctx, "$states.input")
            else:
                rule = {**self.draw(ex.choice_rules(ctx.shape, ctx.variables)), "Next": target}
                assign = fields.jsonpath_assign(self, ctx, ctx.shape)
            if assign:
                rule["Assign"] = assign
            rules.append(rule)
        body: Body = {"Type": "Choice", "Choices": rules}
        if language == JSONPATH:
            if self.flip(8):
                body["InputPath"] = "$"
            body.update(fields.output_path(self))
        elif self.flip(6):
            body["Output"] = "{% $merge([$states.input, {'chosen': true}]) %}"
        if not self.flip(8):
            body["Default"] = nxt
        else:
            self.features.add("Choice.no_default")
        return body

    def wait_body(self, ctx: Graph, language: str) -> Body:
        body: Body = {"Type": "Wait"}
        kinds = ["Seconds", "Timestamp"]
        if "secs" in ctx.shape:
            kinds.append("SecondsPath")
        if "ts" in ctx.shape:
            kinds.append("TimestampPath")
        kind = self.pick(kinds)
        self.features.add(f"Wait.{kind}")
        if kind == "Seconds":
            body["Seconds"] = self.draw(st.sampled_from([0, 1, 5, 60, 3600, 86_400 * 30]))
        elif kind == "Timestamp":
            body["Timestamp"] = self.draw(ex.timestamps)
        elif language == JSONATA:
            field_name = kind.removesuffix("Path")
            value = "$states.input.secs" if kind == "SecondsPath" else "$states.input.ts"
            body[field_name] = f"{{% {value} %}}"
        else:
            body[kind] = "$.secs" if kind == "SecondsPath" else "$.ts"
        if language == JSONATA:
            assign = fields.jsonata_assign(self, ctx, "$states.input")
        else:
            body.update(fields.output_path(self))
            assign = fields.jsonpath_assign(self, ctx, ctx.shape)
        if assign:
            body["Assign"] = assign
        return body

    def pick_object(self, options: list[Body]) -> Body:
        return dict(options[self.draw(st.integers(0, len(options) - 1))])

    def pick_number(self, options: list[int]) -> int:
        return options[self.draw(st.integers(0, len(options) - 1))]


_ENTRY_NAMES = {
    "pass": "Pass",
    "task": "Task",
    "choice": "Choice",
    "wait": "Wait",
    "parallel": "Parallel",
    "map": "Map",
    "succeed": "Succeed",
    "fail": "Fail",
    "loop": "LoopInit",
}
_TYPES = {kind: name for kind, name in _ENTRY_NAMES.items() if kind != "loop"}


@functools.cache
def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def retries(retriers: list[JSON]) -> int:
    """The most retries a state can make: each retrier counts its own attempts."""
    total = 0
    for retrier in retriers:
        assert isinstance(retrier, dict)
        attempts = retrier.get("MaxAttempts", 3)
        assert isinstance(attempts, int)
        total += attempts
    return total


def _targets(body: Mapping[str, JSON]) -> list[str]:
    found = [body[key] for key in ("Next", "Default") if key in body]
    for key in ("Choices", "Catch"):
        for rule in body.get(key) or []:  # type: ignore[union-attr]
            if isinstance(rule, dict) and "Next" in rule:
                found.append(rule["Next"])
    return [target for target in found if isinstance(target, str)]


def _prune(start: str, states: dict[str, Body]) -> None:
    """Drop the states nothing reaches (a validator error), e.g. after a Choice without Default."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in states:
            continue
        seen.add(name)
        todo.extend(_targets(states[name]))
    for name in list(states):
        if name not in seen:
            del states[name]
