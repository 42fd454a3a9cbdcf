"""The console's poll of a long execution: the server's time per poll.

Owns: one measurement. A SQLite store (the default kind) holds a RUNNING execution of an
inline Map whose history is written directly (ExecutionStarted, MapStateEntered,
MapStateStarted, then MapIterationStarted, PassStateEntered, PassStateExited,
MapIterationSucceeded per item: the shapes the engine writes) up to `--events` events. The
console's JSON route (`GET /console/api/executions/{arn}?after=ID`, api/console.py) is called
in process through the ASGI app, as the page calls it every 500 ms: once from the start (the
page opening), then `--polls` times with the last id the page has, each after `--new` more
events were written (a running Map), and the wall time of each answer is reported (median,
90th percentile). No worker runs: nothing but the polls reads the store. Must never: assert a
speed (it prints one).

`python -m bench.console_poll [--events 50000] [--polls 20] [--new 8]`.

Run against another checkout (what a change gained) by putting it first on the path:
`PYTHONPATH=/path/to/checkout python -m bench.console_poll` (the figures say which files ran).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx2 as httpx

from engine.store.base import Commit, StoredEvent
from engine.values import JSON

MACHINE = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "Double",
                "States": {"Double": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}


class History:
    """The events of the Map's execution, made on demand in the engine's shapes."""

    def __init__(self, arn: str, start: float) -> None:
        self.arn = arn
        self.start = start
        self.events: list[StoredEvent] = []
        self._item = 0

    def add(self, kind: str, previous: int, details: JSON) -> int:
        event_id = len(self.events) + 1
        self.events.append(
            StoredEvent(self.arn, event_id, previous, self.start + event_id / 1000, kind, details)
        )
        return event_id

    def opening(self) -> list[StoredEvent]:
        started = self.add(
            "ExecutionStarted", 0, {"input": "[]", "inputDetails": {"truncated": False}}
        )
        entered = self.add("MapStateEntered", started, {"name": "Each", "input": "[]"})
        self.map_started = self.add("MapStateStarted", entered, {"length": 0})
        return self.events[:]

    def more(self, count: int) -> list[StoredEvent]:
        """About `count` events: whole iterations of four events each."""
        first = len(self.events)
        while len(self.events) - first < count:
            index = self._item
            self._item += 1
            item = json.dumps({"n": index})
            one = self.add(
                "MapIterationStarted", self.map_started, {"name": "Each", "index": index}
            )
            two = self.add("PassStateEntered", one, {"name": "Double", "input": item})
            three = self.add("PassStateExited", two, {"name": "Double", "output": item})
            self.add("MapIterationSucceeded", three, {"name": "Each", "index": index})
        return self.events[first:]


async def measure(events: int, polls: int, new: int) -> dict[str, float]:
    from api.app import create_app
    from engine.service import Service, ServiceConfig
    from engine.store.open import open_store

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'console.db'}")
        async with Service(store, config=ServiceConfig(worker=False)) as service:
            machine, _ = await service.create_state_machine("long", json.dumps(MACHINE))
            started = await service.start_execution(machine.arn, name="long", input_text="[]")
            arn = started.arn
            history = History(arn, started.start)
            first = [*history.opening(), *history.more(events - 3)]
            for at in range(0, len(first), 5000):
                store.commit([Commit(arn, None, tuple(first[at : at + 5000]))])
            transport = httpx.ASGITransport(app=create_app(service))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                url = f"/console/api/executions/{arn}"
                began = time.perf_counter()
                answer = await client.get(url)
                opening = time.perf_counter() - began
                assert answer.status_code == 200, answer.text
                last = max(e["id"] for e in answer.json()["events"])
                times: list[float] = []
                for _ in range(polls):
                    store.commit([Commit(arn, None, tuple(history.more(new)))])
                    began = time.perf_counter()
                    answer = await client.get(url, params={"after": last})
                    times.append(time.perf_counter() - began)
                    body = answer.json()
                    last = max([last, *(e["id"] for e in body["events"])])
                shown = last
    times.sort()
    return {
        "events": len(history.events),
        "shown": shown,
        "opening_ms": opening * 1000,
        "poll_median_ms": statistics.median(times) * 1000,
        "poll_p90_ms": times[int(len(times) * 0.9) - 1] * 1000,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--new", type=int, default=8, help="events written before each poll")
    args = parser.parse_args(argv)
    import api.console

    result = asyncio.run(measure(args.events, args.polls, args.new))
    print(f"api/console.py: {api.console.__file__}")
    print(
        f"history {result['events']:,} events (the page has {result['shown']:,}); "
        f"opening {result['opening_ms']:.0f} ms; "
        f"poll median {result['poll_median_ms']:.1f} ms, p90 {result['poll_p90_ms']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
