"""Schedules: executions started by `cron(...)`, `rate(...)` and `at(...)` expressions.

Owns: the schedule operations (create, describe, list, pause, resume, delete, with EventBridge
Scheduler's rules for names and expressions), and firing due ticks from every process that
drives executions. Must never: fire one tick twice, or read the wall clock (the service's
clock, virtual in tests, gives the time).

Firing a tick, with several workers on one store: each worker that finds a schedule due
starts the tick's execution under its deterministic name `NAME-yyyymmddThhmmZ` (UTC), then
moves the schedule's `next_fire` on with a compare-and-set. StartExecution is idempotent by
name for Standard machines, so two workers racing on one tick start one execution, and a
worker that dies between the start and the compare-and-set leaves a tick that the next worker
starts again to the same effect. For Express machines (whose starts are not idempotent) the
compare-and-set comes first: a tick fires at most once.

Missed ticks (the documented policy, docs/triggers.md): when a tick is found due later than
it was due (every worker was down), the latest tick due fires once and the older ones are
skipped; `next_fire` becomes the first tick after now. An `at()` schedule fires once, then
has no next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import replace
from typing import Final, Self

from engine.errors import InvalidRequest, ResourceConflict, ResourceNotFound
from engine.runtime.supervise import Supervisor
from engine.service.callbacks import CallbackOperations
from engine.service.checks import check_json_input
from engine.service.schedule_expressions import parse_schedule, tick_name, zone
from engine.store.base import ScheduleRecord
from engine.values import JSON

_log = logging.getLogger("asl.schedules")

_NAME: Final = re.compile(r"[0-9a-zA-Z\-_.]{1,64}")  # EventBridge Scheduler's schedule names
SCHEDULE_POLL_SECONDS: Final = 1.0


class ScheduleOperations(CallbackOperations):
    """`asl schedule` and /v1/schedules, and the firing of due ticks."""

    _scheduler: asyncio.Task[None] | None = None

    # -- operations ------------------------------------------------------------------------------
    async def create_schedule(
        self,
        name: str,
        machine_arn: str,
        expression: str,
        *,
        timezone: str = "UTC",
        input_text: str | None = None,
    ) -> ScheduleRecord:
        if not _NAME.fullmatch(name):
            raise InvalidRequest(
                "ValidationException",
                f"Invalid schedule name '{name}': use 1 to 64 letters, digits, '-', '_' or '.'",
            )
        await self.describe_state_machine(machine_arn)
        execution_input = check_json_input(input_text)
        now = self.clock.now()
        zone(timezone)
        parsed = parse_schedule(expression, timezone, now)
        record = ScheduleRecord(
            name=name,
            machine_arn=machine_arn,
            expression=expression,
            timezone=timezone,
            input=execution_input,
            schedule_state="ENABLED",
            created=now,
            updated=now,
            next_fire=parsed.next_after(now),
        )
        if not await self.journal.call(self.store.create_schedule, record):
            raise ResourceConflict("ConflictException", f"Schedule {name} already exists.")
        return record

    async def describe_schedule(self, name: str) -> ScheduleRecord:
        found = await self.journal.call(self.store.get_schedule, name)
        if not isinstance(found, ScheduleRecord):
            raise ResourceNotFound("ResourceNotFound", f"Schedule {name} does not exist.")
        return found

    async def list_schedules(self) -> list[ScheduleRecord]:
        return await self.journal.call(self.store.list_schedules)

    async def pause_schedule(self, name: str) -> ScheduleRecord:
        record = replace(
            await self.describe_schedule(name), schedule_state="DISABLED", updated=self.clock.now()
        )
        await self._replace_schedule(record)
        return record

    async def resume_schedule(self, name: str) -> ScheduleRecord:
        """ENABLED again; ticks that fell while it was paused are skipped: the next is the
        first after now."""
        record = await self.describe_schedule(name)
        now = self.clock.now()
        if record.schedule_state == "ENABLED":
            return record
        parsed = parse_schedule(record.expression, record.timezone, record.created)
        record = replace(
            record, schedule_state="ENABLED", updated=now, next_fire=parsed.next_after(now)
        )
        await self._replace_schedule(record)
        return record

    async def delete_schedule(self, name: str) -> None:
        if not await self.journal.call(self.store.delete_schedule, name):
            raise ResourceNotFound("ResourceNotFound", f"Schedule {name} does not exist.")

    async def _replace_schedule(self, record: ScheduleRecord) -> None:
        if not await self.journal.call(self.store.update_schedule, record):
            raise ResourceNotFound("ResourceNotFound", f"Schedule {record.name} does not exist.")

    # -- firing ----------------------------------------------------------------------------------
    async def fire_due_schedules(self) -> list[str]:
        """Fire every due tick (module docstring); the ARNs of the executions started."""
        now = self.clock.now()
        started: list[str] = []
        for record in await self.journal.call(self.store.due_schedules, now):
            arn = await self._fire(record, now)
            if arn is not None:
                started.append(arn)
        return started

    async def _fire(self, record: ScheduleRecord, now: float) -> str | None:
        assert record.next_fire is not None
        parsed = parse_schedule(record.expression, record.timezone, record.created)
        tick = max(record.next_fire, parsed.last_at_or_before(now) or record.next_fire)
        advance = (record.name, record.next_fire, parsed.next_after(now), tick)
        machine = await self._machine(record.machine_arn)
        express = machine is not None and machine.machine_type == "EXPRESS"
        if express and not await self.journal.call(self.store.advance_schedule, *advance):
            return None  # another worker fired this tick
        arn = await self._start_tick(record, tick)
        if not express:
            await self.journal.call(self.store.advance_schedule, *advance)
        return arn

    async def _start_tick(self, record: ScheduleRecord, tick: float) -> str | None:
        name = tick_name(record.name, tick)
        try:
            started = await self.start_execution(
                record.machine_arn, name=name, input_text=_dumps(record.input)
            )
        except ResourceConflict:
            return None  # this tick's execution exists and closed: it was fired
        except (InvalidRequest, ResourceNotFound) as exc:
            # the machine was deleted or the input no longer fits: the tick is lost, the
            # schedule goes on (EventBridge Scheduler drops a target call it cannot make)
            _log.warning("schedule %s could not start its tick %s: %s", record.name, name, exc)
            return None
        return started.arn

    async def run_until_idle(self) -> list[str]:
        """`asl worker --until-idle`: fire the ticks due now, drive every execution until
        nothing is runnable or waiting, then deliver the pending status-change events of
        `[events]`. The ARNs of the executions the ticks started."""
        started = await self.fire_due_schedules()
        await self.worker.run_until_idle()
        await self.events.deliver_pending()
        return started

    async def _schedule_loop(self) -> None:
        """Fire due ticks every SCHEDULE_POLL_SECONDS; supervised: a failing round backs off."""
        supervisor = Supervisor("the scheduler", _log)
        while True:
            if await supervisor.attempt(self.fire_due_schedules):
                await asyncio.sleep(SCHEDULE_POLL_SECONDS)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        if self.config.worker and (self._scheduler is None or self._scheduler.done()):
            self._scheduler = asyncio.get_running_loop().create_task(self._schedule_loop())

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def aclose(self) -> None:
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
            self._scheduler = None
        await super().aclose()


def _dumps(value: JSON) -> str:
    from engine.values import dumps

    return dumps(value)
