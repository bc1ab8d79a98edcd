"""GitLab security report JSON (gl-sast-report.json; dependency/container scanning share it).

`vulnerabilities[]` are findings (severity Critical/High/Medium/Low/Info/Unknown); the report
record keeps `version`, `scan` (scanner, start/end time, status) and the rest. Findings that
GitLab's `vulnerability_flags` mark as false positives are still findings (not suppressed).
"""
from __future__ import annotations

from typing import Any

from extractors.scanners.common import Finding, Report

SYSTEM = "gitlab_sast"
# the report schema writes scan times without a zone, in UTC: only the future rule applies
TIME_FIELDS, NAIVE_UTC = ("scan.start_time", "scan.end_time"), True


def detect(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("vulnerabilities"), list)
            and (isinstance(doc.get("scan"), dict) or "version" in doc)
            and "packageManager" not in doc)


def split(doc: dict[str, Any]) -> list[Report]:
    findings = (Finding("vulnerability", v, {}) for v in doc["vulnerabilities"])
    return [Report({k: v for k, v in doc.items() if k != "vulnerabilities"}, findings)]
