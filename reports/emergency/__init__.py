"""The CISO's emergency-change report (SOC2-CHG-001 §5): `changetrail report emergency --period 2026Q3`.

    paths = write_emergency_report(con, "2026Q3", "Acme Corp", Path("out/2026Q3"))

PDF and HTML from templates/emergency/report.html, plus a CSV and an XLSX of every emergency
change for analysts. The context (model.py) is built from one evaluation run by build.py.
"""
from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import duckdb

from reports.atomic import atomic_open
from reports.csv_export import _cell as csv_cell
from reports.emergency.build import build_context, file_stem
from reports.emergency.model import EmergencyContext
from reports.render import render_html, render_pdf
from reports.xlsx import write_xlsx

TEMPLATE = "emergency/report.html"
COLUMNS = ("change_id", "service", "team", "deployed_at_utc", "ticket", "verbal_approver",
           "verbal_approved_at_utc", "documented_at_utc", "hours_to_documentation",
           "review_date_utc", "review_deadline", "business_days_to_review", "retroactive_signoff",
           "cm14", "cm15", "cm16", "bypassed_gates", "incidents", "outcome")

__all__ = ["build_context", "write_emergency_report", "render_report", "companion_rows"]


def companion_rows(context: EmergencyContext) -> list[tuple]:
    return [(c.change_id, c.service, c.team, c.deployed_at, c.ticket, c.verbal_approver,
             c.verbal_approved_at, c.documented_at, c.hours_to_documentation, c.review_date,
             c.review_deadline, c.business_days_to_review, c.signoff,
             *(f"{k.label}: {k.reason}" for k in c.checks),
             " | ".join(f"{g.control_id} {g.reason}" for g in c.gates),
             " | ".join(f"{i.number} {i.priority} {i.title}" for i in c.incidents), c.outcome)
            for c in context.changes]


def write_emergency_report(con: duckdb.DuckDBPyConnection, period: str, organization: str,
                           out_dir: Path, run_id: str | None = None,
                           formats: Sequence[str] = ("pdf", "html"), **options) -> list[Path]:
    context = build_context(con, period, organization, run_id, **options)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(context.period.key)
    paths: list[Path] = []
    if "pdf" in formats:
        paths.append(render_pdf(TEMPLATE, context, out_dir / f"{stem}.pdf"))
    if "html" in formats:
        paths.append(render_html(TEMPLATE, context, out_dir / f"{stem}.html"))
    if "pdf" in formats:
        rows = companion_rows(context)
        csv_path = out_dir / context.csv_name
        with atomic_open(csv_path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows([csv_cell(v) for v in row] for row in rows)
        paths.append(csv_path)
        paths.append(write_xlsx(out_dir / context.xlsx_name, {"Emergency changes": (COLUMNS, rows)}))
    return paths


def render_report(request) -> list[Path]:
    """Registry entry (reports/registry.py): the emergency-change report of `request.period`."""
    policy = request.config.policy
    return write_emergency_report(
        request.con, request.period, request.config.reports.organization, request.out_dir,
        run_id=request.run_id, formats=request.formats,
        documentation_hours=policy.emergency_documentation_hours,
        review_business_days=policy.emergency_review_business_days,
        incident_window_hours=policy.rollback_incident_window_hours)
