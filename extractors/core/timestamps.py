"""One rule for the timestamps of every landed record: a time without a time zone is ambiguous, and
a time more than `FUTURE_TOLERANCE` after the extraction is a record from the future (a wrong clock,
a forged record). Either way the record is quarantined with the field and the value in the reason,
never landed: a future `updated_at` would also push an incremental cursor past data not yet seen.

    problem = time_problem(record, ("created_at", "fields.updated"), extracted)
    if problem: writer.quarantine(stream, source, locator, problem, record)

A field is a dotted path into the record ("fields.updated"), or `fields` maps the name a reason
uses to the list of keys leading to the value (a CSV header may itself contain dots). A value
that is not ISO 8601 text is left to the staging views (they may know the format);
`naive_utc=True` is for sources whose documented format carries no zone and means UTC
(ServiceNow's `YYYY-MM-DD HH:MM:SS`), where only the future rule applies. The tolerance is a
parameter (`FUTURE_TOLERANCE`, 24 h, by default).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

FUTURE_TOLERANCE = timedelta(hours=24)     # clock skew between a source and this machine
# What "when it happened" is called in the HTTP sources (GitHub, GitLab, PagerDuty): checked on every
# record of a stream unless the stream names its own `time_fields`; its cursor field always is.
DEFAULT_TIME_FIELDS = ("created_at", "updated_at", "started_at", "finished_at", "completed_at",
                       "submitted_at", "merged_at", "closed_at")


def extraction_time() -> datetime:
    """Now, in UTC: what 'the future' is measured from."""
    return datetime.now(timezone.utc)


def value_at(record: Any, keys: Sequence[str]) -> Any:
    """The value at a path of keys in nested dicts (None when any step is missing)."""
    for key in keys:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def _parse(text: str) -> datetime | None:
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def time_problem(
    record: Any,
    fields: Iterable[str] | Mapping[str, Sequence[str]],
    extracted: datetime,
    *,
    tolerance: timedelta = FUTURE_TOLERANCE,
    naive_utc: bool = False,
) -> str | None:
    """Why a record's timestamps cannot be trusted (None when they can), naming field and value."""
    named = fields.items() if isinstance(fields, Mapping) else ((f, f.split(".")) for f in fields)
    for name, keys in named:
        value = value_at(record, keys)
        if not isinstance(value, str) or not value.strip():
            continue
        parsed = _parse(value)
        if parsed is None:
            continue           # not ISO 8601: staging decides (it may be another format)
        if parsed.tzinfo is None:
            if not naive_utc:
                return f"{name} {value!r} has no time zone"
            parsed = parsed.replace(tzinfo=timezone.utc)
        if parsed > extracted + tolerance:
            return (f"{name} {value!r} is in the future (extracted at "
                    f"{extracted.astimezone(timezone.utc).isoformat(timespec='seconds')}, "
                    f"tolerance {tolerance.total_seconds() / 3600:g} h)")
    return None
