"""§5 emergency detection beyond the ticket type: a deployment with no ticket at deploy time that
an Emergency ticket created afterwards names (change id, deployment URL or a sha prefix) is linked
to it and judged as an emergency (CM-14's 24 h, CM-15, CM-16)."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from tests.controls.test_emergency_and_duties import emergency
from flows.config import Config
from tests.controls.harness import Org


def hex_sha(org: Org, ids: dict) -> dict:
    """The harness's shas are not hexadecimal; give this change's deployed commit a real-looking one."""
    new = hashlib.sha1(ids["sha"].encode()).hexdigest()
    for rows in org.rows.values():
        for row in rows:
            for key, value in row.items():
                if value == ids["sha"]:
                    row[key] = new
    return dict(ids, sha=new)


def documented_later(org: Org, repo: str, ticket: str, mention: str | None = None, **fields) -> dict:
    """An emergency done right, except that nothing at deploy time names the ticket: the PR title
    carries no key and the ticket, created after the deployment, names the deployed commit."""
    ids = hex_sha(org, emergency(org, repo, ticket, **fields))
    org.find("stg_github__pull_requests", number=ids["pr"])["title"] = "hotfix: stop the bleeding"
    row = org.find("stg_servicenow__change_requests", number=ticket)
    row["description"] = f"Emergency fix deployed as {mention or ids['sha'][:10]}; root cause below."
    return ids


def links(org: Org) -> dict:
    con = org.connect()
    rows = con.execute("select change_id, ticket_number, category, is_emergency, is_documented_later, ticket_found_in"
                       " from int_changes_linked_to_tickets").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_a_ticketless_deployment_documented_later_by_an_emergency_ticket_is_an_emergency():
    org = Org()
    by_sha = documented_later(org, "acme/a", "CHG0000001")
    by_id = documented_later(org, "acme/b", "CHG0000002")
    org.find("stg_servicenow__change_requests", number="CHG0000002")["description"] = (
        f"Documents acme/b@{by_id['deployment_id']} after the outage")
    got = links(org)
    assert got[by_sha["change_id"]] == (
        "CHG0000001", "Emergency", True, True, "emergency ticket CHG0000001 naming the deployment (documented after it)")
    assert got[by_id["change_id"]][:4] == ("CHG0000002", "Emergency", True, True)
    assert org.evaluate("CM-01")[by_sha["change_id"]][0] == "pass"
    assert org.evaluate("CM-14")[by_sha["change_id"]] == ("pass", "documented 2.0 h after deployment (limit 24 h)")
    assert org.evaluate("CM-16")[by_sha["change_id"]][0] == "pass"


def test_documented_after_24_hours_fails_cm14():
    org = Org()
    late = documented_later(org, "acme/a", "CHG0000001")
    org.find("stg_servicenow__change_requests", number="CHG0000001")["created_at"] = late["deployed_at"] + timedelta(hours=30)
    assert org.evaluate("CM-14")[late["change_id"]][0] == "fail"


def test_only_a_later_emergency_ticket_naming_the_deployment_links():
    org = Org()
    normal = documented_later(org, "acme/a", "CHG0000001")
    org.find("stg_servicenow__change_requests", number="CHG0000001")["type"] = "normal"
    before = documented_later(org, "acme/b", "CHG0000002")
    org.find("stg_servicenow__change_requests", number="CHG0000002")["created_at"] = before["deployed_at"] - timedelta(hours=1)
    other = documented_later(org, "acme/c", "CHG0000003", mention="0123abcd")   # names some other commit
    got = links(org)
    for ids in (normal, before, other):
        assert got[ids["change_id"]][:4] == (None, "unknown", None, False), ids
    assert org.evaluate("CM-01")[other["change_id"]][0] == "fail"


def test_a_ticket_named_at_deploy_time_stays_the_primary_one():
    org = Org()
    ids = emergency(org, "acme/a", "CHG0000001")
    org.add("stg_servicenow__change_requests", **dict(org.find("stg_servicenow__change_requests", number="CHG0000001"),
                                                      sys_id="cr-CHG0000009", number="CHG0000009",
                                                      description=f"follow-up of {ids['sha'][:12]}"))
    got = links(org)[ids["change_id"]]
    assert got[0] == "CHG0000001" and got[3] is False


# §5 hotfix label: policy.emergency_labels on a linked PR/MR or on the primary (Jira) ticket ------
def labelled_normal(org: Org, repo: str, ticket: str, *labels: str) -> dict:
    """A Normal-looking change (ticket type normal, no staging, no approvals) whose PR carries labels."""
    ids = org.change(repo=repo, ticket=ticket)
    org.drop("stg_github__deployments", repo=repo, environment="staging")
    org.drop("stg_servicenow__approvals", change_sys_id=f"cr-{ticket}")
    org.label_pr(ids, *labels)
    return ids


def test_a_hotfix_label_on_the_pr_makes_a_normal_ticket_an_emergency():
    org = Org()
    hotfix = labelled_normal(org, "acme/a", "CHG0000001", "bug", "hotfix")
    plain = labelled_normal(org, "acme/b", "CHG0000002", "bug", "hotfixes")   # no exact label
    got = links(org)
    assert got[hotfix["change_id"]][:4] == ("CHG0000001", "Emergency", True, False)
    assert got[plain["change_id"]][:4] == ("CHG0000002", "Normal", False, False)
    con = org.connect()
    assert con.execute("select ticket_category, emergency_labels from int_changes_linked_to_tickets"
                       " where change_id = ?", [hotfix["change_id"]]).fetchone() == (
        "Normal", [f"hotfix (PR #{hotfix['pr']})"])
    # §5 applies: staging and category approvals are n/a, the close-out controls judge it
    for control in ("CM-09", "CM-10", "CM-13"):
        assert org.evaluate(control)[hotfix["change_id"]][0] == "not_applicable", control
        assert org.evaluate(control)[plain["change_id"]][0] == "fail", control
    assert org.evaluate("CM-10")[hotfix["change_id"]][1] == "emergency change: approvals under §5 (see CM-16)"
    assert org.evaluate("CM-14")[hotfix["change_id"]][0] == "pass"
    assert org.evaluate("CM-16")[hotfix["change_id"]][0] == "fail"     # no verbal approval recorded
    assert org.evaluate("CM-14")[plain["change_id"]][0] == "not_applicable"


def test_labels_match_case_insensitively_and_come_from_config():
    org = Org()
    upper = labelled_normal(org, "acme/a", "CHG0000001", "HotFix")
    emergency_label = labelled_normal(org, "acme/b", "CHG0000002", "EMERGENCY")
    custom = labelled_normal(org, "acme/c", "CHG0000003", "P1-Fix")
    default = org.evaluate("CM-14")
    assert [default[i["change_id"]][0] for i in (upper, emergency_label, custom)] == ["pass", "pass", "not_applicable"]
    config = Config.model_validate({"policy": {"emergency_labels": ["p1-fix"]}})
    tuned = org.evaluate("CM-14", config=config)
    assert [tuned[i["change_id"]][0] for i in (upper, emergency_label, custom)] == ["not_applicable", "not_applicable", "pass"]
    none = org.evaluate("CM-14", config=Config.model_validate({"policy": {"emergency_labels": []}}))
    assert {none[i["change_id"]][0] for i in (upper, emergency_label, custom)} == {"not_applicable"}


def test_a_label_on_the_jira_ticket_makes_the_change_an_emergency():
    org = Org()
    ids = labelled_normal(org, "acme/a", "CHG0000001")
    row = org.find("stg_servicenow__change_requests", number="CHG0000001")
    org.drop("stg_servicenow__change_requests", number="CHG0000001")
    org.add("stg_jira__change_requests", **dict(row, sys_id="10001"))
    org.add("stg_jira__ticket_labels", sys_id="10001", number="CHG0000001", label="Emergency")
    other = labelled_normal(org, "acme/b", "CHG0000002")          # label on a ticket the change does not link
    org.add("stg_jira__ticket_labels", sys_id="10099", number="CHG0000099", label="hotfix")
    got = links(org)
    assert got[ids["change_id"]][:4] == ("CHG0000001", "Emergency", True, False)
    assert got[other["change_id"]][:4] == ("CHG0000002", "Normal", False, False)
    con = org.connect()
    assert con.execute("select emergency_labels from int_changes_linked_to_tickets where change_id = ?",
                       [ids["change_id"]]).fetchone()[0] == ["Emergency (CHG0000001)"]


def test_a_label_without_a_ticket_is_no_emergency_and_cm01_decides():
    org = Org()
    ids = org.change(repo="acme/a", ticket=None)
    org.label_pr(ids, "hotfix")
    assert links(org)[ids["change_id"]][:4] == (None, "unknown", None, False)
    assert org.evaluate("CM-01")[ids["change_id"]] == ("fail", "no change ticket linked")
    assert org.evaluate("CM-14")[ids["change_id"]][0] == "not_applicable"


def test_labelled_emergency_outcome_is_an_exception_when_closed_out():
    org = Org()
    ids = emergency(org, "acme/a", "CHG0000001", type="normal")     # filed as Normal, handled under §5
    org.drop("stg_github__deployments", repo="acme/a", environment="staging")
    org.label_pr(ids, "hotfix")
    assert {c: org.evaluate(c)[ids["change_id"]][0] for c in ("CM-09", "CM-10", "CM-14", "CM-15", "CM-16")} == {
        "CM-09": "not_applicable", "CM-10": "not_applicable", "CM-14": "pass", "CM-15": "pass", "CM-16": "pass"}


# CM-01: a ticketless deployment has 24 h (policy emergency_documentation_hours) to be documented ---
def test_cm01_is_not_applicable_until_the_documentation_deadline():
    org = Org()
    ids = org.change(repo="acme/a", ticket=None)
    deployed = ids["deployed_at"]
    within = org.evaluate("CM-01", evaluated_at=deployed + timedelta(hours=23, minutes=59))
    assert within[ids["change_id"]] == ("not_applicable", "documentation deadline not reached (2026-08-05 14:00)")
    after = org.evaluate("CM-01", evaluated_at=deployed + timedelta(hours=24))
    assert after[ids["change_id"]] == ("fail", "no change ticket linked")
    longer = org.evaluate("CM-01", evaluated_at=deployed + timedelta(hours=30),
                          config=Config.model_validate({"policy": {"emergency_documentation_hours": 48}}))
    assert longer[ids["change_id"]][0] == "not_applicable"


def test_cm01_within_the_window_still_passes_a_linked_change():
    org = Org()
    ok = org.change(repo="acme/a")
    got = org.evaluate("CM-01", evaluated_at=ok["deployed_at"] + timedelta(hours=1))
    assert got[ok["change_id"]] == ("pass", "linked to CHG0000001 (found in PR #%d title)" % ok["pr"])
