"""Scanner reports, small synthetic cases: GitLab SAST, sidecars, detection, contracts, entities."""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from extractors.scanners import detect_format, extract_scanners
from flows.config import ScannersSource
from tests.extractors.conftest import read_manifest, staging_connection
from warehouse.models import entity_unions

SYSTEMS = ("trivy", "snyk", "pip_audit", "checkov", "bandit", "gitlab_sast")

GITLAB = {
    "version": "15.0.6",
    "vulnerabilities": [
        {"id": "a1", "category": "sast", "name": "SQL injection", "message": "Possible SQL injection",
         "severity": "Critical", "scanner": {"id": "semgrep", "name": "Semgrep"},
         "location": {"file": "app/db.py", "start_line": 12},
         "identifiers": [{"type": "semgrep_id", "name": "bandit.B608", "value": "bandit.B608"}]},
        {"id": "a2", "name": "Debug enabled", "severity": "Info", "location": {"file": "app/main.py"},
         "identifiers": [{"type": "cwe", "name": "CWE-489", "value": "489"}]},
        {"id": "a3", "name": "Weak hash", "severity": "Medium", "location": {"file": "app/h.py"}, "identifiers": []},
    ],
    "scan": {"scanner": {"id": "semgrep", "name": "Semgrep"}, "type": "sast", "status": "success",
             "start_time": "2026-08-01T10:00:00", "end_time": "2026-08-01T10:02:30"},
}


def _write(path: Path, body) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


def test_detection_by_content() -> None:
    assert detect_format(GITLAB).SYSTEM == "gitlab_sast"
    assert detect_format({"SchemaVersion": 2, "Results": []}).SYSTEM == "trivy"
    assert detect_format([{"vulnerabilities": [], "ok": True}]).SYSTEM == "snyk"
    assert detect_format([{"name": "x", "version": "1", "vulns": []}]).SYSTEM == "pip_audit"
    assert detect_format({"dependencies": [], "fixes": []}).SYSTEM == "pip_audit"
    assert detect_format([{"check_type": "terraform", "results": {}}]).SYSTEM == "checkov"
    assert detect_format({"results": [], "metrics": {}, "errors": []}).SYSTEM == "bandit"
    assert detect_format({"version": "2.1.0", "runs": []}) is None
    assert detect_format([]) is None


def test_gitlab_sidecar_checkov_list_snyk_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    report = _write(folder / "gl-sast-report.json", GITLAB)
    _write(folder / "gl-sast-report.json.meta.json",
           {"repo": "acme/web", "commit_sha": "f" * 40, "scanned_at": "2026-08-01T11:00:00Z"})
    _write(folder / "acme" / "iac" / "1234567" / "checkov.json", [
        {"check_type": "terraform", "results": {"failed_checks": [
            {"check_id": "CKV_AWS_1", "check_name": "x", "severity": None, "file_path": "/main.tf", "resource": "r"}],
            "skipped_checks": [{"check_id": "CKV_AWS_2", "check_name": "y", "severity": "HIGH",
                                "file_path": "/main.tf", "resource": "r"}]}},
        {"check_type": "kubernetes", "results": {"failed_checks": [
            {"check_id": "CKV_K8S_1", "check_name": "z", "severity": "CRITICAL", "file_path": "/k.yaml",
             "resource": "d"}]}}])
    _write(folder / "snyk.json", {"ok": False, "projectName": "web", "displayTargetFile": "package-lock.json",
                                  "vulnerabilities": [{"id": "SNYK-1", "title": "Proto pollution", "severity": "high",
                                                       "packageName": "lodash", "version": "4.17.0", "from": ["web", "lodash"]}],
                                  "filtered": {"ignore": [{"id": "SNYK-2", "title": "ReDoS", "severity": "critical",
                                                           "packageName": "ms", "version": "0.7.0", "from": ["web", "ms"]}]}})
    _write(folder / "bandit.json", {"results": ["not an object"], "metrics": {}, "errors": []})
    _write(folder / "notes.json", {"hello": "world"})
    os.utime(report, (1_780_000_000, 1_780_000_000))
    manifests = {read_manifest(m)["system"]: read_manifest(m)
                 for m in extract_scanners(ScannersSource(path=folder), tmp_path / "landing", "r1")}
    assert [q["locator"] for q in manifests["scanners"]["quarantined"]] == ["notes.json"]
    assert [q["reason"] for q in manifests["bandit"]["quarantined"]] == ["finding is not a JSON object"]
    con = staging_connection(tmp_path / "landing")
    gl = con.execute("select rule_id, severity, level, tool_name, repo, commit_sha, scanned_at::varchar, location_uri "
                     "from stg_gitlab_sast__scan_findings order by result_index").fetchall()
    assert gl == [
        ("bandit.B608", "critical", "error", "Semgrep", "acme/web", "f" * 40, "2026-08-01 11:00:00+00", "app/db.py"),
        ("489", "none", "none", "Semgrep", "acme/web", "f" * 40, "2026-08-01 11:00:00+00", "app/main.py"),
        ("a3", "medium", "warning", "Semgrep", "acme/web", "f" * 40, "2026-08-01 11:00:00+00", "app/h.py"),
    ]
    ck = con.execute("select run_index, rule_id, severity, is_suppressed, repo, commit_sha, location_uri "
                     "from stg_checkov__scan_findings order by all").fetchall()
    assert ck == [(0, "CKV_AWS_1", "none", False, "acme/iac", "1234567", "main.tf"),
                  (0, "CKV_AWS_2", "high", True, "acme/iac", "1234567", "main.tf"),
                  (1, "CKV_K8S_1", "critical", False, "acme/iac", "1234567", "k.yaml")]
    assert con.execute("select rule_id, severity, is_suppressed from stg_snyk__scan_findings order by 1").fetchall() == [
        ("SNYK-1", "high", False), ("SNYK-2", "critical", True)]
    # without a sidecar, GitLab's own scan.end_time (no offset: UTC)
    (folder / "gl-sast-report.json.meta.json").unlink()
    extract_scanners(ScannersSource(path=folder), tmp_path / "landing", "r2")
    con = staging_connection(tmp_path / "landing")
    assert con.execute("select distinct scanned_at::varchar, repo from stg_gitlab_sast__scans").fetchall() == [
        ("2026-08-01 10:02:30+00", None)]


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    from extractors.core import ExtractionError
    with pytest.raises(ExtractionError):
        extract_scanners(ScannersSource(path=tmp_path / "nope"), tmp_path / "landing", "r1")


def test_views_match_the_scan_entities(tmp_path: Path) -> None:
    """Every scanner view has exactly the columns and types of the SARIF views, and joins the entity."""
    (tmp_path / "scans").mkdir()
    extract_scanners(ScannersSource(path=tmp_path / "scans"), tmp_path / "landing", "r1")
    con: duckdb.DuckDBPyConnection = staging_connection(tmp_path / "landing")

    def columns(view: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in con.execute(f"describe {view}").fetchall()]

    for entity in ("scan_findings", "scans"):
        expected = columns(f"stg_sarif__{entity}")
        for system in SYSTEMS:
            got = columns(f"stg_{system}__{entity}")
            if entity == "scans":   # count_results: an integer either way
                got = [(n, "BIGINT" if n == "count_results" else t) for n, t in got]
                expected = [(n, "BIGINT" if n == "count_results" else t) for n, t in expected]
            assert got == expected, (system, entity)
    unions = entity_unions([f"stg_{s}__scan_findings" for s in ("sarif", *SYSTEMS)])
    assert all(f"stg_{s}__scan_findings" in unions["int_scan_findings_unioned"] for s in SYSTEMS)
