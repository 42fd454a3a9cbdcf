"""The REST routes of schedules: `/v1/schedules` (docs/api.md, docs/triggers.md).

Owns: the schedule routes' request and response models and their translation to the service's
schedule operations. Must never: decide the expression rules or fire a tick (the service
does), or answer bad input with a 5xx. Inputs are JSON values and dates ISO-8601 strings, as
in the rest of `/v1`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from engine.interpreter.history import format_time
from engine.service import Service
from engine.store.base import ScheduleRecord


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class ScheduleCreate(_Model):
    name: str = Field(min_length=1, max_length=64, description="1-64 of [0-9a-zA-Z-_.]")
    machine: str = Field(min_length=1, max_length=256, description="State machine name or ARN")
    expression: str = Field(
        min_length=1,
        max_length=256,
        description="cron(Minutes Hours Day-of-month Month Day-of-week Year), rate(N unit) or "
        "at(yyyy-mm-ddThh:mm:ss), as EventBridge Scheduler reads them",
    )
    timezone: str = Field(default="UTC", min_length=1, max_length=50)
    input: object = Field(default_factory=dict, description="The executions' input (JSON)")


class Schedule(_Model):
    name: str
    machine_arn: str
    expression: str
    timezone: str
    state: Literal["ENABLED", "DISABLED"]
    input: object
    created: str
    updated: str
    next_fire: str | None = Field(description="The next tick (none when paused or done)")
    last_fire: str | None = Field(description="The last tick fired")


class ScheduleList(_Model):
    schedules: list[Schedule]


def _iso(epoch: float | None) -> str | None:
    return format_time(epoch) if epoch is not None else None


def _schedule(record: ScheduleRecord) -> Schedule:
    enabled = record.schedule_state == "ENABLED"
    return Schedule(
        name=record.name,
        machine_arn=record.machine_arn,
        expression=record.expression,
        timezone=record.timezone,
        state="ENABLED" if enabled else "DISABLED",
        input=record.input,
        created=format_time(record.created),
        updated=format_time(record.updated),
        next_fire=_iso(record.next_fire) if enabled else None,
        last_fire=_iso(record.last_fire),
    )


def add_schedule_routes(
    router: APIRouter, service: Service, machine_arn: Callable[[str], Awaitable[str]]
) -> None:
    """Add `/schedules` to the `/v1` router; `machine_arn` reads a machine name or ARN."""

    @router.post("/schedules", status_code=201, tags=["schedules"])
    async def create_schedule(body: ScheduleCreate, response: Response) -> Schedule:
        """Create a schedule; 409 when one of that name exists."""
        record = await service.create_schedule(
            body.name,
            await machine_arn(body.machine),
            body.expression,
            timezone=body.timezone,
            input_text=json.dumps(body.input),
        )
        response.headers["Location"] = f"/v1/schedules/{record.name}"
        return _schedule(record)

    @router.get("/schedules", tags=["schedules"])
    async def list_schedules() -> ScheduleList:
        return ScheduleList(schedules=[_schedule(r) for r in await service.list_schedules()])

    @router.get("/schedules/{name}", tags=["schedules"])
    async def get_schedule(name: str) -> Schedule:
        return _schedule(await service.describe_schedule(name))

    @router.post("/schedules/{name}/pause", tags=["schedules"])
    async def pause_schedule(name: str) -> Schedule:
        """Stop firing (state DISABLED)."""
        return _schedule(await service.pause_schedule(name))

    @router.post("/schedules/{name}/resume", tags=["schedules"])
    async def resume_schedule(name: str) -> Schedule:
        """Fire again from the first tick after now (ticks while paused are skipped)."""
        return _schedule(await service.resume_schedule(name))

    @router.delete("/schedules/{name}", status_code=204, tags=["schedules"])
    async def delete_schedule(name: str) -> Response:
        await service.delete_schedule(name)
        return Response(status_code=204)
