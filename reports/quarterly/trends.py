"""Trends and charts of the quarterly report: the last four evaluated quarters, and the SVG charts
(outcomes per month, violations per control, emergency changes per month and per quarter).

Each earlier quarter is read from its sealed run, else its latest finished run — the same rule
as the report's own quarter (reports/quarterly/sql.py evaluation_run). A quarter without a finished run is
named as missing, never drawn as zero.
"""
from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from reports.quarterly import sql as q
from reports.charts import COLORS, Series, bar_chart, line_chart, stacked_bar_chart
from reports.document import (
    Period,
    ReportError,
    fmt_int,
    fmt_rate,
    parse_period,
    plural,
    rate,
)
from reports.quarterly.model import Charts, Comparison, TrendRow, TrendSection
from reports.quarterly.sections import control_sort_key

QUARTERS = 4
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def earlier_periods(period: Period, count: int = QUARTERS) -> list[Period]:
    """This quarter and the `count - 1` before it, oldest first."""
    index = period.year * 4 + period.quarter - 1
    return [parse_period(f"{i // 4}Q{i % 4 + 1}") for i in range(index - count + 1, index + 1)]


def _sealed_run_ids(con) -> set[str]:
    if not q.rows(con, "select 1 from duckdb_tables() where table_name = 'sealed_periods'"):
        return set()
    return {r["run_id"] for r in q.rows(con, "select run_id from sealed_periods")}


def _quarter_figures(con, run_id: str, period: Period) -> dict:
    return q.rows(con, """
        select count(*) as population,
               count(*) filter (where outcome = 'compliant') as compliant,
               count(*) filter (where outcome = 'exception') as exception,
               count(*) filter (where outcome = 'violation') as violation,
               count(*) filter (where coalesce(is_emergency, false)) as emergencies,
               count(*) filter (where coalesce(is_emergency, false) and outcome = 'violation')
                   as emergency_violations
        from change_outcomes where run_id = ? and period = ?""", [run_id, period.key])[0]


def trend_section(con: duckdb.DuckDBPyConnection, period: Period, run_id: str) -> TrendSection:
    """The report's quarter (its run `run_id`) and up to three earlier evaluated quarters."""
    sealed = _sealed_run_ids(con)
    rows, missing = [], []
    quarters = earlier_periods(period)
    for p in quarters:
        current = p.key == period.key
        if current:
            rid = run_id
        else:
            try:
                rid = q.evaluation_run(con, p, None)["run_id"]
            except ReportError:
                missing.append(p.short_label)
                continue
        f = {k: int(v or 0) for k, v in _quarter_figures(con, rid, p).items()}
        rows.append(TrendRow(
            period_key=p.key, period_label=p.short_label, run_id=rid,
            basis="sealed run" if rid in sealed else (
                "this report's run" if current else "latest finished run"),
            population=f["population"], compliant=f["compliant"], exception=f["exception"],
            violation=f["violation"], violation_rate=rate(f["violation"], f["population"]),
            violation_rate_label=fmt_rate(f["violation"], f["population"]),
            emergencies=f["emergencies"], emergency_violations=f["emergency_violations"],
            current=current))
    span = f"{quarters[0].short_label} – {quarters[-1].short_label}"
    if not missing:
        note = f"All four quarters {span} have a finished evaluation run in the warehouse."
    elif len(rows) == 1:
        note = (f"No earlier quarter has been evaluated in this warehouse ({', '.join(missing)}"
                f" have no finished evaluation run): the trend shows {period.short_label} only.")
    else:
        note = (f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no finished "
                f"evaluation run in this warehouse: the trend shows "
                f"{plural(len(rows), 'quarter')} of {span}.")
    note += (" Each earlier quarter is read from its sealed run, else its latest finished run;"
             " a quarter that is not in the warehouse is left out, not counted as zero.")
    by_label = {r.period_label: r for r in rows}
    return TrendSection(rows=rows, quarters=[p.short_label for p in quarters], missing=missing,
                        table=[(p.short_label, by_label.get(p.short_label)) for p in quarters],
                        note=note)


# --- this quarter against the last evaluated one ---------------------------------------------

def _delta(previous: float, current: float, *, points: bool = False) -> str:
    diff = current - previous
    if abs(diff) < (0.0005 if points else 0.5):
        return "no change"
    sign = "+" if diff > 0 else "−"
    return f"{sign}{abs(diff) * 100:.1f} pp" if points else f"{sign}{abs(diff):,.0f}"


def _direction(previous: float, current: float, higher_is_worse: bool | None) -> str:
    if higher_is_worse is None or abs(current - previous) < 1e-9:
        return ""
    return "worse" if (current > previous) == higher_is_worse else "better"


def comparison(trends: TrendSection, previous_fails: dict[str, int],
               current_fails: dict[str, int], titles: dict[str, str]) -> list[Comparison]:
    """Population, outcomes, emergencies and the controls whose failures moved most."""
    if len(trends.rows) < 2:
        return []
    prev, cur = trends.rows[-2], trends.rows[-1]
    out = []
    for label, attr, worse in (("Changes in population", "population", None),
                               ("Violations", "violation", True),
                               ("Exceptions", "exception", None),
                               ("Emergency changes", "emergencies", True),
                               ("Emergency changes not closed out", "emergency_violations", True)):
        a, b = getattr(prev, attr), getattr(cur, attr)
        out.append(Comparison(label, fmt_int(a), fmt_int(b), _delta(a, b), _direction(a, b, worse)))
    a, b = prev.violation_rate or 0.0, cur.violation_rate or 0.0
    out.insert(2, Comparison("Violation rate", prev.violation_rate_label, cur.violation_rate_label,
                             _delta(a, b, points=True) if prev.population and cur.population else "—",
                             _direction(a, b, True)))
    moved = sorted(set(previous_fails) | set(current_fails),
                   key=lambda c: (-abs(current_fails.get(c, 0) - previous_fails.get(c, 0)),
                                  control_sort_key(c)))
    for cid in [c for c in moved if current_fails.get(c, 0) != previous_fails.get(c, 0)][:3]:
        a, b = previous_fails.get(cid, 0), current_fails.get(cid, 0)
        out.append(Comparison(f"{cid} {titles.get(cid, '')} — violating changes".replace("  ", " "),
                              fmt_int(a), fmt_int(b), _delta(a, b), _direction(a, b, True)))
    return out


def violations_per_control(con, run_id: str, period: Period) -> dict[str, int]:
    """Violating changes in which each control failed or errored."""
    found = q.rows(con, """
        select control_id, count(*) as n from (
            select unnest(failed_controls) as control_id from change_outcomes
            where run_id = ? and period = ? and outcome = 'violation')
        group by control_id""", [run_id, period.key])
    return {r["control_id"]: int(r["n"]) for r in found}


# --- charts ----------------------------------------------------------------------------------

def _months(period: Period) -> list[datetime]:
    return [datetime(period.year, period.start.month + i, 1, tzinfo=UTC) for i in range(3)]


def monthly_counts(con, run_id: str, period: Period) -> list[dict]:
    """Outcomes and emergencies per calendar month (UTC) of the quarter, months without changes as 0."""
    found = {int(r["month"]): r for r in q.rows(con, """
        select month(timezone('UTC', deployed_at)) as month,
               count(*) filter (where outcome = 'compliant') as compliant,
               count(*) filter (where outcome = 'exception') as exception,
               count(*) filter (where outcome = 'violation') as violation,
               count(*) filter (where coalesce(is_emergency, false)) as emergencies
        from change_outcomes where run_id = ? and period = ? group by all""",
                                                       [run_id, period.key])}
    zero = {"compliant": 0, "exception": 0, "violation": 0, "emergencies": 0}
    return [{"label": f"{_MONTHS[m.month - 1]} {m.year}",
             **{k: int(found.get(m.month, zero)[k] or 0) for k in zero}} for m in _months(period)]


def charts(months: list[dict], per_control: dict[str, int], titles: dict[str, str],
           trends: TrendSection) -> Charts:
    labels = [m["label"] for m in months]
    outcome_series = [Series("Compliant", [m["compliant"] for m in months], COLORS["compliant"]),
                      Series("Exception", [m["exception"] for m in months], COLORS["exception"]),
                      Series("Violation", [m["violation"] for m in months], COLORS["violation"])]
    ranked = sorted(per_control.items(), key=lambda kv: (-kv[1], control_sort_key(kv[0])))
    quarters = [r.period_label for r in trends.rows]
    per_quarter = [Series("Compliant", [r.compliant for r in trends.rows], COLORS["compliant"]),
                   Series("Exception", [r.exception for r in trends.rows], COLORS["exception"]),
                   Series("Violation", [r.violation for r in trends.rows], COLORS["violation"])]
    return Charts(
        outcomes_per_month=stacked_bar_chart("Outcomes per month", labels, outcome_series,
                                             chart_id="outcomes-per-month"),
        violations_per_control=bar_chart(
            "Violating changes per control",
            [f"{cid} {titles.get(cid, '')}".strip() for cid, _ in ranked],
            [n for _, n in ranked], color=COLORS["violation"], horizontal=True,
            label_width=250, chart_id="violations-per-control"),
        violations_per_control_note=(
            "A violating change counts once under every control it failed or errored; "
            "controls with no violating change are not drawn." if ranked
            else "No change violated the policy in this period."),
        emergencies_per_month=bar_chart("Emergency changes per month", labels,
                                        [m["emergencies"] for m in months], height=150,
                                        chart_id="emergencies-per-month"),
        emergencies_per_quarter=line_chart(
            "Emergency changes per quarter", quarters,
            [Series("Emergency changes", [r.emergencies for r in trends.rows], COLORS["emergency"]),
             Series("not closed out (violations)", [r.emergency_violations for r in trends.rows],
                    COLORS["violation"])], height=170, chart_id="emergencies-per-quarter"),
        outcomes_per_quarter=stacked_bar_chart("Outcomes per quarter", quarters, per_quarter,
                                               chart_id="outcomes-per-quarter"),
    )
