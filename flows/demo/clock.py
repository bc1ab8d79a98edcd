"""Time, id and period helpers shared by the demo generator and its reference evaluation.

Every instant in the demo model is an ``int`` of epoch seconds in UTC; the payload modules
format them the way each source system does. Nothing here reads the wall clock.
"""
from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

UTC = dt.timezone.utc
MINUTE = 60
HOUR = 3600
DAY = 86400


@dataclass(frozen=True)
class Period:
    label: str
    start: int   # inclusive
    end: int     # exclusive

    @property
    def baseline_start(self) -> int:
        """First instant of the month before the period: where the baseline deployments live."""
        first = dt.datetime.fromtimestamp(self.start, UTC)
        prev = (first - dt.timedelta(days=1)).replace(day=1)
        return int(prev.timestamp())


def parse_period(label: str) -> Period:
    match = re.fullmatch(r"(\d{4})Q([1-4])", label)
    if not match:
        raise ValueError(f"period must look like 2026Q3, not {label!r}")
    year, quarter = int(match[1]), int(match[2])
    start = dt.datetime(year, 3 * quarter - 2, 1, tzinfo=UTC)
    end = dt.datetime(year + (quarter == 4), (3 * quarter) % 12 + 1, 1, tzinfo=UTC)
    return Period(label, int(start.timestamp()), int(end.timestamp()))


_DAYS: dict[int, str] = {}


def _day(ts: int) -> tuple[str, int]:
    number, rest = divmod(ts, DAY)
    text = _DAYS.get(number)
    if text is None:
        text = _DAYS[number] = (dt.date(1970, 1, 1) + dt.timedelta(days=number)).isoformat()
    return text, rest


def gh_time(ts: int) -> str:
    """GitHub / PagerDuty / SARIF style: 2026-07-03T14:05:09Z."""
    day, rest = _day(ts)
    return f"{day}T{rest // HOUR:02d}:{rest // MINUTE % 60:02d}:{rest % 60:02d}Z"


def sn_time(ts: int | None) -> str:
    """ServiceNow Table API (sysparm_display_value=false): 2026-07-03 14:05:09 UTC, '' when empty."""
    if ts is None:
        return ""
    day, rest = _day(ts)
    return f"{day} {rest // HOUR:02d}:{rest // MINUTE % 60:02d}:{rest % 60:02d}"


def day_of(ts: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts, UTC).date()


def midnight(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def add_business_days(day: dt.date, count: int, holidays: frozenset[dt.date] = frozenset()) -> dt.date:
    """The ``count``-th business day (Mon-Fri, holidays excluded) after ``day``."""
    current = day
    while count > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            count -= 1
    return current


class Ids:
    """Deterministic identifiers drawn from one random stream."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._seen: set[str] = set()

    def hex(self, length: int) -> str:
        while True:
            value = f"{self.rng.getrandbits(length * 4):0{length}x}"
            if value not in self._seen:
                self._seen.add(value)
                return value

    def sha(self) -> str:
        return self.hex(40)

    def sys_id(self) -> str:
        return self.hex(32)

    def upper(self, prefix: str, length: int) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        while True:
            value = prefix + "".join(self.rng.choice(alphabet) for _ in range(length))
            if value not in self._seen:
                self._seen.add(value)
                return value
