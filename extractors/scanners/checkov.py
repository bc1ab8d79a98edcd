"""Checkov JSON (`-o json`): one framework object, or a list of them (several frameworks).

One report per framework object; `results.failed_checks[]` are findings, `skipped_checks[]`
(inline `checkov:skip` / suppressions) are landed as kind `skipped` (suppressed). Passed checks
stay in the report record. Without a platform API key `severity` is null: `none` in staging.
"""
from __future__ import annotations

from itertools import chain
from typing import Any

from extractors.scanners.common import Finding, Report

SYSTEM = "checkov"


def _is_framework(doc: Any) -> bool:
    return isinstance(doc, dict) and "check_type" in doc and isinstance(doc.get("results"), dict)


def detect(doc: Any) -> bool:
    if isinstance(doc, list):
        return bool(doc) and all(_is_framework(d) for d in doc)
    return _is_framework(doc)


def split(doc: Any) -> list[Report]:
    reports = []
    for framework in doc if isinstance(doc, list) else [doc]:
        results = framework["results"]
        context = {"check_type": framework.get("check_type")}
        findings = chain((Finding("failed", c, context) for c in results.get("failed_checks") or ()),
                         (Finding("skipped", c, context) for c in results.get("skipped_checks") or ()))
        report = dict(framework)
        report["results"] = {k: v for k, v in results.items() if k not in ("failed_checks", "skipped_checks")}
        reports.append(Report(report, findings))
    return reports
