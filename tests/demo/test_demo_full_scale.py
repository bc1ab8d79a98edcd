"""The quarter at scale 1.0, in memory (no files): every control fails at a known rate, and
every failure the reference evaluation finds is one an injection declared - no more, no less."""
from __future__ import annotations

from collections import Counter

import pytest

from flows.demo import injections
from flows.demo.clock import parse_period
from flows.demo.scenario import Scenario
from flows.demo.truth import CHANGE_CONTROLS, Evaluator


@pytest.fixture(scope="module")
def quarter():
    period = parse_period("2026Q3")
    org, plans = Scenario(7, period, 1.0).run()
    changes = Evaluator(org, period).evaluate()
    by_deployment = {p.deployment.id: p for p in plans if p.deployment is not None}
    return org, [(c, by_deployment[c.deployment_id]) for c in changes], plans


def test_population(quarter):
    _, changes, plans = quarter
    assert len(changes) == 3000
    assert sum(c.is_emergency for c, _ in changes) == 60          # 2 %
    assert sum(c.is_rollback for c, _ in changes) == 30           # 1 %
    assert sorted(c.repo for c, _ in changes if c.is_baseline) == [
        "acme/app-release-api", "acme/fraud-scoring", "acme/ml-features"]
    outside = [p for p in plans if p.deployment and p.deployment.id not in {c.deployment_id for c, _ in changes}]
    assert [p.injected for p in outside] == [["trap_success_after_period_end"]]


def test_every_control_fails_at_a_known_rate(quarter):
    _, changes, _ = quarter
    fails = Counter(control for c, _ in changes for control in c.failed)
    assert set(fails) == set(CHANGE_CONTROLS)
    for control in ("CM-01", "CM-02", "CM-03", "CM-05", "CM-08", "CM-09", "CM-10"):
        assert 0.01 * len(changes) <= fails[control] <= 0.04 * len(changes), control
    assert 0.04 * len(changes) <= fails["CM-04"] <= 0.08 * len(changes)
    assert fails["CM-20"] >= 0.005 * len(changes)
    assert all(fails[c] >= 3 for c in ("CM-14", "CM-15", "CM-16", "CM-17"))
    assert 0.01 * len(changes) <= fails["CM-11"] <= 0.02 * len(changes)
    assert 0.005 * len(changes) <= fails["CM-12"] <= 0.01 * len(changes)
    assert 0.005 * len(changes) <= fails["CM-21"] <= 0.01 * len(changes)


def test_ticket_content_failures_name_what_is_missing(quarter):
    """CM-11 names the empty field, CM-12 the missing part, CM-21 late vs never closed; a missing
    rollback plan is CM-11's failure only."""
    _, changes, _ = quarter
    by_kind = {}
    for c, plan in changes:
        for kind in plan.injected:
            by_kind.setdefault(kind, []).append(c)
    expected = {"ticket_missing_test_plan": ("CM-11", "lacks testing plan (test_plan)"),
                "ticket_missing_risk_assessment": ("CM-11", "lacks risk assessment (risk_impact_analysis)"),
                "ticket_empty_description": ("CM-11", "lacks description"),
                "ticket_missing_rollback_plan": ("CM-11", "lacks rollback plan (backout_plan)"),
                "rollback_plan_missing_owner": ("CM-12", "lacks owner"),
                "rollback_plan_missing_estimate": ("CM-12", "lacks time_estimate"),
                "ticket_never_closed": ("CM-21", "not closed with an outcome"),
                "ticket_closed_late": ("CM-21", "closed after the deadline")}
    for kind, (control, ending) in expected.items():
        assert by_kind[kind], kind
        for c in by_kind[kind]:
            assert c.results[control].status == "fail" and c.results[control].reason.endswith(ending), (kind, c.change_id)
    for c in by_kind["ticket_missing_rollback_plan"]:
        assert c.results["CM-12"].status == "not_applicable"
    assert all(c.results[k].status == "not_applicable" for c, _ in changes if c.is_rollback
               for k in ("CM-11", "CM-12", "CM-21"))


def test_failures_are_exactly_the_injected_ones(quarter):
    """Double-entry: the spec evaluation and the generator's intent agree change by change."""
    _, changes, _ = quarter
    wrong = [(c.change_id, plan.injected, sorted(plan.expect), {k: c.results[k].reason for k in c.failed})
             for c, plan in changes if set(c.failed) != plan.expect]
    assert wrong == []


def test_every_injection_kind_occurs(quarter):
    _, changes, _ = quarter
    seen = Counter(k for _, plan in changes for k in plan.injected)
    catalog = {k.name for k in injections.FORWARD + injections.EMERGENCY + injections.ROLLBACK}
    assert catalog - set(seen) == set()
    assert seen["trap_baseline_first_deployment"] == 3 and seen["trap_created_before_period"] == 1


def test_outcomes_follow_the_emergency_rule(quarter):
    _, changes, _ = quarter
    outcomes = Counter(c.outcome for c, _ in changes)
    assert outcomes["exception"] > 0 and outcomes["violation"] > 0
    for c, plan in changes:
        if c.outcome == "exception":
            assert c.is_emergency and set(c.failed) <= {"CM-03", "CM-04", "CM-05", "CM-08", "CM-09", "CM-10"}
        if plan.injected and all(k.startswith("trap_") for k in plan.injected) and not c.is_emergency:
            assert c.outcome == "compliant", (c.change_id, plan.injected)
