"""Machines built around one Distributed Map, for the differential harness's Map Run checks.

Owns: `distributed_maps()`, a strategy for Standard machines whose Map runs its items as child
executions (`"ProcessorConfig": {"Mode": "DISTRIBUTED"}`, ExecutionType STANDARD or EXPRESS),
with the fields that change what its Map Run does: items from the input (ItemsPath), an
ItemSelector, an ItemBatcher (MaxItemsPerBatch, BatchInput), MaxConcurrency,
ToleratedFailureCount or ToleratedFailurePercentage under and over the failures the items
cause, Retry and Catch on the Map, and a processor of Pass, Choice, Fail and Task states that
fails on some items (odd values fail `gen_parity`, large ones reach a Fail state), each
`MapMachine` with its `inline` twin where AWS gives the twin the same output.
Must never: read anything that differs between paths (the general generator's rule,
strategies.py), or make a machine whose outcome depends on which child finishes first.

Why a strategy of its own: machines() draws a Distributed Map one Map in four, with a
processor shaped for any Map, so it rarely makes one that fails on some items and not others,
never batches items, and its Map Runs were not compared. Here every machine has one, its
items decide which children fail, and the harness compares its Map Runs on every path that
shows them (DescribeMapRun's counts and status, ListExecutions of its children).

Ordering: which children fail follows from their items alone, and a failed child's error
reaches the Map the same way whichever fails first (one error name per machine: `OddValue`
from the Task, `TooBig` from the Fail state, or States.ExceedToleratedFailureThreshold), so
outputs, errors and causes agree between paths. A cause is the first failing child's: the
Fail state's cause names no item, and gen_parity's does (its value), so with both failure
kinds, or gen_parity and values that differ, the first child to fail decides the cause, and
children run concurrently: `unordered` marks those machines (only their shape is compared).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hypothesis import strategies as st

from engine.values import JSON
from tests.generated.expressions import FUNCTION_ARN, JSONATA, JSONPATH

__all__ = ["MapMachine", "distributed_maps"]

TOO_BIG = 4
"""A processor's Choice sends values above this to its Fail state (error `TooBig`)."""


@dataclass(frozen=True)
class MapMachine:
    """A Standard machine with one Distributed Map (`Map`), its input, and `inline`: the same
    machine with an INLINE Map, when AWS gives both the same outcome while no item fails (no
    ItemBatcher: an inline Map cannot batch)."""

    definition: dict[str, JSON]
    input: JSON
    inline: dict[str, JSON] | None
    features: frozenset[str]
    unordered: bool
    items_fail: bool
    """Some item's child fails (a Fail state, or gen_parity without a Retry that heals it)."""

    @property
    def text(self) -> str:
        return json.dumps(self.definition)

    @property
    def inline_text(self) -> str | None:
        return json.dumps(self.inline) if self.inline is not None else None

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example
        return (
            f"MapMachine(definition={json.dumps(self.definition)},\n"
            f"  input={json.dumps(self.input)})"
        )


@st.composite
def distributed_maps(draw: st.DrawFn, max_items: int = 5) -> MapMachine:
    """A machine `Prep? -> Map -> (Caught)` whose Map is DISTRIBUTED; see the module docstring."""
    features: set[str] = set()
    language = draw(st.sampled_from([JSONPATH, JSONATA]))
    features.add(language)
    execution_type = draw(st.sampled_from(["STANDARD", "EXPRESS"]))
    features.add(f"Map.DISTRIBUTED.{execution_type}")
    values = draw(st.lists(st.integers(0, 6), min_size=1, max_size=max_items))
    items: list[JSON] = [{"value": v} for v in values]
    data: dict[str, JSON] = {"items": items, "tag": draw(st.sampled_from(["a", "b"]))}

    batch = draw(st.integers(0, 3))  # 0: no ItemBatcher
    batch_input = batch > 0 and draw(st.booleans())
    # What the processor reads its value from: the item, or a batch's first item.
    value = ".Items[0].value" if batch else ".value"

    processor, failures = _processor(draw, language, value, batch, batch_input, features)
    map_state: dict[str, JSON] = {"Type": "Map", **_items(language, ".items")}
    if draw(st.booleans()):
        read = {"value": "$$.Map.Item.Value.value", "index": "$$.Map.Item.Index"}
        if draw(st.booleans()):
            read["tag"] = "$.tag"
        map_state["ItemSelector"] = _reading(language, read)
        features.add("ItemSelector")
    if batch:
        batcher: dict[str, JSON] = {"MaxItemsPerBatch": batch}
        if batch_input:
            batcher["BatchInput"] = _reading(language, {"tag": "$.tag"}, fixed=1)
        map_state["ItemBatcher"] = batcher
        features.add("ItemBatcher.BatchInput" if batch_input else "ItemBatcher")
    map_state["ItemProcessor"] = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
        **processor,
    }
    if draw(st.booleans()):
        map_state["Label"] = "Items"
    if draw(st.booleans()):
        map_state["MaxConcurrency"] = draw(st.integers(0, 2))
        features.add("MaxConcurrency")
    tolerance = draw(st.sampled_from(["none", "count", "percentage"]))
    if tolerance == "count":
        map_state["ToleratedFailureCount"] = draw(st.integers(0, 3))
        features.add("ToleratedFailureCount")
    elif tolerance == "percentage":
        map_state["ToleratedFailurePercentage"] = draw(st.sampled_from([0, 25, 50, 100]))
        features.add("ToleratedFailurePercentage")
    if draw(st.booleans()):
        map_state.update(_result_at(language, "results"))
    retried = draw(st.booleans())
    if retried:
        error = draw(
            st.sampled_from(["States.ALL", "States.ExceedToleratedFailureThreshold", "OddValue"])
        )
        map_state["Retry"] = [{"ErrorEquals": [error], "IntervalSeconds": 3, "MaxAttempts": 1}]
        features.add("Map.Retry")
    states: dict[str, JSON] = {}
    start = "Map"
    if draw(st.booleans()):
        prep = _reading(language, {"items": "$.items"}, tag="p")
        field = "Output" if language == JSONATA else "Parameters"
        states["Prep"] = {"Type": "Pass", field: prep, "Next": "Map"}
        start = "Prep"
    states["Map"] = map_state
    if draw(st.booleans()):
        catcher: dict[str, JSON] = {"ErrorEquals": ["States.ALL"], "Next": "Caught"}
        if language == JSONATA:
            catcher["Output"] = "{% $merge([$states.input, {'error': $states.errorOutput}]) %}"
        else:
            catcher["ResultPath"] = "$.error"
        map_state["Catch"] = [catcher]
        states["Caught"] = {"Type": "Pass", "End": True}
        features.add("Map.Catch")
    map_state["End"] = True
    graph: dict[str, JSON] = {"StartAt": start, "States": states}
    wrap = draw(st.sampled_from(["none", "Parallel", "INLINE", "DISTRIBUTED"]))
    if wrap == "Parallel":  # the Map one level down: a Parallel's branch, beside a Pass
        outer: dict[str, JSON] = {
            "Type": "Parallel",
            "Branches": [
                graph,
                {"StartAt": "Side", "States": {"Side": {"Type": "Pass", "End": True}}},
            ],
            "End": True,
        }
    elif wrap != "none":  # in the processor of a Map over copies of the input's items
        # Two copies fail alike, so which fails first does not change the outcome; but in
        # an inline Map both Map Runs would be the parent's, and whether the second failed
        # too or was aborted (and with it the parent's history) would not be fixed.
        data["groups"] = [items] * (draw(st.integers(1, 2)) if wrap == "DISTRIBUTED" else 1)
        config: dict[str, JSON] = {"Mode": wrap}
        if wrap == "DISTRIBUTED":
            config["ExecutionType"] = "STANDARD"
        outer = {
            "Type": "Map",
            **_items(language, ".groups"),
            "ItemSelector": _reading(language, {"items": "$$.Map.Item.Value", "tag": "$.tag"}),
            "ItemProcessor": {"ProcessorConfig": config, **graph},
            "End": True,
        }
    if wrap != "none":
        features.add(f"Map.in_{wrap}")
        graph = {"StartAt": "Outer", "States": {"Outer": outer}}
    definition: dict[str, JSON] = {"Comment": "distributed", **graph}
    if language == JSONATA:
        definition = {"QueryLanguage": JSONATA, **definition}

    inline: dict[str, JSON] | None = None
    if not batch:
        twin = json.loads(json.dumps(definition))
        twin_states = twin["States"]
        if wrap == "Parallel":
            twin_states = twin_states["Outer"]["Branches"][0]["States"]
        elif wrap != "none":
            twin_states = twin_states["Outer"]["ItemProcessor"]["States"]
        twin_map = twin_states["Map"]
        twin_map["ItemProcessor"]["ProcessorConfig"] = {"Mode": "INLINE"}
        twin_map.pop("Label", None)
        inline = twin
    return MapMachine(
        definition=definition,
        input=data,
        inline=inline,
        features=frozenset(features),
        unordered=_unordered(values, batch, failures),
        items_fail=bool(_failing(values, batch, failures)),
    )


def _processor(
    draw: st.DrawFn,
    language: str,
    value: str,
    batch: int,
    batch_input: bool,
    features: set[str],
) -> tuple[dict[str, JSON], set[str]]:
    """The ItemProcessor's StartAt and States, and how it may fail: "choice" (a Fail state for
    values above TOO_BIG), "task" (gen_parity on odd values, unless a Retry heals it)."""
    states: dict[str, JSON] = {}
    order: list[str] = []
    failures: set[str] = set()
    if draw(st.booleans()):
        order.append("Check")
        features.add("processor.Choice")
    if draw(st.booleans()):
        order.append("Work")
        features.add("processor.Task")
    order.append("Done")
    for index, name in enumerate(order):
        nxt = order[index + 1] if index + 1 < len(order) else None
        if name == "Check":
            assert nxt is not None
            rule: dict[str, JSON] = {"Variable": f"${value}", "NumericGreaterThan": TOO_BIG}
            if language == JSONATA:
                rule = {"Condition": f"{{% $states.input{value} > {TOO_BIG} %}}"}
            states["Check"] = {
                "Type": "Choice",
                "Choices": [{**rule, "Next": "Big"}],
                "Default": nxt,
            }
            states["Big"] = {"Type": "Fail", "Error": "TooBig", "Cause": "the value is too big"}
            failures.add("choice")
        elif name == "Work":
            read = {"value": f"${value}", "attempt": "$$.State.RetryCount"}
            if batch_input:
                read["batch"] = "$.BatchInput"
            heals = draw(st.booleans())
            parameters = _reading(language, read, **({"heal": 1} if heals else {}))
            if batch and language == JSONATA:
                parameters["count"] = "{% $count($states.input.Items) %}"
            elif batch:
                parameters["count.$"] = "States.ArrayLength($.Items)"
            task: dict[str, JSON] = {
                "Type": "Task",
                "Resource": FUNCTION_ARN + "gen_parity",
                "Arguments" if language == JSONATA else "Parameters": parameters,
                **_result_at(language, "work"),
            }
            if heals and draw(st.booleans()):
                task["Retry"] = [{"ErrorEquals": ["OddValue"], "IntervalSeconds": 1}]
                features.add("processor.Retry")
            else:
                failures.add("task")
            task["Next"] = nxt
            states["Work"] = task
        else:
            done: dict[str, JSON] = {"Type": "Pass", "End": True}
            if draw(st.booleans()):
                seen = _reading(language, {"seen": f"${value}"})
                done["Output" if language == JSONATA else "Parameters"] = seen
            states["Done"] = done
    return {"StartAt": order[0], "States": states}, failures


def _items(language: str, key: str) -> dict[str, JSON]:
    """The Map field that reads its items at `key` of the input."""
    if language == JSONATA:
        return {"Items": f"{{% $states.input{key} %}}"}
    return {"ItemsPath": f"${key}"}


def _reading(language: str, sources: dict[str, str], **fixed: JSON) -> dict[str, JSON]:
    """An object whose fields read JSONPath `sources` (`$.x` of the input, `$$.y` of the
    context), in the state's language, beside `fixed` values."""
    built: dict[str, JSON] = {}
    for key, source in sources.items():
        if language == JSONPATH:
            built[f"{key}.$"] = source
        elif source.startswith("$$."):
            built[key] = f"{{% $states.context{source[2:]} %}}"
        else:
            built[key] = f"{{% $states.input{source[1:]} %}}"
    return {**built, **fixed}


def _result_at(language: str, key: str) -> dict[str, JSON]:
    """Where a state puts its result: at `key` of its input."""
    if language == JSONATA:
        return {"Output": f"{{% $merge([$states.input, {{'{key}': $states.result}}]) %}}"}
    return {"ResultPath": f"$.{key}"}


def _failing(values: list[int], batch: int, failures: set[str]) -> dict[str, set[int]]:
    """The failure kinds the items cause, each with the values that cause it (a batch fails
    on its first item's value)."""
    kinds: dict[str, set[int]] = {}
    for value in values[::batch] if batch else values:
        if "choice" in failures and value > TOO_BIG:
            kinds.setdefault("choice", set()).add(value)
        elif "task" in failures and value % 2 == 1:
            kinds.setdefault("task", set()).add(value)
    return kinds


def _unordered(values: list[int], batch: int, failures: set[str]) -> bool:
    """Whether the first child to fail decides the cause: two failure kinds that can both
    happen, or gen_parity failing on two different values (its cause names the value)."""
    kinds = _failing(values, batch, failures)
    return len(kinds) > 1 or len(kinds.get("task", ())) > 1
