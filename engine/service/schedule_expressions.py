"""EventBridge Scheduler's schedule expressions: `cron(...)`, `rate(...)` and `at(...)`.

Owns: reading an expression exactly as EventBridge Scheduler accepts it (its user guide,
"Schedule types"), and the ticks it yields in a time zone: the first tick after a time and the
last one at or before it. Must never: read a clock (times come in) or start anything.

- `cron(Minutes Hours Day-of-month Month Day-of-week Year)`: six fields; one of day-of-month
  and day-of-week must be `?`; day-of-week counts 1-7 from Sunday (SUN-SAT also work); `L`,
  `W` and `#` as EventBridge has them. croniter computes the ticks (its day-of-week counts
  from 0, so numbers are shifted), the year field filters them.
- `rate(value unit)`: `1 minute`, `N minutes`, `1 hour`, `N hours`, `1 day`, `N days` (the unit
  singular for 1, plural otherwise); ticks every period from the schedule's creation.
- `at(yyyy-mm-ddThh:mm:ss)`: one tick, read in the schedule's time zone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InvalidRequest

_RATE: Final = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_AT: Final = re.compile(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)")
_CRON: Final = re.compile(r"cron\(([^()]*)\)")
_UNIT_SECONDS: Final = {"minute": 60, "hour": 3600, "day": 86400}
_YEARS: Final = range(1970, 2200)  # EventBridge's year field: 1970-2199
_SEARCH_LIMIT: Final = 2000  # cron ticks skipped looking for an allowed year


def invalid(expression: str, why: str) -> InvalidRequest:
    return InvalidRequest("ValidationException", f"Invalid Schedule Expression {expression}: {why}")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValidationException when there is none of that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(
            "ValidationException", f"Invalid ScheduleExpressionTimezone {name}: unknown time zone"
        ) from exc


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed expression in a time zone, anchored at the schedule's creation (rate)."""

    expression: str
    tz: ZoneInfo
    anchor: float
    period: float | None = None  # rate
    at: float | None = None  # at
    cron: str | None = None  # croniter's five fields
    years: frozenset[int] | None = None  # cron's year field; None: every year

    def next_after(self, moment: float) -> float | None:
        """The first tick strictly after `moment`; None when there is none (a past at())."""
        if self.period is not None:
            steps = max(0, math.floor((moment - self.anchor) / self.period) + 1)
            return self.anchor + steps * self.period
        if self.at is not None:
            return self.at if self.at > moment else None
        return self._cron_step(moment, forward=True)

    def last_at_or_before(self, moment: float) -> float | None:
        """The latest tick at or before `moment`; None when there is none yet."""
        if self.period is not None:
            if moment < self.anchor + self.period:
                return None
            return self.anchor + math.floor((moment - self.anchor) / self.period) * self.period
        if self.at is not None:
            return self.at if self.at <= moment else None
        return self._cron_step(moment + 1e-3, forward=False)

    def _cron_step(self, moment: float, *, forward: bool) -> float | None:
        from croniter import croniter

        assert self.cron is not None
        start = datetime.fromtimestamp(moment, self.tz)
        ticks = croniter(self.cron, start)
        for _ in range(_SEARCH_LIMIT):
            tick = ticks.get_next(datetime) if forward else ticks.get_prev(datetime)
            if tick.year not in _YEARS:
                return None
            if self.years is None or tick.year in self.years:
                return float(tick.timestamp())
        return None


def parse_schedule(expression: str, timezone: str, anchor: float) -> Schedule:
    """`expression` read as EventBridge Scheduler reads it. Raises ValidationException."""
    tz = zone(timezone)
    if m := _RATE.fullmatch(expression):
        value, unit = int(m.group(1)), m.group(2)
        if value < 1:
            raise invalid(expression, "the rate must be a positive whole number")
        if (value == 1) == unit.endswith("s"):
            raise invalid(
                expression, "use a singular unit for 1 (rate(1 minute)) and a plural one above"
            )
        return Schedule(expression, tz, anchor, period=value * _UNIT_SECONDS[unit.rstrip("s")])
    if m := _AT.fullmatch(expression):
        try:
            local = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=tz)
        except ValueError as exc:
            raise invalid(expression, "not a date and time") from exc
        return Schedule(expression, tz, anchor, at=local.timestamp())
    if m := _CRON.fullmatch(expression):
        return _parse_cron(expression, m.group(1), tz, anchor)
    raise invalid(
        expression,
        "use cron(Minutes Hours Day-of-month Month Day-of-week Year), rate(value unit) or "
        "at(yyyy-mm-ddThh:mm:ss)",
    )


def _parse_cron(expression: str, body: str, tz: ZoneInfo, anchor: float) -> Schedule:
    fields = body.split()
    if len(fields) != 6:
        raise invalid(expression, f"a cron expression has 6 fields, not {len(fields)}")
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise invalid(
            expression, "exactly one of day-of-month and day-of-week must be '?' (the other set)"
        )
    if "?" in (minutes, hours, month, year):
        raise invalid(expression, "'?' is allowed in day-of-month or day-of-week only")
    # croniter counts days of the week from 0 (Sunday); EventBridge from 1 (Sunday). Numbers
    # after '#' are occurrences (6#3: the third Friday), not days.
    shifted = re.sub(r"(?<![#\d])([1-7])(?!\d)", lambda d: str(int(d.group(1)) - 1), day_of_week)
    five = " ".join(
        [
            minutes,
            hours,
            "*" if day_of_month == "?" else day_of_month,
            month,
            "*" if day_of_week == "?" else shifted,
        ]
    )
    from croniter import croniter

    if not croniter.is_valid(five):
        raise invalid(expression, "a field holds a value cron does not accept")
    return Schedule(expression, tz, anchor, cron=five, years=_years(expression, year))


def _years(expression: str, field: str) -> frozenset[int] | None:
    if field == "*":
        return None
    years: set[int] = set()
    for part in field.split(","):
        m = re.fullmatch(r"(\d{4})(?:-(\d{4}))?(?:/(\d+))?", part)
        if m is None:
            raise invalid(expression, f"year '{part}' is not a year, a range or a list")
        first = int(m.group(1))
        last = int(m.group(2) or (_YEARS.stop - 1 if m.group(3) else first))
        step = int(m.group(3) or 1)
        if first not in _YEARS or last not in _YEARS or last < first or step < 1:
            raise invalid(expression, f"year '{part}' is outside 1970-2199")
        years.update(range(first, last + 1, step))
    return frozenset(years)


def tick_name(schedule: str, tick: float) -> str:
    """The execution name of a schedule's tick: `NAME-yyyymmddThhmmZ` (UTC), the same on every
    worker, so a tick starts one execution (StartExecution is idempotent by name)."""
    return f"{schedule}-{datetime.fromtimestamp(tick, UTC):%Y%m%dT%H%MZ}"


def utc_text(moment: float) -> str:
    """An ISO date in UTC with milliseconds, as the CLI prints dates."""
    text = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
