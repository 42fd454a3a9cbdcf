"""Typed model of an ASL definition (pydantic v2): for API users, docs and tools.

Owns: one pydantic model per ASL object (state machine, each state type discriminated on
`Type`, retrier, catcher, Choice rule, Map's processor/reader/batcher/writer), with snake_case
fields aliased to the ASL names (`result_path` <-> `ResultPath`), and `load_model`.
Must never: validate semantics (validate.py reports every problem with a location; this model
only types a definition that already validated), sit on the interpreter's hot path (compile.py
builds the runtime values), or do I/O.

Defaults follow the States Language: a missing `InputPath`/`OutputPath`/`ResultPath` is `"$"`,
an explicit `null` is `None` (discard); a missing `QueryLanguage` is `None` (inherit).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_pascal

from engine.values import JSON

__all__ = [
    "Catcher",
    "ChoiceRule",
    "ChoiceState",
    "Credentials",
    "FailState",
    "Graph",
    "ItemBatcher",
    "ItemProcessor",
    "ItemReader",
    "MapState",
    "ParallelState",
    "PassState",
    "ProcessorConfig",
    "ReaderConfig",
    "ResultWriter",
    "Retrier",
    "State",
    "StateMachine",
    "SucceedState",
    "TaskState",
    "WaitState",
    "load_model",
]

QueryLanguage = Literal["JSONPath", "JSONata"]


class AslModel(BaseModel):
    """Base: ASL aliases (PascalCase), unknown fields rejected, immutable."""

    model_config = ConfigDict(
        alias_generator=to_pascal, populate_by_name=True, extra="forbid", frozen=True
    )


class Retrier(AslModel):
    error_equals: list[str]
    interval_seconds: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter_strategy: Literal["FULL", "NONE"] = "NONE"
    comment: str | None = None


class Catcher(AslModel):
    error_equals: list[str]
    next: str
    result_path: str | None = "$"
    output: JsonValue = None
    assign: dict[str, JsonValue] | None = None
    comment: str | None = None


class Credentials(AslModel):
    model_config = ConfigDict(extra="allow")
    role_arn: JsonValue = None


class ChoiceRule(AslModel):
    """A Choice rule: JSONPath (`Variable` + one operator, or And/Or/Not) or JSONata
    (`Condition`). `next` and `assign` appear on top-level rules only."""

    next: str | None = None
    comment: str | None = None
    assign: dict[str, JsonValue] | None = None
    output: JsonValue = None
    condition: JsonValue = None
    variable: str | None = None
    and_: list[ChoiceRule] | None = Field(default=None, alias="And")
    or_: list[ChoiceRule] | None = Field(default=None, alias="Or")
    not_: ChoiceRule | None = Field(default=None, alias="Not")
    string_equals: str | None = None
    string_equals_path: str | None = None
    string_less_than: str | None = None
    string_less_than_path: str | None = None
    string_greater_than: str | None = None
    string_greater_than_path: str | None = None
    string_less_than_equals: str | None = None
    string_less_than_equals_path: str | None = None
    string_greater_than_equals: str | None = None
    string_greater_than_equals_path: str | None = None
    string_matches: str | None = None
    numeric_equals: float | None = None
    numeric_equals_path: str | None = None
    numeric_less_than: float | None = None
    numeric_less_than_path: str | None = None
    numeric_greater_than: float | None = None
    numeric_greater_than_path: str | None = None
    numeric_less_than_equals: float | None = None
    numeric_less_than_equals_path: str | None = None
    numeric_greater_than_equals: float | None = None
    numeric_greater_than_equals_path: str | None = None
    boolean_equals: bool | None = None
    boolean_equals_path: str | None = None
    timestamp_equals: str | None = None
    timestamp_equals_path: str | None = None
    timestamp_less_than: str | None = None
    timestamp_less_than_path: str | None = None
    timestamp_greater_than: str | None = None
    timestamp_greater_than_path: str | None = None
    timestamp_less_than_equals: str | None = None
    timestamp_less_than_equals_path: str | None = None
    timestamp_greater_than_equals: str | None = None
    timestamp_greater_than_equals_path: str | None = None
    is_null: bool | None = None
    is_present: bool | None = None
    is_numeric: bool | None = None
    is_string: bool | None = None
    is_boolean: bool | None = None
    is_timestamp: bool | None = None


class _StateBase(AslModel):
    comment: str | None = None
    query_language: QueryLanguage | None = None


class _Flow(AslModel):
    next: str | None = None
    end: bool = False


class _Io(AslModel):
    input_path: str | None = "$"
    output_path: str | None = "$"
    output: JsonValue = None
    assign: dict[str, JsonValue] | None = None


class _Results(AslModel):
    parameters: JsonValue = None
    arguments: JsonValue = None
    result_selector: dict[str, JsonValue] | None = None
    result_path: str | None = "$"
    retry: list[Retrier] = Field(default_factory=list)
    catch: list[Catcher] = Field(default_factory=list)


class PassState(_StateBase, _Flow, _Io):
    type: Literal["Pass"]
    parameters: JsonValue = None
    result: JsonValue = None
    result_path: str | None = "$"


class TaskState(_StateBase, _Flow, _Io, _Results):
    type: Literal["Task"]
    resource: str
    timeout_seconds: int | str | None = None
    timeout_seconds_path: str | None = None
    heartbeat_seconds: int | str | None = None
    heartbeat_seconds_path: str | None = None
    credentials: Credentials | None = None


class ChoiceState(_StateBase, _Io):
    type: Literal["Choice"]
    choices: list[ChoiceRule]
    default: str | None = None


class WaitState(_StateBase, _Flow, _Io):
    type: Literal["Wait"]
    seconds: int | str | None = None
    seconds_path: str | None = None
    timestamp: str | None = None
    timestamp_path: str | None = None


class SucceedState(_StateBase):
    type: Literal["Succeed"]
    input_path: str | None = "$"
    output_path: str | None = "$"
    output: JsonValue = None


class FailState(_StateBase):
    type: Literal["Fail"]
    error: str | None = None
    error_path: str | None = None
    cause: str | None = None
    cause_path: str | None = None


class Graph(AslModel):
    """A set of states with its own StartAt: the machine, a Parallel branch, a Map processor."""

    start_at: str
    states: dict[str, State]
    comment: str | None = None


class ParallelState(_StateBase, _Flow, _Io, _Results):
    type: Literal["Parallel"]
    branches: list[Graph]


class ProcessorConfig(AslModel):
    mode: Literal["INLINE", "DISTRIBUTED"] = "INLINE"
    execution_type: Literal["STANDARD", "EXPRESS"] | None = None


class ItemProcessor(Graph):
    processor_config: ProcessorConfig = Field(default_factory=ProcessorConfig)


class ReaderConfig(AslModel):
    model_config = ConfigDict(extra="allow")
    input_type: str | None = None
    csv_header_location: str | None = Field(default=None, alias="CSVHeaderLocation")
    csv_headers: list[str] | None = Field(default=None, alias="CSVHeaders")
    csv_delimiter: str | None = Field(default=None, alias="CSVDelimiter")
    max_items: int | str | None = None
    max_items_path: str | None = None
    manifest_type: str | None = None


class ItemReader(AslModel):
    resource: str
    reader_config: ReaderConfig | None = None
    parameters: JsonValue = None
    arguments: JsonValue = None


class ItemBatcher(AslModel):
    max_items_per_batch: int | str | None = None
    max_items_per_batch_path: str | None = None
    max_input_bytes_per_batch: int | str | None = None
    max_input_bytes_per_batch_path: str | None = None
    batch_input: JsonValue = None


class ResultWriter(AslModel):
    resource: str | None = None
    parameters: JsonValue = None
    arguments: JsonValue = None
    writer_config: dict[str, JsonValue] | None = None


class MapState(_StateBase, _Flow, _Io, _Results):
    type: Literal["Map"]
    item_processor: ItemProcessor | None = None
    iterator: ItemProcessor | None = None
    items_path: str = "$"
    items: JsonValue = None
    item_selector: JsonValue = None
    item_reader: ItemReader | None = None
    item_batcher: ItemBatcher | None = None
    result_writer: ResultWriter | None = None
    max_concurrency: int | str | None = None
    max_concurrency_path: str | None = None
    tolerated_failure_percentage: float | str | None = None
    tolerated_failure_percentage_path: str | None = None
    tolerated_failure_count: int | str | None = None
    tolerated_failure_count_path: str | None = None
    label: str | None = None

    @property
    def processor(self) -> ItemProcessor:
        """ItemProcessor, or the legacy Iterator standing in for it."""
        processor = self.item_processor or self.iterator
        assert processor is not None, "a validated Map has ItemProcessor or Iterator"
        return processor


State = Annotated[
    PassState
    | TaskState
    | ChoiceState
    | WaitState
    | SucceedState
    | FailState
    | ParallelState
    | MapState,
    Field(discriminator="type"),
]


class StateMachine(Graph):
    """The whole definition."""

    version: Literal["1.0"] | None = None
    timeout_seconds: int | None = None
    query_language: QueryLanguage = "JSONPath"


Graph.model_rebuild()
ItemProcessor.model_rebuild()
StateMachine.model_rebuild()


def load_model(definition: JSON) -> StateMachine:
    """The typed model of a definition that validated (`iter_diagnostics` gave no ERROR).

    Raises pydantic.ValidationError for a definition that did not validate; use
    `iter_diagnostics` to learn what is wrong with it.
    """
    return StateMachine.model_validate(definition)
