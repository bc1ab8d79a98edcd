"""SARIF extraction: every SARIF 2.1.0 file under a folder, as runs and results.

Each run lands as one `runs` record (the run object without its `results` array - tool, rules,
extensions, invocations and version-control provenance are what the staging view needs to judge
a result) and each result verbatim as one `results` record. Severity, effective level and
suppression are decided in SQL (`stg_sarif__scan_findings`), not here: extractors never judge.

Files are streamed (extractors/core/jsonstream.py), never read whole: a first pass checks the
whole file and keeps each run without its results, a second lands the results one at a time, so a
log of hundreds of MB takes memory for one result, not for the file. A file that is not JSON
(truncated, not UTF-8), or JSON that is not a SARIF 2.1.0 log, is quarantined whole, before any of
it lands, and the other files still load; a run whose invocation start/end time, or a result whose
detection time (`provenance`), has no time zone or lies in the future is quarantined with its
reason (core/timestamps.py); so is a file reached through a symlink that leads
outside the folder (never read). The unit's cursor is the newest modification time it read, so an
incremental run (`since` = that cursor minus the overlap) reads only files modified since: the
day's scans, not every scan the folder ever held.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from extractors.core import Extraction, ExtractionError, Stream, as_utc, utc_now_iso
from extractors.core.jsonstream import JsonReader, JsonStreamError
from extractors.core.landing import RAW_LIMIT
from extractors.core.safe_paths import escapes
from extractors.core.timestamps import extraction_time, time_problem
from flows.config import SarifSource

SYSTEM = "sarif"
SUFFIXES = (".sarif", ".sarif.json", ".json")
RUNS = Stream(system=SYSTEM, name="runs", path="{scan_file}", primary_key=("tool",))
RESULTS = Stream(system=SYSTEM, name="results", path="{scan_file}", primary_key=())
STREAMS: tuple[Stream, ...] = (RUNS, RESULTS)
RUN_TIME_FIELDS = ("startTimeUtc", "endTimeUtc")          # of each invocation
RESULT_TIME_FIELDS = ("provenance.firstDetectionTimeUtc", "provenance.lastDetectionTimeUtc")


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
        newest = None
        for path in iter_sarif_files(folder):
            problem = escapes(folder, path)
            if problem:
                writer.quarantine(RUNS.name, str(path), path.relative_to(folder).as_posix(), problem)
                continue
            mtime = path.stat().st_mtime
            if since is not None and mtime < since.timestamp():
                continue
            _land_file(ex, folder, path)
            newest = max(newest or mtime, mtime)
        if newest is not None:  # files modified since (minus the overlap) are read next time
            writer.set_cursor(RUNS.name, datetime.fromtimestamp(newest, timezone.utc).isoformat())
        return [ex.finish()]


@dataclass
class _Run:
    """One run as the survey saw it: the run without its results, and what its results were."""
    meta: Any                          # the run object without `results` (or whatever the item was)
    results: str = "absent"            # absent | list | <the type name of a non-array value>
    count: int = 0
    problem: str | None = None         # why this run (and its results) is quarantined


@dataclass
class _Survey:
    version: Any = None
    runs: list[_Run] | None = None     # None: no 'runs' array
    top: str = "dict"
    problem: str | None = None


def _survey(path: Path) -> _Survey:
    """Pass 1: the whole file read once, result by result (bounded memory), keeping only the
    version and each run without its results. Raises JsonStreamError when it is not JSON."""
    out = _Survey()
    with JsonReader.open(path) as reader:
        out.top = reader.kind()
        if out.top != "dict":
            reader.skip()
            reader.end()
            return out
        for key in reader.members():
            if key == "version":
                out.version = reader.value()
            elif key == "runs" and out.runs is not None:
                out.problem = "the 'runs' key appears twice"
                reader.skip()
            elif key == "runs" and reader.kind() == "list":
                out.runs = []
                for _ in reader.items():
                    out.runs.append(_survey_run(reader))
        reader.end()
    return out


def _survey_run(reader: JsonReader) -> _Run:
    if reader.kind() != "dict":
        return _Run(meta=reader.value())
    run = _Run(meta={})
    for key in reader.members():
        if key != "results":
            run.meta[key] = reader.value()
        elif reader.kind() == "list":
            run.results = "list"
            for _ in reader.items():
                reader.skip()
                run.count += 1
        else:
            run.results = reader.kind()
            run.meta["results"] = reader.value()
    return run


def _run_problem(run: _Run, extracted: datetime) -> str | None:
    if not isinstance(run.meta, dict) or not isinstance(run.meta.get("tool"), dict):
        return "run has no 'tool' object"
    if run.results not in ("absent", "list") and run.meta.get("results") is not None:
        return "run 'results' is not an array"
    for index, invocation in enumerate(run.meta.get("invocations") or ()):
        problem = time_problem(invocation, {f"invocations[{index}].{f}": [f] for f in RUN_TIME_FIELDS}, extracted)
        if problem:
            return problem
    return None


def _land_file(ex: Extraction, folder: Path, path: Path) -> None:
    writer = ex.writer
    scan_file = path.relative_to(folder).as_posix()
    source = path.as_uri()
    writer.count_request(RUNS.name)
    try:
        survey = _survey(path)
    except JsonStreamError as exc:
        writer.quarantine(RUNS.name, str(path), scan_file, f"not valid JSON: {exc}", _head(path))
        return
    problem = survey.problem or _not_sarif(survey)
    if problem:
        writer.quarantine(RUNS.name, str(path), scan_file, f"not a SARIF 2.1.0 log: {problem}", _head(path))
        return
    extracted_at, extracted = utc_now_iso(), extraction_time()
    landing: set[int] = set()
    for run_index, run in enumerate(survey.runs or ()):
        locator = f"{scan_file}, run {run_index}"
        run.problem = _run_problem(run, extracted)
        if run.problem:
            raw = run.meta if run.results != "list" else {**run.meta, "results": f"<{run.count} results>"}
            writer.quarantine(RUNS.name, str(path), locator, run.problem, raw)
            continue
        run_record = {k: v for k, v in run.meta.items() if k != "results"}
        context = {"scan_file": scan_file, "run_index": run_index}
        writer.write_record(RUNS.name, run_record, context=context, source_url=source, extracted_at=extracted_at)
        if run.count:
            landing.add(run_index)
    if landing:
        _land_results(writer, path, scan_file, landing, extracted_at, extracted)


def _land_results(writer, path: Path, scan_file: str, runs: set[int], extracted_at: str,
                  extracted: datetime) -> None:
    """Pass 2: the results of the accepted runs, one at a time (the file is known to be valid)."""
    with JsonReader.open(path) as reader:
        for key in reader.members():
            if key != "runs":
                continue
            for run_index in reader.items():
                if run_index not in runs:
                    continue
                for run_key in reader.members():
                    if run_key != "results":
                        continue
                    for result_index in reader.items():
                        _land_result(writer, path, scan_file, run_index, result_index, reader.value(),
                                     extracted_at, extracted)
            return


def _land_result(writer, path: Path, scan_file: str, run_index: int, result_index: int, result: Any,
                 extracted_at: str, extracted: datetime) -> None:
    locator = f"{scan_file}, run {run_index}, result {result_index}"
    if not isinstance(result, dict):
        writer.quarantine(RESULTS.name, str(path), locator, "result is not a JSON object", result)
        return
    problem = time_problem(result, RESULT_TIME_FIELDS, extracted)
    if problem:
        writer.quarantine(RESULTS.name, str(path), locator, problem, result)
        return
    writer.write_record(
        RESULTS.name, result, source_url=path.as_uri(), extracted_at=extracted_at,
        context={"scan_file": scan_file, "run_index": run_index, "result_index": result_index},
    )


def _head(path: Path) -> str:
    """What a quarantine entry keeps of a rejected file: its first RAW_LIMIT bytes, as text."""
    with open(path, "rb") as fh:
        return fh.read(RAW_LIMIT).decode("utf-8", errors="replace")


def _not_sarif(survey: _Survey) -> str | None:
    """Why a surveyed document is not a SARIF 2.1.0 log (None when it is one)."""
    if survey.top != "dict":
        return f"top level is a {survey.top}, not an object"
    if survey.runs is None:
        return "no 'runs' array"
    version = survey.version
    if version is not None and str(version) != "2.1.0":
        return f"version {version!r} (only 2.1.0 is supported)"
    return None
