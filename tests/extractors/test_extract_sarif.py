"""SARIF extraction on every real SARIF file, and the severity/level/suppression rules in SQL."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from extractors.sarif import extract_sarif
from flows.config import SarifSource
from tests.extractors.conftest import read_manifest

REAL_SARIF = {  # realdata path -> name in the scanned folder (.golden is not a SARIF suffix)
    "codeql-action/valid-sarif.sarif": "codeql/valid-sarif.sarif",
    "defectdojo/sarif/codeQL-output.sarif": "dojo/codeQL-output.sarif",
    "defectdojo/sarif/issue_10191.json": "dojo/issue_10191.json",
    "defectdojo/sarif/suppression_test.sarif": "dojo/suppression_test.sarif",
    "generated_here/bandit/bandit-examples.sarif": "bandit/bandit-examples.sarif",
    "generated_here/checkov/results_sarif.sarif": "checkov/results_sarif.sarif",
    "trivy/alpine-310.sarif.golden": "trivy/alpine-310.sarif",
    "semgrep/test_sarif_output_include_nosemgrep/results.sarif": "semgrep/include_nosemgrep.sarif",
    "semgrep/test_sarif_output_when_errors/results.sarif": "semgrep/when_errors.sarif",
    "semgrep/test_sarif_output_with_dataflow_traces/results.sarif": "semgrep/dataflow.sarif",
    "semgrep/test_sarif_output_with_nosemgrep_and_error/results.sarif": "semgrep/nosemgrep_and_error.sarif",
}


def _scan_folder(realdata: Path, folder: Path) -> None:
    for source, name in REAL_SARIF.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(realdata / source, folder / name)
    (folder / "broken.sarif").write_text('{"version": "2.1.0", "runs": [', encoding="utf-8")
    shutil.copyfile(realdata / "trivy" / "pip.json.golden", folder / "trivy-native.json")  # JSON, not SARIF


def test_every_real_sarif_file(realdata: Path, tmp_path: Path, warehouse) -> None:
    folder = tmp_path / "scans"
    _scan_folder(realdata, folder)
    [path] = extract_sarif(SarifSource(path=folder), tmp_path / "landing", "r1")
    manifest = read_manifest(path)
    counts = {f["stream"]: (f["records"], f["requests"]) for f in manifest["files"]}
    assert counts == {"runs": (12, 13), "results": (311, 0)}
    reasons = {q["locator"]: q["reason"] for q in manifest["quarantined"]}
    assert reasons["broken.sarif"].startswith("not valid JSON")
    assert reasons["trivy-native.json"] == "not a SARIF 2.1.0 log: no 'runs' array"

    con = warehouse(tmp_path / "landing")

    def dist(scan: str) -> dict[tuple, int]:
        rows = con.execute("select level, severity, count(*) from stg_sarif__scan_findings where scan_file = ? "
                           "group by all", [scan]).fetchall()
        return {(level, severity): n for level, severity, n in rows}

    # CodeQL 2.5.4: no result has a level; each comes from its rule's defaultConfiguration
    assert dist("dojo/codeQL-output.sarif") == {("error", "high"): 11, ("warning", "medium"): 4, ("note", "low"): 57}
    # Semgrep: security-severity is a word on the rule
    assert dist("dojo/issue_10191.json") == {("error", "critical"): 34, ("error", "high"): 1, ("warning", "medium"): 42}
    assert con.execute("select count(*) from stg_sarif__scan_findings where scan_file = 'dojo/issue_10191.json' "
                       "and security_severity is not null").fetchone()[0] == 0
    # Trivy: numeric string "5.3"
    assert con.execute("select distinct security_severity, severity from stg_sarif__scan_findings "
                       "where scan_file = 'trivy/alpine-310.sarif'").fetchall() == [(5.3, "medium")]
    # Bandit: MEDIUM findings carry no level and the rules no default -> warning
    assert dist("bandit/bandit-examples.sarif") == {("error", "high"): 30, ("note", "low"): 46, ("warning", "medium"): 27}
    assert dist("checkov/results_sarif.sarif") == {("error", "high"): 43}
    # 2 external + 1 inSource suppressed; no key and an empty array are not suppressed
    suppressed = con.execute("select result_index, is_suppressed from stg_sarif__scan_findings "
                             "where scan_file = 'dojo/suppression_test.sarif' order by 1").fetchall()
    assert suppressed == [(0, True), (1, True), (2, True), (3, False), (4, False)]
    assert con.execute("select count(*) filter (where is_suppressed), count(*) from stg_sarif__scan_findings "
                       "where scan_file like 'semgrep/%nosemgrep%'").fetchone() == (2, 3)
    # CodeQL fingerprints and locations
    first = con.execute("select rule_id, fingerprint, location_uri, tool_name from stg_sarif__scan_findings "
                        "where scan_file = 'dojo/codeQL-output.sarif' and result_index = 0").fetchone()
    assert first == ("py/empty-except", "9cbc869fbfffeb60:1", "good/db_init.py", "CodeQL")
    scans = con.execute("select scan_file, run_index, tool_name, count_results from stg_sarif__scans "
                        "where scan_file in ('codeql/valid-sarif.sarif', 'semgrep/when_errors.sarif') order by 1, 2").fetchall()
    assert scans == [("codeql/valid-sarif.sarif", 0, "LGTM.com", 1),
                     ("codeql/valid-sarif.sarif", 1, "CodeQL command-line toolchain", 2),
                     ("semgrep/when_errors.sarif", 0, "Semgrep OSS", 0)]
    assert con.execute("select count(*) from stg_sarif__scan_findings").fetchone()[0] == 311


def _result(rule_id: str, **extra) -> dict:
    return {"ruleId": rule_id, "message": {"text": f"{rule_id} found"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/app.py"}}}], **extra}


def test_rules_in_extensions_thresholds_provenance_and_suppression_status(tmp_path: Path, warehouse) -> None:
    sarif = {"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "CodeQL", "rules": [{"id": "d/one", "defaultConfiguration": {"level": "note"}}]},
                 "extensions": [{"name": "pack", "rules": [
                     {"id": "x/crit", "defaultConfiguration": {"level": "error"}, "properties": {"security-severity": "9.8"}},
                     {"id": "x/high", "properties": {"security-severity": 7.0}},
                     {"id": "x/low", "defaultConfiguration": {"level": "error"}, "properties": {"security-severity": "0.5"}},
                     {"id": "x/zero", "defaultConfiguration": {"level": "error"}, "properties": {"security-severity": "0"}}]}]},
        "versionControlProvenance": [{"repositoryUri": "https://github.com/acme/payments-api.git",
                                      "revisionId": "a" * 40}],
        "invocations": [{"executionSuccessful": True, "endTimeUtc": "2026-07-01T10:00:00Z"}],
        "results": [
            _result("x/crit", rule={"id": "x/crit", "index": 0, "toolComponent": {"index": 0}}),
            _result("x/high", rule={"id": "x/high", "index": 1, "toolComponent": {"index": 0}}),
            _result("x/low"),                                           # found by id in an extension
            _result("x/zero"),                                          # 0 -> falls back to level error
            _result("d/one", ruleIndex=0, suppressions=[{"kind": "external", "status": "rejected"}]),
            _result("d/one", ruleIndex=0, suppressions=[{"kind": "inSource", "status": "underReview"},
                                                        {"kind": "external", "status": "accepted"}]),
            _result("d/one", ruleIndex=0, suppressions=[{"kind": "external", "status": "accepted"}]),
            _result("d/one", kind="pass"),
            _result("unknown/rule", level="error", properties={"security-severity": "HIGH"},
                    fingerprints={"matchBasedId/v1": "fp1"}),
        ]}]}
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "scan.sarif.json").write_text(json.dumps(sarif), encoding="utf-8")
    extract_sarif(SarifSource(path=folder), tmp_path / "landing", "r1")
    con = warehouse(tmp_path / "landing")
    rows = con.execute("select rule_id, level, security_severity, severity, is_suppressed, fingerprint "
                       "from stg_sarif__scan_findings order by result_index").fetchall()
    assert rows == [
        ("x/crit", "error", 9.8, "critical", False, None),
        ("x/high", "warning", 7.0, "high", False, None),
        ("x/low", "error", 0.5, "low", False, None),
        ("x/zero", "error", 0.0, "high", False, None),
        ("d/one", "note", None, "low", False, None),
        ("d/one", "note", None, "low", False, None),
        ("d/one", "note", None, "low", True, None),
        ("d/one", "none", None, "none", False, None),
        ("unknown/rule", "error", None, "high", False, "fp1"),
    ]
    meta = con.execute("select distinct repo, commit_sha, scanned_at, tool_name from stg_sarif__scan_findings").fetchall()
    assert meta == [("acme/payments-api", "a" * 40, datetime(2026, 7, 1, 10, tzinfo=timezone.utc), "CodeQL")]
    assert con.execute("select repo, count_results from stg_sarif__scans").fetchall() == [("acme/payments-api", 9)]


def test_a_rescan_replaces_the_earlier_results(tmp_path: Path, warehouse) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "T"}}, "results": [_result("a"), _result("b")]}]}
    (folder / "s.sarif").write_text(json.dumps(log), encoding="utf-8")
    extract_sarif(SarifSource(path=folder), tmp_path / "landing", "r1")
    log["runs"][0]["results"] = [_result("c")]
    (folder / "s.sarif").write_text(json.dumps(log), encoding="utf-8")
    extract_sarif(SarifSource(path=folder), tmp_path / "landing", "r2")
    con = warehouse(tmp_path / "landing")
    assert con.execute("select rule_id from stg_sarif__scan_findings").fetchall() == [("c",)]
    assert con.execute("select count_results from stg_sarif__scans").fetchall() == [(1,)]
