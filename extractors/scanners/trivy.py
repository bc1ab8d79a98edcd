"""Trivy JSON (SchemaVersion 2): `trivy image|fs|repo|config --format json`.

Findings per `Results[]` target: `Vulnerabilities` (every Status value is landed),
`Misconfigurations` (all landed; the staging view keeps Status FAIL), `Secrets`, and the
VEX-suppressed findings under `ExperimentalModifiedFindings` (landed as kind `modified`).
The report record is the document with those arrays removed from each result.
"""
from __future__ import annotations

from typing import Any

from extractors.scanners.common import Finding, Report

SYSTEM = "trivy"
KINDS = {"Vulnerabilities": "vulnerability", "Misconfigurations": "misconfiguration",
         "Secrets": "secret", "ExperimentalModifiedFindings": "modified"}


def detect(doc: Any) -> bool:
    return isinstance(doc, dict) and "SchemaVersion" in doc and ("Results" in doc or "ArtifactName" in doc)


def split(doc: dict[str, Any]) -> list[Report]:
    findings: list[Finding] = []
    results_out = []
    for result_index, result in enumerate(doc.get("Results") or ()):
        if not isinstance(result, dict):
            results_out.append(result)
            continue
        target = {"target": result.get("Target"), "class": result.get("Class"), "type": result.get("Type"),
                  "result_index": result_index}
        for key, kind in KINDS.items():
            for item in result.get(key) or ():
                findings.append(Finding(kind, item, target))
        results_out.append({k: v for k, v in result.items() if k not in KINDS})
    report = {k: v for k, v in doc.items() if k != "Results"}
    if "Results" in doc:
        report["Results"] = results_out
    return [Report(report, findings)]
