"""What a Distributed Map asks of the outside world, and how it shapes what comes back.

Owns: the requests a Map sends as `InvokeTask` commands to the runtime, under the two
resources `ITEM_READER_TASK` and `RESULT_WRITER_TASK` (engine/backends/map_io.py serves them):
reading the ItemReader's items, writing the ResultWriter's files. Also the pure parts of both:
ItemBatcher's batches (`batch_items`), the result-file records of the child runs
(`result_entry`), and WriterConfig's Transformation (`transform_results`, which the backend's
writer uses too). Must never: do I/O, read a clock, or decide when the Map moves on (states.py
does; this module only builds values).

The reader request is `{"Resource", "Parameters", "ReaderConfig"}` with every field evaluated
(MaxItemsPath resolved to MaxItems); its answer is the list of items, or a failure
(States.ItemReaderFailed). The writer request is `{"Resource", "Parameters", "WriterConfig",
"MapRunArn", "Results"}` where Results are the records below in item order; its answer is the
Map's result `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}` (AWS guide,
"ResultWriter (Map)"). When the items run as child executions (a store), `"Children"` (states.py
`_children_request`) replaces Results: the service reads the records from the store
(engine/service/map_results.py); a Resource of null then asks for the Map's shaped result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from engine.definition.compile import JSONATA, MapState
from engine.definition.paths import Path, PathNoMatch
from engine.definition.scope import Scope
from engine.errors import STATES_RUNTIME, StatesError
from engine.interpreter.history import format_time
from engine.values import JSON, dumps, payload_size

__all__ = [
    "batch_items",
    "batch_limits",
    "reader_request",
    "result_entry",
    "writer_parameters",
]


MAX_ITEMS_LIMIT: Final = 100_000_000
"""AWS: MaxItems "up to 100,000,000" (ItemReader (Map), ReaderConfig)."""


def _find(path: Path, data: JSON, scope: Scope) -> JSON:
    from engine.interpreter.dataflow import invalid_path_cause

    try:
        return path.find(data, scope)
    except PathNoMatch as exc:
        raise StatesError(STATES_RUNTIME, invalid_path_cause(path, exc.reason)) from None


def _integer(value: JSON) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    return None


def _jsonata_field(state: MapState, name: str, data: JSON, scope: Scope, now: float) -> JSON:
    from engine.interpreter.jsonata_flow import evaluate_field, jsonata_states

    return evaluate_field(state, name, jsonata_states(data, scope), scope, now, None)


def reader_request(state: MapState, data: JSON, scope: Scope, now: float) -> dict[str, JSON]:
    """The ItemReader request: resource, evaluated parameters, ReaderConfig with MaxItems."""
    spec = state.io.reader
    assert spec is not None
    parameters: JSON
    config: dict[str, JSON]
    if state.query_language == JSONATA:
        evaluated = _jsonata_field(state, "ItemReader", data, scope, now)
        evaluated = evaluated if isinstance(evaluated, dict) else {}
        parameters = evaluated.get("Arguments", {})
        raw_config = evaluated.get("ReaderConfig")
        config = dict(raw_config) if isinstance(raw_config, dict) else {}
    else:
        parameters = {} if spec.parameters is None else spec.parameters.evaluate(data, scope)
        config = dict(spec.reader_config)
        if spec.max_items_path is not None:
            value = _find(spec.max_items_path, data, scope)
            number = _integer(value)
            if number is None or number < 0:
                raise StatesError(
                    STATES_RUNTIME,
                    f'The MaxItemsPath field refers to value "{_render(value)}" which is not a '
                    f"valid non-negative integer: {spec.max_items_path.text}",
                )
            config["MaxItems"] = number
    if "MaxItems" in config:
        number = _integer(config["MaxItems"])
        if number is None or not 0 <= number <= MAX_ITEMS_LIMIT:
            raise StatesError(
                STATES_RUNTIME,
                f"MaxItems must be an integer from 0 to {MAX_ITEMS_LIMIT}, got "
                f"{_render(config['MaxItems'])}",
            )
        config["MaxItems"] = number  # 0: no limit (AWS's default)
    return {"Resource": spec.resource, "Parameters": parameters, "ReaderConfig": config}


def batch_limits(
    state: MapState, data: JSON, scope: Scope, now: float
) -> tuple[int | None, int | None, JSON]:
    """ItemBatcher's (MaxItemsPerBatch, MaxInputBytesPerBatch, BatchInput), evaluated."""
    spec = state.io.batcher
    assert spec is not None
    if state.query_language == JSONATA:
        evaluated = _jsonata_field(state, "ItemBatcher", data, scope, now)
        evaluated = evaluated if isinstance(evaluated, dict) else {}
        max_items = _limit("MaxItemsPerBatch", evaluated.get("MaxItemsPerBatch"))
        max_bytes = _limit("MaxInputBytesPerBatch", evaluated.get("MaxInputBytesPerBatch"))
        return max_items, max_bytes, evaluated.get("BatchInput")
    max_items = spec.max_items
    if spec.max_items_path is not None:
        max_items = _limit("MaxItemsPerBatch", _find(spec.max_items_path, data, scope), spec)
    max_bytes = spec.max_bytes
    if spec.max_bytes_path is not None:
        max_bytes = _limit("MaxInputBytesPerBatch", _find(spec.max_bytes_path, data, scope), spec)
    batch_input = None if spec.batch_input is None else spec.batch_input.evaluate(data, scope)
    return max_items, max_bytes, batch_input


def _limit(name: str, value: JSON, spec: object = None) -> int | None:
    if value is None and spec is None:
        return None
    number = _integer(value)
    if number is None or number < 1:
        raise StatesError(
            STATES_RUNTIME,
            f'The {name} value "{_render(value)}" is not a valid positive integer.',
        )
    return number


def batch_items(
    items: Sequence[JSON], max_items: int | None, max_bytes: int | None, batch_input: JSON
) -> list[JSON]:
    """Items grouped into child inputs `{"Items": [...]}` (with `"BatchInput"` when given),
    each holding at most `max_items` items and at most `max_bytes` bytes of JSON in all
    (AWS guide, "ItemBatcher (Map)"). An item too large for a batch of its own fails the Map."""
    base: dict[str, JSON] = {"Items": []}
    if batch_input is not None:
        base["BatchInput"] = batch_input
    base_size = payload_size(base)
    batches: list[JSON] = []
    current: list[JSON] = []
    size = base_size
    for item in items:
        item_size = payload_size(item)
        separator = 1 if current else 0
        full = (max_items is not None and len(current) >= max_items) or (
            max_bytes is not None and current and size + separator + item_size > max_bytes
        )
        if full:
            batches.append({**base, "Items": current})
            current, size, separator = [], base_size, 0
        if max_bytes is not None and base_size + item_size > max_bytes:
            raise StatesError(
                STATES_RUNTIME,
                f"An item of {item_size} bytes does not fit in a batch of at most "
                f"MaxInputBytesPerBatch {max_bytes} bytes.",
            )
        current.append(item)
        size += separator + item_size
    if current:
        batches.append({**base, "Items": current})
    return batches


def writer_parameters(state: MapState, data: JSON, scope: Scope, now: float) -> dict[str, JSON]:
    """The ResultWriter as evaluated: Resource, Parameters (Bucket, Prefix), WriterConfig."""
    spec = state.io.writer
    assert spec is not None
    config: dict[str, JSON] = {"OutputType": spec.output_type}
    if spec.transformation is not None:
        config["Transformation"] = spec.transformation
    if state.query_language == JSONATA:
        evaluated = _jsonata_field(state, "ResultWriter", data, scope, now)
        evaluated = evaluated if isinstance(evaluated, dict) else {}
        raw_config = evaluated.get("WriterConfig")
        if isinstance(raw_config, dict):
            config.update(raw_config)
        return {
            "Resource": evaluated.get("Resource"),
            "Parameters": evaluated.get("Arguments"),
            "WriterConfig": config,
        }
    parameters = None if spec.parameters is None else spec.parameters.evaluate(data, scope)
    return {"Resource": spec.resource, "Parameters": parameters, "WriterConfig": config}


def child_arns(execution_arn: str, machine_name: str, label: str, express: bool) -> str:
    """The prefix of a Map Run's child execution ARNs: `...:execution:<machine>/<label>:`."""
    head = execution_arn.split(":execution:", 1)[0].split(":express:", 1)[0]
    kind = "express" if express else "execution"
    return f"{head}:{kind}:{machine_name}/{label}:"


_UNSUCCESSFUL: Final = frozenset({"FAILED", "ABORTED", "TIMED_OUT"})


def result_entry(
    *,
    execution_arn: str,
    state_machine_arn: str,
    name: str,
    status: str,
    child_input: JSON,
    output: JSON = None,
    error: str | None = None,
    cause: str | None = None,
    start: float,
    stop: float | None,
    redrive_count: int = 0,
) -> dict[str, JSON]:
    """One child run as a result file lists it: DescribeExecution's fields (AWS guide,
    "ResultWriter (Map)", the SUCCEEDED_0.json and FAILED_0.json examples); `redrive_count`
    the child execution's (one more each time a redrive of the Map Run redrove it)."""
    entry: dict[str, JSON] = {}
    if status in _UNSUCCESSFUL:
        if cause is not None:
            entry["Cause"] = cause
        if error is not None:
            entry["Error"] = error
    entry["ExecutionArn"] = execution_arn
    entry["Input"] = dumps(child_input)
    entry["InputDetails"] = {"Included": True}
    entry["Name"] = name
    if status == "SUCCEEDED":
        entry["Output"] = dumps(output)
        entry["OutputDetails"] = {"Included": True}
    entry["RedriveCount"] = redrive_count
    if status == "SUCCEEDED":
        entry["RedriveStatus"] = "NOT_REDRIVABLE"
        entry["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    elif status != "PENDING":
        entry["RedriveStatus"] = "REDRIVABLE_BY_MAP_RUN"
    entry["StartDate"] = format_time(start)
    entry["StateMachineArn"] = state_machine_arn
    entry["Status"] = status
    if stop is not None:
        entry["StopDate"] = format_time(stop)
    return entry


def _render(value: JSON) -> str:
    return value if isinstance(value, str) else dumps(value)
