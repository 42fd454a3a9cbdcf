"""processor_definition: the ItemProcessor a Distributed Map's children run, cut out of the
parent's definition at its JSON pointer."""

from __future__ import annotations

import pytest

from engine.definition.processor import processor_definition
from engine.values import JSON

PROCESSOR: JSON = {
    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    "StartAt": "D",
    "States": {"D": {"Type": "Pass", "End": True}},
}
PARENT: dict[str, JSON] = {
    "QueryLanguage": "JSONPath",
    "StartAt": "P",
    "States": {
        "P": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "S", "States": {"S": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "M/1",
                    "States": {"M/1": {"Type": "Map", "ItemProcessor": PROCESSOR, "End": True}},
                },
            ],
            "End": True,
        }
    },
}


def test_a_processor_inside_a_parallel_branch_is_found_through_the_branch_index() -> None:
    key = "/States/P/Branches/1/States/M~11/ItemProcessor"
    assert processor_definition(PARENT, key) == {
        "StartAt": "D",
        "States": {"D": {"Type": "Pass", "End": True}},
        "QueryLanguage": "JSONPath",
    }


@pytest.mark.parametrize(
    "key",
    ["/States/P/Branches/2/States/M~11/ItemProcessor", "/States/P/Branches/x", "/States/Q"],
    ids=["index-past-the-end", "no-index", "no-state"],
)
def test_a_pointer_to_nothing_raises_key_error(key: str) -> None:
    with pytest.raises(KeyError):
        processor_definition(PARENT, key)
