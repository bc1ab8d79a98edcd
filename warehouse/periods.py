"""Reporting periods: calendar quarters such as `2026Q3` = [2026-07-01, 2026-10-01) UTC."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

_QUARTER = re.compile(r"^(\d{4})[-\s]?Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    name: str          # "2026Q3", the value stored in the result tables' `period` column
    start: datetime    # UTC, inclusive
    end: datetime      # UTC, exclusive

    @property
    def key(self) -> str:
        return self.name

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def quarter(self) -> int:
        return (self.start.month - 1) // 3 + 1

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @property
    def short_label(self) -> str:
        """`2026 Q3`"""
        return f"{self.year} Q{self.quarter}"

    @property
    def label(self) -> str:
        """`2026 Q3 · 1 Jul – 30 Sep 2026`"""
        return f"{self.short_label} · {self.start:%-d %b} – {self.last_day:%-d %b %Y}"


def parse_period(text: str) -> Period:
    """`2026Q3` (or `2026-Q3`) -> Period; a clear error otherwise."""
    match = _QUARTER.match(text.strip())
    if not match:
        raise ValueError(f"period {text!r} is not a quarter like 2026Q3")
    year, quarter = int(match.group(1)), int(match.group(2))
    start = datetime(year, 3 * (quarter - 1) + 1, 1, tzinfo=timezone.utc)
    end = datetime(year + (quarter == 4), (3 * quarter) % 12 + 1, 1, tzinfo=timezone.utc)
    return Period(f"{year}Q{quarter}", start, end)


def period_of(moment: datetime) -> Period:
    return parse_period(f"{moment.year}Q{(moment.month - 1) // 3 + 1}")
