"""The Task handlers of the CLI contract tests, loaded with `--functions tests/cli/functions.py`.

Every top-level function serves the Lambda function of its name; the exception class is left
out (classes are not functions), and names the error a Task fails with.
"""

from __future__ import annotations

import asyncio
from pathlib import Path


class Declined(Exception):
    """Raised by `decline`: the Task fails with the error name `Declined`."""


def echo(event: object, context: object) -> object:
    return event


def decline(event: dict[str, object], context: object) -> object:
    raise Declined(f"order {event.get('order')} was declined")


def note(event: object, context: object) -> object:
    """Called by a `.waitForTaskToken` Task: the token travels in the event (and the history)."""
    return {"noted": True}


async def block(event: dict[str, str], context: object) -> object:
    """Writes the file `event["marker"]` (so a test knows the Task runs), then waits an hour."""
    Path(event["marker"]).write_text("running\n")  # noqa: ASYNC240  (a tiny test file)
    await asyncio.sleep(3600)
    return None
