"""Scanner reports on the real recorded outputs: counts, severities, suppression, provenance."""
from __future__ import annotations

import shutil
from pathlib import Path

from extractors.scanners import extract_scanners
from flows.config import ScannersSource
from tests.extractors.conftest import read_manifest

SHA = "0123456789abcdef0123456789abcdef01234567"
REAL = {  # realdata path -> name under the scanned folder (<owner>/<repo>/<sha>/<file> where it matters)
    "defectdojo/trivy/all_statuses.json": f"acme/api/{SHA}/trivy-all-statuses.json",
    "defectdojo/trivy/misconfigurations_and_secrets.json": "trivy/misconfigurations_and_secrets.json",
    "defectdojo/trivy/scheme_2_many_vulns.json": "trivy/scheme_2_many_vulns.json",
    "trivy/alpine-39.json.golden": "trivy/alpine-39.json",
    "trivy/helm_testchart.json.golden": "trivy/helm_testchart.json",
    "trivy/npm-with-suppressed.json.golden": "trivy/npm-with-suppressed.json",
    "trivy/pip.json.golden": "trivy/pip.json",
    "trivy/secrets.json.golden": "trivy/secrets.json",
    "defectdojo/snyk/all-projects_many_vulns.json": "snyk/all-projects_many_vulns.json",
    "defectdojo/snyk/single_project_no_vulns.json": "snyk/single_project_no_vulns.json",
    "defectdojo/snyk/single_project_one_vuln.json": "snyk/single_project_one_vuln.json",
    "defectdojo/snyk/snykcontainer_issue_epss.json": "snyk/snykcontainer_issue_epss.json",
    "defectdojo/pip_audit/many_vulns.json": "pip_audit/many_vulns.json",
    "defectdojo/pip_audit/many_vulns_new.json": "pip_audit/many_vulns_new.json",
    "defectdojo/pip_audit/zero_vulns_new.json": "pip_audit/zero_vulns_new.json",
    "defectdojo/checkov/checkov-report-many-vuln.json": "checkov/checkov-report-many-vuln.json",
    "defectdojo/checkov/checkov-report-severity.json": "checkov/checkov-report-severity.json",
    "generated_here/checkov/results_json.json": "checkov/results_json.json",
    "generated_here/bandit/bandit-examples.json": "acme/tools/abcdef1/bandit-examples.json",
    "defectdojo/sarif/suppression_test.sarif": "sarif/suppression_test.json",   # SARIF is not ours
}


def _land(realdata: Path, tmp_path: Path):
    folder = tmp_path / "scans"
    for source, name in REAL.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(realdata / source, folder / name)
    (folder / "broken.json").write_text('{"SchemaVersion": 2, "Results": [', encoding="utf-8")
    manifests = extract_scanners(ScannersSource(path=folder), tmp_path / "landing", "r1")
    return {read_manifest(m)["system"]: read_manifest(m) for m in manifests}


def _dist(con, system: str, scan_file: str) -> dict[tuple, int]:
    rows = con.execute(f"select severity, is_suppressed, count(*) from stg_{system}__scan_findings "
                       "where scan_file = ? group by all", [scan_file]).fetchall()
    return {(sev, sup): n for sev, sup, n in rows}


def test_landing_counts_and_quarantine(realdata: Path, tmp_path: Path) -> None:
    manifests = _land(realdata, tmp_path)
    counts = {(system, f["stream"]): (f["records"], f["requests"])
              for system, m in manifests.items() for f in m["files"]}
    assert counts == {
        ("scanners", "files"): (0, 21),
        ("trivy", "reports"): (8, 8), ("trivy", "findings"): (36, 0),
        ("gitlab_sast", "reports"): (0, 0), ("gitlab_sast", "findings"): (0, 0),
        ("snyk", "reports"): (6, 4), ("snyk", "findings"): (6, 0),
        ("pip_audit", "reports"): (3, 3), ("pip_audit", "findings"): (17, 0),
        ("checkov", "reports"): (3, 3), ("checkov", "findings"): (50, 0),
        ("bandit", "reports"): (1, 1), ("bandit", "findings"): (103, 0),
    }
    reasons = {q["locator"]: q["reason"] for q in manifests["scanners"]["quarantined"]}
    assert reasons["broken.json"].startswith("not valid JSON")
    assert reasons["sarif/suppression_test.json"].startswith("not a known scanner report")


def test_trivy(realdata: Path, tmp_path: Path, warehouse) -> None:
    _land(realdata, tmp_path)
    con = warehouse(tmp_path / "landing")
    # every Status value lands; only not_affected is suppressed (a fix existing is not a fix applied)
    scan = f"acme/api/{SHA}/trivy-all-statuses.json"
    assert _dist(con, "trivy", scan) == {("low", False): 7, ("low", True): 1}
    assert con.execute("select distinct repo, commit_sha, scanned_at::varchar from stg_trivy__scan_findings "
                       "where scan_file = ?", [scan]).fetchall() == [("acme/api", SHA, "2024-01-15 08:58:29.827537+00")]
    # lang-pkgs vulns + a FAIL misconfiguration + two secrets
    assert _dist(con, "trivy", "trivy/misconfigurations_and_secrets.json") == {
        ("critical", False): 2, ("high", False): 2, ("medium", False): 1}
    # VEX: the not_affected finding under ExperimentalModifiedFindings is suppressed
    assert _dist(con, "trivy", "trivy/npm-with-suppressed.json") == {("high", False): 1, ("low", True): 1}
    assert _dist(con, "trivy", "trivy/alpine-39.json") == {("critical", False): 2, ("medium", False): 4}
    assert _dist(con, "trivy", "trivy/helm_testchart.json") == {("high", False): 1, ("medium", False): 3, ("low", False): 2}
    assert _dist(con, "trivy", "trivy/secrets.json") == {("critical", False): 1, ("high", False): 1}
    scans = dict(con.execute("select scan_file, count_results from stg_trivy__scans").fetchall())
    assert scans["trivy/helm_testchart.json"] == 6 and scans[scan] == 8
    # no CreatedAt in the old DefectDojo file: the file's mtime
    mtime_scan = con.execute("select scanned_at from stg_trivy__scans where scan_file = 'trivy/scheme_2_many_vulns.json'").fetchone()[0]
    assert mtime_scan.year >= 2026


def test_snyk_pip_audit_checkov_bandit(realdata: Path, tmp_path: Path, warehouse) -> None:
    _land(realdata, tmp_path)
    con = warehouse(tmp_path / "landing")
    # --all-projects: an array of 3 projects, each its own report
    assert con.execute("select run_index, count_results from stg_snyk__scans where scan_file = "
                       "'snyk/all-projects_many_vulns.json' order by 1").fetchall() == [(0, 1), (1, 2), (2, 1)]
    assert _dist(con, "snyk", "snyk/single_project_one_vuln.json") == {("medium", False): 1}
    assert _dist(con, "snyk", "snyk/single_project_no_vulns.json") == {}
    assert con.execute("select security_severity from stg_snyk__scan_findings "
                       "where scan_file = 'snyk/single_project_one_vuln.json'").fetchone()[0] is not None
    # pip-audit: legacy list and current format alike; skip_reason entries are not findings; no severity
    assert _dist(con, "pip_audit", "pip_audit/many_vulns.json") == {("none", False): 7}
    assert _dist(con, "pip_audit", "pip_audit/many_vulns_new.json") == {("none", False): 7}
    assert con.execute("select count(*) from raw.pip_audit__findings where _context->>'$.kind' = 'skipped'").fetchone()[0] == 3
    assert dict(con.execute("select scan_file, count_results from stg_pip_audit__scans").fetchall())[
        "pip_audit/zero_vulns_new.json"] == 0
    # Checkov: severity null -> none; the 1.0.467 report lists 3 failed_checks (its summary says 2)
    assert _dist(con, "checkov", "checkov/checkov-report-many-vuln.json") == {("none", False): 3}
    assert _dist(con, "checkov", "checkov/checkov-report-severity.json") == {
        ("high", False): 1, ("medium", False): 2, ("low", False): 1}
    assert _dist(con, "checkov", "checkov/results_json.json") == {("none", False): 43}
    # Bandit: issue_severity; repo and sha from the <owner>/<repo>/<sha>/ location; generated_at
    scan = "acme/tools/abcdef1/bandit-examples.json"
    assert _dist(con, "bandit", scan) == {("high", False): 30, ("medium", False): 27, ("low", False): 46}
    assert con.execute("select distinct repo, commit_sha, level, scanned_at::varchar from stg_bandit__scan_findings "
                       "where severity = 'high'").fetchall() == [("acme/tools", "abcdef1", "error", "2026-11-27 22:12:55+00")]
