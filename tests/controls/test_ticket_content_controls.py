"""Given/expect cases for the ticket-content controls: CM-11 incomplete change request, CM-12
incomplete rollback plan, CM-21 change not closed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flows.config import Config, Policy
from tests.controls.harness import Org


def ticket(org: Org, number: str = "CHG0000001") -> dict:
    return org.find("stg_servicenow__change_requests", number=number)


def rollback(org: Org, ids: dict) -> None:
    org.find("stg_github__deployments", deployment_id=ids["deployment_id"])["task"] = "deploy:rollback"


# CM-11 incomplete-change-request -------------------------------------------------------------
def test_cm11_complete_ticket_passes_and_standard_and_emergency_apply():
    org = Org()
    normal = org.change()
    standard = org.change(repo="acme/std", ticket="CHG0000002", ticket_type="standard")
    emergency = org.change(repo="acme/em", ticket="CHG0000003", ticket_type="emergency")
    ticket(org, "CHG0000003")["test_plan"] = ""
    got = org.evaluate("CM-11")
    assert got[normal["change_id"]] == (
        "pass", "CHG0000001 has description, scope, risk assessment, testing and rollback plans")
    assert got[standard["change_id"]][0] == "pass"
    assert got[emergency["change_id"]] == ("fail", "CHG0000003 lacks testing plan (test_plan)")


def test_cm11_fail_names_every_missing_field_blank_counts_as_missing():
    org = Org()
    bad = org.change()
    row = ticket(org)
    row["description"], row["risk_impact_analysis"], row["backout_plan"] = None, "  \r\n ", ""
    status, reason = org.evaluate("CM-11")[bad["change_id"]]
    assert status == "fail"
    assert reason == ("CHG0000001 lacks description, risk assessment (risk_impact_analysis), "
                      "rollback plan (backout_plan)")


def test_cm11_scope_is_the_implementation_plan():
    org = Org()
    bad = org.change()
    ticket(org)["implementation_plan"] = None
    assert org.evaluate("CM-11")[bad["change_id"]] == ("fail", "CHG0000001 lacks scope (implementation_plan)")


def test_cm11_not_applicable_without_ticket_or_for_rollbacks():
    org = Org()
    none = org.change(ticket=None)
    back = org.change(repo="acme/b", ticket="CHG0000002")
    rollback(org, back)
    ticket(org, "CHG0000002")["test_plan"] = None
    got = org.evaluate("CM-11")
    assert got[none["change_id"]] == ("not_applicable", "no change ticket (see CM-01)")
    assert got[back["change_id"]][0] == "not_applicable"


def test_cm11_reads_jira_tickets_too():
    org = Org()
    ok = org.change(ticket=None)
    org.find("stg_github__pull_requests", number=ok["pr"])["title"] = "CHG0000009: feature"
    org.add("stg_jira__change_requests", sys_id="10009", number="CHG0000009", type="normal", risk="3",
            approval="approved", description="x", implementation_plan="x", risk_impact_analysis="x",
            test_plan=None, backout_plan="x", created_at=ok["deployed_at"] - timedelta(days=1))
    assert org.evaluate("CM-11")[ok["change_id"]] == ("fail", "CHG0000009 lacks testing plan (test_plan)")


# CM-12 incomplete-rollback-plan ----------------------------------------------------------------
def test_cm12_five_part_plan_passes():
    org = Org()
    ok = org.change()
    assert org.evaluate("CM-12")[ok["change_id"]] == ("pass", "rollback plan of CHG0000001 has every part")


def test_cm12_fail_names_missing_parts_in_policy_order():
    org = Org()
    bad = org.change()
    ticket(org)["backout_plan"] = "Trigger: error rate above 2%. Steps: redeploy the previous release. Verify: dashboards."
    assert org.evaluate("CM-12")[bad["change_id"]] == ("fail", "rollback plan of CHG0000001 lacks owner, time_estimate")


def test_cm12_alternative_phrasings_are_recognized():
    org = Org()
    ok = org.change()
    ticket(org)["backout_plan"] = ("Roll back when p99 latency doubles. Procedure: helm rollback. OWNER: SRE on call. "
                                   "Verification by synthetic checks; takes 2 hours.")
    assert org.evaluate("CM-12")[ok["change_id"]][0] == "pass"


def test_cm12_not_applicable_without_ticket_without_plan_or_for_rollbacks():
    org = Org()
    none = org.change(ticket=None)
    empty = org.change(repo="acme/e", ticket="CHG0000002")
    ticket(org, "CHG0000002")["backout_plan"] = " "
    back = org.change(repo="acme/b", ticket="CHG0000003")
    ticket(org, "CHG0000003")["backout_plan"] = "Steps: redeploy"
    rollback(org, back)
    got = org.evaluate("CM-12")
    assert got[none["change_id"]][0] == "not_applicable"
    assert got[empty["change_id"]] == ("not_applicable", "no rollback plan at all (see CM-11)")
    assert got[back["change_id"]][0] == "not_applicable"
    assert org.evaluate("CM-11")[empty["change_id"]] == ("fail", "CHG0000002 lacks rollback plan (backout_plan)")


def test_cm12_keyword_patterns_are_policy():
    org = Org()
    change = org.change()
    ticket(org)["backout_plan"] = "Trigger: alarms. Steps: redeploy. Owner: SRE. Verify: dashboards. Estimate: 10 minutes."
    stricter = Config(policy=Policy(rollback_plan_parts={**Policy().rollback_plan_parts,
                                                          "communication": "(?i)status page|notify"}))
    assert org.evaluate("CM-12", config=stricter)[change["change_id"]] == (
        "fail", "rollback plan of CHG0000001 lacks communication")
    fewer = Config(policy=Policy(rollback_plan_parts={"steps": "(?i)steps?"}))
    ticket(org)["backout_plan"] = "Steps: redeploy."
    assert org.evaluate("CM-12", config=fewer)[change["change_id"]][0] == "pass"
    assert org.evaluate("CM-12")[change["change_id"]] == (
        "fail", "rollback plan of CHG0000001 lacks trigger, owner, verification, time_estimate")


# CM-21 change-not-closed -----------------------------------------------------------------------
def test_cm21_closed_in_time_passes_closed_late_fails():
    org = Org()
    ok = org.change()
    late = org.change(repo="acme/l", ticket="CHG0000002")
    ticket(org, "CHG0000002")["closed_at"] = late["deployed_at"] + timedelta(days=6)
    edge = org.change(repo="acme/e", ticket="CHG0000003")
    ticket(org, "CHG0000003")["closed_at"] = edge["deployed_at"] + timedelta(days=5)
    got = org.evaluate("CM-21")
    assert got[ok["change_id"]] == ("pass", "CHG0000001 closed 2026-08-04 16:00 with outcome successful")
    assert got[late["change_id"]] == ("fail", "CHG0000002 closed 2026-08-10 14:00, after the deadline 2026-08-09 14:00")
    assert got[edge["change_id"]][0] == "pass"


def test_cm21_not_closed_fails_after_the_deadline_and_close_code_is_required():
    org = Org()
    open_ = org.change()
    ticket(org)["closed_at"] = None
    ticket(org)["close_code"] = None
    no_code = org.change(repo="acme/c", ticket="CHG0000002")
    ticket(org, "CHG0000002")["close_code"] = " "
    got = org.evaluate("CM-21")
    assert got[open_["change_id"]] == ("fail", "CHG0000001 not closed with an outcome (no closed date) by the deadline 2026-08-09 14:00")
    assert got[no_code["change_id"]] == ("fail", "CHG0000002 not closed with an outcome (no close code) by the deadline 2026-08-09 14:00")


def test_cm21_deadline_not_reached_is_not_applicable():
    org = Org()
    open_ = org.change()
    ticket(org)["closed_at"] = None
    early = datetime(2026, 8, 7, tzinfo=timezone.utc)
    assert org.evaluate("CM-21", evaluated_at=early)[open_["change_id"]] == (
        "not_applicable", "closing deadline 2026-08-09 14:00 not reached yet")
    assert org.evaluate("CM-21", evaluated_at=datetime(2026, 8, 10, tzinfo=timezone.utc))[open_["change_id"]][0] == "fail"


def test_cm21_not_applicable_without_ticket_or_for_rollbacks_and_deadline_is_policy():
    org = Org()
    none = org.change(ticket=None)
    back = org.change(repo="acme/b", ticket="CHG0000002")
    rollback(org, back)
    ticket(org, "CHG0000002")["closed_at"] = None
    slow = org.change(repo="acme/s", ticket="CHG0000003")
    ticket(org, "CHG0000003")["closed_at"] = slow["deployed_at"] + timedelta(days=3)
    got = org.evaluate("CM-21")
    assert got[none["change_id"]][0] == "not_applicable"
    assert got[back["change_id"]][0] == "not_applicable"
    assert got[slow["change_id"]][0] == "pass"
    strict = Config(policy=Policy(closing_deadline_days=2))
    assert org.evaluate("CM-21", config=strict)[slow["change_id"]][0] == "fail"
