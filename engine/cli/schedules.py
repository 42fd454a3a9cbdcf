"""`asl schedule create|list|describe|pause|resume|delete`: schedules on a durable store.

Owns: the arguments and the JSON output of the schedule commands (EventBridge Scheduler's
GetSchedule shape with ISO-8601 dates; `list` prints `{"Schedules": [...]}`). Exit status 0,
2 for a usage error, an unknown schedule or machine, or an expression EventBridge Scheduler
would refuse. The ticks fire in `asl worker` and `asl serve` (docs/triggers.md). Must never:
fire a tick or decide the expression rules (the service does).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_OK, UsageError, add_store_option, iso
from engine.cli.session import with_service

if TYPE_CHECKING:
    from engine.service import Service
    from engine.store.base import ScheduleRecord


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedule = commands.add_parser("schedule", help="schedules that start executions")
    actions = schedule.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create a schedule (cron, rate or at)")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--machine", required=True, help="the state machine's ARN or name")
    create.add_argument(
        "--expression",
        required=True,
        help="cron(Minutes Hours Day-of-month Month Day-of-week Year), rate(N unit) or "
        "at(yyyy-mm-ddThh:mm:ss)",
    )
    create.add_argument("--timezone", default="UTC", help="IANA time zone (default UTC)")
    create.add_argument("--input", help="the executions' input (JSON text; default {})")
    add_store_option(create)
    create.set_defaults(handler=_create)

    listing = actions.add_parser("list", help="every schedule, by name")
    add_store_option(listing)
    listing.set_defaults(handler=_list)

    for action, helptext in (
        ("describe", "a schedule"),
        ("pause", "stop firing (State DISABLED)"),
        ("resume", "fire again from the next tick (State ENABLED)"),
        ("delete", "delete a schedule"),
    ):
        one = actions.add_parser(action, help=helptext)
        one.add_argument("name", metavar="NAME")
        add_store_option(one)
        one.set_defaults(handler=_one)


def shape(record: ScheduleRecord) -> dict[str, object]:
    from engine.shapes import schedule_shape

    return dict(schedule_shape(record, iso))


async def _machine_arn(service: Service, machine: str) -> str:
    if machine.startswith("arn:"):
        return machine
    for record in await service.list_state_machines():
        if record.name == machine:
            return record.arn
    raise UsageError(f"no state machine named {machine!r}")


def _create(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        machine = await _machine_arn(service, args.machine)
        record = await service.create_schedule(
            args.name,
            machine,
            args.expression,
            timezone=args.timezone,
            input_text=args.input,
        )
        print(json.dumps(shape(record), ensure_ascii=False))
        return EXIT_OK

    return with_service(args, work)


def _list(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        records = await service.list_schedules()
        print(json.dumps({"Schedules": [shape(r) for r in records]}, ensure_ascii=False))
        return EXIT_OK

    return with_service(args, work)


def _one(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        if args.action == "delete":
            await service.delete_schedule(args.name)
            return EXIT_OK
        if args.action == "pause":
            record = await service.pause_schedule(args.name)
        elif args.action == "resume":
            record = await service.resume_schedule(args.name)
        else:
            record = await service.describe_schedule(args.name)
        print(json.dumps(shape(record), ensure_ascii=False))
        return EXIT_OK

    return with_service(args, work)
