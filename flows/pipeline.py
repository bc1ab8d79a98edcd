"""The evidence run's steps as plain functions; Prefect tasks and the CLI both call these.

extract (parallel, files only) -> load (the one DuckDB writer) -> reconcile (controls) -> report.
"""
from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from extractors.core.faults import checkpoint
from flows.config import Config
from reports.registry import FORMATS, REPORTS, ReportRequest
from reports.registry import get as get_report
from warehouse.integrity import record_reports
from warehouse.load import LoadSummary, load_landing
from warehouse.runner import evaluate

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
    checkpoint("extract.before_source")
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
    checkpoint("extract.after_source")
    return manifests


def load(config: Config) -> LoadSummary:
    config.warehouse.path.parent.mkdir(parents=True, exist_ok=True)
    with config.warehouse.connect() as con:
        summary = load_landing(con, config.warehouse.landing)
    log.info("loaded %d records from %d manifests (%d quarantined)",
             summary.total_records, summary.manifests, summary.quarantined)
    return summary


def reconcile(config: Config, period: str, evaluated_at: datetime | None = None, reevaluate: bool = False,
              incremental: bool = False) -> str:
    """Evaluate `period`; a sealed period raises warehouse.sealing.PeriodSealed unless `reevaluate`
    (then a new, versioned run is stored beside the sealed one). `incremental` recomputes only the
    controls whose inputs received rows since the previous run (warehouse/incremental.py)."""
    with config.warehouse.connect() as con:
        run_id = evaluate(con, config, period, evaluated_at=evaluated_at, reevaluate=reevaluate,
                          incremental=incremental)
    log.info("evaluated %s: run %s", period, run_id)
    return run_id


def report_dir(config: Config, period: str) -> Path:
    return config.reports.out / period


def render_reports(config: Config, period: str, run_id: str | None = None,
                   names: list[str] | None = None, formats: tuple[str, ...] = FORMATS,
                   options: dict | None = None) -> list[Path]:
    """Render the named reports (default: every report in reports/registry.py) of one period;
    `options` go to each report as `request.options` (e.g. the digest's `team`)."""
    out = report_dir(config, period)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    with config.warehouse.connect() as con:
        for name in names or list(REPORTS):
            checkpoint("report.before_render")
            request = ReportRequest(con, config, period, out, run_id=run_id, formats=formats,
                                    options=dict(options or {}))
            paths.extend(get_report(name).render(request))
        checkpoint("report.before_record")
        record_reports(con, paths, root=config.reports.out)  # chained hashes: `verify` sees a changed byte
        checkpoint("report.after_record")
    return paths


@dataclass
class RunResult:
    run_id: str
    evaluation_run_id: str
    load: LoadSummary
    reports: list[Path]


class StepError(RuntimeError):
    """A run step failed on something other than a source or load error; names the step."""


@contextmanager
def step(name: str, source: str | None = None):
    """Prefix any error raised inside with the step (and source): 'extract github: GET ... failed'.

    The error keeps its type (the CLI and task retry conditions look at it); one whose text cannot
    be changed is wrapped in StepError."""
    prefix = f"{name} {source}" if source else name
    try:
        yield
    except Exception as exc:
        text = str(exc)
        if text.startswith(f"{prefix}:"):
            raise
        if source and text.startswith(f"{source}: "):
            text = text[len(source) + 2:]
        exc.args = (f"{prefix}: {text}",)
        if str(exc) != f"{prefix}: {text}":
            raise StepError(f"{prefix}: {type(exc).__name__}: {text}") from exc
        raise


def run_pipeline(config: Config, period: str, *, evaluated_at: datetime | None = None,
                 report_names: list[str] | None = None, formats: tuple[str, ...] = FORMATS,
                 wait: float = 0.0) -> RunResult:
    """The whole run - extract every source, load, reconcile, render - under the warehouse's run
    lock (flows/runlock.py). A run killed earlier is recovered first: set aside if its load never
    committed, otherwise resumed after the step it finished, so the end state is the one an
    uninterrupted run reaches."""
    from flows.runlock import RunLock, set_aside_unloaded

    with RunLock(config.warehouse.path, new_run_id(), wait=wait) as lock:
        run_id, stage, evaluation_run_id = lock.holder.run_id, "extract", None
        if lock.stale is not None:
            stage, run_id, evaluation_run_id = recover(config, lock.stale, set_aside_unloaded)
            lock.holder.run_id = run_id
        summary = LoadSummary()
        if stage == "extract":
            lock.stage("extract")
            try:
                for name in configured_sources(config):
                    extract_source(config, name, run_id)
                lock.stage("load")
                summary = load(config)
            except BaseException:   # failed before its load committed: nothing of it may load later
                if not loaded(config, run_id):
                    set_aside_unloaded(config.warehouse.landing, run_id)
                raise
        if stage in ("extract", "reconcile"):
            lock.stage("reconcile")
            evaluation_run_id = reconcile(config, period, evaluated_at, incremental=config.warehouse.incremental)
        lock.stage("report", evaluation_run_id)
        paths = render_reports(config, period, evaluation_run_id, names=report_names, formats=formats)
    return RunResult(run_id, evaluation_run_id or "", summary, paths)


def recover(config: Config, stale, set_aside) -> tuple[str, str, str | None]:
    """(step to start at, run_id, evaluation run) after a killed run `stale` (a runlock.Holder)."""
    if not loaded(config, stale.run_id):
        moved = set_aside(config.warehouse.landing, stale.run_id)
        log.warning("recovered killed %s: its unloaded landing output (%d item(s)) set aside; extracting again",
                    stale.describe(), len(moved))
        return "extract", new_run_id(), None
    if stale.stage == "report" and stale.evaluation_run_id:
        log.warning("resuming killed %s at its reports", stale.describe())
        return "report", stale.run_id, stale.evaluation_run_id
    log.warning("resuming killed %s at reconcile (its load had committed)", stale.describe())
    return "reconcile", stale.run_id, None


def loaded(config: Config, run_id: str) -> bool:
    """Whether a load of `run_id`'s manifests committed."""
    if not config.warehouse.path.exists():
        return False
    with config.warehouse.connect() as con:
        return bool(con.execute("select count(*) from raw._manifests where run_id = ?", [run_id]).fetchone()[0])
