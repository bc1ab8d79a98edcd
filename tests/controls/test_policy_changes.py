"""A policy change in the config changes the findings: the knobs of `[policy]` reach the SQL."""
from __future__ import annotations

from flows.config import Config
from tests.controls.harness import Org
from tests.controls.test_emergency_and_duties import emergency


def policy(**knobs) -> Config:
    return Config.model_validate({"policy": knobs})


def test_three_reviewers_turn_a_two_approval_pr_into_a_cm04_fail():
    org = Org()
    ids = org.change(reviewers=("bob", "carol"))
    assert org.evaluate("CM-04")[ids["change_id"]][0] == "pass"
    status, reason = org.evaluate("CM-04", config=policy(min_reviewers=3))[ids["change_id"]]
    assert status == "fail" and "minimum 3" in reason


def test_normal_approver_roles_lead_only_turns_a_lead_approval_into_a_pass():
    org = Org()
    ids = org.change(ticket="CHG0000002")
    org.drop("stg_servicenow__approvals", change_sys_id="cr-CHG0000002", approver_sys_id="sn-quinn")
    status, reason = org.evaluate("CM-10")[ids["change_id"]]
    assert status == "fail" and "eng_lead + qa" in reason
    lead_only = policy(approvers={"normal": ["eng_lead"]})
    assert lead_only.policy.approvers.major == ["eng_lead", "ciso"]  # the other category keeps its default
    assert org.evaluate("CM-10", config=lead_only)[ids["change_id"]][0] == "pass"


def test_required_roles_need_different_people_even_when_one_holds_both():
    org = Org()
    org.rows["stg_people__people"].append(dict(
        person_id="max", name="Max", email="max@acme.test", github_login="max", servicenow_user_sys_id="sn-max",
        pagerduty_user_id=None, roles=["eng_lead", "qa"], team="core", kind="human"))
    ids = org.change(ticket="CHG0000003")
    org.drop("stg_servicenow__approvals", change_sys_id="cr-CHG0000003")
    org.approve("CHG0000003", "max", ids["deployed_at"].replace(hour=1))
    assert org.evaluate("CM-10")[ids["change_id"]][0] == "fail"  # one person cannot be both
    org.approve("CHG0000003", "quinn", ids["deployed_at"].replace(hour=2))
    assert org.evaluate("CM-10")[ids["change_id"]][0] == "pass"  # max as lead, quinn as QA
    three = policy(approvers={"normal": ["eng_lead", "qa", "ciso"]})
    assert org.evaluate("CM-10", config=three)[ids["change_id"]][0] == "fail"


def test_servicenow_category_recognition_is_configured():
    org = Org()
    high = org.change(ticket="CHG0000004", risk="2")      # Major by default: lead + CISO approved
    expedited = org.change(repo="acme/x", ticket="CHG0000005", ticket_type="expedited")
    default = org.evaluate("CM-10")
    assert default[high["change_id"]] == ("pass", "Major approvals satisfied before deployment")
    assert default[expedited["change_id"]][0] == "fail"  # unknown category
    tuned = policy(categories={"servicenow": {"major_risks": ["1"],
                                              "types": {"normal": "Normal", "standard": "Standard",
                                                        "emergency": "Emergency", "expedited": "Emergency"}}})
    got = org.evaluate("CM-10", config=tuned)
    assert got[high["change_id"]][0] == "fail"  # now Normal: needs a QA approver
    assert got[expedited["change_id"]][0] == "not_applicable"  # now an emergency


def test_emergency_verbal_approver_roles_are_configured():
    org = Org()
    lead = emergency(org, "acme/e", "CHG0000006", verbal_approver_sys_id="sn-lena")
    assert org.evaluate("CM-16")[lead["change_id"]][0] == "pass"
    ciso_only = policy(emergency_verbal_approver_roles=["ciso"])
    assert org.evaluate("CM-16", config=ciso_only)[lead["change_id"]][0] == "fail"
    lead_signoff = policy(emergency_signoff_roles=["eng_lead"])  # lena never signed off
    assert org.evaluate("CM-16", config=lead_signoff)[lead["change_id"]][0] == "fail"


def test_three_reviewers_fail_two_approvals_and_pass_three():
    org = Org()
    two = org.change(repo="acme/a", reviewers=("bob", "carol"))
    three = org.change(repo="acme/b", ticket="CHG0000002", reviewers=("bob", "carol", "dave"))
    default = org.evaluate("CM-04")
    assert default[two["change_id"]][0] == default[three["change_id"]][0] == "pass"
    tuned = org.evaluate("CM-04", config=policy(min_reviewers=3))
    assert tuned[two["change_id"]][0] == "fail"
    assert tuned[three["change_id"]][0] == "pass"


def test_a_different_maintenance_window_changes_the_cm13_findings():
    from datetime import datetime, timezone
    org = Org()
    tuesday_night = org.change(repo="acme/a", at=datetime(2026, 8, 4, 23, 0, tzinfo=timezone.utc))
    saturday = org.change(repo="acme/b", ticket="CHG0000002", at=datetime(2026, 8, 8, 10, 0, tzinfo=timezone.utc))
    default = org.evaluate("CM-13")   # no windows, peak Mon-Fri 09:00-17:00 UTC: both outside peak
    assert default[tuesday_night["change_id"]][0] == default[saturday["change_id"]][0] == "pass"
    weekend_only = policy(schedule={"maintenance_windows": ["Sat-Sun 06:00-18:00"]})
    got = org.evaluate("CM-13", config=weekend_only)
    assert got[tuesday_night["change_id"]][0] == "fail"
    assert got[saturday["change_id"]][0] == "pass"
    weeknights = policy(schedule={"maintenance_windows": ["Mon-Fri 22:00-02:00"]})
    got = org.evaluate("CM-13", config=weeknights)
    assert got[tuesday_night["change_id"]][0] == "pass"
    assert got[saturday["change_id"]][0] == "fail"
