"""What every report shares: the period it covers, its document metadata, and display formats.

Templates never format or decide; the labels they print are made here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from warehouse.periods import Period, parse_period as _parse_period

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ReportError(ValueError):
    """The report cannot be produced as asked (unknown period, no evaluation run, ...)."""


def parse_period(text: str) -> Period:
    """The warehouse's period (one definition of a quarter), with a report-level error."""
    try:
        return _parse_period(text or "")
    except ValueError as exc:
        raise ReportError(str(exc)) from None


@dataclass(frozen=True)
class DocumentMeta:
    """What base.html prints on the cover, in running headers and in the PDF metadata."""

    title: str
    subtitle: str
    organization: str
    period_label: str
    generated_at: str
    run_id: str
    footer_note: str


# --- display formats -------------------------------------------------------------------------

def fmt_day(value: date, year: bool = True) -> str:
    text = f"{value.day} {_MONTHS[value.month - 1]}"
    return f"{text} {value.year}" if year else text


def fmt_dt(value: datetime | None) -> str:
    """UTC timestamp to the minute; naive values are taken as UTC (the warehouse stores UTC)."""
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def fmt_when(value: datetime | None) -> str:
    """UTC timestamp for table cells whose column head already says UTC."""
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M")


def fmt_date(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d")


def fmt_int(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def fmt_rate(numerator: int, denominator: int) -> str:
    """"12.5 %"; "—" when there is nothing to divide by (never a fake 0 %)."""
    if not denominator:
        return "—"
    rate = 100.0 * numerator / denominator
    if 0 < rate < 0.1:
        return "< 0.1 %"
    return f"{rate:.1f} %"


def rate(numerator: int, denominator: int) -> float | None:
    return None if not denominator else numerator / denominator


def short_hash(value: str | None, length: int = 12) -> str:
    return "—" if not value else value[:length]


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


STATUS_LABELS = {"pass": "Pass", "fail": "Fail", "error": "Error", "not_applicable": "N/A"}


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", "Not evaluated" if status is None else status)


def status_css(status: str | None) -> str:
    return {"pass": "st-pass", "fail": "st-fail", "error": "st-error",
            "not_applicable": "st-na"}.get(status or "", "st-missing")


OUTCOME_LABELS = {"compliant": "Compliant", "exception": "Exception", "violation": "Violation"}


def outcome_label(outcome: str | None) -> str:
    return OUTCOME_LABELS.get(outcome or "", outcome or "No outcome")


def outcome_css(outcome: str | None) -> str:
    return {"compliant": "st-pass", "exception": "st-exception",
            "violation": "st-fail"}.get(outcome or "", "st-missing")
