"""State-level validation rules: which fields each state type allows, and the per-type rules.

Owns: the field tables (per state type and query language), the dispatch table from field name
to its value check, and one small generator per state type for the rules that span fields
(Wait's exactly-one-of, Fail's Error/ErrorPath exclusivity, HeartbeatSeconds < TimeoutSeconds,
Map's processor and Distributed Map parts, Express restrictions on Task resources).
Must never: walk the graph of states (validate.py owns transitions, reachability, duplicate
names and nested graphs, and hands this module a `StateContext`), or raise on any JSON input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.definition.validate_choice import check_choices
from engine.definition.validate_fields import (
    INVALID_LABEL_NAME,
    INVALID_RESOURCE,
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    NONE,
    PASS_RESULT_IS_STATIC,
    Diagnostics,
    check_assign,
    check_catch,
    check_enum,
    check_integer,
    check_jsonata_or,
    check_jsonata_value,
    check_number,
    check_path,
    check_path_or_intrinsic,
    check_result_path,
    check_retry,
    check_string,
    check_target,
    check_template,
    check_timestamp,
    error,
    is_jsonata,
    language_hint,
    ptr,
    required,
    unsupported,
    warning,
)
from engine.values import JSON, type_name

GraphWalker = Callable[[JSON, str, str, str], Diagnostics]
"""(graph, location, machine type, what it is: 'branch' | 'processor' | 'iterator')."""


@dataclass(slots=True)
class StateContext:
    """What a state's rules need from the graph walker; one per graph, updated per state."""

    query_language: str
    machine_type: str
    targets: set[str]
    on_next: Callable[[str], None]
    walk_graph: GraphWalker
    labels: dict[str, str] = field(default_factory=dict)


STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
TERMINAL_TYPES = frozenset({"Succeed", "Fail"})
FLOW_TYPES = frozenset({"Task", "Pass", "Wait", "Parallel", "Map"})
"""States that must have exactly one of `Next` and `End: true`."""

_COMMON = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW = frozenset({"Next", "End"})
_PATH_IO = frozenset({"InputPath", "OutputPath"})


def _fields(*groups: frozenset[str], extra: str = "") -> frozenset[str]:
    return frozenset().union(*groups, extra.split())


ALLOWED_FIELDS: dict[str, dict[str, frozenset[str]]] = {
    JSONPATH: {
        "Pass": _fields(_COMMON, _FLOW, _PATH_IO, extra="Parameters ResultPath Result Assign"),
        "Task": _fields(
            _COMMON,
            _FLOW,
            _PATH_IO,
            extra="Resource Parameters ResultSelector ResultPath Retry Catch TimeoutSeconds "
            "TimeoutSecondsPath HeartbeatSeconds HeartbeatSecondsPath Credentials Assign",
        ),
        "Choice": _fields(_COMMON, _PATH_IO, extra="Choices Default Assign"),
        "Wait": _fields(
            _COMMON, _FLOW, _PATH_IO, extra="Seconds SecondsPath Timestamp TimestampPath Assign"
        ),
        "Succeed": _fields(_COMMON, _PATH_IO),
        "Fail": _fields(_COMMON, extra="Error ErrorPath Cause CausePath"),
        "Parallel": _fields(
            _COMMON,
            _FLOW,
            _PATH_IO,
            extra="Branches Parameters ResultSelector ResultPath Retry Catch Assign",
        ),
        "Map": _fields(
            _COMMON,
            _FLOW,
            _PATH_IO,
            extra="ItemProcessor Iterator ItemsPath ItemSelector Parameters ItemReader "
            "ItemBatcher ResultWriter MaxConcurrency MaxConcurrencyPath ToleratedFailurePercentage "
            "ToleratedFailurePercentagePath ToleratedFailureCount ToleratedFailureCountPath Label "
            "ResultPath ResultSelector Retry Catch Assign",
        ),
    },
    JSONATA: {
        "Pass": _fields(_COMMON, _FLOW, extra="Output Assign"),
        "Task": _fields(
            _COMMON,
            _FLOW,
            extra="Resource Arguments Output Retry Catch TimeoutSeconds HeartbeatSeconds "
            "Credentials Assign",
        ),
        "Choice": _fields(_COMMON, extra="Choices Default Output Assign"),
        "Wait": _fields(_COMMON, _FLOW, extra="Seconds Timestamp Output Assign"),
        "Succeed": _fields(_COMMON, extra="Output"),
        "Fail": _fields(_COMMON, extra="Error Cause"),
        "Parallel": _fields(_COMMON, _FLOW, extra="Branches Arguments Output Retry Catch Assign"),
        "Map": _fields(
            _COMMON,
            _FLOW,
            extra="ItemProcessor Items ItemSelector ItemReader ItemBatcher ResultWriter "
            "MaxConcurrency ToleratedFailurePercentage ToleratedFailureCount Label Output Retry "
            "Catch Assign",
        ),
    },
}

FieldCheck = Callable[[JSON, str, StateContext], Diagnostics]


# --- single-field checks ---------------------------------------------------------------------
def _comment(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    return check_string(value, loc, "Comment")


def _next(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    return check_target(value, loc, ctx.targets, ctx.on_next)


def _end(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    if isinstance(value, bool):
        return NONE
    return (error(f"The value of 'End' must be a boolean, not {type_name(value)}", loc),)


def _nullable_path(name: str) -> FieldCheck:
    return lambda value, loc, ctx: check_path(value, loc, name, nullable=True)


def _reference_path(name: str) -> FieldCheck:
    return lambda value, loc, ctx: check_path(value, loc, name, reference=True)


def _result_path(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    return check_result_path(value, loc)


def _template(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    return check_template(value, loc)


def _object_template(name: str) -> FieldCheck:
    def check(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
        if not isinstance(value, dict):
            yield error(f"The value of '{name}' must be an object, not {type_name(value)}", loc)
        else:
            yield from check_template(value, loc)

    return check


def _item_selector(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    if not isinstance(value, dict):
        yield error(f"The value of 'ItemSelector' must be an object, not {type_name(value)}", loc)
    elif ctx.query_language == JSONATA:
        yield from check_jsonata_value(value, loc, "ItemSelector")
    else:
        yield from check_template(value, loc)


def _jsonata(name: str) -> FieldCheck:
    return lambda value, loc, ctx: check_jsonata_value(value, loc, name)


def _items(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    if not isinstance(value, list) and not is_jsonata(value):
        yield error(
            f"The value of 'Items' must be an array or a JSONata expression, not "
            f"{type_name(value)}",
            loc,
        )
    else:
        yield from check_jsonata_value(value, loc, "Items")


def _assign(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    return check_assign(value, loc, ctx.query_language)


def _result(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    if isinstance(value, dict) and any(key.endswith(".$") for key in value):
        yield warning(
            PASS_RESULT_IS_STATIC,
            "Result is static: keys ending in '.$' are not evaluated in Result; use "
            "Parameters to select values from the input",
            loc,
        )


def _integer_or_jsonata(name: str, minimum: int, maximum: int = MAX_SECONDS) -> FieldCheck:
    def literal(value: JSON, loc: str, field_name: str) -> Diagnostics:
        return check_integer(value, loc, field_name, minimum, maximum)

    return lambda value, loc, ctx: check_jsonata_or(value, loc, name, literal)


def _percentage(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    def literal(value: JSON, loc: str, name: str) -> Diagnostics:
        return check_number(value, loc, name, 0, 100)

    return check_jsonata_or(value, loc, "ToleratedFailurePercentage", literal)


def _timestamp(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    return check_jsonata_or(value, loc, "Timestamp", check_timestamp)


def _string_or_jsonata(name: str) -> FieldCheck:
    return lambda value, loc, ctx: check_jsonata_or(value, loc, name, check_string)


def _path_or_intrinsic(name: str) -> FieldCheck:
    return lambda value, loc, ctx: check_path_or_intrinsic(value, loc, name)


_ARN = re.compile(r"arn:[A-Za-z0-9-]+:[A-Za-z0-9-]+:[^:\s]*:[^:\s]*:\S+")
# A SAM/CloudFormation DefinitionSubstitutions placeholder left in the text: `${CheckFunctionArn}`.
_PLACEHOLDER = re.compile(r"\$\{[^${}\s]+\}")
_ACTIVITY = re.compile(r"arn:[A-Za-z0-9-]+:states:[^:]*:[^:]*:activity:")


def _is_template(value: str) -> bool:
    """Placeholders only, around ARN-like text: every `${` opens a complete `${Name}`."""
    return value.count("${") == len(_PLACEHOLDER.findall(value)) > 0


def _resource(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    if not isinstance(value, str):
        yield error(
            f"The value of 'Resource' must be an ARN string, not {type_name(value)}",
            loc,
            INVALID_RESOURCE,
        )
        return
    if not _ARN.fullmatch(value) and _is_template(value):
        # AWS's CreateStateMachine rejects it (not an ARN), but Step Functions Local creates and
        # runs such machines when the Task is mocked, as AWS's sample projects do: only the
        # UNRESOLVED_PLACEHOLDER warning (check_placeholders), and the Task fails at run time
        # unless a mock config answers it (docs/mock-configs.md).
        return
    if not _ARN.fullmatch(value):
        yield error(
            f"Resource {value!r} is not a valid ARN; write e.g. "
            "'arn:aws:lambda:us-east-1:123456789012:function:name' or "
            "'arn:aws:states:::lambda:invoke'",
            loc,
            INVALID_RESOURCE,
        )
        return
    if ctx.machine_type == "EXPRESS":
        if _ACTIVITY.match(value):
            yield error("Express state machine does not support Activity ARN", loc)
        elif value.endswith((".sync", ".sync:2")):
            yield error("Express state machine does not support '.sync' service integration", loc)
        elif value.endswith(".waitForTaskToken"):
            yield error(
                "Express state machine does not support '.waitForTaskToken' service integration",
                loc,
            )


def _credentials(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    if not isinstance(value, dict):
        yield error(
            f"The value of 'Credentials' must be an object with 'RoleArn', not {type_name(value)}",
            loc,
        )
        return
    # Other keys are left alone: AWS's recorded rejection names only the missing RoleArn.
    names = {"RoleArn", "RoleArn.$"} if ctx.query_language == JSONPATH else {"RoleArn"}
    if not names & value.keys():
        yield error("The field 'RoleArn' is required but was missing", loc)
    if "RoleArn" in value:
        role = value["RoleArn"]
        at = ptr(loc, "RoleArn")
        yield from check_jsonata_or(role, at, "RoleArn", check_string)
    if "RoleArn.$" in value:
        yield from check_path_or_intrinsic(value["RoleArn.$"], ptr(loc, "RoleArn.$"), "RoleArn.$")


def _retry(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    return check_retry(value, loc)


def _catch(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    return check_catch(value, loc, ctx.query_language, ctx.targets, ctx.on_next)


def _choices(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    return check_choices(value, loc, ctx.query_language, ctx.targets, ctx.on_next)


def _branches(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    if not isinstance(value, list) or not value:
        yield error("'Branches' must be a non-empty array of {StartAt, States} objects", loc)
        return
    for index, branch in enumerate(value):
        yield from ctx.walk_graph(branch, ptr(loc, index), ctx.machine_type, "branch")


_LABEL_FORBIDDEN = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_MAX_LABEL = 40


def _label(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    if not isinstance(value, str):
        yield error(f"The value of 'Label' must be a string, not {type_name(value)}", loc)
        return
    if not value or len(value) > _MAX_LABEL:
        yield error(
            f"Label must be 1 to {_MAX_LABEL} characters long, got {len(value)}",
            loc,
            INVALID_LABEL_NAME,
        )
    bad = _LABEL_FORBIDDEN.search(value)
    if bad:
        yield error(
            f"Label {value!r} contains {bad.group()!r}: a Label may not contain whitespace, "
            'brackets, wildcards, special characters (" # % \\ ^ | ~ ` $ & , ; : /) or '
            "control characters",
            loc,
            INVALID_LABEL_NAME,
        )
    if value in ctx.labels:
        yield error(
            f"Label {value!r} is already used by {ctx.labels[value]}; Labels must be unique",
            loc,
            "DUPLICATE_LABEL_NAME",
        )
    else:
        ctx.labels[value] = loc


def _object_fields(
    value: JSON, loc: str, name: str, allowed: frozenset[str], ctx: StateContext
) -> Diagnostics:
    if not isinstance(value, dict):
        yield error(f"The value of '{name}' must be an object, not {type_name(value)}", loc)
        return
    for key in value:
        if key not in allowed:
            yield unsupported(key, loc, language_hint(key, ctx.query_language))


_READER_CONFIG = frozenset(
    {"InputType", "CSVHeaderLocation", "CSVHeaders", "CSVDelimiter", "MaxItems", "MaxItemsPath"}
    | {"ManifestType"}
)


def _resource_parameters(value: dict[str, JSON], loc: str, ctx: StateContext) -> Diagnostics:
    if "Resource" in value:
        yield from _resource(value["Resource"], ptr(loc, "Resource"), ctx)
    if "Parameters" in value:
        yield from check_template(value["Parameters"], ptr(loc, "Parameters"))
    if "Arguments" in value:
        yield from check_jsonata_value(value["Arguments"], ptr(loc, "Arguments"), "Arguments")


def _item_reader(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    data = "Parameters" if ctx.query_language == JSONPATH else "Arguments"
    allowed = frozenset({"Resource", "ReaderConfig", data})
    yield from _object_fields(value, loc, "ItemReader", allowed, ctx)
    if not isinstance(value, dict):
        return
    if "Resource" not in value:
        yield required(["Resource"], loc)
    yield from _resource_parameters(value, loc, ctx)
    config = value.get("ReaderConfig")
    if config is None:
        return
    at = ptr(loc, "ReaderConfig")
    names = _READER_CONFIG if ctx.query_language == JSONPATH else _READER_CONFIG - {"MaxItemsPath"}
    yield from _object_fields(config, at, "ReaderConfig", names, ctx)
    if not isinstance(config, dict):
        return
    yield from _exclusive(config, at, "MaxItems", "MaxItemsPath")
    if "MaxItems" in config:
        yield from _integer_or_jsonata("MaxItems", 0)(config["MaxItems"], ptr(at, "MaxItems"), ctx)
    if "MaxItemsPath" in config:
        yield from check_path(
            config["MaxItemsPath"], ptr(at, "MaxItemsPath"), "MaxItemsPath", reference=True
        )


_BATCHER_PAIRS = (("MaxItemsPerBatch", 1), ("MaxInputBytesPerBatch", 1))


def _item_batcher(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    names = {"BatchInput"}
    for name, _ in _BATCHER_PAIRS:
        names.add(name)
        if ctx.query_language == JSONPATH:
            names.add(name + "Path")
    yield from _object_fields(value, loc, "ItemBatcher", frozenset(names), ctx)
    if not isinstance(value, dict):
        return
    for name, minimum in _BATCHER_PAIRS:
        yield from _exclusive(value, loc, name, name + "Path")
        if name in value:
            yield from _integer_or_jsonata(name, minimum, 2**31 - 1)(
                value[name], ptr(loc, name), ctx
            )
        if name + "Path" in value:
            path = name + "Path"
            yield from check_path(value[path], ptr(loc, path), path, reference=True)
    if "BatchInput" in value:
        batch_input = value["BatchInput"]
        at = ptr(loc, "BatchInput")
        if ctx.query_language == JSONPATH:
            yield from _object_template("BatchInput")(batch_input, at, ctx)
        else:
            yield from check_jsonata_value(batch_input, at, "BatchInput")


def _result_writer(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
    data = "Parameters" if ctx.query_language == JSONPATH else "Arguments"
    allowed = frozenset({"Resource", "WriterConfig", data})
    yield from _object_fields(value, loc, "ResultWriter", allowed, ctx)
    if isinstance(value, dict):
        yield from _resource_parameters(value, loc, ctx)


def _processor(kind: str) -> FieldCheck:
    def check(value: JSON, loc: str, ctx: StateContext) -> Diagnostics:
        machine_type, graph_kind = ctx.machine_type, kind
        config = value.get("ProcessorConfig") if isinstance(value, dict) else None
        if isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED":
            # A Distributed Map runs its processor as child workflow executions: their own
            # workflow type, and their states may choose their own QueryLanguage.
            graph_kind = "distributed"
            if config.get("ExecutionType") == "EXPRESS":
                machine_type = "EXPRESS"
        return ctx.walk_graph(value, loc, machine_type, graph_kind)

    return check


FIELD_CHECKS: dict[str, FieldCheck] = {
    "Comment": _comment,
    "Next": _next,
    "End": _end,
    "InputPath": _nullable_path("InputPath"),
    "OutputPath": _nullable_path("OutputPath"),
    "ResultPath": _result_path,
    "Parameters": _template,
    "ResultSelector": _object_template("ResultSelector"),
    "ItemSelector": _item_selector,
    "Arguments": _jsonata("Arguments"),
    "Output": _jsonata("Output"),
    "Items": _items,
    "Assign": _assign,
    "Result": _result,
    "Resource": _resource,
    "Credentials": _credentials,
    "TimeoutSeconds": _integer_or_jsonata("TimeoutSeconds", 1),
    "HeartbeatSeconds": _integer_or_jsonata("HeartbeatSeconds", 1),
    "TimeoutSecondsPath": _reference_path("TimeoutSecondsPath"),
    "HeartbeatSecondsPath": _reference_path("HeartbeatSecondsPath"),
    "Retry": _retry,
    "Catch": _catch,
    "Choices": _choices,
    "Default": _next,
    "Seconds": _integer_or_jsonata("Seconds", 0),
    "SecondsPath": _reference_path("SecondsPath"),
    "Timestamp": _timestamp,
    "TimestampPath": _reference_path("TimestampPath"),
    "Error": _string_or_jsonata("Error"),
    "Cause": _string_or_jsonata("Cause"),
    "ErrorPath": _path_or_intrinsic("ErrorPath"),
    "CausePath": _path_or_intrinsic("CausePath"),
    "Branches": _branches,
    "ItemProcessor": _processor("processor"),
    "Iterator": _processor("iterator"),
    "ItemsPath": _reference_path("ItemsPath"),
    "MaxConcurrency": _integer_or_jsonata("MaxConcurrency", 0, 2**31 - 1),
    "MaxConcurrencyPath": _reference_path("MaxConcurrencyPath"),
    "ToleratedFailurePercentage": _percentage,
    "ToleratedFailurePercentagePath": _reference_path("ToleratedFailurePercentagePath"),
    "ToleratedFailureCount": _integer_or_jsonata("ToleratedFailureCount", 0, 2**31 - 1),
    "ToleratedFailureCountPath": _reference_path("ToleratedFailureCountPath"),
    "Label": _label,
    "ItemReader": _item_reader,
    "ItemBatcher": _item_batcher,
    "ResultWriter": _result_writer,
}


# --- per-type rules spanning fields ----------------------------------------------------------
def _exclusive(state: dict[str, JSON], loc: str, *names: str) -> Diagnostics:
    present = [name for name in names if name in state]
    if len(present) < 2:
        return NONE
    return (
        error(
            f"The fields {', '.join(repr(n) for n in present)} are mutually exclusive; keep one",
            loc,
        ),
    )


def _check_task(state: dict[str, JSON], loc: str, ctx: StateContext) -> Diagnostics:
    # The HTTP Task's and the service integrations' rules (and the AWS service catalogue they
    # read) load with the first Task: a machine without one never imports them (start-up).
    from engine.definition.validate_http import check_http_task, is_http_task
    from engine.definition.validate_integrations import check_integration

    if "Resource" not in state:
        yield required(["Resource"], loc)
    elif is_http_task(state["Resource"]):
        yield from check_http_task(state, loc, ctx.query_language)
    else:
        yield from check_integration(state, loc, ctx.query_language)
    yield from _exclusive(state, loc, "TimeoutSeconds", "TimeoutSecondsPath")
    yield from _exclusive(state, loc, "HeartbeatSeconds", "HeartbeatSecondsPath")
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    if (
        isinstance(timeout, int | float)
        and isinstance(heartbeat, int | float)
        and not isinstance(timeout, bool)
        and not isinstance(heartbeat, bool)
        and heartbeat >= timeout
    ):
        yield error(
            f"HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds ({timeout})",
            ptr(loc, "HeartbeatSeconds"),
        )


def _check_choice(state: dict[str, JSON], loc: str, ctx: StateContext) -> Diagnostics:
    if "Choices" not in state:
        yield required(["Choices"], loc)


_WAIT_FIELDS = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")


def _check_wait(state: dict[str, JSON], loc: str, ctx: StateContext) -> Diagnostics:
    present = [name for name in _WAIT_FIELDS if name in state]
    if len(present) != 1:
        allowed = _WAIT_FIELDS if ctx.query_language == JSONPATH else _WAIT_FIELDS[:2]
        found = f"found {', '.join(present)}" if present else "found none"
        yield error(f"A Wait state must have exactly one of {', '.join(allowed)} ({found})", loc)


def _check_fail(state: dict[str, JSON], loc: str, ctx: StateContext) -> Diagnostics:
    yield from _exclusive(state, loc, "Error", "ErrorPath")
    yield from _exclusive(state, loc, "Cause", "CausePath")


def _check_parallel(state: dict[str, JSON], loc: str, ctx: StateContext) -> Diagnostics:
    if "Branches" not in state:
        yield required(["Branches"], loc)


def _check_map(state: dict[str, JSON], loc: str, ctx: StateContext) -> Diagnostics:
    if "ItemProcessor" not in state and "Iterator" not in state:
        yield required(["ItemProcessor"], loc)
    yield from _exclusive(state, loc, "ItemProcessor", "Iterator")
    yield from _exclusive(state, loc, "ItemSelector", "Parameters")
    yield from _exclusive(state, loc, "MaxConcurrency", "MaxConcurrencyPath")
    yield from _exclusive(state, loc, "ToleratedFailureCount", "ToleratedFailureCountPath")
    yield from _exclusive(
        state, loc, "ToleratedFailurePercentage", "ToleratedFailurePercentagePath"
    )
    processor = state.get("ItemProcessor")
    config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
    if config is not None:
        at = ptr(ptr(loc, "ItemProcessor"), "ProcessorConfig")
        if not isinstance(config, dict):
            yield error(
                f"The value of 'ProcessorConfig' must be an object, not {type_name(config)}", at
            )
            config = None
        else:
            for key in config:
                if key not in ("Mode", "ExecutionType"):
                    yield unsupported(key, at)
            if "Mode" in config:
                mode_at = ptr(at, "Mode")
                yield from check_enum(config["Mode"], mode_at, "Mode", ("INLINE", "DISTRIBUTED"))
            if "ExecutionType" in config:
                yield from check_enum(
                    config["ExecutionType"],
                    ptr(at, "ExecutionType"),
                    "ExecutionType",
                    ("STANDARD", "EXPRESS"),
                )
    distributed = isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED"
    if distributed and isinstance(config, dict) and "ExecutionType" not in config:
        yield required(["ExecutionType"], ptr(ptr(loc, "ItemProcessor"), "ProcessorConfig"))
    # A Map's ItemReader, ItemBatcher and ResultWriter rules: loaded with the first Map, so
    # a machine without one never imports the Distributed Map modules (start-up time).
    from engine.definition.validate_distributed import check_distributed

    yield from check_distributed(state, loc, ctx.query_language)


TYPE_CHECKS: dict[str, Callable[[dict[str, JSON], str, StateContext], Diagnostics]] = {
    "Task": _check_task,
    "Choice": _check_choice,
    "Wait": _check_wait,
    "Fail": _check_fail,
    "Parallel": _check_parallel,
    "Map": _check_map,
}


def check_state_fields(
    state: dict[str, JSON], state_type: str, loc: str, ctx: StateContext
) -> Diagnostics:
    """Every field of one state: allowed for its type and language, and a valid value."""
    allowed = ALLOWED_FIELDS[ctx.query_language][state_type]
    for name, value in state.items():
        if name not in allowed:
            yield unsupported(name, loc, language_hint(name, ctx.query_language))
            continue
        check = FIELD_CHECKS.get(name)
        if check is not None:
            yield from check(value, ptr(loc, name), ctx)
    type_check = TYPE_CHECKS.get(state_type)
    if type_check is not None:
        yield from type_check(state, loc, ctx)
