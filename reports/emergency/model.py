"""The typed context of the CISO's emergency-change report (SOC2-CHG-001 §5).

Every field a template prints is here, already decided, counted and labelled by build.py from
one evaluation run; templates only lay it out. Numbers sit next to their labels for tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from reports.document import DocumentMeta, Period


@dataclass(frozen=True)
class Check:
    """One §5 obligation of one change: CM-14, CM-15 or CM-16 as the warehouse judged it."""
    control_id: str
    label: str                  # "Pass", "Fail", "N/A"
    css: str
    reason: str


@dataclass(frozen=True)
class Gate:
    """A §3 gate (CM-03/04/05/08/09/10) that failed for an emergency change."""
    control_id: str
    title: str
    reason: str
    excepted: bool              # True: the change's outcome is exception (§5 followed)


@dataclass(frozen=True)
class Incident:
    number: str
    priority: str
    title: str                  # PagerDuty text, shown as text
    created_at: str
    url: str


@dataclass(frozen=True)
class EmergencyChange:
    change_id: str
    service: str
    team: str
    deployed_at: str
    deployed: datetime | None
    ticket: str
    ticket_url: str
    deployment_url: str
    verbal_approver: str        # "Name (P0001, ciso)" or "none recorded"
    verbal_approved_at: str
    documented_at: str
    hours_to_documentation: float | None
    hours_label: str            # "9.1 h of 24 h"
    documentation_late: bool
    review_date: str
    review_deadline: str
    business_days_to_review: int | None
    review_label: str           # "3 of 5 business days", "not reviewed (due 2026-09-03)"
    review_late: bool
    signoff: str                # "Name (P0144) 2026-07-09 10:00 UTC" or "none"
    checks: list[Check]         # CM-14, CM-15, CM-16
    gates: list[Gate]
    incidents: list[Incident]
    outcome: str
    outcome_css: str


@dataclass(frozen=True)
class OpenEmergency:
    """An emergency change whose post-hoc review deadline was still running at evaluated_at."""
    change_id: str
    service: str
    deployed_at: str
    deadline: date
    deadline_label: str         # "2026-10-05 (end of day UTC)"
    hours_left: float
    time_left_label: str        # "2 days 5 h"
    missing: str                # what is still to be done


@dataclass(frozen=True)
class QuarterCount:
    period: str                 # "2026 Q2"
    run_id: str
    changes: int
    emergencies: int
    exceptions: int             # emergencies closed out (§5 followed)
    violations: int
    share_label: str            # emergencies / changes
    is_current: bool


@dataclass(frozen=True)
class Figure:
    label: str
    value: int
    value_label: str
    css: str = ""


@dataclass(frozen=True)
class EmergencyContext:
    document: DocumentMeta
    period: Period
    organization: str
    run_id: str
    evaluated_at: str
    figures: list[Figure]
    statements: list[str]
    changes: list[EmergencyChange]
    open_changes: list[OpenEmergency]
    quarters: list[QuarterCount]
    quarters_note: str          # "no earlier data ..." in words when only this quarter exists
    limits: list[str]           # how the numbers were obtained (calendar, incident match)
    csv_name: str
    xlsx_name: str
    changes_empty: str = "No emergency change was deployed to production in this period."
    open_empty: str = "No emergency change has a deadline still running at the evaluation time."
