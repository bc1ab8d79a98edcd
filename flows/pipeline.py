"""The evidence run's steps as plain functions; Prefect tasks and the CLI both call these.

extract (parallel, files only) -> load (the one DuckDB writer) -> reconcile (controls) -> report.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from flows.config import Config
from reports.registry import FORMATS, REPORTS, ReportRequest
from reports.registry import get as get_report
from warehouse.load import LoadSummary, load_landing
from warehouse.runner import evaluate
from warehouse.schema import connect

log = logging.getLogger("changetrail")

SOURCE_ORDER = ("people", "github", "gitlab", "servicenow", "jira", "pagerduty", "sarif", "scanners", "deploylog", "k8s_audit",
                "cloudtrail")


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def configured_sources(config: Config) -> list[str]:
    return [name for name in SOURCE_ORDER if getattr(config.sources, name) is not None]


def extractor_for(name: str) -> Callable[..., list[Path]]:
    """The extraction entry point of a source system (imported lazily: a source's
    dependencies are only needed when it is configured)."""
    if name == "github":
        from extractors.github import extract_github as fn
    elif name == "gitlab":
        from extractors.gitlab import extract_gitlab as fn
    elif name == "servicenow":
        from extractors.servicenow import extract_servicenow as fn
    elif name == "pagerduty":
        from extractors.pagerduty import extract_pagerduty as fn
    elif name == "jira":
        from extractors.jira import extract_jira as fn
    elif name == "sarif":
        from extractors.sarif import extract_sarif as fn
    elif name == "scanners":
        from extractors.scanners import extract_scanners as fn
    elif name == "deploylog":
        from extractors.deploylog import extract_deploylog as fn
    elif name == "k8s_audit":
        from extractors.k8s_audit import extract_k8s_audit as fn
    elif name == "cloudtrail":
        from extractors.cloudtrail import extract_cloudtrail as fn
    elif name == "people":
        from extractors.people import extract_people as fn
    else:
        raise ValueError(f"unknown source {name!r}")
    return fn


def extract_source(config: Config, name: str, run_id: str, *, full_refresh: bool = False) -> list[Path]:
    """Land one source's records; returns the manifests written.

    Incremental unless `full_refresh`: each unit is read from its last loaded cursor minus the
    source's `overlap_hours` (warehouse/cursors.py); a unit without a cursor is read whole.
    """
    import inspect

    from warehouse.cursors import since_for_source

    source = getattr(config.sources, name)
    config.warehouse.landing.mkdir(parents=True, exist_ok=True)
    extractor = extractor_for(name)
    since = None
    if not full_refresh and "since" in inspect.signature(extractor).parameters:
        since = since_for_source(config.warehouse.path, name, getattr(source, "overlap_hours", 24))
    if since is None:
        manifests = extractor(source, config.warehouse.landing, run_id)
    else:
        manifests = extractor(source, config.warehouse.landing, run_id, since=since)
    log.info("extracted %s: %d unit(s)%s", name, len(manifests),
             "" if since is None else f", incremental from {len(since.per_unit)} unit cursor(s)")
    return manifests


def load(config: Config) -> LoadSummary:
    config.warehouse.path.parent.mkdir(parents=True, exist_ok=True)
    with connect(config.warehouse.path) as con:
        summary = load_landing(con, config.warehouse.landing)
    log.info("loaded %d records from %d manifests (%d quarantined)",
             summary.total_records, summary.manifests, summary.quarantined)
    return summary


def reconcile(config: Config, period: str, evaluated_at: datetime | None = None, reevaluate: bool = False) -> str:
    """Evaluate `period`; a sealed period raises warehouse.sealing.PeriodSealed unless `reevaluate`
    (then a new, versioned run is stored beside the sealed one)."""
    with connect(config.warehouse.path) as con:
        run_id = evaluate(con, config, period, evaluated_at=evaluated_at, reevaluate=reevaluate)
    log.info("evaluated %s: run %s", period, run_id)
    return run_id


def report_dir(config: Config, period: str) -> Path:
    return config.reports.out / period


def render_reports(config: Config, period: str, run_id: str | None = None,
                   names: list[str] | None = None, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Render the named reports (default: every report in reports/registry.py) of one period."""
    out = report_dir(config, period)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    with connect(config.warehouse.path) as con:
        for name in names or list(REPORTS):
            request = ReportRequest(con, config, period, out, run_id=run_id, formats=formats)
            paths.extend(get_report(name).render(request))
    return paths


@dataclass
class RunResult:
    run_id: str
    evaluation_run_id: str
    load: LoadSummary
    reports: list[Path]
