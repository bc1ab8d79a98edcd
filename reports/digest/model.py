"""The typed context of the engineering-lead digest: one document per team, plus an index.

build.py decides everything (which items, who can fix each and why, the trend); templates lay it
out. Links carry a URL only when it is http(s): any other scheme from a source system is text.
"""
from __future__ import annotations

from dataclasses import dataclass

from reports.document import DocumentMeta, Period


@dataclass(frozen=True)
class Link:
    label: str                  # "deployment", "PR #12", "commit 1a2b3c4"
    url: str                    # "" when the source gave no usable http(s) URL
    text: str                   # the URL as text, shown under the label


@dataclass(frozen=True)
class Item:
    """One change (or runtime change) the team has to put right."""
    subject_id: str
    service: str
    when: str                   # deployed / observed (UTC)
    controls: str               # "CM-03, CM-04"
    reason: str                 # the warehouse's reason, source text shown as text
    links: list[Link]
    fixer: str                  # "Name (P0001)" or "no engineering lead recorded for team x"
    fixer_role: str             # "PR author", "deployer", "actor", "team lead"
    fixer_why: str
    is_new: bool = False        # in the last 7 days before the digest's as-of date


@dataclass(frozen=True)
class Section:
    key: str                    # undocumented / unattributable / unreviewed / out_of_band
    title: str                  # "Undocumented changes (CM-01)"
    explanation: str
    items: list[Item]
    total: int
    more_note: str              # "" when every item is listed
    empty_text: str


@dataclass(frozen=True)
class TrendRow:
    label: str                  # "2026-07"
    changes: int
    undocumented: int
    unattributable: int
    unreviewed: int
    out_of_band: int
    violations: int
    violation_rate_label: str
    is_current: bool            # a month of the digest's period


@dataclass(frozen=True)
class TeamDigest:
    document: DocumentMeta
    period: Period
    organization: str
    run_id: str
    team: str
    lead: str
    changes: int
    counts: list[tuple[str, int]]   # (section title, items) in section order
    new_this_week: int | None       # None when the digest has no as-of date
    as_of_label: str
    sections: list[Section]
    trend: list[TrendRow]
    trend_note: str
    fixer_rules: list[str]
    pdf_name: str
    html_name: str


@dataclass(frozen=True)
class IndexRow:
    team: str
    lead: str
    changes: int
    undocumented: int
    unattributable: int
    unreviewed: int
    out_of_band: int
    new_this_week: int | None
    pdf_name: str
    html_name: str


@dataclass(frozen=True)
class DigestIndex:
    document: DocumentMeta
    period: Period
    organization: str
    run_id: str
    as_of_label: str
    rows: list[IndexRow]
    empty_text: str = "No team deployed to production in this period."
