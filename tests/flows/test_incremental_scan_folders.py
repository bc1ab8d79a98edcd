"""Scan folders (SARIF, scanner reports) are read incrementally: a day lands the day's scans.

The unit's cursor is the newest modification time read; the next run reads only files modified
since that cursor minus the overlap, so a folder that keeps every scan ever made is not re-landed
every day (issue 6.2: the daily cost follows the day's data).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from flows import pipeline
from flows.config import Config, SarifSource, ScannersSource, Sources, Warehouse

DAY = 86_400
NOW = 1_790_000_000          # 2026-09-21


def _sarif(repo: str, sha: str) -> dict:
    return {"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "CodeQL", "rules": [{"id": "js/xss"}]}},
        "versionControlProvenance": [{"repositoryUri": f"https://github.com/acme/{repo}", "revisionId": sha}],
        "invocations": [{"executionSuccessful": True, "endTimeUtc": "2026-09-20T10:00:00Z"}],
        "results": [{"ruleId": "js/xss", "level": "error", "message": {"text": "xss"}}]}]}


def _bandit() -> dict:
    return {"results": [{"test_id": "B105", "issue_severity": "LOW", "issue_text": "password",
                         "filename": "app.py", "line_number": 3}], "metrics": {}, "errors": []}


def _put(path: Path, body: dict, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body), encoding="utf-8")
    os.utime(path, (mtime, mtime))


def _landed(config: Config, name: str, run_id: str, stream: str) -> int:
    manifests = pipeline.extract_source(config, name, run_id)
    pipeline.load(config)
    return sum(f["records"] for m in manifests for f in json.loads(Path(m).read_text())["files"]
               if f["stream"] == stream)


def test_a_day_lands_only_the_scans_modified_since_the_cursor(tmp_path: Path) -> None:
    sarif, reports = tmp_path / "sarif", tmp_path / "reports"
    for n in range(5):           # a month of scans, one every few days
        _put(sarif / f"api/{n}.sarif", _sarif("api", f"{n:040x}"), NOW - (30 - 6 * n) * DAY)
        _put(reports / f"api/bandit-{n}.json", _bandit(), NOW - (30 - 6 * n) * DAY)
    config = Config(warehouse=Warehouse(path=tmp_path / "wh.duckdb", landing=tmp_path / "landing"),
                    sources=Sources(sarif=SarifSource(path=sarif), scanners=ScannersSource(path=reports)))
    assert _landed(config, "sarif", "20260921T000000Z-aaaaa1", "runs") == 5
    assert _landed(config, "scanners", "20260921T000000Z-aaaaa1", "reports") == 5
    # the next day, nothing new: the newest scan is within the 24 h overlap, so it alone is re-read
    assert _landed(config, "sarif", "20260922T000000Z-aaaaa2", "runs") == 1
    assert _landed(config, "scanners", "20260922T000000Z-aaaaa2", "reports") == 1
    # a new scan and an old file written again: those two (and the newest one before, inside the
    # overlap), not the month
    _put(sarif / "api/new.sarif", _sarif("api", "f" * 40), NOW + DAY)
    _put(sarif / "api/0.sarif", _sarif("api", "e" * 40), NOW + DAY)
    _put(reports / "api/bandit-new.json", _bandit(), NOW + DAY)
    assert _landed(config, "sarif", "20260923T000000Z-aaaaa3", "runs") == 3
    assert _landed(config, "scanners", "20260923T000000Z-aaaaa3", "reports") == 2
