"""Deployments from any CD tool's log: JSON Lines or CSV, read through a column mapping.

`path` is one file or a folder of `*.jsonl|*.ndjson|*.json` (one JSON object per line) and
`*.csv` (header row) files. Every line lands verbatim as one `deployments` record; the mapping
(`columns`: field -> CSV column or dotted JSON key; `statuses`: tool status -> GitHub-style
state) lands in its context as JSON paths, and the staging views `stg_deploylog__deployments`
and `stg_deploylog__deployment_statuses` read each field through it. Fields:

  deployment_id, repo (owner/name, or a service name made owner/name with `repo_prefix`), sha,
  ref, environment, status, started_at, finished_at, deployer (the identity that ran it),
  triggered_by (the human behind a bot), description, ticket, task (e.g. deploy:rollback), url

A field not in `columns` is read from the column of the same name. A line that is not valid
JSON, not valid UTF-8, is not an object, has no deployment id or repository, has a started_at /
finished_at text without a time zone (ambiguous) or more than a day after the extraction (a
record from the future) is quarantined with its reason; the rest of the file still lands. Files
are read line by line (bounded memory, however large), and a file reached through a symlink
that leads outside the configured folder is quarantined, never read.
"""
from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from extractors.core import ExtractionError, LandingWriter, Stream, as_utc, utc_now_iso
from extractors.core.safe_paths import escapes
from extractors.core.timestamps import extraction_time, time_problem, value_at
from flows.config import DeployLogSource

SYSTEM = "deploylog"
FIELDS = ("deployment_id", "repo", "sha", "ref", "environment", "status", "started_at", "finished_at",
          "deployer", "triggered_by", "description", "ticket", "task", "url")
REQUIRED = ("deployment_id", "repo")
TIME_FIELDS = ("started_at", "finished_at")      # no zone or in the future: quarantined (core/timestamps.py)
SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")
DEFAULT_STATUSES = {
    **dict.fromkeys(("success", "succeeded", "successful", "ok", "done", "completed", "deployed", "healthy"), "success"),
    **dict.fromkeys(("failure", "failed", "fail", "degraded", "unhealthy"), "failure"),
    **dict.fromkeys(("error", "errored", "canceled", "cancelled", "aborted", "timed_out", "timeout"), "error"),
    **dict.fromkeys(("in_progress", "running", "started", "progressing", "deploying"), "in_progress"),
    **dict.fromkeys(("queued", "pending", "waiting", "scheduled"), "queued"),
    **dict.fromkeys(("inactive", "superseded", "rolled_back"), "inactive"),
}
DEPLOYMENTS = Stream(system=SYSTEM, name="deployments", path="{log_file}", primary_key=())
STREAMS: tuple[Stream, ...] = (DEPLOYMENTS,)


def field_keys(config: DeployLogSource, is_csv: bool) -> dict[str, list[str]]:
    """field -> the keys leading to its value: a CSV header is one key (dots and all), a JSON
    Lines column 'commit.sha' is the path ['commit', 'sha']."""
    unknown = set(config.columns) - set(FIELDS)
    if unknown:
        raise ValueError(f"deploylog columns: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(FIELDS)}")
    columns = {f: config.columns.get(f, f) for f in FIELDS}
    return {f: [c] if is_csv else c.split(".") for f, c in columns.items()}


def json_path(keys: list[str]) -> str:
    """['commit', 'sha'] -> '$."commit"."sha"' (what the staging views extract with)."""
    return "$." + ".".join(json.dumps(k) for k in keys)


def iter_log_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for candidate in sorted(path.rglob("*")):
        if (candidate.is_file() or candidate.is_symlink()) and candidate.name.lower().endswith(SUFFIXES):
            yield candidate


def _json_rows(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed row, error) for each non-blank line of a JSON Lines file."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if _undecodable(line):
                yield line_no, _printable(line.rstrip("\n")), "not valid UTF-8 text"
                continue
            try:
                yield line_no, json.loads(line), None
            except ValueError as exc:
                yield line_no, line.rstrip("\n"), f"not valid JSON: {exc}"


def _csv_rows(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            if any(_undecodable(v) for v in [*row.values(), *row.keys()] if isinstance(v, str)):
                yield reader.line_num, _printable(json.dumps(row, ensure_ascii=False, default=str)), "not valid UTF-8 text"
                continue
            if None in row:      # more cells than headers
                yield reader.line_num, {**row, None: row[None]}, "row has more cells than the header"
                continue
            yield reader.line_num, row, None


def _undecodable(text: str) -> bool:
    """True when `text` carries bytes that were not UTF-8 (kept as lone surrogates on reading)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _printable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def extract_deploylog(
    config: DeployLogSource, landing: Path, run_id: str, since: datetime | None = None,
) -> list[Path]:
    """The deploy log (file or folder) as one extraction unit; returns its manifest in a list."""
    root = Path(config.path).resolve()
    if not root.exists():
        raise ExtractionError(SYSTEM, str(root), None, "deploy log path does not exist")
    since = as_utc(since)
    statuses = {**DEFAULT_STATUSES, **{k.lower(): v for k, v in config.statuses.items()}}
    writer = LandingWriter(landing, SYSTEM, root.stem or SYSTEM, run_id, root.as_uri())
    try:
        writer.stream(DEPLOYMENTS.name, f"read {root.as_posix()}" + ("" if root.is_file() else "/**/*.jsonl|*.csv"))
        for path in iter_log_files(root):
            problem = escapes(root if root.is_dir() else root.parent, path)
            if problem:
                writer.quarantine(DEPLOYMENTS.name, str(path), path.name, problem)
                continue
            if since is not None and path.stat().st_mtime < since.timestamp():
                continue
            _land_file(writer, config, root, path, statuses)
    except BaseException:
        writer.abort()
        raise
    return [writer.finish()]


def _land_file(writer: LandingWriter, config: DeployLogSource, root: Path, path: Path,
               statuses: dict[str, str]) -> None:
    log_file = path.name if root.is_file() else path.relative_to(root).as_posix()
    is_csv = path.name.lower().endswith(".csv")
    keys = field_keys(config, is_csv)
    paths = {f: json_path(k) for f, k in keys.items()}
    writer.count_request(DEPLOYMENTS.name)
    source, extracted_at = path.as_uri(), utc_now_iso()
    now = extraction_time()
    rows = _csv_rows(path) if is_csv else _json_rows(path)
    for line_no, row, error in rows:
        locator = f"{log_file}, line {line_no}"
        if error or not isinstance(row, dict):
            writer.quarantine(DEPLOYMENTS.name, str(path), locator, error or "line is not a JSON object", row)
            continue
        missing = [f for f in REQUIRED if value_at(row, keys[f]) in (None, "")]
        if missing:
            writer.quarantine(DEPLOYMENTS.name, str(path), locator,
                              f"no {' or '.join(missing)} (column {', '.join(repr(config.columns.get(f, f)) for f in missing)})", row)
            continue
        problem = time_problem(row, {f: keys[f] for f in TIME_FIELDS}, now)
        if problem:
            writer.quarantine(DEPLOYMENTS.name, str(path), locator, problem, row)
            continue
        writer.write_record(DEPLOYMENTS.name, row, source_url=source, extracted_at=extracted_at, context={
            "log_file": log_file, "line_no": line_no, "paths": paths, "statuses": statuses,
            "repo_prefix": config.repo_prefix})

