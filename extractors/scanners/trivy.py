"""Trivy JSON (SchemaVersion 2): `trivy image|fs|repo|config --format json`.

Findings per `Results[]` target: `Vulnerabilities` (every Status value is landed),
`Misconfigurations` (all landed; the staging view keeps Status FAIL), `Secrets`, and the
VEX-suppressed findings under `ExperimentalModifiedFindings` (landed as kind `modified`).
The report record is the document with those arrays removed from each result.
"""
from __future__ import annotations

from typing import Any, Iterator

from extractors.scanners.common import Finding, Report

SYSTEM = "trivy"
TIME_FIELDS = ("CreatedAt",)          # no zone / future: the file is quarantined (core/timestamps.py)
KINDS = {"Vulnerabilities": "vulnerability", "Misconfigurations": "misconfiguration",
         "Secrets": "secret", "ExperimentalModifiedFindings": "modified"}


def detect(doc: Any) -> bool:
    return isinstance(doc, dict) and "SchemaVersion" in doc and ("Results" in doc or "ArtifactName" in doc)


def split(doc: dict[str, Any]) -> list[Report]:
    results = doc.get("Results") or ()
    report = {k: v for k, v in doc.items() if k != "Results"}
    if "Results" in doc:
        report["Results"] = [{k: v for k, v in r.items() if k not in KINDS} if isinstance(r, dict) else r
                             for r in results]
    return [Report(report, _findings(results))]


def _findings(results) -> Iterator[Finding]:
    for result_index, result in enumerate(results):
        if not isinstance(result, dict):
            continue
        target = {"target": result.get("Target"), "class": result.get("Class"), "type": result.get("Type"),
                  "result_index": result_index}
        for key, kind in KINDS.items():
            for item in result.get(key) or ():
                yield Finding(kind, item, target)
