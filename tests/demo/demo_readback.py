"""Reads a generated sample back from its files into the demo's records, the way the staging
views read the landed payloads (a test-side mini extractor, quarantining what they quarantine).

Evaluating the read-back records must reproduce the ground truth exactly: that proves the
files carry every fact the ground truth was computed from, in the documented API shapes.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from flows.demo.model import (Approval, ChangeRequest, CheckRun, Commit, Compare, Deployment, DeploymentStatus,
                              Incident, LogEntry, Org, Person, PullRequest, Repo, Review, SarifFile, SarifResult,
                              SarifRule, SarifRun)
from flows.demo.people import ROLES


def ts(text: str | None) -> int | None:
    if not text:
        return None
    text = text.replace("Z", "+00:00")
    parsed = dt.datetime.fromisoformat(text if "+" in text else text + "+00:00")
    return int(parsed.timestamp())


def ref(value) -> str:
    return value["value"] if isinstance(value, dict) else (value or "")


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def commit(obj: dict) -> Commit:
    c = obj["commit"]
    return Commit(
        sha=obj["sha"], message=c["message"], author_name=c["author"]["name"], author_email=c["author"]["email"],
        author_login=(obj.get("author") or {}).get("login"), committer_name=c["committer"]["name"],
        committer_email=c["committer"]["email"], committer_login=(obj.get("committer") or {}).get("login"),
        authored_at=ts(c["author"]["date"]), committed_at=ts(c["committer"]["date"]),
        parents=[p["sha"] for p in obj["parents"]], tree=c["tree"]["sha"])


def load_sample(sample: Path, lenient: bool = False) -> Org:
    """``lenient``: keep the records an extractor must quarantine (to show they change nothing)."""
    people, bad_people = [], []
    with (sample / "people.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            roles = tuple(r for r in row["roles"].split(";") if r)
            if not set(roles) <= set(ROLES) and not lenient:
                bad_people.append(list(row.values()))
                continue
            people.append(Person(row["person_id"], row["name"], row["email"], row["github_login"], 0,
                                 row["servicenow_user_sys_id"], row["pagerduty_user_id"], roles, row["team"], row["kind"]))
    gh = sample / "github"
    org_name = next((gh / "orgs").iterdir()).name
    repos = [Repo(r["name"], r["full_name"], r["id"], "", r["language"], r["description"] or "", ts(r["created_at"]), False)
             for r in read(gh / "orgs" / org_name / "repos.json")]
    org = Org(org_name, people, repos, bad_people_rows=bad_people)
    for repo in repos:
        base = gh / "repos" / repo.full_name
        by_number = {}
        for p in read(base / "pulls.json"):
            pr = PullRequest(repo.full_name, p["number"], p["title"], p["body"], p["user"]["login"], p["head"]["ref"],
                             p["base"]["ref"], ts(p["created_at"]), ts(p["merged_at"]), ts(p["closed_at"]),
                             p["merge_commit_sha"], draft=p["draft"], id=p["id"],
                             labels=tuple(label["name"] for label in p.get("labels") or []))
            pr.commits = [commit(c) for c in read(base / "pulls" / str(pr.number) / "commits.json")]
            assert pr.head_sha == p["head"]["sha"]
            for r in read(base / "pulls" / str(pr.number) / "reviews.json"):
                if "id" not in r and not lenient:
                    org.bad_reviews[(repo.full_name, pr.number)] = None
                    continue
                pr.reviews.append(Review(r["user"]["login"], r["state"], r["commit_id"], ts(r["submitted_at"]),
                                         r["body"], r.get("id", 0)))
            by_number[pr.number] = pr
            org.pulls.append(pr)
        for d in read(base / "deployments.json"):
            dep = Deployment(repo.full_name, d["sha"], d["ref"], d["task"], d["environment"], d["description"],
                             d["payload"], d["creator"]["login"], ts(d["created_at"]), id=d["id"])
            served = read(base / "deployments" / str(d["id"]) / "statuses.json")
            dep.statuses = [DeploymentStatus(s["state"], ts(s["created_at"]), s["creator"]["login"], s["description"],
                                             s["id"]) for s in served]
            dep.manual = not any(s.get("log_url") for s in served)      # no CI run behind it (CM-06)
            org.deployments.append(dep)
        for folder in (base / "commits").iterdir() if (base / "commits").exists() else []:
            if (folder / "pulls.json").exists():
                org.commit_pulls[(repo.full_name, folder.name)] = [by_number[p["number"]]
                                                                    for p in read(folder / "pulls.json")]
            if (folder / "check-runs.json").exists():
                org.check_runs[(repo.full_name, folder.name)] = [
                    CheckRun(repo.full_name, r["head_sha"], r["name"], r["status"], r["conclusion"], ts(r["started_at"]),
                             ts(r["completed_at"]), r["app"]["slug"], r["id"])
                    for r in read(folder / "check-runs.json")["check_runs"]]
        for path in (base / "compare").glob("*.json") if (base / "compare").exists() else []:
            c = read(path)
            b, h = path.name[: -len(".json")].split("...")
            org.compares.append(Compare(repo.full_name, b, h, c["status"], c["ahead_by"], c["behind_by"],
                                        [commit(x) for x in c["commits"]],
                                        [f["filename"] for f in c.get("files") or []]))

    table = sample / "servicenow" / "api" / "now" / "table"
    for r in read(table / "change_request.json")["result"]:
        org.change_requests.append(ChangeRequest(
            r["sys_id"], r["number"], r["type"], r["risk"], r["impact"], r["state"], r["short_description"],
            r["description"], r["justification"], r["implementation_plan"], r["backout_plan"], r["test_plan"],
            r["risk_impact_analysis"], ref(r["requested_by"]), ref(r["opened_by"]), ref(r["assigned_to"]),
            r["approval"], ts(r["start_date"]), ts(r["end_date"]), r["close_code"], r["close_notes"], ts(r["closed_at"]),
            ts(r["review_date"]), r["review_status"], ref(r["u_verbal_approver"]), ts(r["u_verbal_approved_at"]),
            ts(r["sys_created_on"]), ts(r["sys_updated_on"])))
    for r in read(table / "sysapproval_approver.json")["result"]:
        org.approvals.append(Approval(r["sys_id"], ref(r["sysapproval"]), ref(r["approver"]), r["state"], r["comments"],
                                      ts(r["sys_created_on"]), ts(r["sys_updated_on"])))

    pd = sample / "pagerduty"
    for i in read(pd / "incidents.json")["incidents"]:
        incident = Incident(i["id"], i["incident_number"], i["title"], i["status"], i["urgency"],
                            (i.get("priority") or {}).get("summary"), i["service"]["id"], i["service"]["summary"],
                            ts(i["created_at"]), ts(i.get("resolved_at")))
        incident.log_entries = [
            LogEntry(e["id"], e["type"], ts(e["created_at"]), (e.get("agent") or {}).get("id", ""),
                     (e.get("channel") or {}).get("content") or (e.get("channel") or {}).get("summary") or "")
            for e in read(pd / "incidents" / i["id"] / "log_entries.json")["log_entries"]]
        org.incidents.append(incident)

    for path in sorted((sample / "sarif").glob("*/*.sarif")):
        try:
            log = read(path)
        except json.JSONDecodeError:
            org.sarif_files.append(SarifFile(path.parent.name, path.name, [], corrupt=True))
            continue
        runs = []
        for run in log["runs"]:
            driver = run["tool"]["driver"]
            rules = [SarifRule(r["id"], r.get("name", ""), r["shortDescription"]["text"],
                               (r.get("defaultConfiguration") or {}).get("level"),
                               (r.get("properties") or {}).get("security-severity")) for r in driver.get("rules", [])]
            results = [SarifResult(x["ruleId"], x.get("level"), x["message"]["text"],
                                   x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                                   x["locations"][0]["physicalLocation"]["region"]["startLine"],
                                   x["partialFingerprints"]["primaryLocationLineHash"], x.get("suppressions"))
                       for x in run["results"]]
            vcp = run["versionControlProvenance"][0]
            runs.append(SarifRun(driver["name"], driver.get("semanticVersion", ""),
                                 vcp["repositoryUri"].removeprefix("https://github.com/"), vcp["revisionId"],
                                 vcp.get("branch", ""), ts(run["invocations"][0]["endTimeUtc"]), rules, results))
        org.sarif_files.append(SarifFile(path.parent.name, path.name, runs))
    return org
