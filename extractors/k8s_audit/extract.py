"""Kubernetes audit logs: the successful writes to workloads and their configuration.

The audit backend writes one `audit.k8s.io/v1` Event per line (JSON Lines, often rotated and
gzipped). The folder holds one sub-folder per cluster (`<path>/<cluster>/kube-apiserver-audit.log`,
`...log.gz`, `...json[l]`); files directly under `<path>` belong to a cluster named like the folder.

The extraction *selects* (like an API query, recorded in the manifest): stage
`ResponseComplete`, verb create/update/patch/delete, a 2xx `responseStatus.code` and an
`objectRef.resource` of interest (config `resources`). Reads, watches, other stages and the
control plane's lease renewals are not evidence of a change and are not landed. Each selected
event lands verbatim; a line that is not JSON, an event without `auditID`, or one whose
timestamps have no time zone or lie in the future (core/timestamps.py) is quarantined
("<cluster>/<file> line N").

The envelope's context carries what the configuration says about the event (never the judgment):
`cluster`, `environment` (`production` when the cluster is in `production_clusters`), `actor_kind`
(`service`/`human`/`unknown` by the identity patterns) and `service` (the repository the
`services` map names for the object's namespace/name, if any).
"""
from __future__ import annotations

import fnmatch
import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from extractors.core import Extraction, ExtractionError, Stream, as_utc, utc_now_iso
from extractors.core.timestamps import extraction_time, time_problem
from flows.config import K8sAuditSource

SYSTEM = "k8s_audit"
VERBS = ("create", "update", "patch", "delete")
SUFFIXES = (".log", ".json", ".jsonl", ".log.gz", ".json.gz", ".jsonl.gz")
EVENTS = Stream(system=SYSTEM, name="events", path="{file}", primary_key=("auditID",))
STREAMS: tuple[Stream, ...] = (EVENTS,)
TIME_FIELDS = ("requestReceivedTimestamp", "stageTimestamp")   # no zone / future: quarantined


def iter_audit_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(cluster, file) for every audit log file under `folder`, in a stable order."""
    for path in sorted(folder.rglob("*")):
        name = path.name.lower()
        if not path.is_file() or not (name.endswith(SUFFIXES) or ".log." in name):
            continue
        parts = path.relative_to(folder).parts
        yield (parts[0] if len(parts) > 1 else folder.name), path


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a plain or gzip text file; blank lines skipped."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            if line.strip():
                yield line_no, line.rstrip("\n")


def classify_identity(identity: str | None, service_patterns: list[str], human_patterns: list[str]) -> str:
    """'service' / 'human' / 'unknown' for an identity by glob patterns (service checked first)."""
    if not identity:
        return "unknown"
    if any(fnmatch.fnmatchcase(identity, p) for p in service_patterns):
        return "service"
    if any(fnmatch.fnmatchcase(identity, p) for p in human_patterns):
        return "human"
    return "unknown"


def is_selected(event: dict[str, Any], resources: set[str]) -> bool:
    """The selection: a completed, successful write to a resource of interest."""
    if event.get("stage") != "ResponseComplete" or event.get("verb") not in VERBS:
        return False
    code = (event.get("responseStatus") or {}).get("code")
    if not isinstance(code, int) or not 200 <= code < 300:
        return False
    return ((event.get("objectRef") or {}).get("resource") or "") in resources


def mapped_service(services: dict[str, str], namespace: str | None, name: str | None) -> str | None:
    """The repository configured for `<namespace>/<name>`, else for `<namespace>`."""
    if namespace and name and f"{namespace}/{name}" in services:
        return services[f"{namespace}/{name}"]
    if namespace and namespace in services:
        return services[namespace]
    return None


def extract_k8s_audit(
    config: K8sAuditSource, landing: Path, run_id: str, since: datetime | None = None,
) -> list[Path]:
    """The audit folder as one extraction unit; returns its manifest path in a list."""
    folder = Path(config.path).resolve()
    if not folder.is_dir():
        raise ExtractionError(SYSTEM, str(folder), None, "audit log folder does not exist")
    since = as_utc(since)
    resources = set(config.resources)
    query = (f"read {folder.as_posix()}/<cluster>/*.log|*.json|*.jsonl[.gz] where stage=ResponseComplete"
             f" and verb in ({','.join(VERBS)}) and responseStatus.code 2xx"
             f" and objectRef.resource in ({','.join(sorted(resources))})")
    with Extraction(SYSTEM, folder.name or "k8s_audit", landing, run_id, base_url=folder.as_uri()) as ex:
        ex.writer.stream(EVENTS.name, query)
        newest = None
        for cluster, path in iter_audit_files(folder):
            mtime = path.stat().st_mtime
            if since is not None and mtime < since.timestamp():
                continue
            _land_file(ex, config, folder, cluster, path, resources)
            newest = max(newest or mtime, mtime)
        if newest is not None:  # files modified since (minus the overlap) are read next time
            ex.writer.set_cursor(EVENTS.name, datetime.fromtimestamp(newest, timezone.utc).isoformat())
        return [ex.finish()]


def _land_file(ex: Extraction, config: K8sAuditSource, folder: Path, cluster: str, path: Path,
               resources: set[str]) -> None:
    writer = ex.writer
    writer.count_request(EVENTS.name)
    source_file = path.relative_to(folder).as_posix()
    environment = "production" if cluster in config.production_clusters else "non-production"
    extracted_at, now = utc_now_iso(), extraction_time()
    try:
        for line_no, text in read_lines(path):
            locator = f"{source_file} line {line_no}"
            try:
                event = json.loads(text)
            except ValueError as exc:
                writer.quarantine(EVENTS.name, str(path), locator, f"not valid JSON: {exc}", text)
                continue
            events = event.get("items") if isinstance(event, dict) and event.get("kind") == "EventList" else [event]
            for item in events or ():
                if not isinstance(item, dict):
                    writer.quarantine(EVENTS.name, str(path), locator, "audit event is not a JSON object", item)
                    continue
                if not is_selected(item, resources):
                    continue
                if not item.get("auditID"):
                    writer.quarantine(EVENTS.name, str(path), locator, "missing required key 'auditID'", item)
                    continue
                problem = time_problem(item, TIME_FIELDS, now)
                if problem:
                    writer.quarantine(EVENTS.name, str(path), locator, problem, item)
                    continue
                ref = item.get("objectRef") or {}
                user = (item.get("user") or {}).get("username")
                context = {
                    "cluster": cluster, "file": source_file, "line": line_no, "environment": environment,
                    "actor_kind": classify_identity(user, config.service_identity_patterns,
                                                    config.human_identity_patterns),
                    "service": mapped_service(config.services, ref.get("namespace"), _object_name(item)),
                }
                writer.write_record(EVENTS.name, item, context=context, source_url=path.as_uri(),
                                    extracted_at=extracted_at)
    except (OSError, EOFError, UnicodeError) as exc:  # a truncated gzip: keep what was read
        writer.quarantine(EVENTS.name, str(path), source_file, f"unreadable file: {exc}")


def _object_name(event: dict[str, Any]) -> str | None:
    """objectRef.name, else (a create) the name in the request or response object."""
    name = (event.get("objectRef") or {}).get("name")
    for key in ("requestObject", "responseObject"):
        obj = event.get(key)
        if not name and isinstance(obj, dict):
            name = (obj.get("metadata") or {}).get("name")
    return name
