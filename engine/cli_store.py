"""The store-backed `asl` commands: start, worker, describe, history, list, stop, callbacks, db.

Owns: the arguments, output and exit codes of the commands that work on a durable store (a
contract scripts and crash tests rely on; docs/cli.md). Must never: decide semantics (the
service does). The store is `--store URL`, else `ASL_STORE`, else
`sqlite:///<data dir>/asl.db` with the data dir from `ASL_HOME` or a per-user directory.

Exit codes: 0 success (for `start`: the execution SUCCEEDED, or was recorded with --detach),
1 the execution ended otherwise, 2 usage error, invalid definition or unknown resource.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from engine.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    _diagnostic_line,
    _load_functions,
    _read,
    add_mock_config_option,
    add_test_case_option,
    load_mock_config_option,
    machine_name,
)

if TYPE_CHECKING:
    from engine.service import Service
    from engine.store.base import ExecutionRecord, StoredEvent
    from engine.values import JSON


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    start = commands.add_parser("start", help="register a machine and start an execution")
    start.add_argument("definition", metavar="FILE")
    source = start.add_mutually_exclusive_group()
    source.add_argument("--input", help="execution input as JSON text (default {})")
    source.add_argument("--input-file", metavar="F")
    _functions_option(start)
    start.add_argument("--name", help="execution name (default: a UUID)")
    start.add_argument("--type", choices=("STANDARD", "EXPRESS"), default="STANDARD")
    _store_option(start)
    start.add_argument("--detach", action="store_true", help="record it and return at once")
    start.add_argument("--virtual-time", action="store_true", help="Waits take no real time")
    start.add_argument("--json", action="store_true")
    add_mock_config_option(start, from_environment=True)
    add_test_case_option(start)
    start.set_defaults(handler=_start)

    worker = commands.add_parser("worker", help="resume and drive runnable executions")
    _store_option(worker)
    _functions_option(worker)
    worker.add_argument(
        "--until-idle", action="store_true", help="exit when nothing is runnable or waiting"
    )
    worker.add_argument("--virtual-time", action="store_true", help="Waits take no real time")
    add_mock_config_option(worker, from_environment=True)
    worker.set_defaults(handler=_worker)

    describe = commands.add_parser("describe", help="DescribeExecution")
    describe.add_argument("arn", metavar="ARN")
    _store_option(describe)
    describe.add_argument("--json", action="store_true")
    describe.set_defaults(handler=_describe)

    history = commands.add_parser("history", help="GetExecutionHistory")
    history.add_argument("arn", metavar="ARN")
    _store_option(history)
    history.add_argument("--reverse", action="store_true", help="newest first")
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=_history)

    listing = commands.add_parser("list", help="list executions, newest first")
    _store_option(listing)
    listing.add_argument("--machine", help="only executions of this machine (name or ARN)")
    listing.add_argument(
        "--status", choices=("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
    )
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    stop = commands.add_parser("stop", help="StopExecution (the execution ends ABORTED)")
    stop.add_argument("arn", metavar="ARN")
    stop.add_argument("--error")
    stop.add_argument("--cause")
    _store_option(stop)
    stop.set_defaults(handler=_stop)

    success = commands.add_parser("send-task-success", help="SendTaskSuccess")
    success.add_argument("token", metavar="TOKEN")
    success.add_argument("--output", default="{}", help="the task's result as JSON text")
    _store_option(success)
    success.set_defaults(handler=_send_success)

    failure = commands.add_parser("send-task-failure", help="SendTaskFailure")
    failure.add_argument("token", metavar="TOKEN")
    failure.add_argument("--error")
    failure.add_argument("--cause")
    _store_option(failure)
    failure.set_defaults(handler=_send_failure)

    heartbeat = commands.add_parser("send-task-heartbeat", help="SendTaskHeartbeat")
    heartbeat.add_argument("token", metavar="TOKEN")
    _store_option(heartbeat)
    heartbeat.set_defaults(handler=_send_heartbeat)

    db = commands.add_parser("db", help="store maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="apply schema migrations")
    _store_option(upgrade)
    upgrade.set_defaults(handler=_db_upgrade)
    purge = db_commands.add_parser("purge", help="delete histories past the retention window")
    _store_option(purge)
    purge.set_defaults(handler=_db_purge)


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="URL",
        default=os.environ.get("ASL_STORE"),
        help="sqlite:///path.db or postgresql://... (default: $ASL_STORE, else "
        "sqlite:///$ASL_HOME/asl.db)",
    )


def _functions_option(parser: argparse.ArgumentParser) -> None:
    from engine.cli_config import add_config_option

    parser.add_argument("--functions", action="append", default=[], metavar="FILE.py")
    add_config_option(parser)


def _with_service(
    args: argparse.Namespace,
    work: Callable[[Service], Awaitable[int]],
    *,
    worker: bool = False,
    functions: list[str] | None = None,
    virtual_time: bool = False,
    only: set[str] | None = None,
) -> int:
    from engine.cli_config import config_of, mock_config_path
    from engine.errors import EngineError
    from engine.runtime.clock import RealClock, VirtualClock
    from engine.service import Service, ServiceConfig
    from engine.store.open import open_store

    loaded = _load_functions(functions or [])
    functions_config = config_of(args)
    mock_config = load_mock_config_option(
        mock_config_path(getattr(args, "mock_config", None), functions_config)
    )
    try:
        store = open_store(args.store)
    except EngineError as exc:
        raise UsageError(f"{exc.code}: {exc.message}") from None

    async def main() -> int:
        clock = VirtualClock() if virtual_time else RealClock()
        service = Service(
            store,
            functions=loaded,
            functions_config=functions_config,
            clock=clock,
            config=ServiceConfig(worker=worker),
            mock_config=mock_config,
        )
        if only is not None:
            service.worker.only = only
        try:
            return await work(service)
        finally:
            await service.aclose()

    try:
        import asyncio  # lazily: every `asl` command builds this parser

        return asyncio.run(main())
    except EngineError as exc:
        raise UsageError(f"{exc.code}: {exc.message}") from None
    finally:
        store.close()


# -- start / worker -------------------------------------------------------------------------------


def _start(args: argparse.Namespace) -> int:
    from engine.cli import _read_input
    from engine.errors import DefinitionInvalid

    definition = _read(args.definition)
    execution_input = _read_input(args)
    name = machine_name(args.definition)
    target: set[str] = set()

    async def work(service: Service) -> int:
        try:
            machine = await service.find_state_machine(name)
            if machine is None:
                machine, _ = await service.create_state_machine(
                    name, definition, machine_type=args.type
                )
            elif machine.definition != definition:
                machine, _ = await service.update_state_machine(machine.arn, definition=definition)
        except DefinitionInvalid as exc:
            for diagnostic in exc.diagnostics:
                print(_diagnostic_line(args.definition, diagnostic), file=sys.stderr)
            return EXIT_USAGE
        target_arn = f"{machine.arn}#{args.test_case}" if args.test_case else machine.arn
        record = await service.start_execution(
            target_arn, name=args.name, input_text=json.dumps(execution_input)
        )
        if args.detach:
            print(json.dumps({"executionArn": record.arn, "startDate": _iso(record.start)}))
            return EXIT_OK
        target.add(record.arn)
        service.worker.only = target
        service.start()
        done = await service.wait_for(record.arn)
        _print_result(done, args.json)
        return EXIT_OK if done.status == "SUCCEEDED" else EXIT_FAILED

    return _with_service(
        args, work, functions=args.functions, virtual_time=args.virtual_time, only=target
    )


def _worker(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        if args.until_idle:
            await service.worker.run_until_idle()
            return EXIT_OK
        service.start()
        import asyncio

        await asyncio.Event().wait()  # until interrupted
        return EXIT_OK

    return _with_service(args, work, functions=args.functions, virtual_time=args.virtual_time)


# -- read commands --------------------------------------------------------------------------------


def _describe(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        record = await service.describe_execution(args.arn)
        if args.json:
            print(json.dumps(describe_shape(record), ensure_ascii=False))
        else:
            _print_result(record, False)
        return EXIT_OK

    return _with_service(args, work)


def _history(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        events = await service.get_history(args.arn, limit=100_000, reverse=args.reverse)
        shaped = [event_shape(e) for e in events]
        if args.json:
            print(json.dumps({"events": shaped}, ensure_ascii=False))
        else:
            print(f"{'id':>4}  {'prev':>4}  {'timestamp':<24}  type")
            for event in events:
                print(
                    f"{event.id:>4}  {event.previous_event_id:>4}  "
                    f"{_iso(event.timestamp):<24}  {event.type}"
                )
        return EXIT_OK

    return _with_service(args, work)


def _list(args: argparse.Namespace) -> int:
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
                print(f"{record.status:<10}  {_iso(record.start)}  {record.arn}")
        return EXIT_OK

    return _with_service(args, work)


# -- write commands -------------------------------------------------------------------------------


def _stop(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        await service.stop_execution(args.arn, error=args.error, cause=args.cause)
        print(json.dumps({"stopDate": _iso(service.clock.now())}))
        return EXIT_OK

    return _with_service(args, work)


def _send_success(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        await service.send_task_success(args.token, args.output)
        return EXIT_OK

    return _with_service(args, work)


def _send_failure(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        await service.send_task_failure(args.token, error=args.error, cause=args.cause)
        return EXIT_OK

    return _with_service(args, work)


def _send_heartbeat(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        await service.send_task_heartbeat(args.token)
        return EXIT_OK

    return _with_service(args, work)


def _db_upgrade(args: argparse.Namespace) -> int:
    from engine.errors import EngineError
    from engine.store.open import open_store, resolve_url

    try:
        store = open_store(args.store)  # applies every pending migration
    except EngineError as exc:
        raise UsageError(f"{exc.code}: {exc.message}") from None
    store.close()
    print(f"{resolve_url(args.store)}: schema is up to date")
    return EXIT_OK


def _db_purge(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        count = await service.purge_expired()
        print(json.dumps({"purged": count}))
        return EXIT_OK

    return _with_service(args, work)


# -- shapes ---------------------------------------------------------------------------------------


def _iso(epoch: float | None) -> str | None:
    from engine.interpreter.history import format_time

    return format_time(epoch) if epoch is not None else None


def result_shape(record: ExecutionRecord) -> dict[str, JSON]:
    """The object `asl run --json` prints, for a stored execution."""
    return {
        "executionArn": record.arn,
        "name": record.name,
        "status": record.status,
        "output": record.output if record.status == "SUCCEEDED" else None,
        "error": record.error,
        "cause": record.cause,
        "startDate": _iso(record.start),
        "stopDate": _iso(record.stop),
    }


def describe_shape(record: ExecutionRecord) -> dict[str, JSON]:
    """DescribeExecution's fields (input/output as JSON text, as AWS returns them)."""
    from engine.shapes import execution_fields

    return {**execution_fields(record, _iso), "redriveCount": record.redrive_count}


def list_shape(record: ExecutionRecord) -> dict[str, JSON]:
    from engine.shapes import execution_summary

    return execution_summary(record, _iso)


def event_shape(event: StoredEvent) -> dict[str, JSON]:
    from engine.shapes import history_event

    return history_event(event, _iso)


def _print_result(record: ExecutionRecord, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result_shape(record), ensure_ascii=False))
        return
    print(f"execution  {record.arn}")
    print(f"status     {record.status}")
    if record.status == "SUCCEEDED":
        print(f"output     {json.dumps(record.output, ensure_ascii=False)}")
    elif record.status != "RUNNING":
        if record.error is not None:
            print(f"error      {record.error}")
        if record.cause is not None:
            print(f"cause      {record.cause}")
