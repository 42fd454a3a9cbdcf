"""`asl describe`, `asl history` and `asl list`: reading a durable store.

Owns: the text and `--json` output of the read commands (DescribeExecution, GetExecutionHistory
and ListExecutions shapes with ISO-8601 dates). Exit status 0, or 2 for an unknown execution
or machine. Must never: change the store or drive an execution.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_OK, UsageError, add_store_option, iso
from engine.cli.session import with_service
from engine.cli.shapes import describe_shape, event_shape, list_shape, print_result

if TYPE_CHECKING:
    from engine.service import Service
    from engine.store.base import ExecutionRecord

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    describe = commands.add_parser("describe", help="DescribeExecution")
    describe.add_argument("arn", metavar="ARN")
    add_store_option(describe)
    describe.add_argument("--json", action="store_true")
    describe.set_defaults(handler=_describe)

    history = commands.add_parser("history", help="GetExecutionHistory")
    history.add_argument("arn", metavar="ARN")
    add_store_option(history)
    history.add_argument("--reverse", action="store_true", help="newest first")
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=_history)

    listing = commands.add_parser("list", help="list executions, newest first")
    add_store_option(listing)
    listing.add_argument("--machine", help="only executions of this machine (name or ARN)")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)


def _describe(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        record = await service.describe_execution(args.arn)
        if args.json:
            print(json.dumps(describe_shape(record), ensure_ascii=False))
        else:
            print_result(record, False)
        return EXIT_OK

    return with_service(args, work)


def _history(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        events = await service.get_history(args.arn, limit=100_000, reverse=args.reverse)
        if args.json:
            shaped = [event_shape(e) for e in events]
            print(json.dumps({"events": shaped}, ensure_ascii=False))
        else:
            print(f"{'id':>4}  {'prev':>4}  {'timestamp':<24}  type")
            for event in events:
                print(
                    f"{event.id:>4}  {event.previous_event_id:>4}  "
                    f"{iso(event.timestamp):<24}  {event.type}"
                )
        return EXIT_OK

    return with_service(args, work)


def _list(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError(f"--limit {args.limit}: give a number of executions, 1 or more")

    async def work(service: Service) -> int:
        machines = await service.list_state_machines()
        if args.machine:
            machines = [m for m in machines if args.machine in (m.name, m.arn)]
            if not machines:
                raise UsageError(f"no state machine named {args.machine!r}")
        records: list[ExecutionRecord] = []
        for machine in machines:
            page, _ = await service.list_executions(
                machine.arn, status=args.status, limit=args.limit
            )
            records.extend(page)
        records.sort(key=lambda r: (-r.start, r.arn))
        records = records[: args.limit]
        if args.json:
            print(json.dumps({"executions": [list_shape(r) for r in records]}))
        else:
            for record in records:
                print(f"{record.status:<10}  {iso(record.start)}  {record.arn}")
        return EXIT_OK

    return with_service(args, work)
