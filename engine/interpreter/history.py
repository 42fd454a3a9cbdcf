"""History events shaped as AWS's GetExecutionHistory reports them.

Owns: the `HistoryEvent` value, the mapping from event type to its `<camelType>EventDetails` key,
and rendering to AWS's JSON shape. Payloads (inputs, outputs, parameters) are kept as values in
`Payload` wrappers and turned into JSON text only when the history is rendered or stored, so a
transition that nobody reads costs no serialisation. Must never: decide which events happen
(core.py and states.py do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from engine.values import JSON, dumps


@dataclass(frozen=True, slots=True)
class Payload:
    """A JSON value AWS renders as JSON text inside event details (input, output, ...)."""

    value: JSON


DetailValue = JSON | Payload
Details = dict[str, DetailValue]


@dataclass(frozen=True, slots=True)
class HistoryEvent:
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


def render_details(details: Details, include_execution_data: bool = True) -> dict[str, JSON]:
    rendered: dict[str, JSON] = {}
    for key, value in details.items():
        if isinstance(value, Payload):
            if not include_execution_data:
                continue
            rendered[key] = dumps(value.value)
            if key in _TRUNCATION_DETAILS:
                rendered[key + "Details"] = {"truncated": False}
        else:
            rendered[key] = value
    return rendered


# Payload fields that AWS accompanies with a `<field>Details: {"truncated": ...}` object.
_TRUNCATION_DETAILS = frozenset({"input", "output"})


def format_time(epoch: float) -> str:
    """AWS's timestamp text with millisecond precision, e.g. 2024-03-06T10:29:14.123Z."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def details_key(event_type: str) -> str:
    """The HistoryEvent member that holds an event type's details (AWS API reference)."""
    key = _DETAILS_KEYS.get(event_type)
    if key is not None:
        return key
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
    """`arn:aws:states:::lambda:invoke` -> ("lambda", "invoke"), as TaskScheduled reports it."""
    tail = resource.split(":::", 1)[1] if ":::" in resource else resource
    service, _, action = tail.partition(":")
    return service, action
