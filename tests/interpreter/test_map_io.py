"""The pure parts of a Distributed Map's I/O: ItemBatcher's batches, WriterConfig's
Transformation, with Hypothesis for the batches' invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.definition.distributed import transform_results
from engine.errors import StatesError
from engine.interpreter.map_io import batch_items
from engine.values import JSON, payload_size

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def test_batches_by_count_with_batch_input() -> None:
    assert batch_items([1, 2, 3], 2, None, {"k": "v"}) == [
        {"Items": [1, 2], "BatchInput": {"k": "v"}},
        {"Items": [3], "BatchInput": {"k": "v"}},
    ]


def test_batches_by_bytes() -> None:
    # {"Items":[]} is 12 bytes; "aaaa" is 6; two items and a comma make 25.
    assert batch_items(["aaaa", "bbbb", "cccc"], None, 25, None) == [
        {"Items": ["aaaa", "bbbb"]},
        {"Items": ["cccc"]},
    ]


def test_an_item_larger_than_a_batch_fails() -> None:
    with pytest.raises(StatesError) as raised:
        batch_items(["x" * 20], None, 20, None)
    assert raised.value.error == "States.Runtime"
    assert raised.value.cause == (
        "An item of 22 bytes does not fit in a batch of at most MaxInputBytesPerBatch 20 bytes."
    )


def test_no_items_no_batches() -> None:
    assert batch_items([], 5, None, None) == []


@given(
    items=st.lists(json_values, max_size=30),
    max_items=st.none() | st.integers(1, 5),
    max_bytes=st.none() | st.integers(60, 400),
)
def test_batches_keep_every_item_in_order_within_their_limits(
    items: list[JSON], max_items: int | None, max_bytes: int | None
) -> None:
    if max_items is None and max_bytes is None:
        max_items = 3
    try:
        batches = batch_items(items, max_items, max_bytes, {"n": 1})
    except StatesError:
        assert max_bytes is not None
        assert any(payload_size({"Items": [i], "BatchInput": {"n": 1}}) > max_bytes for i in items)
        return
    flat = [item for batch in batches for item in batch["Items"]]  # type: ignore[index, union-attr]
    assert flat == items
    for batch in batches:
        assert batch["Items"]  # type: ignore[index]
        if max_items is not None:
            assert len(batch["Items"]) <= max_items  # type: ignore[index, arg-type]
        if max_bytes is not None:
            assert payload_size(batch) <= max_bytes


RECORDS = [
    {"Status": "SUCCEEDED", "Output": "[1,2]"},
    {"Status": "FAILED", "Error": "E", "Cause": "c"},
    {"Status": "SUCCEEDED", "Output": '{"a":1}'},
]


@pytest.mark.parametrize(
    ("transformation", "expected"),
    [
        ("NONE", RECORDS),
        ("COMPACT", [[1, 2], RECORDS[1], {"a": 1}]),
        ("FLATTEN", [1, 2, RECORDS[1], {"a": 1}]),
    ],
    ids=["none", "compact", "flatten"],
)
def test_transformations(transformation: str, expected: list[JSON]) -> None:
    assert transform_results(RECORDS, transformation) == expected


READER_MAP = {
    "StartAt": "M",
    "States": {
        "M": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON", "MaxItemsPath": "$.max"},
                "Parameters": {"Bucket.$": "$.bucket", "Key": "k.json"},
            },
            "ItemBatcher": {"MaxItemsPerBatch": 2},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}


def test_a_reader_map_asks_the_runtime_for_its_items_then_batches_them() -> None:
    from engine.definition.distributed import ITEM_READER_TASK
    from engine.interpreter.messages import TaskFinished
    from engine.interpreter.tasks import TaskSuccess
    from tests.interpreter.helpers import Harness

    harness = Harness.of(READER_MAP, {"bucket": "b", "max": 3})
    harness.start()
    read = harness.only_task()
    assert read.request.resource == ITEM_READER_TASK
    assert read.request.payload == {
        "Resource": "arn:aws:states:::s3:getObject",
        "Parameters": {"Bucket": "b", "Key": "k.json"},
        "ReaderConfig": {"InputType": "JSON", "MaxItems": 3},
    }
    harness.feed(TaskFinished(read.frame_id, read.task_id, TaskSuccess([1, 2, 3]), harness.now))
    assert harness.finish is not None
    assert harness.finish.output == [{"Items": [1, 2]}, {"Items": [3]}]


def test_a_read_lost_with_its_worker_is_asked_again() -> None:
    from engine.interpreter.messages import TaskFinished
    from engine.interpreter.tasks import TaskFailure, TaskSuccess
    from tests.interpreter.helpers import Harness

    harness = Harness.of(READER_MAP, {"bucket": "b", "max": 0})
    harness.start()
    first = harness.only_task()
    lost = TaskFailure("States.TaskFailed", "the worker was lost")
    harness.feed(TaskFinished(first.frame_id, first.task_id, lost, harness.now))
    harness.tasks.pop(first.task_id)  # answered
    second = harness.only_task()
    assert second.task_id != first.task_id
    assert second.request == first.request
    harness.feed(TaskFinished(second.frame_id, second.task_id, TaskSuccess(["x"]), harness.now))
    assert harness.finish is not None
    assert harness.finish.output == [{"Items": ["x"]}]


def test_a_failed_read_fails_the_map_with_the_readers_error() -> None:
    from engine.interpreter.messages import TaskFinished
    from engine.interpreter.tasks import TaskFailure
    from tests.interpreter.helpers import Harness

    harness = Harness.of(READER_MAP, {"bucket": "b", "max": 0})
    harness.start()
    read = harness.only_task()
    failure = TaskFailure("States.ItemReaderFailed", "Attempting to map over non-iterable node.")
    harness.feed(TaskFinished(read.frame_id, read.task_id, failure, harness.now))
    assert harness.finish is not None
    assert (harness.finish.status, harness.finish.error, harness.finish.cause) == (
        "FAILED",
        "States.ItemReaderFailed",
        "Attempting to map over non-iterable node.",
    )
