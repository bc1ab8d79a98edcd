"""Scanner reports beyond SARIF: Trivy, Snyk, pip-audit, Checkov, Bandit, GitLab SAST.

Every file under the configured folder is read once; its format is detected by content
(`FORMATS`, first match wins), and it lands under that format's system as one `reports`
record per report (the document without its finding arrays) and one `findings` record per
finding, verbatim. Severity and suppression are decided in the staging views
(`stg_<system>__scan_findings`), never here.

Repository and commit (scanner JSON rarely names them) come, in this order, from a sidecar
`<report file>.meta.json` (`{"repo": "owner/name", "commit_sha": "...", "scanned_at": "..."}`)
or from the file's location matched against `path_pattern` (default
`<folder>/<owner>/<repo>/<sha>/<file>`). Both land in each record's context together with the
file's modification time, the fallback for `scanned_at` when the report carries no time.

Files are streamed (extractors/scanners/lazy.py): the document is read once to check it, with its
large arrays left in the file, and the findings are then read one at a time, so memory follows the
largest finding, not the file. A file that is not JSON, JSON in no known format, or a report whose
time (a format's `TIME_FIELDS`, or the sidecar's `scanned_at`) has no time zone or lies in the
future (core/timestamps.py), is quarantined under `scanners/files`; the other files still load.
One extraction unit per folder writes one manifest per system.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from extractors.core import ExtractionError, LandingWriter, Stream, as_utc, utc_now_iso
from extractors.core.jsonstream import JsonStreamError
from extractors.core.landing import RAW_LIMIT
from extractors.core.safe_paths import escapes
from extractors.core.timestamps import extraction_time, time_problem
from extractors.scanners import bandit, checkov, gitlab_sast, pip_audit, snyk, trivy
from extractors.scanners.lazy import materialize, read_skeleton
from flows.config import ScannersSource

SYSTEM = "scanners"
FORMATS = (trivy, gitlab_sast, snyk, pip_audit, checkov, bandit)
SIDECAR_SUFFIX = ".meta.json"
FILES = Stream(system=SYSTEM, name="files", path="{scan_file}", primary_key=())
STREAMS: tuple[Stream, ...] = (FILES,) + tuple(
    Stream(system=fmt.SYSTEM, name=name, path="{scan_file}", primary_key=())
    for fmt in FORMATS for name in ("reports", "findings")
)


def detect_format(doc: Any):
    """The format module whose report this parsed document is, or None."""
    for fmt in FORMATS:
        if fmt.detect(doc):
            return fmt
    return None


def file_provenance(config: ScannersSource, folder: Path, path: Path) -> dict[str, Any]:
    """repo, commit_sha (and a sidecar's scanned_at) for one report file, plus its mtime."""
    rel = path.relative_to(folder).as_posix()
    found: dict[str, Any] = {"repo": None, "commit_sha": None, "sidecar_scanned_at": None}
    match = re.search(config.path_pattern, rel)
    if match:
        groups = match.groupdict()
        if groups.get("owner") and groups.get("repo"):
            found["repo"] = f"{groups['owner']}/{groups['repo']}"
        found["commit_sha"] = groups.get("sha")
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except ValueError:
            meta = {}
        if isinstance(meta, dict):
            found["repo"] = meta.get("repo") or found["repo"]
            found["commit_sha"] = meta.get("commit_sha") or found["commit_sha"]
            found["sidecar_scanned_at"] = meta.get("scanned_at")
    found["file_mtime"] = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat()
    return found


def iter_report_files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if ((path.is_file() or path.is_symlink()) and path.name.lower().endswith(".json")
                and not path.name.endswith(SIDECAR_SUFFIX)):       # symlinks: checked by escapes()
            yield path


def extract_scanners(
    config: ScannersSource, landing: Path, run_id: str, since: datetime | None = None,
) -> list[Path]:
    """The scanner-report folder as one unit; returns one manifest per system."""
    folder = Path(config.path).resolve()
    if not folder.is_dir():
        raise ExtractionError(SYSTEM, str(folder), None, "scanner report folder does not exist")
    since = as_utc(since)
    unit = folder.name or "scanners"
    writers = {s: LandingWriter(landing, s, unit, run_id, folder.as_uri())
               for s in dict.fromkeys(st.system for st in STREAMS)}
    newest = None
    try:
        for stream in STREAMS:
            writers[stream.system].stream(stream.name, f"read {folder.as_posix()}/**/*.json")
        for path in iter_report_files(folder):
            problem = escapes(folder, path)
            if problem:      # a symlink out of the folder is never read
                writers[FILES.system].quarantine(FILES.name, str(path), path.relative_to(folder).as_posix(), problem)
                continue
            mtime = path.stat().st_mtime
            if since is not None and mtime < since.timestamp():
                continue
            _land_file(config, writers, folder, path)
            newest = max(newest or mtime, mtime)
        if newest is not None:  # files modified since (minus the overlap) are read next time
            writers[SYSTEM].set_cursor(FILES.name, datetime.fromtimestamp(newest, timezone.utc).isoformat())
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    return [writer.finish() for writer in writers.values()]


def _land_file(config: ScannersSource, writers: dict[str, LandingWriter], folder: Path, path: Path) -> None:
    scan_file = path.relative_to(folder).as_posix()
    source = path.as_uri()
    files = writers[SYSTEM]
    files.count_request(FILES.name)
    try:
        doc = read_skeleton(path)          # streamed: the large arrays stay in the file
    except JsonStreamError as exc:
        files.quarantine(FILES.name, str(path), scan_file, f"not valid JSON: {exc}", _head(path))
        return
    fmt = detect_format(doc)
    if fmt is None:
        files.quarantine(FILES.name, str(path), scan_file, "not a known scanner report "
                         "(Trivy, Snyk, pip-audit, Checkov, Bandit, GitLab SAST JSON)", _head(path))
        return
    base = {"scan_file": scan_file, **file_provenance(config, folder, path)}
    reports = fmt.split(doc)
    problem = _time_problem(fmt, reports, base, extraction_time())
    if problem:
        files.quarantine(FILES.name, str(path), scan_file, problem, _head(path))
        return
    writer = writers[fmt.SYSTEM]
    writer.count_request("reports")
    extracted_at = utc_now_iso()
    for report_index, report in enumerate(reports):
        count = 0
        for finding_index, finding in enumerate(report.findings):
            count += 1
            locator = f"{scan_file}, report {report_index}, finding {finding_index}"
            payload = materialize(finding.payload)
            if not isinstance(payload, dict):
                writer.quarantine("findings", str(path), locator, "finding is not a JSON object", payload)
                continue
            writer.write_record("findings", payload, source_url=source, extracted_at=extracted_at, context={
                **base, "report_index": report_index, "finding_index": finding_index,
                "kind": finding.kind, **finding.context})
        writer.write_record("reports", materialize(report.payload), source_url=source, extracted_at=extracted_at,
                            context={**base, "report_index": report_index, "count_findings": count})


def _time_problem(fmt, reports: list, base: dict, extracted) -> str | None:
    """A report time (or the sidecar's scanned_at) without a time zone or in the future."""
    problem = time_problem({"sidecar scanned_at": base.get("sidecar_scanned_at")},
                           {"sidecar scanned_at": ["sidecar scanned_at"]}, extracted)
    for report in reports:
        problem = problem or time_problem(report.payload, getattr(fmt, "TIME_FIELDS", ()), extracted,
                                          naive_utc=getattr(fmt, "NAIVE_UTC", False))
    return problem


def _head(path: Path) -> str:
    """What a quarantine entry keeps of a rejected file: its first RAW_LIMIT bytes, as text."""
    with open(path, "rb") as fh:
        return fh.read(RAW_LIMIT).decode("utf-8", "replace")
