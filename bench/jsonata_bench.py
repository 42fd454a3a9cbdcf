"""JSONata against JSONPath: the same 20-state chain in each query language, transitions per second.

Owns: the two chains (each state adds one to a counter and carries a tag, the JSONPath one with
`Parameters` and `States.MathAdd`, the JSONata one with an `Output` of two `{% %}` expressions,
plus one `Assign` each, so both do the same work), timing them with `Engine.run_many` under a
`VirtualClock` as engine_bench does, the ratio of their costs per transition (target: JSONata no
worse than 3x JSONPath) and the compiled-expression cache counters: the JSONata machine is
loaded again for every batch, as a server would after a restart, and every load after the first
finds all its expressions already parsed (cache hits), while each batch evaluates them
`executions x 20 x 3` times. Must never: change engine behaviour for the sake of a number.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time

from engine.definition.jsonata import cache_stats
from engine.embedded import Engine, load_machine
from engine.runtime.clock import VirtualClock
from engine.values import JSON

CHAIN_LENGTH = 20
TARGET_RATIO = 3.0


def _chain(state: dict[str, JSON], *, jsonata: bool) -> dict[str, JSON]:
    states: dict[str, JSON] = {}
    for index in range(CHAIN_LENGTH):
        body = dict(state)
        if index + 1 < CHAIN_LENGTH:
            body["Next"] = f"S{index + 1}"
        else:
            body["End"] = True
        states[f"S{index}"] = body
    definition: dict[str, JSON] = {"StartAt": "S0", "States": states}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return definition


JSONPATH_CHAIN = _chain(
    {
        "Type": "Pass",
        "Parameters": {"n.$": "States.MathAdd($.n, 1)", "tag.$": "$.tag"},
        "Assign": {"last.$": "$.n"},
    },
    jsonata=False,
)
JSONATA_CHAIN = _chain(
    {
        "Type": "Pass",
        "Output": {"n": "{% $states.input.n + 1 %}", "tag": "{% $states.input.tag %}"},
        "Assign": {"last": "{% $states.input.n %}"},
    },
    jsonata=True,
)
# The same chain through function calls: these go to jsonata-python's evaluator rather than the
# plain-expression fast path, so this row shows the cost of a general expression.
JSONATA_FUNCTIONS_CHAIN = _chain(
    {
        "Type": "Pass",
        "Output": {
            "n": "{% $sum([$states.input.n, 1]) %}",
            "tag": "{% $lowercase($states.input.tag) %}",
        },
        "Assign": {"last": "{% $number($string($states.input.n)) %}"},
    },
    jsonata=True,
)
CHAIN_INPUT: JSON = {"n": 0, "tag": "bench"}


async def _batch(definition: dict[str, JSON], executions: int) -> float:
    """Load the machine (compiles; parses only what the cache lacks) and time one batch."""
    compiled = load_machine(definition)
    engine = Engine(clock=VirtualClock())
    loaded = engine.load(compiled, name="chain")
    try:
        started = time.perf_counter()
        results = await engine.run_many(loaded, [CHAIN_INPUT] * executions)
        elapsed = time.perf_counter() - started
    finally:
        await engine.aclose()
    wrong = [r for r in results if r.status != "SUCCEEDED" or r.output != {"n": 20, "tag": "bench"}]
    if wrong:
        raise RuntimeError(f"chain ended {wrong[0].status}: {wrong[0].output} {wrong[0].cause}")
    return CHAIN_LENGTH * executions / elapsed


async def _measure(definition: dict[str, JSON], executions: int, repeats: int) -> float:
    await _batch(definition, executions)  # warm-up
    runs = []
    for _ in range(repeats):
        gc.collect()
        runs.append(await _batch(definition, executions))
    return statistics.median(runs)


def bench_jsonata(*, executions: int = 100, repeats: int = 5) -> list[dict[str, JSON]]:
    """Rows: the JSONPath chain, the JSONata chain (with its cost ratio and cache counters)."""
    repeats = max(3, repeats)

    async def run() -> tuple[float, float, float, int, int]:
        jsonpath = await _measure(JSONPATH_CHAIN, executions, repeats)
        before = cache_stats()
        jsonata = await _measure(JSONATA_CHAIN, executions, repeats)
        after = cache_stats()
        functions = await _measure(JSONATA_FUNCTIONS_CHAIN, executions, repeats)
        return jsonpath, jsonata, functions, after.hits - before.hits, after.misses - before.misses

    jsonpath, jsonata, functions, hits, misses = asyncio.run(run())
    ratio = jsonpath / jsonata  # cost per transition, JSONata over JSONPath
    evaluations = 3 * CHAIN_LENGTH * executions * (repeats + 1)
    return [
        {
            "key": "chain20_jsonpath",
            "title": f"{CHAIN_LENGTH}-state Pass chain, JSONPath (Parameters + Assign)",
            "transitions_per_second": round(jsonpath),
            "cost_ratio": 1.0,
            "verdict": "",
        },
        {
            "key": "chain20_jsonata",
            "title": f"{CHAIN_LENGTH}-state Pass chain, JSONata (Output + Assign)",
            "transitions_per_second": round(jsonata),
            "cost_ratio": round(ratio, 2),
            "target_ratio": TARGET_RATIO,
            "expression_parses": misses,
            "expression_cache_hits": hits,
            "expression_evaluations": evaluations,
            "verdict": "PASS" if ratio <= TARGET_RATIO else "MISS",
        },
        {
            "key": "chain20_jsonata_functions",
            "title": f"{CHAIN_LENGTH}-state Pass chain, JSONata function calls (general evaluator)",
            "transitions_per_second": round(functions),
            "cost_ratio": round(jsonpath / functions, 2),
            "verdict": "",
        },
    ]


if __name__ == "__main__":
    for row in bench_jsonata():
        print(row)
