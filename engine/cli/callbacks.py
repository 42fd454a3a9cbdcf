"""`asl send-task-success|send-task-failure|send-task-heartbeat TOKEN`: task-token callbacks.

Owns: the arguments of the callback commands. Exit status 0 when the callback was accepted,
2 when the token is malformed, unknown, already answered (`TaskDoesNotExist`, as the API
answers) or timed out (`TaskTimedOut`). Must never: decide semantics (the service does).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_OK, add_store_option
from engine.cli.session import with_service

if TYPE_CHECKING:
    from engine.service import Service


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    success = commands.add_parser("send-task-success", help="SendTaskSuccess")
    success.add_argument("token", metavar="TOKEN")
    success.add_argument("--output", default="{}", help="the task's result as JSON text")
    add_store_option(success)
    success.set_defaults(handler=_send_success)

    failure = commands.add_parser("send-task-failure", help="SendTaskFailure")
    failure.add_argument("token", metavar="TOKEN")
    failure.add_argument("--error")
    failure.add_argument("--cause")
    add_store_option(failure)
    failure.set_defaults(handler=_send_failure)

    heartbeat = commands.add_parser("send-task-heartbeat", help="SendTaskHeartbeat")
    heartbeat.add_argument("token", metavar="TOKEN")
    add_store_option(heartbeat)
    heartbeat.set_defaults(handler=_send_heartbeat)


def _send_success(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        await service.send_task_success(args.token, args.output)
        return EXIT_OK

    return with_service(args, work)


def _send_failure(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        await service.send_task_failure(args.token, error=args.error, cause=args.cause)
        return EXIT_OK

    return with_service(args, work)


def _send_heartbeat(args: argparse.Namespace) -> int:
    async def work(service: Service) -> int:
        await service.send_task_heartbeat(args.token)
        return EXIT_OK

    return with_service(args, work)
