"""pip-audit JSON: the legacy top-level list and the current `{"dependencies": [...]}`.

Each `vulns[]` entry of a dependency is a finding (context: the dependency's name and
version); a dependency with `skip_reason` (not audited, e.g. not on PyPI) is landed as kind
`skipped` so the gap stays visible. pip-audit reports no severity: the staging view says
`none` unless a vulnerability carries a `severity` field itself.
"""
from __future__ import annotations

from typing import Any, Iterator

from extractors.scanners.common import Finding, Report

SYSTEM = "pip_audit"


def _is_dependency(item: Any) -> bool:
    return isinstance(item, dict) and "name" in item and ("vulns" in item or "skip_reason" in item)


def detect(doc: Any) -> bool:
    if isinstance(doc, dict) and isinstance(doc.get("dependencies"), list):
        return all(_is_dependency(d) for d in doc["dependencies"])
    return isinstance(doc, list) and bool(doc) and all(_is_dependency(d) for d in doc)


def split(doc: Any) -> list[Report]:
    dependencies = doc["dependencies"] if isinstance(doc, dict) else doc
    report = {k: v for k, v in doc.items() if k != "dependencies"} if isinstance(doc, dict) else {}
    report["count_dependencies"] = len(dependencies)
    return [Report(report, _findings(dependencies))]


def _findings(dependencies) -> Iterator[Finding]:
    for dep in dependencies:
        package = {"package": dep.get("name"), "version": dep.get("version")}
        if dep.get("skip_reason"):
            yield Finding("skipped", dep, package)
        for vuln in dep.get("vulns") or ():
            yield Finding("vulnerability", vuln, package)
