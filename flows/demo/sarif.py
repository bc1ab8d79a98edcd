"""SARIF 2.1.0 logs: one file per scanned commit, one run per tool, provenance and timing in
``versionControlProvenance`` and ``invocations``; severities on the rules (GitHub convention)."""
from __future__ import annotations

from flows.demo.clock import gh_time
from flows.demo.github_payloads import dumps
from flows.demo.model import SarifFile, SarifRun

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO = {"Semgrep OSS": "https://semgrep.dev", "Trivy": "https://github.com/aquasecurity/trivy"}


def run_obj(run: SarifRun) -> dict:
    rules, index = [], {}
    for i, r in enumerate(run.rules):
        index[r.id] = i
        rule = {"id": r.id, "name": r.name, "shortDescription": {"text": r.text}, "fullDescription": {"text": r.text},
                "helpUri": f"{INFO.get(run.tool, 'https://example.invalid')}/r/{r.id}", "help": {"text": r.text}}
        if r.level:
            rule["defaultConfiguration"] = {"level": r.level}
        props = {"tags": ["security"], "precision": "high"}
        if r.security_severity is not None:
            props["security-severity"] = r.security_severity
        rule["properties"] = props
        rules.append(rule)
    results = []
    for res in run.results:
        obj = {"ruleId": res.rule_id, "ruleIndex": index[res.rule_id]}
        if res.level:
            obj["level"] = res.level
        obj.update({"message": {"text": res.message},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": res.uri, "uriBaseId": "%SRCROOT%"},
                                                        "region": {"startLine": res.line, "startColumn": 1}}}],
                    "partialFingerprints": {"primaryLocationLineHash": f"{res.fingerprint}:1"}})
        if res.suppressions is not None:
            obj["suppressions"] = res.suppressions
        results.append(obj)
    return {
        "tool": {"driver": {"name": run.tool, "semanticVersion": run.version,
                            "informationUri": INFO.get(run.tool, "https://example.invalid"), "rules": rules}},
        "invocations": [{"executionSuccessful": True, "startTimeUtc": gh_time(run.end_time - 95),
                         "endTimeUtc": gh_time(run.end_time)}],
        "versionControlProvenance": [{"repositoryUri": f"https://github.com/{run.repo}", "revisionId": run.commit_sha,
                                      "branch": run.ref}],
        "results": results, "columnKind": "utf16CodeUnits",
    }


def sarif_text(f: SarifFile) -> str:
    text = dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run_obj(r) for r in f.runs]})
    return text[: len(text) * 3 // 5] if f.corrupt else text
