"""`asl start`, `asl worker` and `asl stop`: executions on a durable store.

Owns: the arguments, output and exit codes of the commands that create and drive stored
executions (a contract scripts and crash tests rely on; docs/cli.md). Must never: decide
semantics (the service does).

- `asl start FILE` registers the machine (named after the file) and starts an execution. With
  `--detach` it prints `{"executionArn", "startDate"}` once the execution is recorded and exits
  0; a worker drives it. Attached (the default) it drives that one execution in this process
  and prints its result like `asl run` (`--json`: the same object); exit 0 when it SUCCEEDED,
  1 when it ended otherwise.
- `asl worker` drives every runnable execution of the store until interrupted (SIGINT or
  SIGTERM: leases are released, so another worker takes over at once); `--until-idle` exits 0
  once nothing is runnable, nothing is waiting on a timer and the store has nothing left to
  claim.
- `asl stop ARN` is StopExecution.

Exit status 2: usage error, invalid definition or unknown resource.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from engine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_functions_options,
    add_input_options,
    add_mock_config_option,
    add_store_option,
    add_test_case_option,
    check_execution_name,
    config_of,
    diagnostic_line,
    iso,
    load_functions,
    read_input,
)
from engine.cli.definitions import (
    add_definition_options,
    config_with_template_functions,
    read_definition,
)
from engine.cli.session import with_service
from engine.cli.shapes import print_result

if TYPE_CHECKING:
    from engine.service import Service


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    start = commands.add_parser("start", help="register a machine and start an execution")
    start.add_argument("definition", metavar="FILE", nargs="?")
    add_input_options(start)
    add_functions_options(start)
    add_definition_options(start)
    start.add_argument("--name", help="execution name (default: a UUID)")
    start.add_argument(
        "--type",
        choices=("STANDARD", "EXPRESS"),
        help="the machine's type (default: the template's, else STANDARD)",
    )
    add_store_option(start)
    start.add_argument("--detach", action="store_true", help="record it and return at once")
    start.add_argument("--virtual-time", action="store_true", help="Waits take no real time")
    start.add_argument("--json", action="store_true")
    add_mock_config_option(start, from_environment=True)
    add_test_case_option(start)
    start.set_defaults(handler=_start)

    worker = commands.add_parser("worker", help="resume and drive runnable executions")
    add_store_option(worker)
    add_functions_options(worker)
    worker.add_argument(
        "--until-idle", action="store_true", help="exit when nothing is runnable or waiting"
    )
    worker.add_argument("--virtual-time", action="store_true", help="Waits take no real time")
    worker.add_argument(
        "--metrics-port",
        type=int,
        metavar="N",
        help="serve Prometheus metrics at http://HOST:N/metrics (docs/observability.md)",
    )
    worker.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address the metrics are served on (127.0.0.1; they carry no secret, but machine "
        "and function names)",
    )
    worker.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: the engine's own logs as JSON lines with execution_arn and state_name",
    )
    add_mock_config_option(worker, from_environment=True)
    worker.set_defaults(handler=_worker)

    stop = commands.add_parser("stop", help="StopExecution (the execution ends ABORTED)")
    stop.add_argument("arn", metavar="ARN")
    stop.add_argument("--error")
    stop.add_argument("--cause")
    add_store_option(stop)
    stop.set_defaults(handler=_stop)


def _start(args: argparse.Namespace) -> int:
    from engine.errors import DefinitionInvalid

    check_execution_name(args.name)
    functions_config = config_of(args)
    read = read_definition(args, args.definition, functions_config)
    definition, name, label = read.text, read.name, read.label
    machine_type = args.type or read.machine_type or "STANDARD"
    execution_input = read_input(args)
    if read.functions and not args.detach:  # the template's functions, for this process
        functions_config = config_with_template_functions(
            read, functions_config, load_functions(args.functions)
        )
    target: set[str] = set()

    async def work(service: Service) -> int:
        try:
            machine = await service.find_state_machine(name)
            if machine is None:
                machine, _ = await service.create_state_machine(
                    name, definition, machine_type=machine_type
                )
            elif machine.machine_type != machine_type:
                # AWS cannot change a machine's type either (UpdateStateMachine has no type).
                raise UsageError(
                    f"{label}: the state machine '{name}' is a {machine.machine_type} "
                    f"machine in this store, not {machine_type}: start it with --type "
                    f"{machine.machine_type}, or give the file another name"
                )
            elif machine.definition != definition:
                machine, _ = await service.update_state_machine(machine.arn, definition=definition)
        except DefinitionInvalid as exc:
            for diagnostic in exc.diagnostics:
                print(diagnostic_line(label, diagnostic), file=sys.stderr)
            return EXIT_USAGE
        target_arn = f"{machine.arn}#{args.test_case}" if args.test_case else machine.arn
        record = await service.start_execution(
            target_arn, name=args.name, input_text=json.dumps(execution_input)
        )
        if args.detach:
            print(json.dumps({"executionArn": record.arn, "startDate": iso(record.start)}))
            return EXIT_OK
        # Recorded before this process drives anything: the worker loop then claims it (or
        # another worker already has, and this waits for the store to say how it ended).
        target.add(record.arn)
        service.start()
        done = await service.wait_for(record.arn)
        print_result(done, args.json)
        return EXIT_OK if done.status == "SUCCEEDED" else EXIT_FAILED

    return with_service(
        args,
        work,
        worker=not args.detach,
        functions=args.functions,
        virtual_time=args.virtual_time,
        only=target,
        functions_config=functions_config,
    )


def _worker(args: argparse.Namespace) -> int:
    if args.log_format == "json":
        from engine.logformat import use_json_logs

        use_json_logs()

    async def work(service: Service) -> int:
        if args.metrics_port is not None:
            _serve_metrics(service, args.metrics_host, args.metrics_port)
        if args.until_idle:
            await service.run_until_idle()  # due schedule ticks too; events before exiting
            return EXIT_OK
        service.start()
        await _until_terminated()
        return EXIT_OK

    return with_service(
        args, work, worker=True, functions=args.functions, virtual_time=args.virtual_time
    )


def _serve_metrics(service: Service, host: str, port: int) -> None:
    """prometheus-client's own HTTP server, on a daemon thread (its counters are thread-safe,
    and what it reads of the runtime when scraped is copied under the GIL)."""
    from prometheus_client import start_http_server

    metrics = service.enable_metrics()
    try:
        start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as exc:
        raise UsageError(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from None


async def _until_terminated() -> None:
    """Wait for SIGTERM or SIGINT; the caller's cleanup then releases this worker's leases."""
    import asyncio
    import contextlib
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def _stop(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        record = await service.stop_execution(args.arn, error=args.error, cause=args.cause)
        # As the AWS JSON API answers: a closed execution's own stop date, else now (the stop
        # is queued for the worker that holds it).
        stopped = record.stop if record.stop is not None else service.clock.now()
        print(json.dumps({"stopDate": iso(stopped)}))
        return EXIT_OK

    return with_service(args, work)
