"""A Distributed Map's I/O fields, compiled once: ItemReader, ItemBatcher and ResultWriter.

Owns: `ItemReaderSpec`, `ItemBatcherSpec`, `ResultWriterSpec` (the compiled fields, JSONPath
templates and paths ready to evaluate), the resources and enumerations the engine serves
(`ITEM_READER_RESOURCES`, `INPUT_TYPES`, `CSV_DELIMITERS`, ...), `compile_distributed`,
which compile.py calls for a Map state, the two resources of a Map's I/O requests, and
WriterConfig's Transformation (`transform_results`, shared by the interpreter's preview and the
backend's writer). Must never: validate (validate_distributed.py reports
what the engine refuses, with locations), evaluate anything, or do I/O.

JSONata Maps keep each field whole as one compiled JSONata value (`State.jsonata["ItemReader"]`
...); JSONPath Maps compile `Parameters`/`BatchInput` as payload templates and the `...Path`
fields as reference paths. AWS guide: "ItemReader (Map)", "ItemBatcher (Map)", "ResultWriter
(Map)".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from engine.definition.diagnostics import join_pointer
from engine.definition.paths import Path, compile_reference_path
from engine.definition.templates import Template, compile_template
from engine.errors import ExpressionSyntaxError
from engine.values import JSON

__all__ = [
    "CSV_DELIMITERS",
    "CSV_HEADER_LOCATIONS",
    "DISTRIBUTED_FIELDS",
    "INPUT_TYPES",
    "ITEM_READER_RESOURCES",
    "ITEM_READER_TASK",
    "MANIFEST_TYPES",
    "MAP_RESULTS_TASK",
    "OUTPUT_TYPES",
    "RESULT_WRITER_RESOURCE",
    "RESULT_WRITER_TASK",
    "S3_GET_OBJECT",
    "S3_LIST_OBJECTS_V2",
    "TRANSFORMATIONS",
    "DistributedSpec",
    "DistributedSyntaxError",
    "ItemBatcherSpec",
    "ItemReaderSpec",
    "ResultWriterSpec",
    "compile_distributed",
    "transform_results",
]

ITEM_READER_TASK: Final = "asl:distributed-map:item-reader"
"""The resource of a Map's read request to the runtime (engine/interpreter/map_io.py builds it,
engine/backends/map_io.py serves it): no ARN a definition can name (they start `arn:`)."""
RESULT_WRITER_TASK: Final = "asl:distributed-map:result-writer"
MAP_RESULTS_TASK: Final = "asl:distributed-map:results"
"""The outputs of a Map's child executions that succeeded, gathered from the store when the
Map ends (engine/service/map_results.py serves it)."""

S3_GET_OBJECT: Final = "arn:aws:states:::s3:getObject"
S3_LIST_OBJECTS_V2: Final = "arn:aws:states:::s3:listObjectsV2"
ITEM_READER_RESOURCES: Final = (S3_GET_OBJECT, S3_LIST_OBJECTS_V2)
RESULT_WRITER_RESOURCE: Final = "arn:aws:states:::s3:putObject"

INPUT_TYPES: Final = ("CSV", "JSON", "JSONL", "MANIFEST")
"""ReaderConfig InputType values this engine reads (AWS also has PARQUET: refused)."""

CSV_DELIMITERS: Final[Mapping[str, str]] = {
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "SPACE": " ",
    "TAB": "\t",
}
CSV_HEADER_LOCATIONS: Final = ("FIRST_ROW", "GIVEN")
MANIFEST_TYPES: Final = ("S3_INVENTORY",)
OUTPUT_TYPES: Final = ("JSON", "JSONL")
TRANSFORMATIONS: Final = ("NONE", "COMPACT", "FLATTEN")

DISTRIBUTED_FIELDS: Final = ("ItemReader", "ItemBatcher", "ResultWriter")
"""Fields only a Distributed Map has: a Map that holds one runs as a Distributed Map."""


class DistributedSyntaxError(Exception):
    """A path or template of these fields failed to compile (compile.py locates it)."""

    def __init__(self, message: str, location: str) -> None:
        super().__init__(message)
        self.message = message
        self.location = location


@dataclass(frozen=True, slots=True)
class ItemReaderSpec:
    """ItemReader: which resource, its parameters and ReaderConfig."""

    resource: str
    parameters: Template | None = None  # JSONPath `Parameters`
    reader_config: Mapping[str, JSON] = field(default_factory=dict)  # literal, minus MaxItemsPath
    max_items_path: Path | None = None


@dataclass(frozen=True, slots=True)
class ItemBatcherSpec:
    """ItemBatcher: batch limits (literal or by path) and BatchInput."""

    max_items: int | None = None
    max_items_path: Path | None = None
    max_bytes: int | None = None
    max_bytes_path: Path | None = None
    batch_input: Template | None = None


@dataclass(frozen=True, slots=True)
class ResultWriterSpec:
    """ResultWriter: the export's resource and parameters (None: preview only), WriterConfig."""

    resource: str | None = None
    parameters: Template | None = None
    output_type: str = "JSON"
    transformation: str | None = None  # None: AWS's default (NONE when exporting)


@dataclass(frozen=True, slots=True)
class DistributedSpec:
    reader: ItemReaderSpec | None = None
    batcher: ItemBatcherSpec | None = None
    writer: ResultWriterSpec | None = None


def compile_distributed(raw: Mapping[str, JSON], loc: str, jsonpath: bool) -> DistributedSpec:
    """The Map state `raw`'s ItemReader, ItemBatcher and ResultWriter (JSONPath parts compiled;
    a JSONata Map's fields are compiled whole by compile.py). Raises DistributedSyntaxError."""
    reader = raw.get("ItemReader")
    batcher = raw.get("ItemBatcher")
    writer = raw.get("ResultWriter")
    return DistributedSpec(
        reader=_reader(reader, join_pointer(loc, "ItemReader"), jsonpath)
        if isinstance(reader, dict)
        else None,
        batcher=_batcher(batcher, join_pointer(loc, "ItemBatcher"), jsonpath)
        if isinstance(batcher, dict)
        else None,
        writer=_writer(writer, join_pointer(loc, "ResultWriter"), jsonpath)
        if isinstance(writer, dict)
        else None,
    )


def _reader(raw: Mapping[str, JSON], loc: str, jsonpath: bool) -> ItemReaderSpec:
    config = raw.get("ReaderConfig")
    config = dict(config) if isinstance(config, dict) else {}
    max_items_path = config.pop("MaxItemsPath", None)
    return ItemReaderSpec(
        resource=str(raw.get("Resource", "")),
        parameters=_template(raw, "Parameters", loc) if jsonpath else None,
        reader_config=config,
        max_items_path=_path(max_items_path, join_pointer(loc, "ReaderConfig", "MaxItemsPath")),
    )


def _batcher(raw: Mapping[str, JSON], loc: str, jsonpath: bool) -> ItemBatcherSpec:
    return ItemBatcherSpec(
        max_items=_int(raw.get("MaxItemsPerBatch")),
        max_items_path=_path(
            raw.get("MaxItemsPerBatchPath"), join_pointer(loc, "MaxItemsPerBatchPath")
        ),
        max_bytes=_int(raw.get("MaxInputBytesPerBatch")),
        max_bytes_path=_path(
            raw.get("MaxInputBytesPerBatchPath"), join_pointer(loc, "MaxInputBytesPerBatchPath")
        ),
        batch_input=_template(raw, "BatchInput", loc) if jsonpath else None,
    )


def _writer(raw: Mapping[str, JSON], loc: str, jsonpath: bool) -> ResultWriterSpec:
    config = raw.get("WriterConfig")
    config = config if isinstance(config, dict) else {}
    resource = raw.get("Resource")
    transformation = config.get("Transformation")
    return ResultWriterSpec(
        resource=resource if isinstance(resource, str) else None,
        parameters=_template(raw, "Parameters", loc) if jsonpath else None,
        output_type=str(config.get("OutputType", "JSON")),
        transformation=transformation if isinstance(transformation, str) else None,
    )


def _int(value: JSON) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _path(value: JSON, loc: str) -> Path | None:
    if not isinstance(value, str):
        return None
    try:
        return compile_reference_path(value)
    except ExpressionSyntaxError as exc:
        raise DistributedSyntaxError(exc.message, loc) from None


def _template(raw: Mapping[str, JSON], name: str, loc: str) -> Template | None:
    if name not in raw:
        return None
    try:
        return compile_template(raw[name])
    except ExpressionSyntaxError as exc:
        raise DistributedSyntaxError(exc.message, join_pointer(loc, name)) from None


def transform_results(entries: Sequence[Mapping[str, JSON]], transformation: str) -> list[JSON]:
    """WriterConfig's Transformation of result records: NONE keeps them; COMPACT keeps a
    succeeded run's output only; FLATTEN also splices an output that is an array into the
    list. A run that did not succeed stays as it is ("returns its execution result unchanged")."""
    if transformation == "NONE":
        return [dict(entry) for entry in entries]
    out: list[JSON] = []
    for entry in entries:
        if entry.get("Status") != "SUCCEEDED":
            out.append(dict(entry))
            continue
        text = entry.get("Output")
        value: JSON = json.loads(text) if isinstance(text, str) else None
        if transformation == "FLATTEN" and isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
    return out
