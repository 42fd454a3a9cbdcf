"""Structured engine logs: one JSON object per log record (`--log-format json`).

Owns: `JsonFormatter` and `use_json_logs`. A record says when (`time`, ISO 8601 UTC), how bad
(`level`), who (`logger`) and what (`message`), and, when it concerns an execution, which
(`execution_arn`) and where (`state_name`): from the record's `extra` when the call gave them,
else the execution ARN found among the call's arguments (the engine's messages name the
execution they concern). An exception's traceback goes in `exception`. Must never: drop a
record it cannot serialise (a value JSON cannot hold is written as its `repr`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Final

_EXECUTION_ARN: Final = ":execution:"
_STATES_ARN: Final = "arn:aws:states:"
ENGINE_LOGGERS: Final = ("asl", "engine")
"""The loggers the engine writes to (`asl.worker`, `asl.api`, `engine.runtime.loop`, ...)."""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        arn = getattr(record, "execution_arn", None) or _execution_arn(record.args)
        if arn is not None:
            out["execution_arn"] = arn
        state = getattr(record, "state_name", None)
        if state is not None:
            out["state_name"] = state
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=repr)


def _execution_arn(args: object) -> str | None:
    values = args.values() if isinstance(args, dict) else args if isinstance(args, tuple) else ()
    for value in values:
        if isinstance(value, str) and value.startswith(_STATES_ARN) and _EXECUTION_ARN in value:
            return value
    return None


def use_json_logs(level: int = logging.INFO) -> logging.Handler:
    """Send the engine's loggers to stderr as JSON lines (replacing their handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ENGINE_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
    return handler
