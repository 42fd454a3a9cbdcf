"""The web console at /console: one HTML page, its script and styles, and the JSON it polls.

Owns: serving the page and its static assets (shipped in api/console_assets/, no build step),
and the console's own read-only JSON under /console/api: a machine with its graph drawn, the
line span of each state in its source, its versions and aliases; an execution with each
state's status, input, output, error and cause, its new history events since the last poll,
its child executions; a pasted definition validated and drawn. Everything that changes state
(start, stop, redrive) the page does through the REST API under /v1, as any client would.
Must never: decide semantics (the service does), or answer bad input with a 5xx.

Authentication is the API's (api/accesslog.py): the page and its assets hold no data and are
served to anyone who reaches the server, so a browser can load them before it has a token;
every /console/api call carries the token the user typed (kept in the tab's sessionStorage) as
`Authorization: Bearer`, like any REST call.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import OrderedDict
from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.errors import ApiError
from api.rest import JsonAnswer
from engine.definition.diagnostics import Diagnostic
from engine.definition.parse import DefinitionSyntaxError, parse_text
from engine.graph import draw
from engine.graph.model import build_graph
from engine.graph.source import line_spans
from engine.graph.status import StatusFold
from engine.interpreter.history import format_time
from engine.service import Service
from engine.shapes import history_event
from engine.store.base import MachineRecord, StoredEvent
from engine.values import JSON

__all__ = ["ASSETS", "PUBLIC_PATHS", "make_console_router"]

ASSETS: Final = Path(__file__).with_name("console_assets")
_ASSET_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
PUBLIC_PATHS: Final = re.compile(r"^/console(/|/assets/[A-Za-z0-9_.-]+)?$")
"""GET paths served without the token: the page and its assets (no data in them)."""
_EXECUTION_ARN: Final = re.compile(r"arn:aws:states:[a-z0-9-]+:\d{12}:execution:[^\s\"\\]+")
_HISTORY_PAGE: Final = 5_000
"""Events read from the store at a time (a first poll of a long history reads several)."""
_WATCHED_MOST: Final = 16
"""Running executions whose statuses are kept between polls, the least recently polled
dropped first (each holds about 100 bytes per event: 2.6 MB at 25,000 events)."""
_WATCHED_STATUSES: Final = frozenset({"RUNNING", "PENDING_REDRIVE"})
"""The statuses the page polls on (console.js `schedule`): a closed execution is not kept."""


class GraphRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    definition: str = Field(description="the definition's text (JSON or YAML)")
    type: str = Field(default="STANDARD", pattern="^(STANDARD|EXPRESS)$")


def make_console_router(service: Service) -> APIRouter:
    """The /console routes over one service (left out of the OpenAPI document)."""
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("")
    @router.get("/")
    async def page() -> Response:
        return HTMLResponse((ASSETS / "index.html").read_text("utf-8"))

    @router.get("/assets/{name}")
    async def asset(name: str) -> Response:
        path = ASSETS / name
        media_type = _ASSET_TYPES.get(path.suffix)
        if media_type is None or "/" in name or not path.is_file():
            raise ApiError("ResourceNotFound", f"No console asset named {name[:100]!r}")
        return FileResponse(path, media_type=media_type)

    @router.get("/api/machines")
    async def machines() -> Response:
        records = await service.list_state_machines()
        return JsonAnswer(
            {
                "machines": [
                    {
                        "name": r.name,
                        "arn": r.arn,
                        "type": r.machine_type,
                        "created": format_time(r.created),
                        "updated": format_time(r.updated),
                    }
                    for r in sorted(records, key=lambda r: r.name)
                ]
            }
        )

    @router.get("/api/machines/{arn}")
    async def machine(arn: str) -> Response:
        record = await service.describe_state_machine(arn)
        versions = await service.list_versions(record.arn)
        aliases = await service.list_aliases(record.arn)
        body = await asyncio.to_thread(_drawn, record.definition, record.machine_type)
        body["machine"] = _machine_shape(record)
        body["versions"] = [
            {
                "arn": v.arn,
                "version": v.version,
                "description": v.description,
                "created": format_time(v.created),
            }
            for v in versions
        ]
        body["aliases"] = [
            {
                "arn": a.arn,
                "name": a.name,
                "description": a.description,
                "routing": [{"version": v, "weight": w} for v, w in a.routing],
            }
            for a in aliases
        ]
        return JsonAnswer(body)

    watched: OrderedDict[str, _Watched] = OrderedDict()

    @router.get("/api/executions/{arn}")
    async def execution(arn: str, after: Annotated[int, Query(ge=0)] = 0) -> Response:
        """An execution as the page shows it: `after` is the last event id the page has; the
        answer holds the events past it, and the states whose status those events changed
        (every state when `after` is 0).

        A running execution's statuses are kept between polls (`_Watched`), so a poll reads
        only the events written since the one before it: a long history is read once, not
        once a poll."""
        record = await service.describe_execution(arn)  # before the events: see _Watched
        entry = watched.get(record.arn)  # shared by polls racing (two tabs): see feed
        if entry is None:
            machine = await service.describe_state_machine_for_execution(arn)
            entry = _Watched(
                record.arn, machine, StatusFold(build_graph(_parsed(machine.definition)))
            )
        start = min(after, entry.fold.last_id)
        stored = await _history_after(service, arn, start)
        events = [history_event(e, format_time) for e in stored]
        entry.feed(events)
        if record.status in _WATCHED_STATUSES:  # the page polls it again: keep it, newest last
            watched[record.arn] = entry
            watched.move_to_end(record.arn)
            while len(watched) > _WATCHED_MOST:
                watched.popitem(last=False)
        else:
            watched.pop(record.arn, None)
        graph = entry.fold.graph
        machine = entry.machine
        body: dict[str, JSON] = {
            "execution": {
                "arn": record.arn,
                "name": record.name,
                "machineArn": record.machine_arn,
                "machineName": machine.name,
                "status": record.status,
                "input": record.input,
                "output": record.output if record.status == "SUCCEEDED" else None,
                "error": record.error,
                "cause": record.cause,
                "startDate": format_time(record.start),
                "stopDate": format_time(record.stop) if record.stop is not None else None,
                "redriveCount": record.redrive_count,
                "parentArn": record.parent_arn,
            },
            "states": {
                key: {
                    "name": graph.nodes[key].name,
                    "type": graph.nodes[key].type,
                    "status": s.status,
                    "entered": s.entered,
                    "input": s.input,
                    "output": s.output,
                    "error": s.error,
                    "cause": s.cause,
                    "iterations": list(s.iterations) if graph.nodes[key].type == "Map" else None,
                    "mapRun": s.map_run,
                }
                for key, s in entry.fold.statuses(changed_after=after).items()
            },
            "events": [e for e in events if isinstance(e["id"], int) and e["id"] > after],
            "children": list(entry.children),
        }
        if after == 0:  # the drawing and source once; later polls only recolour
            body.update(await asyncio.to_thread(_drawn, machine.definition, machine.machine_type))
        return JsonAnswer(body)

    @router.post("/api/graph")
    async def graph(request: GraphRequest) -> Response:
        """Validate and draw a pasted definition; each diagnostic with its lines."""
        diagnostics = await asyncio.to_thread(service.validate, request.definition, request.type)
        body = await asyncio.to_thread(_drawn, request.definition, request.type)
        lines = body["lines"]
        assert isinstance(lines, dict)
        body["valid"] = not any(d.severity == "ERROR" for d in diagnostics)
        body["diagnostics"] = [_diagnostic(d, lines) for d in diagnostics]
        return JsonAnswer(body)

    return router


def _machine_shape(record: MachineRecord) -> dict[str, JSON]:
    return {
        "name": record.name,
        "arn": record.arn,
        "type": record.machine_type,
        "created": format_time(record.created),
        "updated": format_time(record.updated),
        "definition": record.definition,
    }


def _parsed(text: str) -> JSON:
    try:
        return parse_text(text)
    except DefinitionSyntaxError:
        return None  # drawn as an empty machine; the diagnostics say why


def _drawn(text: str, machine_type: str) -> dict[str, JSON]:
    """The SVG of a definition and each state's (and member's) line span in its text. Run off
    the event loop: laying out a large definition takes a while."""
    spans = line_spans(text)
    return {
        "svg": draw(_parsed(text), "svg"),
        "source": text,
        "type": machine_type,
        "lines": {key: [first, last] for key, (first, last) in spans.items()},
    }


def _diagnostic(diagnostic: Diagnostic, lines: dict[str, JSON]) -> dict[str, JSON]:
    location = diagnostic.location or ""
    # the innermost member the text has (a missing field is located at its parent)
    found: JSON = None
    probe = location
    while found is None:
        found = lines.get(probe)
        if probe == "":
            break
        probe = probe.rsplit("/", 1)[0]
    return {
        "severity": diagnostic.severity.value,
        "code": diagnostic.code,
        "message": diagnostic.message,
        "location": location or "/",
        "lines": found,
    }


class _Watched:
    """What the console keeps of an execution between polls: its machine (the revision it
    runs), each state's status folded from the events read so far, and its children.

    Correct because an execution's history only grows, by increasing ids, and the handler
    reads the execution's record before its events: a poll may see the record RUNNING and an
    event that closed it, never the other way round (the page stops polling once it sees the
    record closed, which would lose the last events). Many API processes each keep their
    own: one that never saw the execution reads its history from the start once.
    """

    def __init__(self, arn: str, machine: MachineRecord, fold: StatusFold) -> None:
        self.arn = arn
        self.machine = machine
        self.fold = fold
        self.children: list[str] = []
        """Executions this one started (`states:startExecution` Tasks): every execution ARN
        its Task events name, in order of appearance."""

    def feed(self, events: list[dict[str, JSON]]) -> None:
        """Fold in the events past those already folded (no await: polls racing each feed a
        read starting at or before `fold.last_id`, and the fold skips what it has)."""
        last = self.fold.last_id
        for event in events:
            event_id = event.get("id")
            if not isinstance(event_id, int) or event_id <= last:
                continue
            if not str(event.get("type", "")).startswith("Task"):
                continue
            for arn in _EXECUTION_ARN.findall(json.dumps(event)):
                if arn != self.arn and arn not in self.children:
                    self.children.append(arn)
        self.fold.feed(events)


async def _history_after(service: Service, arn: str, after: int) -> list[StoredEvent]:
    """Every event of `arn` past id `after`, read a page at a time."""
    events: list[StoredEvent] = []
    while True:
        page = await service.get_history(arn, after_id=after, limit=_HISTORY_PAGE)
        events.extend(page)
        if len(page) < _HISTORY_PAGE:
            return events
        after = page[-1].id
