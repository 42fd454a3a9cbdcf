"""`asl db upgrade` and `asl db purge`: store maintenance.

Owns: applying schema migrations on demand and purging histories past the retention window
(90 days by default), with their one-line outputs. Must never: touch executions that are still
within the retention window.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_OK, UsageError, add_store_option
from engine.cli.session import with_service

if TYPE_CHECKING:
    from engine.service import Service


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="store maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="apply schema migrations")
    add_store_option(upgrade)
    upgrade.set_defaults(handler=_db_upgrade)
    purge = db_commands.add_parser("purge", help="delete histories past the retention window")
    add_store_option(purge)
    purge.set_defaults(handler=_db_purge)


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

    return with_service(args, work)
