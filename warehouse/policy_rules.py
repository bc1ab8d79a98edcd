"""Policy texts the SQL cannot read directly, turned into rows: weekly time spans (CM-13
maintenance windows and peak hours) and path globs (CM-18 sensitive paths, CM-19 category rules).

Plain functions without imports from the rest of the project, so `flows/config.py` validates with
them (an invalid value fails at load time, naming the key) and `warehouse/runner.py` writes the
rows they return.
"""
from __future__ import annotations

import re

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")   # ISO day of week = index + 1
_SPAN = re.compile(r"^\s*(?P<days>[A-Za-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")


def _minute(text: str, span: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{span!r}: {text} is not a time of day (00:00 to 24:00)")
    return hours * 60 + minutes


def _days(text: str, span: str) -> list[int]:
    """'Mon-Fri', 'Tue,Thu', 'Fri-Mon' (wraps), 'Sat' -> ISO days of week in that order."""
    out: list[int] = []
    for part in (p.strip().lower() for p in text.split(",")):
        ends = [e.strip()[:3] for e in part.split("-")]
        if len(ends) not in (1, 2) or any(e not in DAYS for e in ends):
            raise ValueError(f"{span!r}: {part!r} is not a day or day range (Mon..Sun, e.g. Mon-Fri or Tue,Thu)")
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        out += [(first + i) % 7 + 1 for i in range((last - first) % 7 + 1)]
    return list(dict.fromkeys(out))


def iana_zone(value: str) -> str:
    """`value` when it names an IANA time zone, else ValueError (the config's error names the key)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. 'UTC', 'Europe/Berlin')") from None
    return value


def weekly_spans(span: str) -> list[tuple[int, int, int]]:
    """'<days> HH:MM-HH:MM' in local time -> (iso_dow, start_minute, end_minute) rows, end exclusive.

    A span whose end is not after its start crosses midnight: 'Tue 22:00-02:00' is Tuesday
    22:00-24:00 plus Wednesday 00:00-02:00. Raises ValueError naming the span."""
    match = _SPAN.match(span)
    if not match:
        raise ValueError(f"{span!r} is not '<days> HH:MM-HH:MM', e.g. 'Mon-Fri 09:00-17:00' or 'Tue,Thu 22:00-02:00'")
    start, end = _minute(match["start"], span), _minute(match["end"], span)
    if start == end:
        raise ValueError(f"{span!r}: start and end are the same time")
    rows = []
    for day in _days(match["days"], span):
        if start < end:
            rows.append((day, start, end))
        else:   # crosses midnight
            rows.append((day, start, 24 * 60))
            if end:
                rows.append((day % 7 + 1, 0, end))
    return rows


def glob_regex(glob: str) -> str:
    """A path glob as an anchored RE2 regex, gitignore-style: `**/` any directories (none too),
    `/**` everything below, `*` any characters but `/`, `?` one such character. Case-sensitive."""
    if not glob or glob.strip() != glob:
        raise ValueError(f"{glob!r} is not a path glob")
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "^" + "".join(out) + "$"


def write_rule_tables(con, policy) -> None:
    """Tables the CM-13/18/19 SQL reads (runner.write_policy_parameters calls this):
    `schedule_spans` (kind window/peak, iso_dow, start_minute, end_minute, span; local time of
    `policy.schedule.time_zone`), `sensitive_path_patterns` (area, path_glob, regex) and
    `category_path_rules` (rule, min_category, path_glob, regex)."""
    con.execute("create or replace table schedule_spans"
                " (kind VARCHAR, iso_dow INTEGER, start_minute INTEGER, end_minute INTEGER, span VARCHAR)")
    spans = [(kind, *row, span) for kind, texts in (("window", policy.schedule.maintenance_windows),
                                                    ("peak", policy.schedule.peak_hours))
             for span in texts for row in weekly_spans(span)]
    if spans:
        con.executemany("insert into schedule_spans values (?, ?, ?, ?, ?)", spans)
    con.execute("create or replace table sensitive_path_patterns (area VARCHAR, path_glob VARCHAR, regex VARCHAR)")
    sensitive = [(area, g, glob_regex(g)) for area, globs in policy.sensitive_paths.items() for g in globs]
    if sensitive:
        con.executemany("insert into sensitive_path_patterns values (?, ?, ?)", sensitive)
    con.execute("create or replace table category_path_rules"
                " (rule VARCHAR, min_category VARCHAR, path_glob VARCHAR, regex VARCHAR)")
    rules = [(name, rule.min_category, g, glob_regex(g)) for name, rule in policy.category_rules.items()
             for g in rule.paths]
    if rules:
        con.executemany("insert into category_path_rules values (?, ?, ?, ?)", rules)
