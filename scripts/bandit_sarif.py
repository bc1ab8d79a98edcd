"""Bandit JSON -> SARIF 2.1.0, so the demo's SARIF source can ingest changetrail's own scan.

Bandit's built-in `-f sarif` needs the optional `sarif-om` package (not a dependency here), so
`make audit` writes Bandit JSON and converts it with this script (standard library only):

    python scripts/bandit_sarif.py out/audit/bandit.json out/audit/bandit.sarif \
        [--repo https://github.com/acme/changetrail --commit <sha>]

Severity: Bandit HIGH / MEDIUM / LOW -> level error / warning / note and `security-severity`
7.5 / 5.0 / 2.0 (high / medium / low in `stg_sarif__scan_findings`). `--repo` and `--commit` go
to `versionControlProvenance`, which is how CM-08 ties a scan to a deployed commit.
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

LEVELS = {"HIGH": ("error", "7.5"), "MEDIUM": ("warning", "5.0"), "LOW": ("note", "2.0")}


def convert(report: dict, repo: str | None = None, commit: str | None = None, scanned_at: str | None = None) -> dict:
    rules: dict[str, dict] = {}
    results = []
    for issue in report.get("results", []):
        level, score = LEVELS.get(str(issue.get("issue_severity", "")).upper(), ("warning", "5.0"))
        rule_id = issue.get("test_id", "bandit")
        rules.setdefault(rule_id, {"id": rule_id, "name": issue.get("test_name", rule_id),
                                   "helpUri": issue.get("more_info", "")})
        results.append({
            "ruleId": rule_id, "level": level,
            "message": {"text": issue.get("issue_text", "")},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": str(issue.get("filename", "")).removeprefix("./")},
                "region": {"startLine": max(1, int(issue.get("line_number") or 1))}}}],
            "properties": {"security-severity": score, "confidence": issue.get("issue_confidence")},
        })
    run: dict = {
        "tool": {"driver": {"name": "Bandit", "informationUri": "https://bandit.readthedocs.io/",
                            "rules": [rules[k] for k in sorted(rules)]}},
        "invocations": [{"executionSuccessful": not report.get("errors"),
                         "endTimeUtc": scanned_at or report.get("generated_at")
                         or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}],
        "results": results,
    }
    if repo or commit:
        run["versionControlProvenance"] = [{"repositoryUri": repo or "", "revisionId": commit or ""}]
    return {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": [run]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bandit_json", type=Path)
    parser.add_argument("sarif", type=Path)
    parser.add_argument("--repo", help="repository URL, e.g. https://github.com/acme/changetrail")
    parser.add_argument("--commit", help="the scanned commit sha")
    args = parser.parse_args()
    report = json.loads(args.bandit_json.read_text(encoding="utf-8"))
    args.sarif.write_text(json.dumps(convert(report, args.repo, args.commit), indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
