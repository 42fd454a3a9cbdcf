"""`asl map-run list|describe|update`: a Distributed Map's Map Runs in a durable store.

Owns: the text and `--json` output of ListMapRuns and DescribeMapRun (AWS's shapes with
ISO-8601 dates) and UpdateMapRun's arguments. Exit status 0, or 2 for an unknown execution or
Map Run or a refused update. Must never: drive an execution (an update is queued in the store
for the worker that drives the Map: `asl serve` or `asl worker`).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_OK, UsageError, add_store_option, iso
from engine.cli.session import with_service

if TYPE_CHECKING:
    from engine.service import Service


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("map-run", help="ListMapRuns, DescribeMapRun, UpdateMapRun")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the Map Runs of an execution, newest first")
    listing.add_argument("execution", metavar="EXECUTION_ARN")
    add_store_option(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    describe = actions.add_parser("describe", help="a Map Run, with its item counts")
    describe.add_argument("arn", metavar="MAP_RUN_ARN")
    add_store_option(describe)
    describe.add_argument("--json", action="store_true")
    describe.set_defaults(handler=_describe)

    update = actions.add_parser(
        "update", help="change a running Map Run's concurrency or tolerated failures"
    )
    update.add_argument("arn", metavar="MAP_RUN_ARN")
    add_store_option(update)
    update.add_argument("--max-concurrency", type=int)
    update.add_argument("--tolerated-failure-count", type=int)
    update.add_argument("--tolerated-failure-percentage", type=float)
    update.add_argument("--json", action="store_true")
    update.set_defaults(handler=_update)


def _list(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        from engine.shapes import map_run_summary

        runs, _ = await service.list_map_runs(args.execution, limit=1000)
        if args.json:
            print(json.dumps({"mapRuns": [map_run_summary(r, iso) for r in runs]}))
        else:
            for run in runs:
                print(f"{run.status:<10}  {iso(run.start)}  {run.arn}")
        return EXIT_OK

    return with_service(args, work)


def _describe(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        await _print_map_run(service, args.arn, as_json=args.json)
        return EXIT_OK

    return with_service(args, work)


def _update(args: argparse.Namespace) -> int:
    given = (
        args.max_concurrency,
        args.tolerated_failure_count,
        args.tolerated_failure_percentage,
    )
    if all(value is None for value in given):
        raise UsageError(
            "give --max-concurrency, --tolerated-failure-count or --tolerated-failure-percentage"
        )

    async def work(service: Service) -> int:
        await service.update_map_run(
            args.arn,
            max_concurrency=args.max_concurrency,
            tolerated_failure_count=args.tolerated_failure_count,
            tolerated_failure_percentage=args.tolerated_failure_percentage,
        )
        await _print_map_run(service, args.arn, as_json=args.json)
        return EXIT_OK

    return with_service(args, work)


async def _print_map_run(service: Service, arn: str, *, as_json: bool) -> None:
    from engine.service.map_runs import map_run_counts
    from engine.shapes import map_run_fields

    view = await service.describe_map_run(arn)
    counts = map_run_counts(view)
    shape = map_run_fields(view.record, counts.items, counts.executions, iso)
    if as_json:
        print(json.dumps(shape))
        return
    record = view.record
    print(f"map run      {record.arn}")
    print(f"execution    {record.execution_arn}")
    print(f"status       {record.status}")
    print(f"concurrency  {record.max_concurrency or 'unbounded'}")
    print(
        f"tolerated    {record.tolerated_failure_count} failures, "
        f"{record.tolerated_failure_percentage:g}%"
    )
    if record.redrive_count:
        print(f"redriven     {record.redrive_count} times, last {iso(record.redrive_date or 0)}")
    print(f"items        {_counts_line(counts.items)}")
    print(f"executions   {_counts_line(counts.executions)}")


def _counts_line(counts: dict[str, int]) -> str:
    names = ("total", "pending", "running", "succeeded", "failed", "timedOut", "aborted")
    line = ", ".join(f"{counts[name]} {name}" for name in names)
    extras = ("resultsWritten", "pendingRedrive", "failuresNotRedrivable")
    return line + "".join(f", {counts[name]} {name}" for name in extras if counts[name])
