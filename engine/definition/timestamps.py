"""ASL timestamps: which strings AWS accepts as a timestamp, and how AWS writes one.

Owns: the one parser behind Wait `Timestamp`/`TimestampPath`, the Choice `Timestamp*` operators
and `IsTimestamp`, and the one formatter for timestamps the engine writes into the context
object (`$$.Execution.StartTime`, `$$.State.EnteredTime`) and history. Must never: read the
clock, or accept a timestamp AWS rejects (a lenient parser here silently changes which Choice
branch runs).

The accepted form is the RFC 3339 profile of ISO 8601 that the States Language spec names
("Timestamps"): `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`, with an uppercase `T` and an
uppercase `Z`. Recorded AWS behaviour (conformance cases `test_wait_timestamppath.*` and
`test_wait_timestamp_path.*`): `2025-01-01T00:00:00Z`, `...00.00Z` and `...00.000000Z` are
accepted; a missing offset (`2016-12-05T21:29:29`), a space for `T` and hour 25 are rejected.
AWS's error text ("ISO-8601 extended offset date-time") is java.time's name for this format, so
where RFC 3339 and java.time differ the stricter reading wins: at most 9 fraction digits
(nanoseconds), no leap second 60, offsets within ±18:00.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?"
    r"(?:Z|([+-])([0-9]{2}):([0-9]{2}))"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_MAX_OFFSET_SECONDS = 18 * 3600
# Lengths of the shortest ("2016-03-14T01:59:00Z") and longest (9 fraction digits and a
# numeric offset) valid timestamps: anything else is rejected before the regex, and only
# strings in this range reach the cache, so it stays small.
_MIN_LENGTH, _MAX_LENGTH = 20, 35


def timestamp_key(text: str) -> tuple[int, int] | None:
    """The instant `text` denotes as (seconds since the Unix epoch, nanoseconds), or None.

    None when `text` is not a valid ASL timestamp. Keys order exactly like the instants, with
    nanosecond precision (a `datetime` keeps microseconds only), so the Choice operators
    compare keys. Works for every valid year, where a UTC `datetime` could overflow.
    """
    if not _MIN_LENGTH <= len(text) <= _MAX_LENGTH:
        return None
    return _key(text)


@lru_cache(maxsize=4096)  # Choice rules see the same few timestamps over and over
def _key(text: str) -> tuple[int, int] | None:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_hour, off_minute = match.groups()
    try:
        ordinal = date(int(year), int(month), int(day)).toordinal()
    except ValueError:  # month 13, February 30, year 0000, ...
        return None
    h, m, s = int(hour), int(minute), int(second)
    if h > 23 or m > 59 or s > 59:
        return None
    offset = 0
    if sign is not None:
        oh, om = int(off_hour), int(off_minute)
        offset = oh * 3600 + om * 60
        if om > 59 or offset > _MAX_OFFSET_SECONDS:
            return None
        if sign == "-":
            offset = -offset
    seconds = (ordinal - _EPOCH_ORDINAL) * 86400 + h * 3600 + m * 60 + s - offset
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    return seconds, nanos


def parse_timestamp(text: str) -> datetime | None:
    """The aware UTC datetime `text` denotes, or None when it is not a valid ASL timestamp.

    Fractions finer than a microsecond are truncated; an instant outside `datetime`'s range
    (e.g. `0001-01-01T00:00:00+01:00`) gives None.
    """
    key = timestamp_key(text)
    if key is None:
        return None
    seconds, nanos = key
    try:
        return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        return None


def format_timestamp(moment: datetime) -> str:
    """`moment` as AWS writes timestamps in the context object: UTC, milliseconds, `Z`.

    E.g. `2024-03-06T10:29:14.123Z` (AWS docs, "Context object": `"StartTime":
    "2019-03-26T20:14:13.192Z"`). Sub-millisecond digits are truncated. `moment` must be aware.
    """
    if moment.tzinfo is None:
        raise ValueError("format_timestamp needs an aware datetime (engine time is UTC)")
    u = moment.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond // 1000:03d}Z"
    )
