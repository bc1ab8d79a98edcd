"""Snyk CLI JSON: `snyk test --json` (one project object) and `--all-projects` (an array).

One report per project; each `vulnerabilities[]` entry is a finding (Snyk repeats a
vulnerability once per dependency path). Ignored issues listed under `filtered.ignore` are
landed as kind `ignored` (suppressed); the report record keeps the rest of the project object.
"""
from __future__ import annotations

from itertools import chain
from typing import Any

from extractors.scanners.common import Finding, Report

SYSTEM = "snyk"


def _is_project(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("vulnerabilities"), list)
            and any(k in doc for k in ("packageManager", "projectName", "ok", "dependencyCount")))


def detect(doc: Any) -> bool:
    if isinstance(doc, list):
        return bool(doc) and all(_is_project(p) for p in doc)
    return _is_project(doc)


def split(doc: Any) -> list[Report]:
    reports = []
    for project in doc if isinstance(doc, list) else [doc]:
        filtered = project.get("filtered") if isinstance(project.get("filtered"), dict) else {}
        findings = chain((Finding("vulnerability", v, {}) for v in project.get("vulnerabilities") or ()),
                         (Finding("ignored", v, {}) for v in filtered.get("ignore") or ()))
        report = {k: v for k, v in project.items() if k != "vulnerabilities"}
        if filtered.get("ignore"):
            report["filtered"] = {k: v for k, v in filtered.items() if k != "ignore"}
        reports.append(Report(report, findings))
    return reports
