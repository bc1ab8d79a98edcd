"""Given/expect cases for EV-01 (stale sources turn their controls' passes into errors) and EV-02
(coverage gaps: deploying repositories not onboarded, the 250-commit compare cap, missing pages)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flows.config import Config
from tests.controls.harness import Org
from warehouse.results_store import WORKING, start_run
from warehouse.runner import load_controls, mark_stale_evidence, store_control
from warehouse.schema import DDL

EVALUATED = datetime(2026, 11, 27, tzinfo=timezone.utc)


def config(**sources) -> Config:
    return Config.model_validate({"sources": sources})


GITHUB = {"org": "acme"}
SERVICENOW = {"base_url": "https://acme.service-now.com"}


# EV-01 stale-source ----------------------------------------------------------------------------
def test_ev01_fresh_stale_and_never_extracted_sources():
    org = Org()
    org.manifests += [dict(system="github", finished_at=EVALUATED - timedelta(hours=2)),
                      dict(system="github", finished_at=EVALUATED - timedelta(days=9)),
                      dict(system="servicenow", finished_at=EVALUATED - timedelta(hours=37)),
                      dict(system="sarif", finished_at=EVALUATED - timedelta(days=5))]
    cfg = config(github=GITHUB, servicenow=SERVICENOW, pagerduty={}, sarif={"path": "scans"})
    got = org.evaluate("EV-01", config=cfg)
    assert got["github"] == ("pass", "github last extracted 2026-11-26 22:00 UTC")
    assert got["servicenow"] == ("fail", "servicenow last extracted 2026-11-25 11:00 UTC, more than 36.0 h before evaluation")
    assert got["pagerduty"] == ("fail", "pagerduty never extracted")
    assert got["sarif"][0] == "pass"  # file sources: 7 days by default
    assert set(got) == {"github", "servicenow", "pagerduty", "sarif"}


def test_ev01_freshness_is_configured_per_source():
    org = Org()
    org.manifests.append(dict(system="github", finished_at=EVALUATED - timedelta(hours=2)))
    got = org.evaluate("EV-01", config=config(github={**GITHUB, "freshness_hours": 1}))
    assert got["github"][0] == "fail"


def test_ev01_extraction_after_the_evaluation_time_is_fresh():
    org = Org()
    org.manifests.append(dict(system="github", finished_at=EVALUATED + timedelta(days=1)))
    assert org.evaluate("EV-01", config=config(github=GITHUB))["github"][0] == "pass"


def test_ev01_without_configured_sources_has_no_subjects():
    org = Org()
    org.change()
    assert org.evaluate("EV-01") == {}


def _run(org: Org, cfg: Config, control_ids: tuple[str, ...]) -> dict[tuple[str, str], tuple[str, str]]:
    """Store the controls' results like the runner does, then apply EV-01's post-processing."""
    con = org.connect(config=cfg)
    con.execute(next(d for d in DDL if "control_results (" in d))
    start_run(con)
    controls = [c for c in load_controls() if c.control_id in control_ids]
    for control in controls:
        store_control(con, control, "run-1", "2026Q3", EVALUATED)
    mark_stale_evidence(con, controls, "run-1")
    rows = con.execute(f"select control_id, subject_id, status, reason from {WORKING}").fetchall()
    return {(c, s): (st, r) for c, s, st, r in rows}


def test_ev01_stale_source_turns_its_controls_passes_into_errors():
    org = Org()
    ok = org.change()
    unapproved = org.change(repo="acme/b", ticket="CHG0000002")
    org.drop("stg_servicenow__approvals", change_sys_id="cr-CHG0000002")
    org.manifests += [dict(system="github", finished_at=EVALUATED - timedelta(hours=1)),
                      dict(system="servicenow", finished_at=EVALUATED - timedelta(days=3))]
    got = _run(org, config(github=GITHUB, servicenow=SERVICENOW), ("CM-04", "CM-10", "EV-01"))
    assert got[("CM-10", ok["change_id"])] == (
        "error", "evidence stale: servicenow last extracted 2026-11-24 00:00 UTC, more than 36.0 h before evaluation")
    assert got[("CM-10", unapproved["change_id"])][0] == "fail"  # a failure stays a failure
    assert got[("CM-04", ok["change_id"])][0] == "pass"          # GitHub is fresh
    assert got[("EV-01", "servicenow")][0] == "fail"


def test_ev01_fresh_sources_leave_results_alone():
    org = Org()
    ok = org.change()
    org.manifests += [dict(system="github", finished_at=EVALUATED), dict(system="servicenow", finished_at=EVALUATED)]
    got = _run(org, config(github=GITHUB, servicenow=SERVICENOW), ("CM-04", "CM-10", "EV-01"))
    assert got[("CM-10", ok["change_id"])][0] == got[("CM-04", ok["change_id"])][0] == "pass"


def _move_to_gitlab(org: Org, repo: str) -> None:
    """The harness builds GitHub rows; the GitLab views have the same columns, so a change moves."""
    for name in list(org.rows):
        twin = name.replace("stg_github__", "stg_gitlab__")
        if name.startswith("stg_github__") and twin in org.rows:
            moving = [r for r in org.rows[name] if r.get("repo") == repo]
            org.rows[name] = [r for r in org.rows[name] if r.get("repo") != repo]
            org.rows[twin].extend(moving)
    for person in org.rows["stg_people__people"]:
        person["gitlab_username"] = person["github_login"]


def test_ev01_only_the_stale_code_host_turns_its_changes_into_errors():
    org = Org()
    on_github = org.change()
    on_gitlab = org.change(repo="acme/lab", ticket="CHG0000002")
    _move_to_gitlab(org, "acme/lab")
    org.manifests += [dict(system="github", finished_at=EVALUATED - timedelta(hours=1)),
                      dict(system="gitlab", finished_at=EVALUATED - timedelta(days=4)),
                      dict(system="servicenow", finished_at=EVALUATED - timedelta(hours=1))]
    cfg = config(github=GITHUB, gitlab={"base_url": "https://gitlab.example.com", "group": "acme"},
                 servicenow=SERVICENOW)
    fresh = _run(org, config(github=GITHUB, servicenow=SERVICENOW), ("CM-03", "CM-04"))
    assert fresh[("CM-04", on_gitlab["change_id"])][0] == fresh[("CM-03", on_gitlab["change_id"])][0] == "pass"
    got = _run(org, cfg, ("CM-03", "CM-04", "CM-10", "EV-01"))
    assert got[("EV-01", "gitlab")][0] == "fail" and got[("EV-01", "github")][0] == "pass"
    for control in ("CM-03", "CM-04"):
        assert got[(control, on_github["change_id"])][0] == "pass"
        assert got[(control, on_gitlab["change_id"])] == (
            "error", "evidence stale: gitlab last extracted 2026-11-23 00:00 UTC, more than 36.0 h before evaluation")
    assert got[("CM-10", on_gitlab["change_id"])][0] == "pass"     # its ticket system is fresh


def test_ev01_a_stale_ticket_system_touches_only_its_tickets_changes():
    org = Org()
    servicenow = org.change()
    jira = org.change(repo="acme/j", ticket=None)
    org.find("stg_github__pull_requests", number=jira["pr"])["title"] = "CHG0000009: feature"
    org.add("stg_jira__change_requests", sys_id="10009", number="CHG0000009", type="standard", risk="3",
            approval="approved", description="x", implementation_plan="x", risk_impact_analysis="x",
            test_plan="x", backout_plan="x", created_at=jira["deployed_at"] - timedelta(days=1))
    org.manifests += [dict(system="github", finished_at=EVALUATED), dict(system="servicenow", finished_at=EVALUATED),
                      dict(system="jira", finished_at=EVALUATED - timedelta(days=2))]
    cfg = config(github=GITHUB, servicenow=SERVICENOW,
                 jira={"base_url": "https://acme.atlassian.net"})
    got = _run(org, cfg, ("CM-11", "EV-01"))
    assert got[("CM-11", servicenow["change_id"])][0] == "pass"
    assert got[("CM-11", jira["change_id"])][0] == "error" and "jira last extracted" in got[("CM-11", jira["change_id"])][1]


def test_every_change_control_names_the_sources_it_reads():
    for control in load_controls():
        if control.subject_type == "change" and control.control_id in {
                "CM-01", "CM-02", "CM-03", "CM-04", "CM-05", "CM-08", "CM-09", "CM-10",
                "CM-14", "CM-15", "CM-16", "CM-17", "CM-20"}:
            assert control.sources, control.control_id


# EV-02 coverage-gap ----------------------------------------------------------------------------
def test_ev02_onboarded_repository_passes_idle_one_is_not_applicable():
    org = Org()
    ok = org.change()
    org.add("stg_github__repositories", repo="acme/idle", repo_id=7, default_branch="main", html_url=None, archived=False)
    got = org.evaluate("EV-02")
    assert got[ok["repo"]][0] == "pass"
    assert got["acme/idle"] == ("not_applicable", "no production deployments in the period")


def test_ev02_repository_deploying_without_code_data_fails():
    org = Org()
    org.deploy("acme/bare", "s" * 40, datetime(2026, 8, 5, tzinfo=timezone.utc), creator="deploy-bot")
    got = org.evaluate("EV-02")
    assert got["acme/bare"][0] == "fail" and "no pull request or commit data" in got["acme/bare"][1]


def test_ev02_repository_not_in_the_configured_list_fails():
    org = Org()
    listed = org.change()
    other = org.change(repo="acme/other")
    got = org.evaluate("EV-02", config=config(github={**GITHUB, "repos": ["acme/payments"]}))
    assert got[listed["repo"]][0] == "pass"
    assert got[other["repo"]][0] == "fail" and "not in the configured repositories" in got[other["repo"]][1]
    teams = Config.model_validate({"teams": {"acme/payments": "core", "acme/other": "core"}})
    assert org.evaluate("EV-02", config=teams)[other["repo"]][0] == "pass"


def test_ev02_compare_at_the_250_commit_cap_fails():
    org = Org()
    ids = org.change()
    compare = org.find("stg_github__compares", head_sha=ids["sha"])
    compare.update(total_commits=312, ahead_by=312, count_commits_listed=250)
    got = org.evaluate("EV-02")[ids["repo"]]
    assert got[0] == "fail" and "250-commit cap" in got[1] and ids["sha"][:12] in got[1]


def test_ev02_quarantined_missing_pages_fail_their_repository():
    org = Org()
    hit = org.change()
    other = org.change(repo="acme/other")
    org.quarantined += [
        dict(system="github", stream="reviews", source=f"https://api.github.com/repos/{hit['repo']}/pulls/9/reviews",
             reason="HTTP 404: resource not available"),
        dict(system="github", stream="reviews", source="https://api.github.com/repos/acme/other/pulls/9/reviews",
             reason="missing required key 'id'"),  # malformed, not missing: EV-03's business
    ]
    got = org.evaluate("EV-02")
    assert got[hit["repo"]][0] == "fail" and "HTTP 404/409" in got[hit["repo"]][1]
    assert got[other["repo"]][0] == "pass"
