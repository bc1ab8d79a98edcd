"""Shared checks of a generated organization's run against its ground truth.

Every scenario (GitHub + ServiceNow, Jira, GitLab, both) runs the same Prefect flow and must
reproduce the generator's expected (control, subject) failures and outcomes exactly.
"""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from flows.demo import generate
from flows.evidence_run import evidence_run

PERIOD = "2026Q3"
EVALUATED_AT = datetime(2026, 11, 27, tzinfo=timezone.utc)


def run_demo(out: Path, **generate_args):
    """Generate an organization into `out`, run the flow; (org, flow result, read-only connection)."""
    org = generate(out, period=PERIOD, **generate_args)
    result = evidence_run(period=PERIOD, config_path=out / "changetrail.toml", evaluated_at=EVALUATED_AT)
    return org, result, duckdb.connect(str(out / "changetrail.duckdb"), read_only=True)


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def expected_failures(out: Path) -> set[tuple[str, str]]:
    return {(r["control_id"], r["subject_id"]) for r in read_csv(out / "sample/ground_truth/expected_failures.csv")}


def assert_findings_match(out: Path, con, run_id: str) -> set[tuple[str, str]]:
    """Findings equal the ground truth, control by control; returns the expected set."""
    expected = expected_failures(out)
    actual = set(con.execute(
        "select control_id, subject_id from run_results(?) where status in ('fail', 'error')",
        [run_id]).fetchall())
    report = []
    for control in sorted({c for c, _ in expected | actual}):
        missed = sorted(s for c, s in expected - actual if c == control)
        extra = sorted(s for c, s in actual - expected if c == control)
        if missed or extra:
            report.append(f"{control}: missed {missed[:5]} ({len(missed)}), false positives {extra[:5]} ({len(extra)})")
    assert not report, "\n".join(report)
    assert_subject_statuses_match(out, con, run_id)
    return expected


def assert_subject_statuses_match(out: Path, con, run_id: str, controls=("CM-07", "EV-02")) -> None:
    """Controls whose subjects are not changes (runtime changes, repositories): every subject and
    its status (pass / fail / not_applicable) equal control_results.csv, not only the failures."""
    expected = {(r["control_id"], r["subject_id"]): r["status"]
                for r in read_csv(out / "sample/ground_truth/control_results.csv") if r["control_id"] in controls}
    actual = dict(((c, s), status) for c, s, status in con.execute(
        "select control_id, subject_id, status from run_results(?) where list_contains(?, control_id)",
        [run_id, list(controls)]).fetchall())
    wrong = sorted((k, actual.get(k), v) for k, v in expected.items() if actual.get(k) != v)
    extra = sorted(set(actual) - set(expected))
    assert not wrong and not extra, f"expected/actual differ: {wrong[:5]} ({len(wrong)}), unexpected {extra[:5]}"


def assert_outcomes_match(out: Path, con, run_id: str) -> dict[str, str]:
    """Every production change generated is in the population with its expected outcome."""
    expected = {r["change_id"]: r["expected_outcome"] for r in read_csv(out / "sample/ground_truth/changes.csv")}
    actual = dict(con.execute("select change_id, outcome from change_outcomes where run_id = ?", [run_id]).fetchall())
    assert set(actual) == set(expected), "population differs from the production changes generated"
    wrong = {k: (actual[k], v) for k, v in expected.items() if actual[k] != v}
    assert not wrong, list(wrong.items())[:10]
    return actual
