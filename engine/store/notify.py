"""Wake-ups between processes sharing a PostgreSQL store: NOTIFY when work appears, LISTEN for it.

Owns: the channel name and its two messages (`claim`: an execution became runnable without a
worker holding it; `events`: an event was queued in an execution's inbox), the statement a
writing transaction runs to send one (delivered by PostgreSQL when, and only if, it commits),
and `Listener`: a thread holding one connection that LISTENs and hands each message to a
callback. Must never: be the only way work is found (a worker's poll stays the safety net: a
notification sent while no listener was connected is lost), or block the event loop.

Why: several `asl worker` and `asl serve` processes on one database otherwise learn of a start
recorded by another process, or of a stop or callback for an execution they hold, only at their
next poll (a quarter of a second by default).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Final

from sqlalchemy import Connection, text

CHANNEL: Final = "asl_wakeup"
CLAIM: Final = "claim"
EVENTS: Final = "events"

_NOTIFY: Final = text(f"SELECT pg_notify('{CHANNEL}', :kind)")
_RECONNECT_SECONDS: Final = (0.5, 1.0, 2.0, 5.0)

_log = logging.getLogger("asl.store")


def notify(conn: Connection, kind: str) -> None:
    """Send `kind` to every listener once the caller's transaction commits (PostgreSQL folds
    identical notifications of one transaction into one)."""
    conn.execute(_NOTIFY, {"kind": kind})


class Listener:
    """LISTEN on the channel from a daemon thread; `wake(kind)` is called on that thread.

    A lost connection is logged once and reopened with back-off; `close` stops the thread
    within its poll interval (a tenth of a second: a worker's shutdown waits for it).
    """

    def __init__(self, dsn: str, wake: Callable[[str], None], *, poll_seconds: float = 0.1):
        self._dsn = dsn
        self._wake = wake
        self._poll = poll_seconds
        self._stop = threading.Event()
        self.connected = threading.Event()  # set while LISTENing (tests wait for it)
        self._thread = threading.Thread(target=self._run, name="asl-listen", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        import psycopg

        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    if failures:
                        _log.info("listening for wake-ups again")
                    failures = 0
                    while not self._stop.is_set():
                        for message in connection.notifies(timeout=self._poll):
                            self._wake(message.payload)
            except Exception as exc:  # the listener's edge: reconnect, the poll covers the gap
                self.connected.clear()
                if failures == 0:
                    _log.warning("lost the wake-up connection (%s); polling until it is back", exc)
                delay = _RECONNECT_SECONDS[min(failures, len(_RECONNECT_SECONDS) - 1)]
                failures += 1
                self._stop.wait(delay)
        self.connected.clear()
