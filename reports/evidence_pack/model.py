"""The typed context of the auditor's evidence pack. Templates lay these fields out; every label,
count, flag and "nothing here" sentence is made by the builders (build.py, pages.py)."""
from __future__ import annotations

from dataclasses import dataclass

from reports.document import DocumentMeta, Period
from reports.quarterly.model import LabelValue, TieOutLine


@dataclass(frozen=True)
class Row:
    """A table row of plain text cells (already formatted), with an optional row emphasis."""

    cells: list[str]
    css: str = ""


@dataclass(frozen=True)
class Table:
    heads: list[str]
    rows: list[Row]
    empty: str                          # printed instead of the table when there are no rows
    widths: list[str] | None = None     # CSS widths per column ("" = flexible)


@dataclass(frozen=True)
class SourceRecord:
    """Completeness and accuracy of one (system, stream): what was extracted, when, how."""

    system: str
    stream: str
    extracted: str                      # first – last extraction of the evaluated manifests
    queries: list[str]                  # requests as recorded in the manifests (first few)
    queries_more: str
    filters: str                        # cursors the extraction started from ("" = full history)
    units: int
    files: int
    records: int
    quarantined: int
    hashes: list[str]                   # first few SHA-256, full list in the C&A attachment
    hashes_more: str


@dataclass(frozen=True)
class SampleSection:
    seed: int
    seed_note: str                      # "configured" / "derived from the period"
    method: str
    size_table: list[LabelValue]        # "≥ 251 changes" -> "25"
    base_size: int
    population: int
    strata: Table                       # month, population, drawn
    rows: Table                         # the sampled changes


@dataclass(frozen=True)
class TimelineStep:
    when: str
    event: str
    detail: str
    flag: str                           # "" or "approved after deploy", ...
    css: str                            # "flag" when flagged


@dataclass(frozen=True)
class ChangePage:
    change_id: str
    heading: str
    reason_sampled: str
    outcome: str
    outcome_css: str
    facts: list[LabelValue]
    ticket: list[LabelValue]
    ticket_empty: str
    approvals: Table
    pull_requests: Table
    reviews: Table
    commits: Table
    checks: Table
    scans: Table
    deployments: Table                  # staging and production deployments of the deployed commit
    incidents: Table
    timeline: list[TimelineStep]
    flags: list[str]                    # the distinct out-of-order findings of the timeline
    flags_empty: str
    results: Table                      # control results that did not pass


@dataclass(frozen=True)
class EvidencePackContext:
    document: DocumentMeta
    period: Period
    run_id: str
    scope: list[LabelValue]
    configuration: list[LabelValue]
    signing: list[LabelValue]
    population: list[LabelValue]        # counts by outcome / category
    population_by_month: Table
    sources: list[SourceRecord]
    sources_empty: str
    tie_out: list[TieOutLine]
    tie_out_label: str
    tie_out_css: str
    exclusions: Table
    sample: SampleSection
    pages: list[ChangePage]
    controls: Table
    exceptions: Table
    unknowns: Table
    attachments: list[LabelValue]       # file name -> what it holds
