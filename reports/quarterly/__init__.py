"""The quarterly change-management report (SOC2-CHG-001, CC8.1): context, PDF, HTML, CSV.

    con = duckdb.connect("changetrail.duckdb", read_only=True)
    paths = write_quarterly_report(con, "2026Q3", "Acme Corp", Path("out/2026Q3"))

The report reads one evaluation run (the latest finished run of the period unless `run_id` is
given) and never decides anything the warehouse has not decided: it counts, groups and labels.

Beside this file: sql.py (the queries, shared by the other reports), model.py (the typed context),
sections.py (one builder per report section), summary.py (the executive summary), trends.py (four
quarters and the charts), export.py (XLSX). Templates: templates/quarterly/.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from reports.quarterly import sections as s
from reports.quarterly import sql as q
from reports.quarterly import trends as t
from reports.csv_export import write_findings_csv, write_population_csv
from reports.document import DocumentMeta, fmt_dt, fmt_int, parse_period, plural, short_hash
from reports.quarterly.export import write_quarterly_xlsx
from reports.quarterly.model import (Attachments, Cover, LabelValue, PopulationSection,
                                     QuarterlyContext, RunInfo, TieOutLine)
from reports.quarterly.summary import TOLERABLE_VIOLATION_RATE, summary as build_summary
from reports.render import render_html, render_pdf

TEMPLATE = "quarterly/report.html"
POLICY = "SOC2-CHG-001 v1.0 — Change Management Policy (March 2026)"
ROW_CAP = 300        # violating and excepted changes listed on pages; all are in the attachments
LIST_CAP = 100       # emergency changes and rollbacks listed (the CISO report lists every one)


def file_stem(period_key: str) -> str:
    return f"changetrail-{period_key}"


def build_context(con: duckdb.DuckDBPyConnection, period: str, organization: str,
                  run_id: str | None = None, *, generated_at: datetime | None = None,
                  production_environments: Sequence[str] = ("production",),
                  row_cap: int = ROW_CAP, list_cap: int = LIST_CAP,
                  tolerable_violation_rate: float = TOLERABLE_VIOLATION_RATE) -> QuarterlyContext:
    """Everything the quarterly report shows, computed from one evaluation run."""
    p = parse_period(period)
    run = q.evaluation_run(con, p, run_id)
    rid = run["run_id"]
    generated = fmt_dt(generated_at or datetime.now(timezone.utc))
    stem = file_stem(p.key)
    attachments = Attachments(f"{stem}-population.csv", f"{stem}-findings.csv", f"{stem}-quarterly.xlsx")
    run_info = RunInfo(run_id=rid, started_at=fmt_dt(run["started_at"]),
                       finished_at=fmt_dt(run["finished_at"]),
                       config_hash=short_hash(run["config_hash"]),
                       count_changes=run["count_changes"], count_results=run["count_results"])

    counts = q.outcome_counts(con, rid, p)
    population = sum(int(c["n"]) for c in counts)
    by_outcome = {o: sum(int(c["n"]) for c in counts if c["outcome"] == o) for o in s.OUTCOMES}
    emergencies = sum(int(c["n"]) for c in counts if c["is_emergency"])

    stats = q.control_stats(con, rid, p)
    titles = {r["control_id"]: r["title"] for r in stats}
    controls = s.control_rows(stats)
    categories = s.category_rows(counts, population)
    emergency = s.emergency_section(con, rid, p, titles, list_cap, attachments.population_csv)
    rollbacks = s.rollback_section(con, rid, p, list_cap, attachments.population_csv)
    violations = s.violation_section(con, rid, p, by_outcome["violation"], row_cap,
                                     attachments.population_csv)
    exceptions = s.exception_section(con, rid, p, by_outcome["exception"], row_cap,
                                     attachments.population_csv)
    population_section = _population_section(con, run, p, population, by_outcome,
                                             list(production_environments), run_info)

    scope = q.scope_counts(con, rid, p)
    manifest_scope = q.manifest_scope(con, run)
    systems = [s.system_name(x) for x in (manifest_scope["systems"] or [])]
    cover = Cover(scope=[
        LabelValue("Organization", organization),
        LabelValue("Period", p.label),
        LabelValue("Repositories and services",
                   f"{plural(int(scope['repos']), 'repository', 'repositories')} deployed to "
                   f"production ({plural(int(scope['services']), 'service')}, "
                   f"{plural(int(scope['teams']), 'team')}); "
                   f"{plural(int(manifest_scope['github_units'] or 0), 'repository', 'repositories')}"
                   " extracted from GitHub"),
        LabelValue("Systems in scope", ", ".join(systems) or "none recorded"),
        LabelValue("Policy", POLICY),
        LabelValue("Evaluation run", f"{rid} (finished {run_info.finished_at})"),
        LabelValue("Generated", generated),
    ], systems=systems, policy=POLICY)

    trends = t.trend_section(con, p, rid)
    per_control = t.violations_per_control(con, rid, p)
    previous = trends.rows[-2] if len(trends.rows) > 1 else None
    previous_per_control = (t.violations_per_control(con, previous.run_id, parse_period(previous.period_key))
                            if previous else None)
    charts = t.charts(t.monthly_counts(con, rid, p), per_control, titles, trends)
    summary = build_summary(
        population=population, by_outcome=by_outcome, emergencies=emergencies, emergency=emergency,
        rollbacks=rollbacks, violations=violations, controls=controls, scope=scope,
        period_label=p.short_label, population_section=population_section,
        per_control=per_control, trends=trends, previous_per_control=previous_per_control,
        comparison=t.comparison(trends, previous_per_control or {}, per_control, titles),
        titles=titles, tolerable_rate=tolerable_violation_rate)
    document = DocumentMeta(
        title="Quarterly change-management report",
        subtitle="SOC 2 CC8.1 · SOC2-CHG-001 v1.0", organization=organization,
        period_label=p.label, generated_at=generated, run_id=rid,
        footer_note=f"{organization} · {p.short_label} · evaluation run {rid}")
    return QuarterlyContext(
        document=document, period=p, organization=organization, run=run_info, cover=cover,
        summary=summary, controls=controls,
        controls_note=("Population = subjects evaluated, not counting “not applicable”. "
                       "Failure rate = fails ÷ population. Errors (evidence missing or stale) "
                       "are counted separately; a change with an error is a violation."),
        categories=categories, emergencies=emergency, rollbacks=rollbacks,
        violations=violations, exceptions=exceptions, population=population_section,
        attachments=attachments, trends=trends, charts=charts, row_cap=row_cap)


def _population_section(con, run, period, population, by_outcome, environments,
                        run_info) -> PopulationSection:
    streams, reasons = s.stream_rows(con, run)
    source_count, why = q.production_deployments_in_period(con, period, environments)
    outcomes_total = sum(by_outcome.values())
    coverage = q.change_subjects_per_control(con, run["run_id"], period)
    incomplete = [c["control_id"] for c in coverage if int(c["covered"]) != population]

    def line(label: str, value: str, ok: bool | None) -> TieOutLine:
        return TieOutLine(label, value, "" if ok is None else ("ok" if ok else "bad"))

    envs = ", ".join(environments)
    lines = [
        line(f"Production deployments ({envs}) whose first success status is in {period.short_label}"
             " — GitHub", fmt_int(source_count) if source_count is not None else why, None),
        line("Changes in the population (change_outcomes)", fmt_int(population),
             source_count == population if source_count is not None else False),
        line("Changes recorded by the evaluation run (evaluation_runs.count_changes)",
             fmt_int(run_info.count_changes),
             run_info.count_changes is None or run_info.count_changes == population),
        line("Compliant + exception + violation", fmt_int(outcomes_total),
             outcomes_total == population),
        line("Change controls that returned every change in the population",
             f"{len(coverage) - len(incomplete)} of {len(coverage)}"
             + (f" (incomplete: {', '.join(incomplete)})" if incomplete else ""),
             not incomplete),
    ]
    ok = all(x.css != "bad" for x in lines) and source_count is not None
    if ok:
        label = (f"Population ties out: {fmt_int(source_count)} production deployments in GitHub = "
                 f"{fmt_int(population)} changes evaluated, each with exactly one outcome.")
    elif source_count is None:
        label = f"Population tie-out could not be established: {why}."
    else:
        label = (f"Population does NOT tie out: {fmt_int(source_count)} production deployments in "
                 f"GitHub, {fmt_int(population)} changes evaluated — see “How the population "
                 "was obtained”.")
    return PopulationSection(streams=streams, tie_out=lines, tie_out_ok=ok, tie_out_label=label,
                             tie_out_css="ok" if ok else "bad",
                             quarantine_reasons=reasons, run=run_info)


def write_quarterly_report(con: duckdb.DuckDBPyConnection, period: str, organization: str,
                           out_dir: Path, run_id: str | None = None,
                           formats: Sequence[str] = ("pdf", "html"), **options) -> list[Path]:
    """PDF (with its population and findings CSVs and the XLSX workbook) and/or HTML preview of one
    period; returns their paths."""
    context = build_context(con, period, organization, run_id, **options)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(context.period.key)
    paths: list[Path] = []
    if "pdf" in formats:
        paths.append(render_pdf(TEMPLATE, context, out_dir / f"{stem}-quarterly-report.pdf"))
    if "html" in formats:
        paths.append(render_html(TEMPLATE, context, out_dir / f"{stem}-quarterly-report.html"))
    if "pdf" in formats:
        paths.append(write_population_csv(con, context.run.run_id, context.period.key,
                                          out_dir / context.attachments.population_csv))
        paths.append(write_findings_csv(con, context.run.run_id, context.period.key,
                                        out_dir / context.attachments.findings_csv))
        paths.append(write_quarterly_xlsx(con, context, out_dir / context.attachments.xlsx))
    return paths


def render_report(request) -> list[Path]:
    """Registry entry (reports/registry.py): the quarterly report of `request.period`."""
    return write_quarterly_report(
        request.con, request.period, request.config.reports.organization, request.out_dir,
        run_id=request.run_id, formats=request.formats,
        production_environments=request.config.environments("production"),
    )
