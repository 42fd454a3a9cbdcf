"""Parallel and Map states: their branches or item processor, items and results.

Owns: how a generated Parallel or Map state is drawn, the shape its branches or iterations
receive (Parameters/Arguments, ItemSelector), inline and DISTRIBUTED processors, and the
fields both share (ResultSelector or Output, Retry, Catch). Must never: let a branch's result
nest the whole input in itself (results multiply data size: branches get copies of its keys).
"""

from __future__ import annotations

from dataclasses import replace

from engine.values import JSON
from tests.generated import expressions as ex
from tests.generated import fields
from tests.generated.builder import Bounds, Builder, Graph, retries
from tests.generated.expressions import JSONATA, JSONPATH, Body


def parallel_body(b: Builder, ctx: Graph, language: str, later: list[str]) -> tuple[Body, Bounds]:
    retry = fields.retriers(b, container=True)
    body: Body = {"Type": "Parallel"}
    shape = ctx.shape
    # Usually the branches get a copy of the input's own keys: without `res`, so results
    # placed at `$.res` do not nest in themselves (a whole input triples in 3 branches).
    if not b.flip(4):
        keys = [k for k in ctx.shape if k in ("n", "plan") or b.flip(2)]
        shape = {k: ctx.shape[k] for k in keys}
        if language == JSONATA:
            body["Arguments"] = {k: f"{{% $states.input.{k} %}}" for k in keys}
        else:
            body["Parameters"] = {f"{k}.$": f"$.{k}" for k in keys}
            b.features.add("Parameters")
    child = replace(
        ctx,
        depth=ctx.depth + 1,
        shape=shape,
        repeat=ctx.repeat or bool(retry),
        loops=0,
    )
    branches: list[JSON] = []
    inner = Bounds()
    count = b.integer(1, 3 if ctx.depth == 0 else 2)
    for _ in range(count):
        graph, bounds = b.graph(child)
        branches.append(graph)
        inner += bounds
    body["Branches"] = branches
    finish_container(b, body, ctx, language, later, retry, "$[0]")
    tries = 1 + retries(retry)
    return body, (Bounds(entries=1) + inner) * tries + Bounds(timers=tries - 1)


def map_body(b: Builder, ctx: Graph, language: str, later: list[str]) -> tuple[Body, Bounds]:
    retry = fields.retriers(b, container=True)
    body: Body = {"Type": "Map"}
    use_items = "items" in ctx.shape and not b.flip(5)
    items_key = "items" if use_items else "plan"
    item_shape: ex.Shape = ex.standard_shape(ctx.items_depth - 1) if use_items else {}
    if language == JSONATA:
        body["Items"] = f"{{% $states.input.{items_key} %}}"
    else:
        body["ItemsPath"] = f"$.{items_key}"
    if not use_items or b.flip(2):
        body["ItemSelector"], item_shape = item_selector(b, ctx, language, item_shape)
        b.features.add("ItemSelector")
    distributed = b.options.allow_distributed and b.flip(4)
    legacy = not distributed and language == JSONPATH and b.flip(6)
    if legacy and "ItemSelector" in body:
        body["Parameters"] = body.pop("ItemSelector")  # the pre-2023 names
    processor: Body = {}
    if distributed:
        execution_type = b.pick(["STANDARD", "EXPRESS"])
        processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": execution_type}
        b.features.add(f"Map.DISTRIBUTED.{execution_type}")
        if b.flip(2):
            body["Label"] = f"L{b.counter}"
    else:
        b.features.add("Map.INLINE")
        if b.flip(3):
            processor["ProcessorConfig"] = {"Mode": "INLINE"}
    child = Graph(
        depth=ctx.depth + 1,
        shape=item_shape,
        variables={} if distributed else ctx.variables,
        repeat=True,
        loops=0,
        items_depth=ctx.items_depth - 1 if use_items else 0,
    )
    graph, inner = b.graph(child)
    if legacy:
        body["Iterator"] = graph
        b.features.add("Map.legacy")
    else:
        body["ItemProcessor"] = {**processor, **graph}
    if b.flip(2):
        body["MaxConcurrency"] = b.integer(0, 3)
    elif b.flip(6) and "secs" in ctx.shape:
        # A value read from the data: JSONPath's …Path field, a JSONata expression.
        if language == JSONATA:
            body["MaxConcurrency"] = "{% $states.input.secs %}"
        else:
            body["MaxConcurrencyPath"] = "$.secs"
        b.features.add("Map.MaxConcurrencyPath")
    if b.flip(4):
        b.features.add("Map.tolerance")
        from_data = "secs" in ctx.shape and b.flip(4)
        count = b.flip(2)
        if from_data and language == JSONATA:
            name = "ToleratedFailureCount" if count else "ToleratedFailurePercentage"
            body[name] = "{% $states.input.secs %}"
        elif from_data:
            name = "ToleratedFailureCountPath" if count else "ToleratedFailurePercentagePath"
            body[name] = "$.secs"
        elif count:
            body["ToleratedFailureCount"] = b.integer(0, 2)
        else:
            body["ToleratedFailurePercentage"] = b.pick_number([0, 50, 100])
    finish_container(b, body, ctx, language, later, retry, "$")
    tries = 1 + retries(retry)
    per_try = Bounds(entries=1) + inner * ex.MAX_ARRAY
    return body, per_try * tries + Bounds(timers=tries - 1)


def item_selector(
    b: Builder, ctx: Graph, language: str, item_shape: ex.Shape
) -> tuple[Body, ex.Shape]:
    """An ItemSelector building each iteration's input, and the shape it builds."""
    sources: dict[str, tuple[str, str]] = {"n": ("$$.Map.Item.Index", ex.INT)}
    if item_shape:
        for key, kind in item_shape.items():
            if key != "n" and (key == "plan" or b.flip(2)):
                sources[key] = (f"$$.Map.Item.Value.{key}", kind)
    else:
        sources["step"] = ("$$.Map.Item.Value", ex.STR)
    if ctx.shape.get("n") == ex.INT and b.flip(4):
        sources["outer"] = ("$.n", ex.INT)
    if ctx.variables and b.flip(4):
        # Evaluated in the Map's scope, so it reads the outer variables (also DISTRIBUTED).
        name = b.pick(sorted(ctx.variables))
        sources["var"] = (f"${name}", ctx.variables[name])
        b.features.add("ItemSelector.variable")
    selector: Body = {}
    for key, (source, _) in sources.items():
        if language == JSONPATH:
            selector[f"{key}.$"] = source
        elif source.startswith("$$"):
            selector[key] = "{% $states.context" + source[2:] + " %}"
        elif source.startswith("$."):
            selector[key] = "{% $states.input" + source[1:] + " %}"
        else:
            selector[key] = "{% " + source + " %}"
    return selector, {key: kind for key, (_, kind) in sources.items()}


def finish_container(
    b: Builder,
    body: Body,
    ctx: Graph,
    language: str,
    later: list[str],
    retry: list[JSON],
    selected: str,
) -> None:
    """ResultSelector/Output, ResultPath, OutputPath, Assign, Retry and Catch of a
    Parallel or Map state."""
    if language == JSONATA:
        if b.disruptive():
            body["Output"] = "{% $states.result %}"
        else:
            body["Output"] = "{% $merge([$states.input, {'res': $states.result}]) %}"
        assign = fields.jsonata_assign(b, ctx, "$states.result")
    else:
        result = "array"
        if b.flip(4):
            body["ResultSelector"] = {"picked.$": selected, "size.$": "States.ArrayLength($)"}
            b.features.add("ResultSelector")
            result = "selected"  # Assign reads the result after ResultSelector
        body.update(fields.result_path(b))
        body.update(fields.output_path(b))
        assign = fields.jsonpath_assign(b, ctx, {}, result=result)
    if assign:
        body["Assign"] = assign
    if retry:
        body["Retry"] = retry
    catch = fields.catchers(b, ctx, language, later, container=True)
    if catch:
        body["Catch"] = catch
