"""History events shaped as AWS's GetExecutionHistory reports them.

Owns: the `HistoryEvent` value, the mapping from event type to its `<camelType>EventDetails` key,
and rendering to AWS's JSON shape. Payloads (inputs, outputs, parameters) are kept as values in
`Payload` wrappers and turned into JSON text only when the history is rendered or stored, so a
transition that nobody reads costs no serialisation. Must never: decide which events happen
(core.py and states.py do).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from engine.values import JSON, dumps, immutable


@immutable
class Payload:
    """A JSON value AWS renders as JSON text inside event details (input, output, ...)."""

    value: JSON


DetailValue = JSON | Payload
Details = dict[str, DetailValue]


@immutable
class HistoryEvent:
    """One event of an execution's history, as GetExecutionHistory returns it."""

    id: int
    previous_event_id: int
    timestamp: float
    type: str
    details: Details | None = None

    def as_json(self, *, include_execution_data: bool = True) -> dict[str, JSON]:
        """GetExecutionHistory's shape: id, previousEventId, timestamp, type, details."""
        out: dict[str, JSON] = {
            "id": self.id,
            "previousEventId": self.previous_event_id,
            "timestamp": format_time(self.timestamp),
            "type": self.type,
        }
        if self.details is not None:
            out[details_key(self.type)] = render_details(self.details, include_execution_data)
        return out


def render_details(
    details: Details,
    include_execution_data: bool = True,
    rendered_payloads: dict[int, str] | None = None,
) -> dict[str, JSON]:
    """Details as AWS shows them: payloads as JSON text.

    `rendered_payloads` remembers texts by the identity of their value across the events of
    one step (a state's output is the next state's input, the same value): the caller keeps
    every value alive while it is used, so an identity cannot be reused meanwhile."""
    texts = {} if rendered_payloads is None else rendered_payloads
    rendered: dict[str, JSON] = {}
    for key, value in details.items():
        if isinstance(value, Payload):
            if not include_execution_data:
                continue
            text = texts.get(id(value.value))
            if text is None:
                text = texts[id(value.value)] = dumps(value.value)
            rendered[key] = text
            if key in _TRUNCATION_DETAILS:
                rendered[key + "Details"] = {"truncated": False}
        else:
            rendered[key] = value
    return rendered


# Payload fields that AWS accompanies with a `<field>Details: {"truncated": ...}` object.
_TRUNCATION_DETAILS = frozenset({"input", "output"})


def format_time(epoch: float) -> str:
    """AWS's timestamp text with millisecond precision, e.g. 2024-03-06T10:29:14.123Z.

    Any time renders: past the year 9999 (a Wait of 10**12 seconds read from the input, on a
    virtual clock) with ISO 8601's expanded year, `+33712-...`, never an exception."""
    try:
        moment = datetime.fromtimestamp(epoch, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return _format_far_time(epoch)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def _format_far_time(epoch: float) -> str:
    """format_time outside datetime's years 1-9999 (Hinnant's days-to-civil algorithm)."""
    millis = math.floor(epoch * 1000) if math.isfinite(epoch) else 0
    days, in_day = divmod(millis, 86_400_000)
    z = days + 719_468
    era = z // 146_097
    day_of_era = z - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + 3 if month_index < 10 else month_index - 9
    year = year_of_era + era * 400 + (1 if month <= 2 else 0)
    seconds, milli = divmod(in_day, 1000)
    hour, rest = divmod(seconds, 3600)
    minute, second = divmod(rest, 60)
    year_text = f"+{year}" if year > 9999 else f"{year:05d}" if year < 0 else f"{year:04d}"
    return f"{year_text}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}Z"


def details_key(event_type: str) -> str:
    """The HistoryEvent member that holds an event type's details (AWS API reference)."""
    key = _DETAILS_KEYS.get(event_type)
    if key is None:  # worked out once per type (every stored event asks)
        key = _DETAILS_KEYS[event_type] = _derived_details_key(event_type)
    return key


def _derived_details_key(event_type: str) -> str:
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


# Event types whose details member is not simply `<camelType>EventDetails`.
_DETAILS_KEYS = {
    "MapIterationStarted": "mapIterationStartedEventDetails",
    "MapIterationSucceeded": "mapIterationSucceededEventDetails",
    "MapIterationFailed": "mapIterationFailedEventDetails",
    "MapIterationAborted": "mapIterationAbortedEventDetails",
}


def task_resource_parts(resource: str) -> tuple[str, str]:
    """`arn:aws:states:::lambda:invoke` -> ("lambda", "invoke"), as TaskScheduled reports it;
    `aws-sdk:s3:getObject` -> ("aws-sdk:s3", "getObject") (recorded:
    test_aws_sdk_task_service/test_list_secrets, resourceType "aws-sdk:secretsmanager")."""
    tail = resource.split(":::", 1)[1] if ":::" in resource else resource
    if tail.startswith("aws-sdk:"):
        service, _, action = tail.rpartition(":")
        return service, action
    service, _, action = tail.partition(":")
    return service, action
