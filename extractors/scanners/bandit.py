"""Bandit JSON (`bandit -f json`): `results[]` are findings (issue_severity HIGH/MEDIUM/LOW).

Lines marked `# nosec` never reach `results` (Bandit only counts them in `metrics`), so no
Bandit finding is suppressed. The report record keeps `errors`, `generated_at` and `metrics`.
"""
from __future__ import annotations

from typing import Any

from extractors.scanners.common import Finding, Report

SYSTEM = "bandit"
TIME_FIELDS = ("generated_at",)       # no zone / future: the file is quarantined (core/timestamps.py)


def detect(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("results"), list) and "metrics" in doc


def split(doc: dict[str, Any]) -> list[Report]:
    findings = (Finding("issue", r, {}) for r in doc["results"])
    return [Report({k: v for k, v in doc.items() if k != "results"}, findings)]
