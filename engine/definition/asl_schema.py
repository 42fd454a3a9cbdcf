"""The JSON Schema of an ASL definition, for editors: generated from the pydantic model.

Owns: `build_schema` (the typed model in engine/definition/model.py turned into a JSON Schema
draft-07 document with `$schema`, `$id`, a title and a description for every ASL field, and
enums for the fixed vocabularies), and where the shipped copy lives (`SCHEMA_PATH`, package
data, printed by `asl schema`). Must never: be what decides validity. The schema helps an editor
complete and flag obvious mistakes (a state without `Type`, an unknown `Type`, a misspelt
field); `asl validate` (validate.py) is the judge, with located diagnostics for everything a
schema cannot say (a `Next` naming no state, JSONPath syntax, AWS's limits). Every definition
`asl validate` accepts must satisfy the schema (tests/definition/test_asl_schema.py).

Draft-07 because it is the draft every editor extension reads (VS Code's JSON and YAML
extensions, JetBrains IDEs); pydantic's `$defs` are renamed to draft-07's `definitions`, the
OpenAPI-only `discriminator` keyword is dropped (the `Type` constants already tell the state
kinds apart), and `"default": null` is dropped (an editor would insert a useless `null`).

Regenerate the shipped file after changing the model: `asl schema --build --output
engine/definition/asl.schema.json` (a test fails while the shipped file is stale).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from engine.values import JSON

__all__ = ["SCHEMA_ID", "SCHEMA_PATH", "build_schema", "schema_text", "shipped_schema_text"]

SCHEMA_PATH: Final = Path(__file__).with_name("asl.schema.json")
SCHEMA_ID: Final = "urn:asl-engine:schema:asl-definition"
DRAFT: Final = "http://json-schema.org/draft-07/schema#"

TITLE: Final = "Amazon States Language state machine"
DESCRIPTION: Final = (
    "A state machine definition in the Amazon States Language (AWS Step Functions), as "
    "asl-engine reads it. Editors use this schema to complete and check *.asl.json and "
    "*.asl.yaml files; `asl validate` gives the full verdict."
)

# What each model (a `definitions` entry) is, in one sentence an editor shows on hover.
MODEL_DOCS: Final[dict[str, str]] = {
    "StateMachine": DESCRIPTION,
    "Graph": "A set of states with its own StartAt: a Parallel branch.",
    "ItemProcessor": "The states each Map iteration runs, and how they run (ProcessorConfig).",
    "PassState": "Pass: passes its input to its output, optionally injecting a fixed Result.",
    "TaskState": "Task: one unit of work done by the Resource (a Lambda function, an AWS "
    "service integration, an activity, an HTTP endpoint).",
    "ChoiceState": "Choice: goes to the Next of the first rule that matches, else to Default.",
    "WaitState": "Wait: waits Seconds, or until Timestamp, then continues.",
    "SucceedState": "Succeed: ends the execution (or the branch or iteration) successfully.",
    "FailState": "Fail: ends the execution with an Error and a Cause.",
    "ParallelState": "Parallel: runs every branch on the same input; its output is the array "
    "of the branches' outputs.",
    "MapState": "Map: runs the ItemProcessor once for each item of the input array.",
    "Retrier": "A retry policy: which errors to retry, how often and how long to wait.",
    "Catcher": "A fallback: which errors to catch and the state to go to.",
    "ChoiceRule": "A Choice rule: a comparison on Variable (JSONPath), And/Or/Not of rules, "
    "or a Condition (JSONata). Only top-level rules have Next.",
    "Credentials": "The IAM role to assume for this Task (cross-account tasks).",
    "ProcessorConfig": "How a Map runs its iterations: INLINE or DISTRIBUTED.",
    "ItemReader": "Where a Distributed Map reads its items (an S3 object, manifest or list).",
    "ReaderConfig": "How the ItemReader reads: the input type, CSV headers, a maximum count.",
    "ItemBatcher": "Groups a Map's items into batches for each iteration.",
    "ResultWriter": "Where a Distributed Map writes the iterations' results.",
}

# What each ASL field means, by its ASL name (the same name means the same thing everywhere).
FIELD_DOCS: Final[dict[str, str]] = {
    "Comment": "A human-readable description.",
    "StartAt": "The name of the state to start with (a key of States).",
    "States": "The states, by name (1 to 80 characters).",
    "Version": "The version of the States Language (only 1.0 exists).",
    "TimeoutSeconds": "The most seconds this may run before failing with States.Timeout.",
    "TimeoutSecondsPath": "A reference path to the timeout in the state input.",
    "HeartbeatSeconds": "Seconds allowed between heartbeats before States.HeartbeatTimeout.",
    "HeartbeatSecondsPath": "A reference path to the heartbeat interval in the state input.",
    "QueryLanguage": "JSONPath (the default) or JSONata: how fields read and shape data.",
    "Type": "The state's type.",
    "Next": "The name of the state to go to next.",
    "End": "true: the execution (or branch or iteration) ends after this state.",
    "InputPath": "JSONPath: the part of the state input the state works on (null: {}).",
    "OutputPath": "JSONPath: the part of the result passed on as output (null: {}).",
    "ResultPath": "JSONPath: where the result goes in the input (null: discard the result).",
    "Parameters": "JSONPath: a payload template (keys ending in .$ are paths or intrinsics).",
    "Arguments": "JSONata: the arguments given to the Resource ({% %} expressions).",
    "ResultSelector": "JSONPath: a payload template applied to the raw result.",
    "Output": "JSONata: the state output ({% %} expressions).",
    "Assign": "Variables to set, by name (available to later states as $name).",
    "Result": "Pass: the fixed value used as the state's result.",
    "Resource": "The ARN of the work: a Lambda function, an integration, an activity.",
    "Credentials": "The IAM role to assume for this Task.",
    "RoleArn": "The ARN of the IAM role to assume.",
    "Retry": "Retry policies, tried in order for an error.",
    "Catch": "Fallback states, tried in order once retries are exhausted.",
    "ErrorEquals": "The error names this applies to (States.ALL matches any error).",
    "IntervalSeconds": "Seconds before the first retry (default 1).",
    "MaxAttempts": "How many retries at most (default 3; 0: never retry).",
    "BackoffRate": "The factor the interval grows by at each retry (default 2.0).",
    "MaxDelaySeconds": "The longest interval between retries.",
    "JitterStrategy": "FULL: randomize each interval; NONE (the default): exact intervals.",
    "Choices": "The rules, evaluated in order; the first that matches chooses Next.",
    "Default": "The state to go to when no rule matches (else States.NoChoiceMatched).",
    "Condition": "JSONata: a boolean expression ({% %}).",
    "Variable": "JSONPath: the value the comparison reads.",
    "And": "Matches when every rule matches.",
    "Or": "Matches when any rule matches.",
    "Not": "Matches when the rule does not match.",
    "Seconds": "How many seconds to wait.",
    "SecondsPath": "A reference path to the seconds to wait.",
    "Timestamp": "When to stop waiting (RFC 3339, e.g. 2026-01-01T00:00:00Z).",
    "TimestampPath": "A reference path to the timestamp to wait until.",
    "Error": "The error name the execution fails with.",
    "ErrorPath": "A reference path (or intrinsic) to the error name.",
    "Cause": "A description of the failure.",
    "CausePath": "A reference path (or intrinsic) to the cause.",
    "Branches": "The branches, each a set of states with its own StartAt.",
    "ItemProcessor": "The states each iteration runs.",
    "Iterator": "The states each iteration runs (the older name of ItemProcessor).",
    "ProcessorConfig": "How iterations run: Mode INLINE or DISTRIBUTED.",
    "Mode": "INLINE (in this execution) or DISTRIBUTED (child executions).",
    "ExecutionType": "The type of a Distributed Map's child executions.",
    "ItemsPath": "JSONPath: the array in the input to iterate over (default $).",
    "Items": "JSONata: the array to iterate over.",
    "ItemSelector": "The value each iteration gets (instead of the item itself).",
    "ItemReader": "Where a Distributed Map reads its items.",
    "ReaderConfig": "How the ItemReader reads.",
    "InputType": "The format of the items: CSV, JSON, JSONL, MANIFEST, PARQUET.",
    "CSVHeaderLocation": "FIRST_ROW or GIVEN (then CSVHeaders lists them).",
    "CSVHeaders": "The column names of a CSV without a header row.",
    "CSVDelimiter": "The delimiter of the CSV columns.",
    "MaxItems": "The most items to read.",
    "MaxItemsPath": "A reference path to the most items to read.",
    "ManifestType": "The type of the manifest read (S3 inventory).",
    "ItemBatcher": "Groups items into batches.",
    "MaxItemsPerBatch": "The most items in one batch.",
    "MaxItemsPerBatchPath": "A reference path to the most items in one batch.",
    "MaxInputBytesPerBatch": "The most bytes in one batch.",
    "MaxInputBytesPerBatchPath": "A reference path to the most bytes in one batch.",
    "BatchInput": "A fixed value added to every batch.",
    "ResultWriter": "Where the iterations' results are written.",
    "WriterConfig": "How the results are written.",
    "MaxConcurrency": "How many iterations may run at once (0: no limit).",
    "MaxConcurrencyPath": "A reference path to the concurrency limit.",
    "ToleratedFailurePercentage": "The percentage of failed items the Map tolerates.",
    "ToleratedFailurePercentagePath": "A reference path to the tolerated failure percentage.",
    "ToleratedFailureCount": "How many failed items the Map tolerates.",
    "ToleratedFailureCountPath": "A reference path to the tolerated failure count.",
    "Label": "A label for a Distributed Map's child executions.",
}


def _comparison_doc(name: str) -> str | None:
    """Choice rule operators: `StringEquals`, `NumericLessThanPath`, `IsNull`, ..."""
    for kind in ("String", "Numeric", "Boolean", "Timestamp"):
        if name.startswith(kind):
            against = "the value at this reference path" if name.endswith("Path") else "this"
            return f"Matches when Variable, a {kind.lower()}, {_operator(name, kind)} {against}."
    if name.startswith("Is"):
        what = {"Null": "null", "Present": "present", "Numeric": "a number"}.get(
            name[2:], f"a {name[2:].lower()}"
        )
        return f"true: matches when Variable is {what}; false: when it is not."
    return None


def _operator(name: str, kind: str) -> str:
    rest = name[len(kind) :].removesuffix("Path")
    words = {
        "Equals": "equals",
        "LessThan": "is less than",
        "GreaterThan": "is greater than",
        "LessThanEquals": "is at most",
        "GreaterThanEquals": "is at least",
        "Matches": "matches (with * wildcards)",
    }
    return words.get(rest, rest)


def build_schema() -> dict[str, JSON]:
    """The schema, generated from `StateMachine` (imports pydantic: `asl schema` prints the
    shipped copy instead)."""
    from pydantic.json_schema import GenerateJsonSchema

    from engine.definition.model import StateMachine

    class Generator(GenerateJsonSchema):
        # pydantic cannot add its OpenAPI `discriminator` inside the recursive state union
        # (Parallel branches hold states) and says so; the schema drops that keyword anyway
        ignored_warning_kinds = {"skipped-choice", "skipped-discriminator"}  # noqa: RUF012

    generated = StateMachine.model_json_schema(
        by_alias=True, mode="validation", schema_generator=Generator
    )
    # pydantic names draft 2020-12's `$defs`; draft-07 readers expect `definitions`
    text = json.dumps(generated).replace('"#/$defs/', '"#/definitions/')
    schema: dict[str, JSON] = json.loads(text)
    definitions = schema.pop("$defs")
    assert isinstance(definitions, dict)
    for name, model in definitions.items():
        assert isinstance(model, dict)
        _document(name, model)
    _document("StateMachine", schema)
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        **schema,
        "title": TITLE,
        "definitions": dict(sorted(definitions.items())),
    }


def _document(name: str, model: dict[str, JSON]) -> None:
    """Titles and descriptions of one model and its fields; drop what editors misuse."""
    model["title"] = name.removesuffix("State") if name.endswith("State") else name
    if name in MODEL_DOCS:
        model["description"] = MODEL_DOCS[name]
    properties = model.get("properties")
    if not isinstance(properties, dict):
        return
    for field, spec in properties.items():
        assert isinstance(spec, dict)
        _clean(spec)
        spec["title"] = field
        doc = FIELD_DOCS.get(field) or _comparison_doc(field)
        if field == "Type" and name.endswith("State"):
            doc = MODEL_DOCS.get(name)
        if doc:
            spec["description"] = doc
        if "$ref" in spec:
            # draft-07 ignores the siblings of a `$ref`: wrapped, the title and description show
            spec["allOf"] = [{"$ref": spec.pop("$ref")}]


def _clean(spec: dict[str, JSON]) -> None:
    if "default" in spec and spec["default"] is None:
        del spec["default"]
    for value in spec.values():
        if isinstance(value, dict):
            value.pop("discriminator", None)
            _clean(value)


def schema_text(schema: dict[str, JSON]) -> str:
    """The schema as the shipped file holds it: indented, one trailing newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def shipped_schema_text() -> str:
    """The shipped schema (package data), as `asl schema` prints it."""
    return SCHEMA_PATH.read_text(encoding="utf-8")
