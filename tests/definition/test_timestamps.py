"""ASL timestamp parsing and formatting: exact accept/reject table and round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.definition.timestamps import format_timestamp, parse_timestamp, timestamp_key

ACCEPTED = [
    # Recorded AWS: test_wait_timestamppath.Z / .00Z / .000000Z, test_wait_timestamp.SECONDS.
    ("2025-01-01T00:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
    ("2025-01-01T00:00:00.00Z", datetime(2025, 1, 1, tzinfo=UTC)),
    ("2025-01-01T00:00:00.000000Z", datetime(2025, 1, 1, tzinfo=UTC)),
    ("2016-03-14T01:59:00Z", datetime(2016, 3, 14, 1, 59, tzinfo=UTC)),
    ("2012-10-09T19:00:55+01:00", datetime(2012, 10, 9, 18, 0, 55, tzinfo=UTC)),
    ("2012-10-09T19:00:55-05:30", datetime(2012, 10, 10, 0, 30, 55, tzinfo=UTC)),
    ("2012-10-09T19:00:55+00:00", datetime(2012, 10, 9, 19, 0, 55, tzinfo=UTC)),
    ("2012-10-09T19:00:55-00:00", datetime(2012, 10, 9, 19, 0, 55, tzinfo=UTC)),
    ("2012-10-09T19:00:55.5Z", datetime(2012, 10, 9, 19, 0, 55, 500000, tzinfo=UTC)),
    ("2012-10-09T19:00:55.123456789Z", datetime(2012, 10, 9, 19, 0, 55, 123456, tzinfo=UTC)),
    ("2024-02-29T23:59:59Z", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
    ("2012-10-09T19:00:55+18:00", datetime(2012, 10, 9, 1, 0, 55, tzinfo=UTC)),
    ("1969-12-31T23:59:59Z", datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
]

REJECTED = [
    ("2016-12-05T21:29:29", "no offset (recorded AWS: NO_Z)"),
    ("2025-01-01T00:00:00.000000", "no offset with fraction (recorded AWS)"),
    ("2016-12-05 21:29:29Z", "space for T (recorded AWS: NO_T)"),
    ("2016-12-05T25:29:29Z", "hour 25 (recorded AWS: INVALID_TIME)"),
    ("05-12-2016T21:29:29Z", "day first (recorded AWS: INVALID_ISO)"),
    ("2023-02-24", "date only"),
    ("2023-02-24 12:15:56.832957", "Python str(datetime)"),
    ("2016-12-05t21:29:29Z", "lowercase t"),
    ("2016-12-05T21:29:29z", "lowercase z"),
    ("2016-12-05T21:29Z", "no seconds"),
    ("2016-12-05T21:29:60Z", "leap second"),
    ("2016-12-05T24:00:00Z", "hour 24"),
    ("2016-13-05T21:29:29Z", "month 13"),
    ("2023-02-29T21:29:29Z", "February 29 in a common year"),
    ("0000-01-01T00:00:00Z", "year 0"),
    ("2016-12-05T21:29:29.Z", "empty fraction"),
    ("2016-12-05T21:29:29.1234567891Z", "ten fraction digits"),
    ("2016-12-05T21:29:29+0100", "offset without colon"),
    ("2016-12-05T21:29:29+01", "offset without minutes"),
    ("2016-12-05T21:29:29+18:01", "offset beyond 18:00"),
    ("2016-12-05T21:29:29+01:60", "offset minute 60"),
    ("2016-12-05T21:29:29Z\n", "trailing newline"),
    (" 2016-12-05T21:29:29Z", "leading space"),
    ("2016-1-05T21:29:29Z", "one-digit month"),
    ("２０１６-12-05T21:29:29Z", "non-ASCII digits"),
    ("", "empty"),
    ("HelloWorld", "not a date"),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED, ids=[t for t, _ in ACCEPTED])
def test_parse_accepts(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(("text", "why"), REJECTED, ids=[w for _, w in REJECTED])
def test_parse_rejects(text: str, why: str) -> None:
    assert parse_timestamp(text) is None, why
    assert timestamp_key(text) is None, why


def test_key_keeps_nanoseconds() -> None:
    assert timestamp_key("1970-01-01T00:00:00.000000001Z") == (0, 1)
    assert timestamp_key("1970-01-01T00:00:01.1Z") == (1, 100_000_000)
    assert timestamp_key("1970-01-01T01:00:00+01:00") == (0, 0)
    early = timestamp_key("2012-10-09T19:00:55.000000001Z")
    late = timestamp_key("2012-10-09T19:00:55.000000002Z")
    assert early is not None
    assert late is not None
    assert early < late


def test_key_beyond_datetime_range() -> None:
    # Valid ASL timestamps whose UTC instant a datetime cannot hold: the key still orders them.
    low = timestamp_key("0001-01-01T00:00:00+01:00")
    high = timestamp_key("9999-12-31T23:59:59-01:00")
    assert low is not None
    assert high is not None
    assert parse_timestamp("0001-01-01T00:00:00+01:00") is None
    assert parse_timestamp("9999-12-31T23:59:59-01:00") is None


FORMATTED = [
    (datetime(2024, 3, 6, 10, 29, 14, 123456, tzinfo=UTC), "2024-03-06T10:29:14.123Z"),
    (datetime(2024, 3, 6, 10, 29, 14, tzinfo=UTC), "2024-03-06T10:29:14.000Z"),
    (datetime(2024, 3, 6, 10, 29, 14, 999999, tzinfo=UTC), "2024-03-06T10:29:14.999Z"),
    (
        datetime(2024, 3, 6, 11, 29, 14, 5000, tzinfo=timezone(timedelta(hours=1))),
        "2024-03-06T10:29:14.005Z",
    ),
    (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
]


@pytest.mark.parametrize(("moment", "text"), FORMATTED, ids=[t for _, t in FORMATTED])
def test_format(moment: datetime, text: str) -> None:
    assert format_timestamp(moment) == text


def test_format_rejects_naive() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_timestamp(datetime(2024, 1, 1))  # noqa: DTZ001 - the naive value is the point


@given(st.datetimes(timezones=st.just(UTC)))
def test_format_parse_round_trip(moment: datetime) -> None:
    text = format_timestamp(moment)
    assert parse_timestamp(text) == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@given(st.text(max_size=40))
def test_parse_never_raises(text: str) -> None:
    parsed = parse_timestamp(text)
    assert parsed is None or parsed.tzinfo is UTC
