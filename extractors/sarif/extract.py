"""SARIF extraction: every SARIF 2.1.0 file under a folder, as runs and results.

Each run lands as one `runs` record (the run object without its `results` array - tool, rules,
extensions, invocations and version-control provenance are what the staging view needs to judge
a result) and each result verbatim as one `results` record. Severity, effective level and
suppression are decided in SQL (`stg_sarif__scan_findings`), not here: extractors never judge.

A file that is not JSON (truncated, not UTF-8), or JSON that is not a SARIF 2.1.0 log, is
quarantined and the other files still load; so is a file reached through a symlink that leads
outside the folder (never read). With `since`, only files modified at or after it are read (incremental runs do not
re-land unchanged scans; the staging views de-duplicate anyway).
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from extractors.core import Extraction, ExtractionError, Stream, as_utc, utc_now_iso
from extractors.core.safe_paths import escapes
from flows.config import SarifSource

SYSTEM = "sarif"
SUFFIXES = (".sarif", ".sarif.json", ".json")
RUNS = Stream(system=SYSTEM, name="runs", path="{scan_file}", primary_key=("tool",))
RESULTS = Stream(system=SYSTEM, name="results", path="{scan_file}", primary_key=())
STREAMS: tuple[Stream, ...] = (RUNS, RESULTS)


def iter_sarif_files(folder: Path) -> Iterator[Path]:
    """Candidate files under `folder`, recursively, in a stable order."""
    for path in sorted(folder.rglob("*")):
        if (path.is_file() or path.is_symlink()) and path.name.lower().endswith(SUFFIXES):  # symlinks: checked by escapes()
            yield path


def extract_sarif(
    config: SarifSource, landing: Path, run_id: str, since: datetime | None = None,
) -> list[Path]:
    """The SARIF folder as one extraction unit; returns its manifest path in a list."""
    folder = Path(config.path).resolve()
    if not folder.is_dir():
        raise ExtractionError(SYSTEM, str(folder), None, "SARIF folder does not exist")
    since = as_utc(since)
    with Extraction(SYSTEM, folder.name or "sarif", landing, run_id, base_url=folder.as_uri()) as ex:
        writer = ex.writer
        writer.stream(RUNS.name, f"read {folder.as_posix()}/**/*.sarif|*.sarif.json|*.json")
        writer.stream(RESULTS.name, f"read {folder.as_posix()}/**/*.sarif|*.sarif.json|*.json")
        for path in iter_sarif_files(folder):
            problem = escapes(folder, path)
            if problem:
                writer.quarantine(RUNS.name, str(path), path.relative_to(folder).as_posix(), problem)
                continue
            if since is not None and path.stat().st_mtime < since.timestamp():
                continue
            _land_file(ex, folder, path)
        return [ex.finish()]


def _land_file(ex: Extraction, folder: Path, path: Path) -> None:
    writer = ex.writer
    scan_file = path.relative_to(folder).as_posix()
    source = path.as_uri()
    writer.count_request(RUNS.name)
    raw = path.read_bytes()
    try:
        log = json.loads(raw)
    except ValueError as exc:
        writer.quarantine(RUNS.name, str(path), scan_file, f"not valid JSON: {exc}",
                          raw.decode("utf-8", errors="replace"))
        return
    problem = _not_sarif(log)
    if problem:
        writer.quarantine(RUNS.name, str(path), scan_file, f"not a SARIF 2.1.0 log: {problem}",
                          raw.decode("utf-8", errors="replace"))
        return
    extracted_at = utc_now_iso()
    for run_index, run in enumerate(log["runs"]):
        locator = f"{scan_file}, run {run_index}"
        if not isinstance(run, dict) or not isinstance(run.get("tool"), dict):
            writer.quarantine(RUNS.name, str(path), locator, "run has no 'tool' object", run)
            continue
        results = run.get("results")
        if results is not None and not isinstance(results, list):
            writer.quarantine(RUNS.name, str(path), locator, "run 'results' is not an array", run)
            continue
        run_record = {k: v for k, v in run.items() if k != "results"}
        context = {"scan_file": scan_file, "run_index": run_index}
        writer.write_record(RUNS.name, run_record, context=context, source_url=source, extracted_at=extracted_at)
        for result_index, result in enumerate(results or ()):
            if not isinstance(result, dict):
                writer.quarantine(RESULTS.name, str(path), f"{locator}, result {result_index}",
                                  "result is not a JSON object", result)
                continue
            writer.write_record(
                RESULTS.name, result, source_url=source, extracted_at=extracted_at,
                context={"scan_file": scan_file, "run_index": run_index, "result_index": result_index},
            )


def _not_sarif(log: Any) -> str | None:
    """Why a parsed document is not a SARIF 2.1.0 log (None when it is one)."""
    if not isinstance(log, dict):
        return f"top level is a {type(log).__name__}, not an object"
    if not isinstance(log.get("runs"), list):
        return "no 'runs' array"
    version = log.get("version")
    if version is not None and str(version) != "2.1.0":
        return f"version {version!r} (only 2.1.0 is supported)"
    return None
