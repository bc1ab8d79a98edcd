"""The typed context of the quarterly change-management report.

Everything a template prints is a field here, already grouped, sorted, counted and labelled;
templates only lay it out. Numbers are kept next to their labels so tests can assert both.
"""
from __future__ import annotations

from dataclasses import dataclass

from reports.charts import Chart
from reports.document import DocumentMeta, Period

EMPTY = "None in this period."


@dataclass(frozen=True)
class LabelValue:
    label: str
    value: str


@dataclass(frozen=True)
class StatusCell:
    status: str | None          # pass / fail / error / not_applicable, None = not evaluated
    label: str
    css: str
    reason: str                 # "" when the control passed without comment


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    started_at: str
    finished_at: str
    config_hash: str
    count_changes: int | None
    count_results: int | None


@dataclass(frozen=True)
class Cover:
    scope: list[LabelValue]
    systems: list[str]
    policy: str


@dataclass(frozen=True)
class Figure:
    """One headline number of the executive summary."""

    label: str
    count: int
    count_label: str
    rate: float | None
    rate_label: str
    css: str
    note: str = ""


@dataclass(frozen=True)
class TopControl:
    control_id: str
    title: str
    fails: int
    fails_label: str
    rate_label: str


@dataclass(frozen=True)
class Verdict:
    """The one-line answer of the executive summary, and the rule that produced it."""

    answer: str                         # "Operating effectively", "... with deviations", "Not ..."
    css: str                            # ok / warn / bad
    sentence: str                       # the numbers behind the answer
    rule: str                           # the rule, printed under the answer


@dataclass(frozen=True)
class Comparison:
    """One line of "this quarter against the last evaluated quarter"."""

    label: str
    previous: str
    current: str
    change: str                         # "+12", "−1.2 pp", "—"
    css: str = ""                       # worse / better / "" (no direction or no change)


@dataclass(frozen=True)
class Summary:
    verdict: Verdict
    risks: list[str]                    # the top risks in one sentence each
    comparison: list[Comparison]        # empty when no earlier quarter was evaluated
    comparison_title: str               # "Compared with 2026 Q2" / why nothing is compared
    population: int
    figures: list[Figure]               # population, compliant, exception, violation, emergency
    top_controls: list[TopControl]
    top_controls_empty: str
    top_teams: list[TeamRow]            # the teams with the most violations, at most three
    statements: list[str]               # short sentences the CISO reads first
    tie_out_ok: bool
    tie_out_label: str
    tie_out_css: str


@dataclass(frozen=True)
class ControlRow:
    control_id: str
    title: str
    clause: str
    subject_type: str
    subject_note: str                   # "" for changes, else what the subjects are
    population: int                     # subjects evaluated, excluding not_applicable
    passes: int
    fails: int
    errors: int
    not_applicable: int
    failure_rate: float | None
    failure_rate_label: str
    css: str                            # row emphasis when it has failures or errors


@dataclass(frozen=True)
class CategoryRow:
    category: str
    changes: int
    compliant: int
    exception: int
    violation: int
    violation_rate_label: str
    share_label: str                    # share of the population
    css: str = ""


@dataclass(frozen=True)
class EmergencyRow:
    change_id: str
    service: str
    team: str
    deployed_at: str
    ticket: str
    checks: list[StatusCell]            # CM-14, CM-15, CM-16 in that order
    outcome: str
    outcome_css: str
    failed_controls: str                # every control that failed or errored, "" when none


@dataclass(frozen=True)
class EmergencySection:
    rows: list[EmergencyRow]
    check_titles: list[LabelValue]      # control id -> short title, the column heads
    figures: list[LabelValue]
    closed_out: int                     # outcome exception or compliant: §5 was followed
    violations: int
    empty_text: str = EMPTY
    more_note: str = ""                 # "" when every emergency change is listed


@dataclass(frozen=True)
class RollbackRow:
    change_id: str
    service: str
    deployed_at: str
    cm17: StatusCell
    outcome: str
    outcome_css: str
    failed_controls: str


@dataclass(frozen=True)
class IncidentRow:
    priority: str
    incidents: int
    resolved: int
    open: int


@dataclass(frozen=True)
class RollbackSection:
    rollbacks: list[RollbackRow]
    incidents: list[IncidentRow]
    incidents_total: int
    rollbacks_empty: str = EMPTY
    incidents_empty: str = EMPTY
    incidents_note: str = ""
    more_note: str = ""                 # "" when every rollback is listed
    total: int = 0                      # rollbacks in the period (listed or not)
    documented: int = 0                 # of which CM-17 passed


@dataclass(frozen=True)
class TeamRow:
    team: str
    changes: int
    violations: int
    violation_rate_label: str
    services_with_violations: int


@dataclass(frozen=True)
class ServiceRow:
    team: str
    service: str
    changes: int
    violations: int
    violation_rate_label: str
    top_control: str                    # the control failing most often in this service


@dataclass(frozen=True)
class ViolationRow:
    change_id: str
    deployed_at: str
    category: str
    failed_controls: str
    first_reason: str


@dataclass(frozen=True)
class ViolationGroup:
    heading: str                        # "team · service"
    count_label: str
    rows: list[ViolationRow]


@dataclass(frozen=True)
class ViolationSection:
    total: int
    by_team: list[TeamRow]
    by_service: list[ServiceRow]
    groups: list[ViolationGroup]
    shown: int
    more_note: str                      # "" when every violating change is listed
    empty_text: str = EMPTY


@dataclass(frozen=True)
class RegisterException:
    """A documented deviation from the exceptions register that covered a failure."""
    exception_id: str
    control_id: str
    justification: str
    approver: str
    expires: str                        # YYYY-MM-DD (UTC)


@dataclass(frozen=True)
class ExceptionRow:
    change_id: str
    service: str
    category: str
    deployed_at: str
    ticket: str
    bypassed: str                       # the gates that failed and were excepted
    first_reason: str
    basis: str = "§5 emergency"         # "§5 emergency", "Register" or "§5 emergency + register"
    register: tuple[RegisterException, ...] = ()


@dataclass(frozen=True)
class ExceptionSection:
    total: int
    rows: list[ExceptionRow]
    shown: int
    more_note: str
    empty_text: str = EMPTY


@dataclass(frozen=True)
class StreamRow:
    system: str
    stream: str
    extractions: int                    # extraction runs that landed this stream
    extractions_label: str
    extracted: list[str]                # first and last extraction time (one line when equal)
    records: int
    files: int
    files_label: str
    hashes: list[str]                   # shortened sha256 of landing files (capped)
    hashes_more: str
    quarantined: int
    ev03: StatusCell


@dataclass(frozen=True)
class TieOutLine:
    label: str
    value: str
    css: str = ""


@dataclass(frozen=True)
class PopulationSection:
    streams: list[StreamRow]
    tie_out: list[TieOutLine]
    tie_out_ok: bool
    tie_out_label: str
    tie_out_css: str
    quarantine_reasons: list[LabelValue]
    run: RunInfo
    streams_empty: str = "No landing manifests were loaded for this evaluation run."


@dataclass(frozen=True)
class Attachments:
    population_csv: str
    findings_csv: str
    xlsx: str = ""                      # population, findings, controls and trends as sheets


@dataclass(frozen=True)
class TrendRow:
    """One evaluated quarter: the figures of its sealed run, else its latest finished run."""

    period_key: str
    period_label: str
    run_id: str
    basis: str                          # "sealed run" / "latest finished run"
    population: int
    compliant: int
    exception: int
    violation: int
    violation_rate: float | None
    violation_rate_label: str
    emergencies: int
    emergency_violations: int
    current: bool


@dataclass(frozen=True)
class TrendSection:
    rows: list[TrendRow]                # oldest first; the report's quarter last
    quarters: list[str]                 # the four quarters looked for, oldest first
    missing: list[str]                  # those with no finished evaluation run in the warehouse
    table: list[tuple[str, TrendRow | None]]  # every quarter looked for, None when not evaluated
    note: str                           # which runs were used; absent quarters said in words


@dataclass(frozen=True)
class Charts:
    outcomes_per_month: Chart
    violations_per_control: Chart
    violations_per_control_note: str
    emergencies_per_month: Chart
    emergencies_per_quarter: Chart
    outcomes_per_quarter: Chart


@dataclass(frozen=True)
class QuarterlyContext:
    document: DocumentMeta
    period: Period
    organization: str
    run: RunInfo
    cover: Cover
    summary: Summary
    controls: list[ControlRow]
    controls_note: str
    categories: list[CategoryRow]
    emergencies: EmergencySection
    rollbacks: RollbackSection
    violations: ViolationSection
    exceptions: ExceptionSection
    population: PopulationSection
    attachments: Attachments
    trends: TrendSection
    charts: Charts
    row_cap: int = 300
