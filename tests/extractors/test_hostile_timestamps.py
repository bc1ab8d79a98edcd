"""Timestamps without a time zone and records from the future (issue 6 item 5), in every source that
lands timestamped records: one rule (extractors/core/timestamps.py), a quarantine entry naming the
field and the value, the rest still lands, and read = loaded + quarantined. A quarantined record
never moves an incremental cursor."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from extractors.core import ApiClient, Extraction, FolderTransport
from extractors.core.timestamps import FUTURE_TOLERANCE, time_problem
from tests.extractors.conftest import read_manifest, write_json

NOW = datetime.now(timezone.utc)
FUTURE = (NOW + timedelta(days=30)).replace(microsecond=0)
FUTURE_ISO = FUTURE.isoformat().replace("+00:00", "Z")
SOON = (NOW + FUTURE_TOLERANCE / 2).replace(microsecond=0).isoformat()      # clock skew: accepted


def _tally(manifest: dict, stream: str) -> tuple[int, dict[str, str]]:
    [entry] = [f for f in manifest["files"] if f["stream"] == stream]
    return entry["records"], {q["locator"]: q["reason"] for q in manifest["quarantined"] if q["stream"] == stream}


# -- the rule ------------------------------------------------------------------------------------

def test_the_rule_names_field_and_value() -> None:
    assert time_problem({"a": {"b": "2026-07-01T10:00:00"}}, ("a.b",), NOW) == "a.b '2026-07-01T10:00:00' has no time zone"
    reason = time_problem({"at": FUTURE_ISO}, ("at",), NOW)
    assert reason.startswith(f"at '{FUTURE_ISO}' is in the future (extracted at ") and reason.endswith("tolerance 24 h)")
    assert time_problem({"at": SOON, "other": "2026-07-01T10:00:00Z"}, ("at", "other"), NOW) is None
    assert time_problem({"at": "yesterday", "n": 5, "e": ""}, ("at", "n", "e", "missing"), NOW) is None   # staging decides
    assert time_problem({"at": "2026-07-01 10:00:00"}, ("at",), NOW, naive_utc=True) is None
    assert "future" in time_problem({"at": "2999-01-01 00:00:00"}, ("at",), NOW, naive_utc=True)
    assert time_problem({"x": FUTURE_ISO}, ("x",), NOW, tolerance=timedelta(days=60)) is None
    assert time_problem({"col.umn": "2026-07-01T10:00"}, {"started_at": ["col.umn"]}, NOW) == \
        "started_at '2026-07-01T10:00' has no time zone"


# -- HTTP sources: GitHub, Jira (engine level, the streams they declare), ServiceNow, PagerDuty ---------

def _run(tmp_path: Path, system: str, stream, files: dict[str, object]) -> dict:
    root = tmp_path / system
    for relpath, body in files.items():
        write_json(root, relpath, body)
    if system == "jira":
        from extractors.jira.transport import JiraFolderTransport
        transport = JiraFolderTransport(root)
    else:
        transport = FolderTransport(root, system)
    client = ApiClient(system, "file://" + root.as_posix(), transport=transport)
    with Extraction(system, "unit", tmp_path / "landing", "r1", client) as ex:
        ex.run(stream, [{"repo": "acme/web", "jql": "project = CHG"}])
        return read_manifest(ex.finish())


def test_github_pull_requests_and_deployments(tmp_path: Path) -> None:
    from extractors.github.streams import DEPLOYMENTS, PULL_REQUESTS

    def pr(n: int, updated: str, **extra) -> dict:
        return {"id": n, "number": n, "created_at": "2026-07-01T10:00:00Z", "updated_at": updated, **extra}

    manifest = _run(tmp_path, "github", PULL_REQUESTS, {"repos/acme/web/pulls": [
        pr(1, "2026-07-02T10:00:00Z"), pr(2, FUTURE_ISO), pr(3, "2026-07-02T11:00:00"),
        pr(4, "2026-07-02T12:00:00Z", merged_at="2026-07-02T12:00:00"), pr(5, SOON)]})
    loaded, reasons = _tally(manifest, "pull_requests")
    assert loaded == 2 and loaded + len(reasons) == 5
    by_number = {json.loads(q["raw"])["number"]: q["reason"] for q in manifest["quarantined"]}   # newest first
    assert set(by_number) == {2, 3, 4}
    assert by_number[2].startswith(f"updated_at '{FUTURE_ISO}' is in the future (extracted at ")
    assert by_number[3] == "updated_at '2026-07-02T11:00:00' has no time zone"
    assert by_number[4] == "merged_at '2026-07-02T12:00:00' has no time zone"
    assert manifest["cursors"]["pull_requests"] == SOON          # never the future value

    manifest = _run(tmp_path / "d", "github", DEPLOYMENTS, {"repos/acme/web/deployments": [
        {"id": 1, "sha": "a" * 40, "created_at": "2026-07-01T10:00:00Z"},
        {"id": 2, "sha": "b" * 40, "created_at": FUTURE_ISO}]})
    loaded, reasons = _tally(manifest, "deployments")
    assert loaded == 1 and list(reasons) == ["page 1, item 2"] and "created_at" in reasons["page 1, item 2"]


def test_jira_issues_created_and_updated(tmp_path: Path) -> None:
    from extractors.jira.extract import CLOUD_ISSUES

    def issue(n: int, created: str, updated: str) -> dict:
        return {"id": str(n), "key": f"CHG-{n}", "fields": {"created": created, "updated": updated}}

    manifest = _run(tmp_path, "jira", CLOUD_ISSUES, {"rest/api/3/search/jql": {"issues": [
        issue(1, "2026-07-01T17:00:00.000+0800", "2026-07-02T17:00:00.000+0800"),
        issue(2, "2026-07-01T17:00:00.000", "2026-07-02T17:00:00.000+0800"),
        issue(3, "2026-07-01T17:00:00.000+0800", FUTURE.strftime("%Y-%m-%dT%H:%M:%S.000+0000"))]}})
    loaded, reasons = _tally(manifest, "issues")
    assert loaded == 1 and len(reasons) == 2
    assert reasons["page 1, item 2"] == "fields.created '2026-07-01T17:00:00.000' has no time zone"
    assert reasons["page 1, item 3"].startswith("fields.updated '") and "is in the future" in reasons["page 1, item 3"]
    assert manifest["cursors"]["issues"] == "2026-07-02T17:00:00.000+0800"


def test_servicenow_future_changes_are_quarantined_and_its_zoneless_format_is_not(tmp_path: Path) -> None:
    from extractors.servicenow import extract_servicenow
    from flows.config import ServiceNowSource

    sn = tmp_path / "servicenow"
    future = FUTURE.strftime("%Y-%m-%d %H:%M:%S")

    def row(sys_id: str, created: str, updated: str) -> dict:
        return {"sys_id": sys_id, "number": sys_id.upper(), "sys_created_on": created, "sys_updated_on": updated}

    write_json(sn, "api/now/table/change_request", {"result": [
        row("c1", "2026-07-01 09:00:00", "2026-07-02 09:00:00"), row("c2", "2026-07-01 09:00:00", future),
        row("c3", future, future)]})
    write_json(sn, "api/now/table/sysapproval_approver", {"result": [row("a1", "2026-07-01 09:00:00", "2026-07-01 09:00:00")]})
    write_json(sn, "api/now/table/sys_user", {"result": []})
    paths = extract_servicenow(ServiceNowSource(base_url="file://" + sn.as_posix()), tmp_path / "landing", "r1")
    manifests = {read_manifest(p)["unit"]: read_manifest(p) for p in paths}
    changes = next(m for unit, m in manifests.items() if "change_request" in unit)
    loaded, reasons = _tally(changes, "change_requests")
    assert loaded == 1 and len(reasons) == 2
    assert all("is in the future" in r for r in reasons.values())
    assert any(r.startswith(f"sys_updated_on '{future}'") for r in reasons.values())
    assert any(r.startswith(f"sys_created_on '{future}'") for r in reasons.values())
    assert changes["cursors"]["change_requests"] == "2026-07-02 09:00:00"


def test_pagerduty_incidents_from_the_future_lose_nothing_else(tmp_path: Path) -> None:
    from extractors.pagerduty import extract_pagerduty
    from flows.config import PagerDutySource

    pd = tmp_path / "pagerduty"

    def incident(id_: str, created: str) -> dict:
        return {"id": id_, "incident_number": 1, "status": "resolved", "created_at": created,
                "last_status_change_at": "2026-07-01T12:00:00Z"}

    write_json(pd, "incidents", {"incidents": [
        incident("Q1", "2026-07-01T10:00:00Z"), incident("Q2", FUTURE_ISO), incident("Q3", "2026-07-01T10:00:00")]})
    write_json(pd, "incidents/Q1/log_entries", {"log_entries": [
        {"id": "L1", "type": "trigger_log_entry", "created_at": "2026-07-01T10:00:00Z"},
        {"id": "L2", "type": "resolve_log_entry", "created_at": "2026-07-01T11:00:00+02:00"},
        {"id": "L3", "type": "annotate_log_entry", "created_at": "2026-07-01T11:30:00"}]})
    [path] = extract_pagerduty(PagerDutySource(base_url="file://" + pd.as_posix()), tmp_path / "landing", "r1")
    manifest = read_manifest(path)
    loaded, reasons = _tally(manifest, "incidents")
    assert loaded == 1 and sorted(reasons.values()) == sorted([
        reasons["page 1, item 2"], "created_at '2026-07-01T10:00:00' has no time zone"])
    assert reasons["page 1, item 2"].startswith(f"created_at '{FUTURE_ISO}' is in the future")
    loaded, reasons = _tally(manifest, "log_entries")      # only Q1's entries were asked for
    assert loaded == 2 and list(reasons.values()) == ["created_at '2026-07-01T11:30:00' has no time zone"]


# -- file sources: SARIF, scanner reports, CloudTrail ----------------------------------------------------

def test_sarif_runs_and_results_with_bad_times(tmp_path: Path) -> None:
    from extractors.sarif import extract_sarif
    from flows.config import SarifSource

    folder = tmp_path / "sarif"
    folder.mkdir()
    tool = {"driver": {"name": "semgrep"}}
    log = {"version": "2.1.0", "runs": [
        {"tool": tool, "invocations": [{"executionSuccessful": True, "endTimeUtc": "2026-07-01T10:00:00Z"}],
         "results": [{"ruleId": "r1"}, {"ruleId": "r2", "provenance": {"firstDetectionTimeUtc": "2026-07-01T10:00:00"}},
                     {"ruleId": "r3", "provenance": {"lastDetectionTimeUtc": FUTURE_ISO}}]},
        {"tool": tool, "invocations": [{"startTimeUtc": FUTURE_ISO}], "results": [{"ruleId": "r4"}, {"ruleId": "r5"}]}]}
    (folder / "scan.sarif").write_text(json.dumps(log), encoding="utf-8")
    [path] = extract_sarif(SarifSource(path=folder), tmp_path / "landing", "r1")
    manifest = read_manifest(path)
    runs, run_reasons = _tally(manifest, "runs")
    assert runs == 1 and list(run_reasons) == ["scan.sarif, run 1"]
    assert run_reasons["scan.sarif, run 1"].startswith(f"invocations[0].startTimeUtc '{FUTURE_ISO}' is in the future")
    results, reasons = _tally(manifest, "results")
    assert results == 1 and reasons == {
        "scan.sarif, run 0, result 1": "provenance.firstDetectionTimeUtc '2026-07-01T10:00:00' has no time zone",
        "scan.sarif, run 0, result 2": reasons["scan.sarif, run 0, result 2"]}
    assert "provenance.lastDetectionTimeUtc" in reasons["scan.sarif, run 0, result 2"]
    # read: 2 runs = 1 landed + 1 quarantined; the quarantined run's results are not read on their own


def test_scanner_report_from_the_future_is_quarantined_whole(tmp_path: Path) -> None:
    from extractors.scanners.extract import extract_scanners
    from flows.config import ScannersSource

    folder = tmp_path / "scans" / "acme" / "web" / ("a" * 40)
    folder.mkdir(parents=True)
    trivy = {"SchemaVersion": 2, "ArtifactName": "web", "Results": [{"Target": "t", "Vulnerabilities": [
        {"VulnerabilityID": "CVE-1", "Severity": "HIGH"}]}]}
    (folder / "ok.json").write_text(json.dumps({**trivy, "CreatedAt": "2026-07-01T10:00:00Z"}), encoding="utf-8")
    (folder / "future.json").write_text(json.dumps({**trivy, "CreatedAt": FUTURE_ISO}), encoding="utf-8")
    (folder / "bandit.json").write_text(json.dumps({"results": [], "metrics": {}, "generated_at": "2026-07-01T10:00:00"}),
                                        encoding="utf-8")
    (folder / "sidecar.json").write_text(json.dumps(trivy), encoding="utf-8")
    (folder / "sidecar.json.meta.json").write_text(json.dumps({"scanned_at": FUTURE_ISO}), encoding="utf-8")
    paths = extract_scanners(ScannersSource(path=tmp_path / "scans"), tmp_path / "landing", "r1")
    manifests = {read_manifest(p)["system"]: read_manifest(p) for p in paths}
    reasons = {q["locator"].rsplit("/", 1)[-1]: q["reason"] for q in manifests["scanners"]["quarantined"]}
    assert set(reasons) == {"future.json", "bandit.json", "sidecar.json"}
    assert reasons["future.json"].startswith(f"CreatedAt '{FUTURE_ISO}' is in the future")
    assert reasons["bandit.json"] == "generated_at '2026-07-01T10:00:00' has no time zone"
    assert reasons["sidecar.json"].startswith(f"sidecar scanned_at '{FUTURE_ISO}' is in the future")
    assert {f["stream"]: f["records"] for f in manifests["trivy"]["files"]} == {"reports": 1, "findings": 1}
    # files read: 4 = 1 landed (ok.json) + 3 quarantined
    assert read_manifest(next(p for p in paths if read_manifest(p)["system"] == "scanners"))["files"][0]["requests"] == 4


@pytest.mark.parametrize("event_time, reason", [
    ("2026-07-01T10:00:00Z", None),
    ("2026-07-01T10:00:00", "eventTime '2026-07-01T10:00:00' has no time zone"),
    (FUTURE_ISO, f"eventTime '{FUTURE_ISO}' is in the future"),
])
def test_cloudtrail_event_time(tmp_path: Path, event_time: str, reason: str | None) -> None:
    from extractors.cloudtrail.extract import extract_cloudtrail
    from flows.config import CloudTrailSource

    folder = tmp_path / "trail"
    folder.mkdir()
    record = {"eventID": "e1", "eventTime": event_time, "eventType": "AwsApiCall", "eventName": "PutRolePolicy",
              "readOnly": False, "managementEvent": True, "recipientAccountId": "111", "awsRegion": "eu-west-1",
              "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111:user/alice"}}
    (folder / "trail.json").write_text(json.dumps({"Records": [record]}), encoding="utf-8")
    [path] = extract_cloudtrail(CloudTrailSource(path=folder), tmp_path / "landing", "r1")
    manifest = read_manifest(path)
    loaded = sum(f["records"] for f in manifest["files"])
    reasons = [q["reason"] for q in manifest["quarantined"]]
    assert loaded + len(reasons) == 1
    assert (reasons == []) if reason is None else reasons[0].startswith(reason)
