"""Validation of a Distributed Map's I/O fields: what AWS checks, and what this engine refuses.

Owns: the checks of ItemReader (its resource, ReaderConfig's InputType, CSV header and
delimiter, ManifestType, the literal parameter names), ItemBatcher (a limit is given, AWS's
256 KiB bound on MaxInputBytesPerBatch) and ResultWriter (its resource, Bucket, WriterConfig).
Everything AWS accepts that this engine does not run (a PARQUET or Athena manifest reader, an
ItemReader resource other than S3 getObject/listObjectsV2) is an `UNSUPPORTED_FEATURE`
diagnostic at the field's JSON pointer: never accepted and then silently ignored. The field
shapes (types, exclusive pairs, allowed names) are validate_states.py's.
Must never: compile or evaluate, or judge a value given as a JSONata expression or a
`${Placeholder}` (only its result says).
"""

from __future__ import annotations

from typing import Final

from engine.definition.distributed import (
    CSV_DELIMITERS,
    CSV_HEADER_LOCATIONS,
    INPUT_TYPES,
    ITEM_READER_RESOURCES,
    MANIFEST_TYPES,
    OUTPUT_TYPES,
    RESULT_WRITER_RESOURCE,
    S3_GET_OBJECT,
    S3_LIST_OBJECTS_V2,
    TRANSFORMATIONS,
)
from engine.definition.validate_fields import (
    JSONPATH,
    UNSUPPORTED_FEATURE,
    Diagnostics,
    check_enum,
    error,
    ptr,
    required,
)
from engine.values import JSON

__all__ = ["check_distributed"]

MAX_INPUT_BYTES_PER_BATCH: Final = 262_144
"""AWS: "MaxInputBytesPerBatch ... up to 256 KiB" (ItemBatcher (Map))."""

_READER_PARAMETERS: Final = {
    S3_GET_OBJECT: frozenset({"Bucket", "Key", "VersionId"}),
    S3_LIST_OBJECTS_V2: frozenset(
        {
            "Bucket",
            "Prefix",
            "Delimiter",
            "EncodingType",
            "MaxKeys",
            "StartAfter",
            "FetchOwner",
            "RequestPayer",
            "ExpectedBucketOwner",
        }
    ),
}
_WRITER_PARAMETERS: Final = frozenset({"Bucket", "Prefix"})
_AWS_ONLY_INPUT_TYPES: Final = ("PARQUET",)
_AWS_ONLY_MANIFEST_TYPES: Final = ("ATHENA_DATA",)


def check_distributed(state: dict[str, JSON], loc: str, query_language: str) -> Diagnostics:
    """Diagnostics of a Map state's ItemReader, ItemBatcher and ResultWriter."""
    reader = state.get("ItemReader")
    if isinstance(reader, dict):
        yield from _reader(reader, ptr(loc, "ItemReader"), query_language)
    batcher = state.get("ItemBatcher")
    if isinstance(batcher, dict):
        yield from _batcher(batcher, ptr(loc, "ItemBatcher"))
    writer = state.get("ResultWriter")
    if isinstance(writer, dict):
        yield from _writer(writer, ptr(loc, "ResultWriter"), query_language)


def _literal(value: JSON) -> bool:
    """A value this check can judge: not a JSONata expression, not a placeholder."""
    return not (isinstance(value, str) and ("{%" in value or "${" in value))


def _reader(reader: dict[str, JSON], loc: str, query_language: str) -> Diagnostics:
    resource = reader.get("Resource")
    if not isinstance(resource, str) or not _literal(resource):
        return
    if resource not in ITEM_READER_RESOURCES:
        yield error(
            f"The ItemReader resource '{resource}' is not supported by asl-engine: it reads "
            f"items from {S3_GET_OBJECT} (InputType CSV, JSON, JSONL or MANIFEST) and "
            f"{S3_LIST_OBJECTS_V2}.",
            ptr(loc, "Resource"),
            UNSUPPORTED_FEATURE,
        )
        return
    config = reader.get("ReaderConfig")
    config = config if isinstance(config, dict) else {}
    at = ptr(loc, "ReaderConfig")
    input_type = config.get("InputType")
    if resource == S3_GET_OBJECT and "InputType" not in config:
        yield error(
            f"ReaderConfig.InputType is required with {S3_GET_OBJECT}: one of "
            f"[{', '.join(INPUT_TYPES)}]",
            at if "ReaderConfig" in reader else loc,
        )
    if resource == S3_LIST_OBJECTS_V2 and "InputType" in config:
        yield error(
            f"ReaderConfig.InputType is not used with {S3_LIST_OBJECTS_V2}: remove it",
            ptr(at, "InputType"),
        )
    if "InputType" in config and _literal(input_type):
        if input_type in _AWS_ONLY_INPUT_TYPES:
            yield error(
                f"InputType {input_type} is not supported by asl-engine: use CSV, JSON, JSONL "
                "or MANIFEST",
                ptr(at, "InputType"),
                UNSUPPORTED_FEATURE,
            )
        else:
            yield from check_enum(input_type, ptr(at, "InputType"), "InputType", INPUT_TYPES)
    yield from _csv_config(config, at, input_type)
    if "ManifestType" in config and _literal(config["ManifestType"]):
        manifest_at = ptr(at, "ManifestType")
        if config["ManifestType"] in _AWS_ONLY_MANIFEST_TYPES:
            yield error(
                f"ManifestType {config['ManifestType']} is not supported by asl-engine: it "
                "reads S3_INVENTORY manifests",
                manifest_at,
                UNSUPPORTED_FEATURE,
            )
        else:
            yield from check_enum(
                config["ManifestType"], manifest_at, "ManifestType", MANIFEST_TYPES
            )
    field = "Parameters" if query_language == JSONPATH else "Arguments"
    parameters = reader.get(field)
    if isinstance(parameters, dict):
        yield from _names(parameters, ptr(loc, field), _READER_PARAMETERS[resource], "Bucket")
    elif parameters is None:
        yield required([f"{field}.Bucket"], loc)


def _csv_config(config: dict[str, JSON], at: str, input_type: JSON) -> Diagnostics:
    csv_fields = [k for k in ("CSVHeaderLocation", "CSVHeaders", "CSVDelimiter") if k in config]
    if csv_fields and _literal(input_type) and input_type != "CSV":
        for name in csv_fields:
            yield error(f"{name} is only used with InputType CSV", ptr(at, name))
        return
    location = config.get("CSVHeaderLocation")
    if "CSVHeaderLocation" in config and _literal(location):
        yield from check_enum(
            location, ptr(at, "CSVHeaderLocation"), "CSVHeaderLocation", CSV_HEADER_LOCATIONS
        )
    headers = config.get("CSVHeaders")
    if location == "GIVEN" and "CSVHeaders" not in config:
        yield error("CSVHeaders is required when CSVHeaderLocation is GIVEN", at)
    if "CSVHeaders" in config:
        if location == "FIRST_ROW":
            yield error(
                "CSVHeaders is only used when CSVHeaderLocation is GIVEN", ptr(at, "CSVHeaders")
            )
        elif _literal(headers) and not (
            isinstance(headers, list) and headers and all(isinstance(h, str) for h in headers)
        ):
            yield error("CSVHeaders must be a non-empty array of strings", ptr(at, "CSVHeaders"))
    delimiter = config.get("CSVDelimiter")
    if "CSVDelimiter" in config and _literal(delimiter):
        yield from check_enum(
            delimiter, ptr(at, "CSVDelimiter"), "CSVDelimiter", tuple(CSV_DELIMITERS)
        )


def _names(
    parameters: dict[str, JSON], loc: str, allowed: frozenset[str], needed: str
) -> Diagnostics:
    names = {key.removesuffix(".$"): key for key in parameters}
    for name, key in names.items():
        if name not in allowed:
            yield error(
                f"The field '{name}' is not supported by Step Functions here: use "
                f"{', '.join(sorted(allowed))}",
                ptr(loc, key),
            )
    if needed not in names:
        yield required([needed], loc)


def _batcher(batcher: dict[str, JSON], loc: str) -> Diagnostics:
    limits = ("MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch")
    if not any(name in batcher for name in (*limits, "MaxInputBytesPerBatchPath")):
        yield error(
            "ItemBatcher needs a limit: MaxItemsPerBatch, MaxInputBytesPerBatch or their "
            "...Path forms",
            loc,
        )
    size = batcher.get("MaxInputBytesPerBatch")
    if isinstance(size, int) and not isinstance(size, bool) and size > MAX_INPUT_BYTES_PER_BATCH:
        yield error(
            f"MaxInputBytesPerBatch must be at most {MAX_INPUT_BYTES_PER_BATCH} (256 KiB), "
            f"got {size}",
            ptr(loc, "MaxInputBytesPerBatch"),
        )


def _writer(writer: dict[str, JSON], loc: str, query_language: str) -> Diagnostics:
    field = "Parameters" if query_language == JSONPATH else "Arguments"
    resource = writer.get("Resource")
    if not writer:
        yield error(
            "ResultWriter cannot be empty: give WriterConfig, or Resource and "
            f"{field} (Bucket, Prefix), or all three",
            loc,
        )
        return
    literal = isinstance(resource, str) and _literal(resource)
    if "Resource" in writer and literal and resource != RESULT_WRITER_RESOURCE:
        yield error(
            f"The ResultWriter resource '{resource}' is not supported: use "
            f"{RESULT_WRITER_RESOURCE}",
            ptr(loc, "Resource"),
            UNSUPPORTED_FEATURE,
        )
    if "Resource" in writer and field not in writer:
        yield required([field], loc)
    if field in writer and "Resource" not in writer:
        yield required(["Resource"], loc)
    parameters = writer.get(field)
    if isinstance(parameters, dict):
        yield from _names(parameters, ptr(loc, field), _WRITER_PARAMETERS, "Bucket")
    config = writer.get("WriterConfig")
    if config is None:
        return
    at = ptr(loc, "WriterConfig")
    if not isinstance(config, dict):
        yield error("WriterConfig must be an object", at)
        return
    for key, value in config.items():
        if key == "OutputType" and _literal(value):
            yield from check_enum(value, ptr(at, key), key, OUTPUT_TYPES)
        elif key == "Transformation" and _literal(value):
            yield from check_enum(value, ptr(at, key), key, TRANSFORMATIONS)
        elif key not in ("OutputType", "Transformation"):
            yield error(f"The field '{key}' is not supported by Step Functions", ptr(at, key))
