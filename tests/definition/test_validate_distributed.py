"""What `asl validate` says about a Distributed Map's ItemReader, ItemBatcher and ResultWriter:
AWS's rules, and UNSUPPORTED_FEATURE (at the field's pointer) for what this engine does not run."""

from __future__ import annotations

from typing import Any

import pytest

from engine.definition.diagnostics import Severity
from engine.definition.validate import iter_diagnostics

SCHEMA = "SCHEMA_VALIDATION_FAILED"
UNSUPPORTED = "UNSUPPORTED_FEATURE"
GET = "arn:aws:states:::s3:getObject"
LIST = "arn:aws:states:::s3:listObjectsV2"
PUT = "arn:aws:states:::s3:putObject"


def dmap(query_language: str = "JSONPath", **fields: Any) -> dict[str, Any]:
    state = {
        "Type": "Map",
        "End": True,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "I",
            "States": {"I": {"Type": "Pass", "End": True}},
        },
        **fields,
    }
    return {"QueryLanguage": query_language, "StartAt": "S", "States": {"S": state}}


def get_reader(**config: Any) -> dict[str, Any]:
    return {"Resource": GET, "ReaderConfig": config, "Parameters": {"Bucket": "b", "Key": "k"}}


def errors(definition: Any) -> list[tuple[str, str, str]]:
    return [
        (d.code, d.location, d.message)
        for d in iter_diagnostics(definition)
        if d.severity is Severity.ERROR
    ]


VALID = [
    pytest.param(dmap(ItemReader=get_reader(InputType="JSON")), id="json"),
    pytest.param(dmap(ItemReader=get_reader(InputType="JSONL", MaxItems=10)), id="jsonl"),
    pytest.param(dmap(ItemReader=get_reader(InputType="CSV")), id="csv-default-first-row"),
    pytest.param(
        dmap(
            ItemReader=get_reader(
                InputType="CSV",
                CSVHeaderLocation="GIVEN",
                CSVHeaders=["a", "b"],
                CSVDelimiter="TAB",
            )
        ),
        id="csv-given",
    ),
    pytest.param(
        dmap(ItemReader=get_reader(InputType="MANIFEST", ManifestType="S3_INVENTORY")),
        id="manifest",
    ),
    pytest.param(
        dmap(ItemReader={"Resource": LIST, "Parameters": {"Bucket": "b", "Prefix.$": "$.p"}}),
        id="list",
    ),
    pytest.param(
        dmap(ItemBatcher={"MaxInputBytesPerBatch": 262144, "BatchInput": {"a.$": "$.a"}}),
        id="batcher-bytes",
    ),
    pytest.param(
        dmap(ResultWriter={"Resource": PUT, "Parameters": {"Bucket": "b", "Prefix": "p"}}),
        id="writer",
    ),
    pytest.param(
        dmap(ResultWriter={"WriterConfig": {"OutputType": "JSONL", "Transformation": "FLATTEN"}}),
        id="writer-preview",
    ),
    pytest.param(
        dmap(
            "JSONata",
            ItemReader={
                "Resource": GET,
                "ReaderConfig": {"InputType": "{% 'JSON' %}", "MaxItems": "{% 2 %}"},
                "Arguments": {"Bucket": "{% $states.input.b %}", "Key": "k"},
            },
            ResultWriter={"Resource": PUT, "Arguments": {"Bucket": "{% 'b' %}"}},
        ),
        id="jsonata",
    ),
]


@pytest.mark.parametrize("definition", VALID)
def test_valid(definition: Any) -> None:
    assert errors(definition) == []


INVALID = [
    pytest.param(
        dmap(ItemReader=get_reader(InputType="PARQUET")),
        [
            (
                UNSUPPORTED,
                "/States/S/ItemReader/ReaderConfig/InputType",
                "InputType PARQUET is not supported by asl-engine: use CSV, JSON, JSONL or "
                "MANIFEST",
            )
        ],
        id="parquet",
    ),
    pytest.param(
        dmap(ItemReader=get_reader(InputType="MANIFEST", ManifestType="ATHENA_DATA")),
        [
            (
                UNSUPPORTED,
                "/States/S/ItemReader/ReaderConfig/ManifestType",
                "ManifestType ATHENA_DATA is not supported by asl-engine: it reads S3_INVENTORY "
                "manifests",
            )
        ],
        id="athena",
    ),
    pytest.param(
        dmap(ItemReader={"Resource": "arn:aws:states:::athena:getQueryResults"}),
        [
            (
                UNSUPPORTED,
                "/States/S/ItemReader/Resource",
                "The ItemReader resource 'arn:aws:states:::athena:getQueryResults' is not "
                "supported by asl-engine: it reads items from arn:aws:states:::s3:getObject "
                "(InputType CSV, JSON, JSONL or MANIFEST) and arn:aws:states:::s3:listObjectsV2.",
            )
        ],
        id="other-reader",
    ),
    pytest.param(
        dmap(ItemReader={"Resource": GET, "Parameters": {"Bucket": "b", "Key": "k"}}),
        [
            (
                SCHEMA,
                "/States/S/ItemReader",
                "ReaderConfig.InputType is required with arn:aws:states:::s3:getObject: one of "
                "[CSV, JSON, JSONL, MANIFEST]",
            )
        ],
        id="get-without-input-type",
    ),
    pytest.param(
        dmap(ItemReader=get_reader(InputType="XML")),
        [
            (
                SCHEMA,
                "/States/S/ItemReader/ReaderConfig/InputType",
                "The value of 'InputType' must be one of [CSV, JSON, JSONL, MANIFEST], got 'XML'",
            )
        ],
        id="unknown-input-type",
    ),
    pytest.param(
        dmap(ItemReader=get_reader(InputType="CSV", CSVHeaderLocation="GIVEN")),
        [
            (
                SCHEMA,
                "/States/S/ItemReader/ReaderConfig",
                "CSVHeaders is required when CSVHeaderLocation is GIVEN",
            )
        ],
        id="given-without-headers",
    ),
    pytest.param(
        dmap(ItemReader=get_reader(InputType="JSON", CSVDelimiter="PIPE")),
        [
            (
                SCHEMA,
                "/States/S/ItemReader/ReaderConfig/CSVDelimiter",
                "CSVDelimiter is only used with InputType CSV",
            )
        ],
        id="csv-field-on-json",
    ),
    pytest.param(
        dmap(ItemReader=get_reader(InputType="CSV", CSVDelimiter="COLON")),
        [
            (
                SCHEMA,
                "/States/S/ItemReader/ReaderConfig/CSVDelimiter",
                "The value of 'CSVDelimiter' must be one of [COMMA, PIPE, SEMICOLON, SPACE, TAB], "
                "got 'COLON'",
            )
        ],
        id="delimiter",
    ),
    pytest.param(
        dmap(ItemReader={**get_reader(InputType="JSON"), "Parameters": {"Key": "k", "Foo": 1}}),
        [
            (
                SCHEMA,
                "/States/S/ItemReader/Parameters/Foo",
                "The field 'Foo' is not supported by Step Functions here: use Bucket, Key, "
                "VersionId",
            ),
            (SCHEMA, "/States/S/ItemReader/Parameters", "These fields are required: [Bucket]"),
        ],
        id="reader-parameters",
    ),
    pytest.param(
        dmap(ItemBatcher={"BatchInput": {}}),
        [
            (
                SCHEMA,
                "/States/S/ItemBatcher",
                "ItemBatcher needs a limit: MaxItemsPerBatch, MaxInputBytesPerBatch or their "
                "...Path forms",
            )
        ],
        id="batcher-without-limit",
    ),
    pytest.param(
        dmap(ItemBatcher={"MaxInputBytesPerBatch": 262145}),
        [
            (
                SCHEMA,
                "/States/S/ItemBatcher/MaxInputBytesPerBatch",
                "MaxInputBytesPerBatch must be at most 262144 (256 KiB), got 262145",
            )
        ],
        id="batcher-bytes",
    ),
    pytest.param(
        dmap(
            ResultWriter={
                "Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "b"},
            }
        ),
        [
            (
                UNSUPPORTED,
                "/States/S/ResultWriter/Resource",
                "The ResultWriter resource 'arn:aws:states:::s3:getObject' is not supported: use "
                "arn:aws:states:::s3:putObject",
            )
        ],
        id="writer-resource",
    ),
    pytest.param(
        dmap(ResultWriter={}),
        [
            (
                SCHEMA,
                "/States/S/ResultWriter",
                "ResultWriter cannot be empty: give WriterConfig, or Resource and Parameters "
                "(Bucket, Prefix), or all three",
            )
        ],
        id="writer-empty",
    ),
    pytest.param(
        dmap(ResultWriter={"WriterConfig": {"OutputType": "CSV"}}),
        [
            (
                SCHEMA,
                "/States/S/ResultWriter/WriterConfig/OutputType",
                "The value of 'OutputType' must be one of [JSON, JSONL], got 'CSV'",
            )
        ],
        id="writer-output-type",
    ),
    pytest.param(
        dmap(ResultWriter={"Resource": PUT}),
        [(SCHEMA, "/States/S/ResultWriter", "These fields are required: [Parameters]")],
        id="writer-without-parameters",
    ),
]


@pytest.mark.parametrize(("definition", "expected"), INVALID)
def test_refused_at_its_pointer(definition: Any, expected: list[tuple[str, str, str]]) -> None:
    assert errors(definition) == expected
