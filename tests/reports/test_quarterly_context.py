"""The quarterly report's numbers: run selection, rates, grouping, sorting, tie-out."""
from __future__ import annotations

import duckdb
import pytest
from quarterly_fixture import CATALOG, GENERATED_AT, make_small

from reports.document import ReportError, parse_period
from reports.quarterly import build_context


def test_period_label_and_bounds():
    p = parse_period("2026Q3")
    assert p.label == "2026 Q3 · 1 Jul – 30 Sep 2026"
    assert (p.start.date().isoformat(), p.end.date().isoformat()) == ("2026-07-01", "2026-10-01")
    assert parse_period("2026-q4").end.date().isoformat() == "2027-01-01"
    with pytest.raises(ReportError):
        parse_period("2026Q5")


def test_latest_finished_run_is_used(small_context):
    assert small_context.run.run_id == "run-q3"          # not the older one, not the unfinished one
    assert small_context.run.finished_at == "2026-10-02 06:07 UTC"


def test_explicit_run_and_wrong_runs(small_con):
    assert build_context(small_con, "2026Q3", "Acme", "run-q3-old").summary.population == 3
    for period, run_id in (("2026Q3", "run-q2"), ("2026Q3", "nope"), ("2025Q1", None)):
        with pytest.raises(ReportError):
            build_context(small_con, period, "Acme", run_id)


def test_summary_counts_and_rates(small_context):
    s = small_context.summary
    figures = {f.label: (f.count, f.rate_label) for f in s.figures}
    assert s.population == 12
    assert figures["Compliant"] == (6, "50.0 %")
    assert figures["Exceptions"] == (1, "8.3 %")
    assert figures["Violations"] == (5, "41.7 %")
    assert figures["Emergency changes"] == (3, "25.0 %")
    assert [(c.control_id, c.fails) for c in s.top_controls] == [("CM-04", 2), ("CM-01", 1), ("CM-03", 1)]
    assert [(t.team, t.violations) for t in s.top_teams] == [("identity", 3), ("payments", 1), ("web", 1)]
    assert s.tie_out_ok
    assert "3 emergency changes: 2 closed out under §5, 1 not." in s.statements


def test_every_catalog_control_with_population_excluding_na(small_context):
    rows = {c.control_id: c for c in small_context.controls}
    assert [c.control_id for c in small_context.controls] == [c[0] for c in CATALOG]
    cm04 = rows["CM-04"]                                   # the two rollbacks are not applicable
    assert (cm04.population, cm04.fails, cm04.not_applicable, cm04.failure_rate_label) == (10, 2, 2, "20.0 %")
    assert (rows["CM-05"].fails, rows["CM-05"].errors) == (1, 1)
    assert rows["CM-22"].population == 0 and rows["CM-22"].failure_rate_label == "—"
    assert rows["CM-14"].population == 3 and rows["CM-14"].failure_rate_label == "33.3 %"
    assert rows["EV-03"].fails == 1 and rows["EV-03"].subject_note == "subjects: stream"
    assert rows["CM-01"].css == "row-fail" and rows["CM-06"].css == ""


def test_categories_in_policy_order_with_total(small_context):
    table = [(c.category, c.changes, c.compliant, c.exception, c.violation)
             for c in small_context.categories]
    assert table == [("Standard", 2, 2, 0, 0), ("Normal", 5, 3, 0, 2), ("Major", 1, 0, 0, 1),
                     ("Emergency", 3, 1, 1, 1), ("unknown", 1, 0, 0, 1), ("Total", 12, 6, 1, 5)]
    assert small_context.categories[1].violation_rate_label == "40.0 %"


def test_emergency_changes_tracked_separately(small_context):
    e = small_context.emergencies
    # not closed out first, then by deployment
    assert [r.change_id for r in e.rows] == ["acme/auth@3001", "acme/web@2003", "acme/auth@3004"]
    assert e.more_note == ""
    auth = e.rows[0]
    assert [c.status for c in auth.checks] == ["fail", "pass", "pass"]
    assert auth.checks[0].reason == "documented 30 h after deployment"
    assert (auth.ticket, auth.deployed_at, auth.outcome) == ("CHG0003001", "2026-08-02 04:00", "Violation")
    assert (e.closed_out, e.violations) == (2, 1)
    assert [h.label for h in e.check_titles] == ["CM-14", "CM-15", "CM-16"]


def test_rollbacks_and_incidents(small_context):
    r = small_context.rollbacks
    assert [(x.change_id, x.cm17.status) for x in r.rollbacks] == [
        ("acme/auth@3002", "fail"), ("acme/payments-api@1003", "pass")]
    assert [(i.priority, i.incidents, i.open) for i in r.incidents] == [
        ("P1", 1, 0), ("P3", 2, 1), ("No priority", 1, 0)]          # the October P2 is out
    assert r.incidents_total == 4


def test_violations_grouped_by_team_and_service(small_context):
    v = small_context.violations
    assert v.total == 5 and v.shown == 5 and v.more_note == ""
    assert [(t.team, t.violations) for t in v.by_team] == [("identity", 3), ("payments", 1), ("web", 1)]
    assert v.by_service[0].service == "auth" and v.by_service[0].violation_rate_label == "75.0 %"
    assert [g.heading for g in v.groups] == ["identity · auth", "payments · payments-api", "web · web"]
    first = v.groups[0].rows
    assert [x.change_id for x in first] == ["acme/auth@3001", "acme/auth@3002", "acme/auth@3003"]
    assert first[2].failed_controls == "CM-01, CM-05"
    assert first[2].first_reason.startswith("CM-01: no change ticket linked")


def test_long_lists_are_capped_and_point_to_the_csv(small_con):
    context = build_context(small_con, "2026Q3", "Acme", row_cap=2)
    assert context.violations.shown == 2
    assert context.violations.more_note == (
        "Showing the first 2 of 5 violating changes; 3 more are not listed here. All 5 are in the "
        "attachment changetrail-2026Q3-population.csv (outcome = violation).")
    assert sum(len(g.rows) for g in context.violations.groups) == 2


def test_emergency_and_rollback_lists_are_capped_but_counted_in_full(small_con):
    context = build_context(small_con, "2026Q3", "Acme", list_cap=1)
    e, r = context.emergencies, context.rollbacks
    assert [x.change_id for x in e.rows] == ["acme/auth@3001"]          # the one not closed out
    assert (e.closed_out, e.violations) == (2, 1)
    assert e.more_note == (
        "Showing 1 of 3 emergency changes (those not closed out first); 2 more are not listed here. "
        "All 3 are in the attachment changetrail-2026Q3-population.csv (is_emergency = true).")
    assert [x.change_id for x in r.rollbacks] == ["acme/auth@3002"] and (r.total, r.documented) == (2, 1)
    assert r.more_note.startswith("Showing 1 of 2 rollbacks (violations first)")
    assert "2 rollbacks: 1 documented as an incident with a post-incident review (CM-17)." in \
        context.summary.statements


def test_exceptions_list(small_context):
    rows = small_context.exceptions.rows
    assert [(r.change_id, r.bypassed, r.ticket) for r in rows] == [
        ("acme/web@2003", "CM-03, CM-05", "CHG0002003")]


def test_population_provenance_per_stream(small_context):
    streams = {(s.system, s.stream): s for s in small_context.population.streams}
    reviews = streams[("GitHub", "reviews")]
    # ext-1 (3 units x 20) + ext-2 (3 x 5); ext-3 was loaded after the evaluation started
    assert (reviews.records, reviews.files, reviews.extractions) == (75, 6, 2)
    assert reviews.quarantined == 2 and reviews.ev03.status == "fail"
    assert len(reviews.hashes) == 3 and reviews.hashes_more == "+ 3 more"
    assert all(len(h) == 12 for h in reviews.hashes)
    assert streams[("GitHub", "pull_requests")].quarantined == 0
    assert streams[("ServiceNow", "approvals")].records == 20
    assert reviews.extracted == ["2026-09-30 21:56 UTC –", "2026-10-02 05:00 UTC"]
    assert small_context.cover.systems == ["GitHub", "PagerDuty", "People directory",
                                           "SARIF scanners", "ServiceNow"]


def test_tie_out_lines(small_context):
    lines = {t.label.split(" — ")[0]: (t.value, t.css) for t in small_context.population.tie_out}
    assert lines["Changes in the population (change_outcomes)"] == ("12", "ok")
    assert lines["Change controls that returned every change in the population"] == ("20 of 20", "ok")
    assert small_context.population.tie_out_label.startswith("Population ties out: 12 production")


def test_tie_out_detects_a_missing_change(small_con):
    small_con.execute("insert into stg_github__deployments values (5, 'acme/web', 's', 'production', "
                      "'2026-09-01 00:00+00')")
    small_con.execute("insert into stg_github__deployment_statuses values "
                      "(99, 5, 'acme/web', 'success', '2026-09-01 00:05+00')")
    context = build_context(small_con, "2026Q3", "Acme")
    assert not context.population.tie_out_ok
    assert context.summary.tie_out_label.startswith("Population does NOT tie out: 13 production")


def test_tie_out_without_staging_views_is_not_established():
    con = duckdb.connect()
    make_small(con)
    con.execute("drop table stg_github__deployments")
    context = build_context(con, "2026Q3", "Acme")
    assert not context.population.tie_out_ok
    assert "could not be established" in context.population.tie_out_label


def test_session_time_zone_does_not_move_timestamps(small_con):
    small_con.execute("set TimeZone = 'America/New_York'")
    context = build_context(small_con, "2026Q3", "Acme", generated_at=GENERATED_AT)
    assert context.emergencies.rows[2].deployed_at == "2026-09-30 23:30"
    assert context.summary.population == 12


def test_quiet_period_has_empty_sections(small_con):
    context = build_context(small_con, "2026Q2", "Acme")
    assert context.summary.population == 2 and context.summary.top_controls == []
    assert context.emergencies.rows == [] and context.rollbacks.rollbacks == []
    assert context.violations.groups == [] and context.exceptions.rows == []
    assert context.rollbacks.incidents == []
    assert context.population.tie_out_ok
