"""Compile a validated definition into the immutable `Machine` the interpreter runs.

Owns: turning the definition's JSON into frozen, slotted runtime values, once per definition
revision: every path, payload template, intrinsic call and Choice rule is compiled here, so no
execution and no state entry ever parses text again. Must never: validate (validate.py reports
problems with locations; `compile_machine` assumes a definition that validated and raises
`DefinitionInvalid` only as a backstop), do I/O, or read a clock.

Graphs: the top level, each Parallel branch and each Map processor is a `Graph` (StartAt plus its
own States). Every graph has a key, the JSON pointer of its node in the definition ("" for the top
level, "/States/P/Branches/0", "/States/M/ItemProcessor"), so an execution's frames can name the
graph they run in with a plain string (which is what makes frames storable).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol, TypeAlias, TypeVar, dataclass_transform

from engine.definition.diagnostics import Diagnostic, join_pointer
from engine.definition.jsonata_value import JsonataValue
from engine.definition.paths import Path, PathNoMatch, compile_path, compile_reference_path
from engine.definition.placeholders import placeholder_in, unresolved_fields
from engine.definition.scope import Scope
from engine.definition.templates import Template, compile_template, parameter_path_cause
from engine.definition.validate_fields import MAX_STATE_NESTING
from engine.errors import STATES_RUNTIME, DefinitionInvalid, ExpressionSyntaxError, StatesError
from engine.values import JSON

if TYPE_CHECKING:
    from engine.definition.choice import ChoiceRule
    from engine.definition.distributed import DistributedSpec

# Choice rules (choice.py) and intrinsic calls (intrinsics.py) are compiled by modules imported
# where the first one is met: a machine without them never loads them (start-up time).

JSONPATH = "JSONPath"
JSONATA = "JSONata"

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


AssignProgram: TypeAlias = "Template | JsonataValue"
"""A compiled Assign: a payload template (JSONPath `.$` keys) or a JSONata value ({% %})."""

# JSONata fields each state type may hold, compiled for JSONata states (Assign and the Choice
# rule/Catch fields are compiled separately). Keyed by field name in `State.jsonata`.
JSONATA_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Pass": ("Output",),
    "Succeed": ("Output",),
    "Fail": ("Error", "Cause"),
    "Choice": ("Output",),
    "Wait": ("Output", "Seconds", "Timestamp"),
    "Task": ("Output", "Arguments", "TimeoutSeconds", "HeartbeatSeconds"),
    "Parallel": ("Output", "Arguments"),
    "Map": (
        "Output",
        "Items",
        "ItemSelector",
        "MaxConcurrency",
        "ToleratedFailurePercentage",
        "ToleratedFailureCount",
        # Distributed Map I/O, each compiled whole (distributed.py): `{% %}` anywhere inside
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
    ),
}

# `$states.input`, `.result` and `.errorOutput` do not need the context object; any other use of
# `$states` (`$states.context`, `$states` itself) does.
_STATES_CONTEXT = re.compile(r"\$states(?!\s*\.\s*(?:input|result|errorOutput)\b)")


_State = TypeVar("_State")


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def _state_class(cls: type[_State]) -> type[_State]:
    """A compiled state's class: frozen to the type checker (mypy rejects any assignment to a
    field), a plain slotted dataclass at run time. `frozen=True` would generate and compile
    `__hash__`, `__setattr__` and `__delattr__` and a slower `__init__` for each of the nine
    classes, their ~210 fields in all: about 5 % of `asl run`'s start-up (33 M of ~630 M
    instructions, bench/process_bench.py). Equality and repr stay a dataclass's; a state was
    never hashable (its `raw` is a dict) and still is not."""
    return dataclass(slots=True, kw_only=True)(cls)


class Expression(Protocol):
    """Anything that yields a value from the state's data: a path or an intrinsic call."""

    def evaluate(self, data: JSON, scope: Scope) -> JSON: ...


@dataclass(frozen=True, slots=True)
class PathExpression:
    """A path used where AWS also allows an intrinsic function (ErrorPath, CausePath).

    A path that selects nothing is AWS's States.Runtime naming the field, as for a `.$` key
    (recorded: test_base_scenarios.py::test_invalid_jsonpath[INVALID_JSONPATH_IN_ERRORPATH]).
    """

    path: Path
    field_name: str

    def evaluate(self, data: JSON, scope: Scope) -> JSON:
        try:
            return self.path.find(data, scope)
        except PathNoMatch:
            cause = parameter_path_cause(self.path.text, self.field_name, data)
            raise StatesError(STATES_RUNTIME, cause) from None


@dataclass(frozen=True, slots=True)
class Retrier:
    """One Retry entry: the errors it matches and its back-off."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_full: bool = False


@dataclass(frozen=True, slots=True)
class Catcher:
    """One Catch entry: the errors it matches, where it goes and what it keeps."""

    error_equals: tuple[str, ...]
    next: str
    result_path: Path | None
    assign: JSON = None
    output: JSON = None
    has_output: bool = False
    assign_program: AssignProgram | None = None
    output_value: JsonataValue | None = None


@_state_class
class State:
    """Fields every state has. Subclasses add the fields of their `Type`."""

    name: str
    type: str
    next: str | None = None
    query_language: str = JSONPATH
    comment: str | None = None
    input_path: Path | None = None
    output_path: Path | None = None
    assign: JSON = None
    output: JSON = None
    has_output: bool = False
    uses_context: bool = False
    entered_type: str = ""
    exited_type: str = ""
    raw: Mapping[str, JSON] = field(default_factory=dict, repr=False)
    # JSONata states: the compiled value of each JSONATA_FIELDS field present, by field name.
    jsonata: Mapping[str, JsonataValue] = field(default_factory=dict, repr=False)
    # Assign in either query language (None when the state has none, or it is `{}`).
    assign_program: AssignProgram | None = None
    # (JSON pointer, placeholder) of each typed field still holding a `${Name}` placeholder
    # (placeholders.py); the interpreter fails the state with States.Runtime on entry.
    unresolved: tuple[tuple[str, str], ...] = ()

    @property
    def end(self) -> bool:
        return self.next is None


@_state_class
class PassState(State):
    """A Pass state: passes its input (or `Result`) on, shaped by its paths."""

    result: JSON = None
    has_result: bool = False
    parameters: Template | None = None
    result_path: Path | None = None


def _is_dollar(path: Path | None) -> bool:
    """Whether a compiled path is `$`, the default: it selects (or replaces) the whole value."""
    return path is not None and path.root == "data" and path.steps == ()


@_state_class
class TaskState(State):
    """A Task state: a resource to call, with its timeouts, Retry and Catch."""

    resource: str
    parameters: Template | None = None
    result_selector: Template | None = None
    result_path: Path | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    timeout_seconds: float | None = None
    timeout_seconds_path: Path | None = None
    heartbeat_seconds: float | None = None
    heartbeat_seconds_path: Path | None = None
    credentials: JSON = None
    arguments: JSON = None
    # What the Resource is, read from it once here (a Task transition asks five times).
    is_lambda_function: bool = field(init=False, repr=False, compare=False)
    """A Lambda function ARN as Resource: AWS records LambdaFunction* history events."""
    is_activity: bool = field(init=False, repr=False, compare=False)
    """An activity ARN as Resource: workers poll for it (GetActivityTask)."""
    waits_for_token: bool = field(init=False, repr=False, compare=False)
    """A `.waitForTaskToken` integration: the Task waits for a callback."""
    waits_for_child: bool = field(init=False, repr=False, compare=False)
    """`states:startExecution.sync` or `.sync:2`: the Task starts a child execution and
    completes when the child closes (docs/nested-executions.md)."""
    plain_io: bool = field(init=False, repr=False, compare=False)
    """JSONPath data flow with every field at its default (InputPath, ResultPath and
    OutputPath `$`; no Parameters, ResultSelector, Assign, `$$` or `*SecondsPath`): the
    effective input is the state input and the output is the result, so the interpreter
    skips the scope and the path walks (states.py `run_task`, `complete_task`)."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "plain_io",
            self.query_language == JSONPATH
            and _is_dollar(self.input_path)
            and _is_dollar(self.output_path)
            and _is_dollar(self.result_path)
            and self.parameters is None
            and self.result_selector is None
            and self.assign_program is None
            and not self.uses_context
            and self.timeout_seconds_path is None
            and self.heartbeat_seconds_path is None
            and not self.unresolved,
        )
        resource = self.resource
        object.__setattr__(self, "is_lambda_function", resource.startswith("arn:aws:lambda:"))
        object.__setattr__(
            self,
            "is_activity",
            resource.startswith("arn:aws:states:") and ":activity:" in resource,
        )
        object.__setattr__(self, "waits_for_token", resource.endswith(".waitForTaskToken"))
        object.__setattr__(
            self,
            "waits_for_child",
            resource
            in (
                "arn:aws:states:::states:startExecution.sync",
                "arn:aws:states:::states:startExecution.sync:2",
                MAP_RUN_CHILD_RESOURCE,
            ),
        )


@dataclass(frozen=True, slots=True)
class ChoiceBranch:
    """One Choices rule (JSONPath) or Condition (JSONata) and the state it goes to."""

    rule: ChoiceRule | None
    next: str
    condition: JSON = None
    assign: JSON = None
    output: JSON = None
    has_output: bool = False
    condition_value: JsonataValue | None = None
    assign_program: AssignProgram | None = None
    output_value: JsonataValue | None = None


@_state_class
class ChoiceState(State):
    """A Choice state: its branches in order, and the Default."""

    choices: tuple[ChoiceBranch, ...] = ()
    default: str | None = None


@_state_class
class WaitState(State):
    """A Wait state: seconds or a timestamp, given or read from the input."""

    seconds: JSON = None
    timestamp: JSON = None
    seconds_path: Path | None = None
    timestamp_path: Path | None = None


@_state_class
class SucceedState(State):
    """A Succeed state: ends the execution (or its branch) successfully."""


@_state_class
class FailState(State):
    """A Fail state: ends the execution (or its branch) with an error and a cause."""

    error: JSON = None
    cause: JSON = None
    error_path: Expression | None = None
    cause_path: Expression | None = None


@dataclass(frozen=True, slots=True)
class Graph:
    """A StartAt and its States: the top level, a Parallel branch or a Map processor."""

    key: str
    start_at: str
    states: Mapping[str, State]


@_state_class
class ParallelState(State):
    """A Parallel state: its branches, run together on the same input."""

    branches: tuple[Graph, ...] = ()
    parameters: Template | None = None
    arguments: JSON = None
    result_selector: Template | None = None
    result_path: Path | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


def _no_distributed_io() -> DistributedSpec:
    from engine.definition.distributed import DistributedSpec

    return DistributedSpec()


@_state_class
class MapState(State):
    """A Map state, inline or Distributed: its item processor and how items reach it."""

    processor: Graph
    distributed: bool = False
    execution_type: str = "STANDARD"
    label: str | None = None
    items_path: Path | None = None
    items: JSON = None
    item_selector: Template | None = None
    item_selector_raw: JSON = None
    max_concurrency: int = 0
    max_concurrency_path: Path | None = None
    max_concurrency_raw: JSON = None
    tolerated_failure_percentage: float | None = None
    tolerated_failure_percentage_path: Path | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_count_path: Path | None = None
    tolerated_raw: Mapping[str, JSON] = field(default_factory=dict)
    io: DistributedSpec = field(default_factory=_no_distributed_io)  # ItemReader, Batcher, Writer
    result_selector: Template | None = None
    result_path: Path | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    child_graph_key: str = ""
    """A Distributed Map: the graph of one item when it runs as a child execution (a single
    Task that starts the child, `MAP_RUN_CHILD_RESOURCE`; docs/distributed-map.md)."""


MAP_RUN_CHILD_RESOURCE = "arn:aws:states:::states:startExecution.mapRunChild"
"""The engine's own resource of a Distributed Map item run as a child execution. Never valid in
a definition (validate refuses the suffix); the interpreter builds its Task (`child_graph`)."""
MAP_RUN_CHILD_STATE = "MapRunChild"
CHILD_GRAPH_SUFFIX = "#child"


@dataclass(frozen=True, slots=True)
class Machine:
    """A compiled state machine: its graphs and top-level settings."""

    root: Graph
    graphs: Mapping[str, Graph]
    query_language: str = JSONPATH
    timeout_seconds: float | None = None
    comment: str | None = None
    definition: Mapping[str, JSON] = field(default_factory=dict, repr=False)


def compile_machine(definition: Mapping[str, JSON]) -> Machine:
    """Compile a definition that passed validation. Raises `DefinitionInvalid` as a backstop."""
    compiler = _Compiler()
    timeout_placeholder = placeholder_in(definition.get("TimeoutSeconds"))
    if timeout_placeholder is not None:
        # The machine's own TimeoutSeconds cannot be honoured: the first state refuses to run.
        compiler.root_unresolved = (("/TimeoutSeconds", timeout_placeholder),)
    query_language = str(definition.get("QueryLanguage", JSONPATH))
    try:
        root = compiler.graph("", definition, query_language)
    except _CompileError as exc:
        diagnostic = Diagnostic("SCHEMA_VALIDATION_FAILED", exc.message, exc.location)
        raise DefinitionInvalid([diagnostic]) from None
    timeout = definition.get("TimeoutSeconds")
    return Machine(
        root=root,
        graphs=compiler.graphs,
        query_language=query_language,
        timeout_seconds=float(timeout) if isinstance(timeout, int | float) else None,
        comment=_opt_str(definition.get("Comment")),
        definition=definition,
    )


class _CompileError(Exception):
    def __init__(self, message: str, location: str) -> None:
        super().__init__(message)
        self.message = message
        self.location = location


def _opt_str(value: JSON) -> str | None:
    return value if isinstance(value, str) else None


def _opt_int(value: JSON, default: int) -> int:
    """An integer field, or `default` (a `${Name}` placeholder fails the state on entry)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


def _opt_number(value: JSON) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class _Compiler:
    def __init__(self) -> None:
        self.graphs: dict[str, Graph] = {}
        self.root_unresolved: tuple[tuple[str, str], ...] = ()
        self.depth = 0  # Parallel/Map states enclosing the graph being compiled

    def graph(self, key: str, node: Mapping[str, JSON], query_language: str) -> Graph:
        # A backstop for definitions that skipped validation: this compiler recurses per level.
        if self.depth > MAX_STATE_NESTING:
            raise _CompileError(
                f"Parallel and Map states nest more than {MAX_STATE_NESTING} levels deep", key
            )
        self.depth += 1
        try:
            return self._graph(key, node, query_language)
        finally:
            self.depth -= 1

    def _graph(self, key: str, node: Mapping[str, JSON], query_language: str) -> Graph:
        states_node = node.get("States")
        if not isinstance(states_node, dict):
            raise _CompileError("States must be an object", join_pointer(key, "States"))
        states: dict[str, State] = {}
        for name, raw in states_node.items():
            if not isinstance(raw, dict):
                raise _CompileError("a state must be an object", join_pointer(key, "States", name))
            states[name] = self.state(join_pointer(key, "States", name), name, raw, query_language)
        graph = Graph(key=key, start_at=str(node.get("StartAt")), states=states)
        if key == "" and self.root_unresolved and graph.start_at in states:
            first = states[graph.start_at]
            states[graph.start_at] = replace(
                first, unresolved=self.root_unresolved + first.unresolved
            )
        self.graphs[key] = graph
        return graph

    def _child_graph(self, processor_key: str) -> str:
        """The one-Task graph an item of a Distributed Map runs when it is a child execution:
        its input is the start request (`MapRunArn`, `Index`, `Input`, ...), its result the
        child's output, its failure the child's error and cause."""
        key = processor_key + CHILD_GRAPH_SUFFIX
        task = TaskState(
            name=MAP_RUN_CHILD_STATE,
            type="Task",
            resource=MAP_RUN_CHILD_RESOURCE,
            input_path=compile_path("$"),
            output_path=compile_path("$"),
            result_path=compile_reference_path("$"),
            entered_type="TaskStateEntered",
            exited_type="TaskStateExited",
        )
        self.graphs[key] = Graph(key=key, start_at=MAP_RUN_CHILD_STATE, states={task.name: task})
        return key

    # -- fields -------------------------------------------------------------------------------

    def _path(
        self, raw: Mapping[str, JSON], field_name: str, loc: str, default: str | None
    ) -> Path | None:
        """A path field: absent -> `default` compiled; JSON null -> None (AWS: use `{}`)."""
        if field_name not in raw:
            return compile_path(default) if default is not None else None
        value = raw[field_name]
        if value is None:
            return None
        try:
            return compile_path(str(value))
        except ExpressionSyntaxError as exc:
            raise _CompileError(exc.message, join_pointer(loc, field_name)) from None

    def _reference_path(self, raw: Mapping[str, JSON], field_name: str, loc: str) -> Path | None:
        if field_name not in raw:
            return compile_reference_path("$")
        value = raw[field_name]
        if value is None:
            return None
        try:
            return compile_reference_path(str(value))
        except ExpressionSyntaxError as exc:
            raise _CompileError(exc.message, join_pointer(loc, field_name)) from None

    def _template(self, raw: Mapping[str, JSON], field_name: str, loc: str) -> Template | None:
        if field_name not in raw:
            return None
        try:
            return compile_template(raw[field_name])
        except ExpressionSyntaxError as exc:
            raise _CompileError(exc.message, join_pointer(loc, field_name)) from None

    def _expression(self, raw: Mapping[str, JSON], field_name: str, loc: str) -> Expression | None:
        value = raw.get(field_name)
        if not isinstance(value, str):
            return None
        from engine.definition.intrinsics import is_intrinsic, parse_intrinsic

        try:
            if is_intrinsic(value):
                return parse_intrinsic(value)
            return PathExpression(compile_path(value), field_name)
        except ExpressionSyntaxError as exc:
            raise _CompileError(exc.message, join_pointer(loc, field_name)) from None

    def _jsonata(
        self, raw: Mapping[str, JSON], field_name: str, loc: str, ql: str
    ) -> JsonataValue | None:
        """A field of a JSONata state compiled with its `{% %}` expressions (None if absent)."""
        if ql != JSONATA or field_name not in raw:
            return None
        # Here only, so that a JSONPath machine never loads jsonata-python (~20 ms at start-up).
        from engine.definition.jsonata import compile_value

        try:
            return compile_value(raw[field_name], field_name)
        except ExpressionSyntaxError as exc:
            raise _CompileError(exc.message, join_pointer(loc, field_name)) from None

    def _jsonata_fields(
        self, kind: str, raw: Mapping[str, JSON], loc: str, ql: str
    ) -> dict[str, JsonataValue]:
        compiled: dict[str, JsonataValue] = {}
        for name in JSONATA_FIELDS.get(kind, ()):
            value = self._jsonata(raw, name, loc, ql)
            if value is not None:
                compiled[name] = value
        return compiled

    def _assign(self, raw: Mapping[str, JSON], loc: str, ql: str) -> AssignProgram | None:
        """Assign compiled for the state's language; None when absent or empty."""
        value = raw.get("Assign")
        if not isinstance(value, dict) or not value:
            return None
        if ql == JSONATA:
            return self._jsonata(raw, "Assign", loc, ql)
        try:
            return compile_template(value)
        except ExpressionSyntaxError as exc:
            raise _CompileError(exc.message, join_pointer(loc, "Assign")) from None

    def _retriers(self, raw: Mapping[str, JSON]) -> tuple[Retrier, ...]:
        retriers = []
        items = raw.get("Retry")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            jitter = item.get("JitterStrategy", "NONE")
            retriers.append(
                Retrier(
                    error_equals=tuple(str(e) for e in item.get("ErrorEquals") or []),  # type: ignore[union-attr]
                    interval_seconds=_opt_number(item.get("IntervalSeconds")) or 1.0,
                    max_attempts=_opt_int(item.get("MaxAttempts"), 3),
                    backoff_rate=_opt_number(item.get("BackoffRate")) or 2.0,
                    max_delay_seconds=_opt_number(item.get("MaxDelaySeconds")),
                    jitter_full=jitter == "FULL",
                )
            )
        return tuple(retriers)

    def _catchers(self, raw: Mapping[str, JSON], loc: str, ql: str) -> tuple[Catcher, ...]:
        catchers = []
        for index, item in enumerate(raw.get("Catch") or []):  # type: ignore[arg-type]
            if not isinstance(item, dict):
                continue
            at = join_pointer(loc, "Catch", index)
            catchers.append(
                Catcher(
                    error_equals=tuple(str(e) for e in item.get("ErrorEquals") or []),  # type: ignore[union-attr]
                    next=str(item.get("Next")),
                    result_path=self._reference_path(item, "ResultPath", at),
                    assign=item.get("Assign"),
                    output=item.get("Output"),
                    has_output="Output" in item,
                    assign_program=self._assign(item, at, ql),
                    output_value=self._jsonata(item, "Output", at, ql),
                )
            )
        return tuple(catchers)

    # -- states -------------------------------------------------------------------------------

    def state(self, loc: str, name: str, raw: Mapping[str, JSON], inherited_ql: str) -> State:
        kind = str(raw.get("Type"))
        ql = str(raw.get("QueryLanguage", inherited_ql))
        jsonpath = ql == JSONPATH
        text = json.dumps(raw)
        unresolved = unresolved_fields(raw, loc)
        common: dict[str, object] = {
            "name": name,
            "type": kind,
            "next": _opt_str(raw.get("Next")),
            "query_language": ql,
            "comment": _opt_str(raw.get("Comment")),
            "input_path": self._path(raw, "InputPath", loc, "$") if jsonpath else None,
            "output_path": self._path(raw, "OutputPath", loc, "$") if jsonpath else None,
            "assign": raw.get("Assign"),
            "output": raw.get("Output"),
            "has_output": "Output" in raw,
            # Building the $$ object costs on every entry; only states that mention it pay.
            "uses_context": "$$" in text or bool(_STATES_CONTEXT.search(text)),
            "entered_type": f"{kind}StateEntered",
            "exited_type": f"{kind}StateExited",
            "raw": raw,
            "jsonata": self._jsonata_fields(kind, raw, loc, ql),
            "assign_program": self._assign(raw, loc, ql),
            "unresolved": unresolved,
        }
        if kind == "Pass":
            return PassState(
                **common,  # type: ignore[arg-type]
                result=raw.get("Result"),
                has_result="Result" in raw,
                parameters=self._template(raw, "Parameters", loc) if jsonpath else None,
                result_path=self._reference_path(raw, "ResultPath", loc) if jsonpath else None,
            )
        if kind == "Task":
            return TaskState(
                **common,  # type: ignore[arg-type]
                resource=str(raw.get("Resource")),
                parameters=self._template(raw, "Parameters", loc) if jsonpath else None,
                result_selector=self._template(raw, "ResultSelector", loc) if jsonpath else None,
                result_path=self._reference_path(raw, "ResultPath", loc) if jsonpath else None,
                retry=self._retriers(raw),
                catch=self._catchers(raw, loc, ql),
                timeout_seconds=_opt_number(raw.get("TimeoutSeconds")),
                timeout_seconds_path=self._path(raw, "TimeoutSecondsPath", loc, None),
                heartbeat_seconds=_opt_number(raw.get("HeartbeatSeconds")),
                heartbeat_seconds_path=self._path(raw, "HeartbeatSecondsPath", loc, None),
                credentials=raw.get("Credentials"),
                arguments=raw.get("Arguments"),
            )
        if kind == "Choice":
            branches = []
            for index, rule in enumerate(raw.get("Choices") or []):  # type: ignore[arg-type]
                if not isinstance(rule, dict):
                    continue
                compiled: ChoiceRule | None = None
                at = join_pointer(loc, "Choices", index)
                # A rule with a placeholder operand is not compiled: the state refuses to run.
                if jsonpath and not any(where.startswith(at + "/") for where, _ in unresolved):
                    from engine.definition.choice import compile_choice_rule

                    try:
                        compiled = compile_choice_rule(rule)
                    except ExpressionSyntaxError as exc:
                        raise _CompileError(
                            exc.message, join_pointer(loc, "Choices", index)
                        ) from None
                branches.append(
                    ChoiceBranch(
                        rule=compiled,
                        next=str(rule.get("Next")),
                        condition=rule.get("Condition"),
                        assign=rule.get("Assign"),
                        output=rule.get("Output"),
                        has_output="Output" in rule,
                        condition_value=self._jsonata(rule, "Condition", at, ql),
                        assign_program=self._assign(rule, at, ql),
                        output_value=self._jsonata(rule, "Output", at, ql),
                    )
                )
            return ChoiceState(
                **common,  # type: ignore[arg-type]
                choices=tuple(branches),
                default=_opt_str(raw.get("Default")),
            )
        if kind == "Wait":
            return WaitState(
                **common,  # type: ignore[arg-type]
                seconds=raw.get("Seconds"),
                timestamp=raw.get("Timestamp"),
                seconds_path=self._path(raw, "SecondsPath", loc, None),
                timestamp_path=self._path(raw, "TimestampPath", loc, None),
            )
        if kind == "Succeed":
            return SucceedState(**common)  # type: ignore[arg-type]
        if kind == "Fail":
            return FailState(
                **common,  # type: ignore[arg-type]
                error=raw.get("Error"),
                cause=raw.get("Cause"),
                error_path=self._expression(raw, "ErrorPath", loc) if jsonpath else None,
                cause_path=self._expression(raw, "CausePath", loc) if jsonpath else None,
            )
        if kind == "Parallel":
            branches_raw = raw.get("Branches") or []
            graphs = tuple(
                self.graph(join_pointer(loc, "Branches", i), b, inherited_ql)
                for i, b in enumerate(branches_raw)  # type: ignore[arg-type]
                if isinstance(b, dict)
            )
            return ParallelState(
                **common,  # type: ignore[arg-type]
                branches=graphs,
                parameters=self._template(raw, "Parameters", loc) if jsonpath else None,
                arguments=raw.get("Arguments"),
                result_selector=self._template(raw, "ResultSelector", loc) if jsonpath else None,
                result_path=self._reference_path(raw, "ResultPath", loc) if jsonpath else None,
                retry=self._retriers(raw),
                catch=self._catchers(raw, loc, ql),
            )
        if kind == "Map":
            return self._map(loc, raw, ql, inherited_ql, common)
        raise _CompileError(f"unknown state Type {kind!r}", join_pointer(loc, "Type"))

    def _map(
        self,
        loc: str,
        raw: Mapping[str, JSON],
        ql: str,
        inherited_ql: str,
        common: dict[str, object],
    ) -> MapState:
        jsonpath = ql == JSONPATH
        processor_key = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
        processor_raw = raw.get(processor_key)
        if not isinstance(processor_raw, dict):
            raise _CompileError("Map needs an ItemProcessor", join_pointer(loc, "ItemProcessor"))
        config = processor_raw.get("ProcessorConfig")
        config = config if isinstance(config, dict) else {}
        # Nested states inherit the machine-level QueryLanguage, not the Map state's.
        processor = self.graph(join_pointer(loc, processor_key), processor_raw, inherited_ql)
        # Legacy `Parameters` on a Map is the ItemSelector of old (AWS treats them alike).
        selector_field = "ItemSelector" if "ItemSelector" in raw else "Parameters"
        max_concurrency = raw.get("MaxConcurrency", 0)
        tolerated_pct = _opt_number(raw.get("ToleratedFailurePercentage"))
        tolerated_count = raw.get("ToleratedFailureCount")
        # The Distributed Map's module (and its spec classes) load with the first Map: a
        # machine without one never imports them (`asl run`'s start-up).
        from engine.definition.distributed import (
            DISTRIBUTED_FIELDS,
            DistributedSyntaxError,
            compile_distributed,
        )

        try:
            io = compile_distributed(raw, loc, jsonpath)
        except DistributedSyntaxError as exc:
            raise _CompileError(exc.message, exc.location) from None
        # A Map holding a Distributed-only field runs as one (asl-validator's valid
        # map-noconfig has ItemReader and ResultWriter without a ProcessorConfig).
        distributed = config.get("Mode") == "DISTRIBUTED" or any(
            name in raw for name in DISTRIBUTED_FIELDS
        )
        return MapState(
            **common,  # type: ignore[arg-type]
            processor=processor,
            child_graph_key=self._child_graph(processor.key) if distributed else "",
            distributed=distributed,
            execution_type=str(config.get("ExecutionType", "STANDARD")),
            label=_opt_str(raw.get("Label")),
            items_path=self._path(raw, "ItemsPath", loc, "$") if jsonpath else None,
            items=raw.get("Items"),
            item_selector=self._template(raw, selector_field, loc) if jsonpath else None,
            item_selector_raw=raw.get("ItemSelector"),
            max_concurrency=max_concurrency if isinstance(max_concurrency, int) else 0,
            max_concurrency_path=self._path(raw, "MaxConcurrencyPath", loc, None),
            max_concurrency_raw=max_concurrency,
            tolerated_failure_percentage=tolerated_pct,
            tolerated_failure_percentage_path=self._path(
                raw, "ToleratedFailurePercentagePath", loc, None
            ),
            tolerated_failure_count=tolerated_count if isinstance(tolerated_count, int) else None,
            tolerated_failure_count_path=self._path(raw, "ToleratedFailureCountPath", loc, None),
            tolerated_raw={
                k: raw[k]
                for k in ("ToleratedFailurePercentage", "ToleratedFailureCount")
                if k in raw
            },
            io=io,
            result_selector=self._template(raw, "ResultSelector", loc) if jsonpath else None,
            result_path=self._reference_path(raw, "ResultPath", loc) if jsonpath else None,
            retry=self._retriers(raw),
            catch=self._catchers(raw, loc, ql),
        )
