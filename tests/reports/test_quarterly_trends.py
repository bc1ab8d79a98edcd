"""Four-quarter trends, the charts' data and the executive summary, against fixture warehouses."""
from __future__ import annotations

from collections import Counter

import duckdb
import pytest
from quarterly_fixture import GENERATED_AT, make_four_quarters

from reports.document import parse_period
from reports.quarterly import build_context
from reports.quarterly.summary import verdict
from reports.quarterly.trends import earlier_periods


@pytest.fixture(scope="module")
def four():
    con = duckdb.connect()
    q3 = make_four_quarters(con)
    yield con, q3
    con.close()


@pytest.fixture(scope="module")
def four_context(four):
    return build_context(four[0], "2026Q3", "Acme Corp", generated_at=GENERATED_AT)


def test_earlier_periods_cross_the_year():
    assert [p.key for p in earlier_periods(parse_period("2026Q2"))] == ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]


def test_trends_read_sealed_or_latest_finished_run_of_each_quarter(four_context):
    t = four_context.trends
    assert t.quarters == ["2025 Q4", "2026 Q1", "2026 Q2", "2026 Q3"]
    assert [(r.period_label, r.run_id, r.basis) for r in t.rows] == [
        ("2026 Q1", "run-q1-sealed", "sealed run"),          # sealed beats the later run-q1-later
        ("2026 Q2", "run-q2", "latest finished run"),
        ("2026 Q3", "run-q3", "this report's run")]
    assert [(r.population, r.compliant, r.exception, r.violation, r.emergencies, r.emergency_violations)
            for r in t.rows] == [(3, 2, 0, 1, 1, 0), (2, 2, 0, 0, 0, 0), (12, 6, 1, 5, 3, 1)]
    assert [r.violation_rate_label for r in t.rows] == ["33.3 %", "0.0 %", "41.7 %"]
    assert t.missing == ["2025 Q4"]                         # only an unfinished run: not evaluated
    assert [(label, r.run_id if r else None) for label, r in t.table] == [
        ("2025 Q4", None), ("2026 Q1", "run-q1-sealed"), ("2026 Q2", "run-q2"), ("2026 Q3", "run-q3")]
    assert t.note.startswith("2025 Q4 has no finished evaluation run in this warehouse: "
                             "the trend shows 3 quarters of 2025 Q4 – 2026 Q3.")


def test_trend_current_row_is_the_run_the_report_reads(four):
    context = build_context(four[0], "2026Q3", "Acme", "run-q3-old", generated_at=GENERATED_AT)
    assert [(r.run_id, r.population) for r in context.trends.rows][-1] == ("run-q3-old", 3)


def test_quarter_without_earlier_evaluations_says_so(small_con):
    context = build_context(small_con, "2026Q2", "Acme", generated_at=GENERATED_AT)
    assert [r.period_label for r in context.trends.rows] == ["2026 Q2"]
    assert context.trends.missing == ["2025 Q3", "2025 Q4", "2026 Q1"]
    assert context.trends.note.startswith("No earlier quarter has been evaluated in this warehouse")
    assert context.summary.comparison == []
    assert context.summary.comparison_title.startswith("No earlier quarter has been evaluated")
    assert context.summary.verdict.answer == "Operating effectively"


def test_comparison_with_the_last_evaluated_quarter(four_context):
    s = four_context.summary
    assert s.comparison_title == "Compared with 2026 Q2"
    rows = {c.label: (c.previous, c.current, c.change, c.css) for c in s.comparison}
    assert rows["Changes in population"] == ("2", "12", "+10", "")
    assert rows["Violations"] == ("0", "5", "+5", "worse")
    assert rows["Violation rate"] == ("0.0 %", "41.7 %", "+41.7 pp", "worse")
    assert rows["Emergency changes not closed out"] == ("0", "1", "+1", "worse")
    assert rows["CM-04 Insufficient review — violating changes"] == ("0", "2", "+2", "worse")


def test_executive_summary_answer_and_risks(four_context, four):
    s = four_context.summary
    assert s.verdict.answer == "Not operating effectively" and s.verdict.css == "bad"
    assert s.verdict.sentence == ("5 of 12 production changes (41.7 %) violated SOC2-CHG-001; "
                                  "1 was a documented exception and 6 were compliant.")
    assert "5 %" in s.verdict.rule
    assert s.risks[0] == "CM-04 Insufficient review: 2 violating changes (16.7 % of changes), up from 0 in 2026 Q2."
    assert ("1 emergency change not closed out under §5 (documented within 24 h, reviewed within "
            "5 business days, signed off by the CISO).") in s.risks
    assert s.risks[-1] == "Team identity: 3 violations (75.0 % of its 4 changes), the most of any team."


def test_verdict_rule():
    counts = lambda v: {"compliant": 100 - v, "exception": 0, "violation": v}
    assert verdict(100, counts(0), True).answer == "Operating effectively"
    assert verdict(100, counts(5), True).answer == "Operating effectively, with deviations"
    assert verdict(100, counts(6), True).answer == "Not operating effectively"
    assert verdict(100, counts(0), False).answer == "Not demonstrated"
    assert verdict(100, counts(2), True, tolerable_rate=0.01).answer == "Not operating effectively"


def test_chart_data_equals_the_warehouse(four_context, four):
    con, q3 = four
    c = four_context.charts
    months = con.execute("""
        select strftime(deployed_at, '%b %Y'), count(*) filter (where outcome = 'compliant'),
               count(*) filter (where outcome = 'exception'), count(*) filter (where outcome = 'violation'),
               count(*) filter (where is_emergency)
        from change_outcomes where run_id = 'run-q3' group by 1 order by min(deployed_at)""").fetchall()
    assert c.outcomes_per_month.description == "; ".join(
        f"{m}: Compliant {a}, Exception {b}, Violation {v}" for m, a, b, v, _ in months) + "."
    assert c.emergencies_per_month.description == "; ".join(f"{m}: {e}" for m, *_, e in months) + "."
    expected = Counter(cid for ch in q3 if ch.outcome() == "violation" for cid in set(ch.fails) | set(ch.errors))
    drawn = {t.split(" ", 1)[0]: int(n) for t, n in
             (part.rsplit(": ", 1) for part in c.violations_per_control.description.rstrip(".").split("; "))}
    assert drawn == dict(expected)
    assert c.emergencies_per_quarter.description == (
        "2026 Q1: Emergency changes 1, not closed out (violations) 0; "
        "2026 Q2: Emergency changes 0, not closed out (violations) 0; "
        "2026 Q3: Emergency changes 3, not closed out (violations) 1.")
    assert c.outcomes_per_quarter.svg.count("<rect") >= 9
