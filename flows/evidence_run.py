"""Prefect flow `evidence-run`: extract -> load -> reconcile -> report, as thin tasks.

Extraction units run concurrently and only write landing files; `load_landed` is the single
task that writes DuckDB (DESIGN rule 5).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows import pipeline
from flows.config import Config, load_config
from flows.runlock import RunLock, set_aside_unloaded
from warehouse.periods import period_of


def _worth_retrying(task, task_run, state) -> bool:
    """Network steps retry with back-off; an answer that will not change (401, 404, a missing
    credential variable) fails at once."""
    from extractors.core.errors import HttpStatusError, MissingCredentialError

    return not isinstance(state.result(raise_on_failure=False), (HttpStatusError, MissingCredentialError))


# retries and back-off come from [schedules] (flows/schedules.py) via with_options in the flow
LOCK_WAIT_SECONDS = 300  # a second run waits this long for the first, then refuses naming it


@task(name="extract_source", task_run_name="extract {name}", retries=2, retry_delay_seconds=[10, 60, 300],
      retry_condition_fn=_worth_retrying)
def extract_source(config: Config, name: str, run_id: str) -> list[Path]:
    with pipeline.step("extract", name):
        return pipeline.extract_source(config, name, run_id)


@task(name="load_landed", retries=0)  # the single writer: never retried blindly
def load_landed(config: Config) -> pipeline.LoadSummary:
    with pipeline.step("load"):
        return pipeline.load(config)


@task(name="reconcile_period", task_run_name="reconcile {period}")
def reconcile_period(config: Config, period: str, evaluated_at: datetime | None = None,
                     reevaluate: bool = False, incremental: bool = False) -> str:
    """`incremental`: the daily run's evaluation (warehouse/incremental.py); quarter close runs in full."""
    with pipeline.step("reconcile", period):
        return pipeline.reconcile(config, period, evaluated_at, reevaluate, incremental=incremental)


@task(name="render_reports", task_run_name="render reports {period}")
def render_reports(config: Config, period: str, evaluation_run_id: str | None) -> list[Path]:
    with pipeline.step("render reports", period):
        return pipeline.render_reports(config, period, evaluation_run_id)


def extraction_runner(config: Config, sources: int) -> TaskRunner:
    """The task runner of the extraction tasks, from `[schedules] task_runner` and `task_workers`:
    threads of this process (default) or a pool of worker processes. With a Prefect server the
    flow itself can run on any worker of a work pool (prefect.yaml); this spreads its sources."""
    workers = config.schedules.task_workers or max(1, sources)
    if config.schedules.task_runner == "processes":
        return ProcessPoolTaskRunner(max_workers=workers)
    return ThreadPoolTaskRunner(max_workers=workers)


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys: lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def publish_reports(key: str, period: str, paths: list[Path]) -> None:
    """One markdown artifact (stable key) linking every report file written."""
    rows = "\n".join(f"| [{p.name}]({p.resolve().as_uri()}) | {p.suffix.lstrip('.')} |" for p in paths)
    create_markdown_artifact(key=key, markdown=f"# Reports {period}\n\n| file | format |\n|---|---|\n{rows}\n",
                             description=f"Reports of {period}")


@flow(name="evidence-run", log_prints=False)
def evidence_run(config_path: Path, period: str | None = None, evaluated_at: datetime | None = None,
                 reevaluate: bool = False, render: bool = True) -> pipeline.RunResult:
    """`period` None = the running quarter (the daily deployment); `render` False skips the reports."""
    logger = get_run_logger()
    config = load_config(config_path)
    period = period or period_of(evaluated_at or datetime.now(timezone.utc)).name
    extract = extract_source.with_options(retries=config.schedules.extract_retries,
                                          retry_delay_seconds=config.schedules.retry_delays() or 0)
    # one run at a time per warehouse; a run killed earlier is recovered first (flows/runlock.py)
    with RunLock(config.warehouse.path, pipeline.new_run_id(), wait=LOCK_WAIT_SECONDS) as lock:
        run_id, stage, evaluation_run_id = lock.holder.run_id, "extract", None
        if lock.stale is not None:
            stage, run_id, evaluation_run_id = pipeline.recover(config, lock.stale, set_aside_unloaded)
            lock.holder.run_id = run_id
        summary = pipeline.LoadSummary()
        if stage == "extract":
            lock.stage("extract")
            try:
                sources = pipeline.configured_sources(config)
                with extraction_runner(config, len(sources)) as runner:
                    futures = [runner.submit(extract, {"config": config, "name": name, "run_id": run_id})
                               for name in sources]
                    for future in futures:
                        future.result()  # a failed source fails the run, naming the source and endpoint
                lock.stage("load")
                summary = load_landed(config)
            except BaseException:  # failed before its load committed: nothing of it may load later
                if not pipeline.loaded(config, run_id):
                    set_aside_unloaded(config.warehouse.landing, run_id)
                raise
        if stage in ("extract", "reconcile"):
            lock.stage("reconcile")
            evaluation_run_id = reconcile_period(config, period, evaluated_at, reevaluate,
                                                 incremental=config.warehouse.incremental and not reevaluate)
        lock.stage("report", evaluation_run_id)
        # a re-evaluation of a sealed period does not replace its reports: None selects the sealed run
        paths = render_reports(config, period, None if reevaluate else evaluation_run_id) if render else []
    create_table_artifact(
        key="evidence-run-summary",
        table=[{"stream": k, "records": v} for k, v in sorted(summary.records.items())],
        description=f"Records loaded for {period} (run {run_id})",
    )
    if paths:
        publish_reports("evidence-run-reports", period, paths)
    logger.info("reports: %s", ", ".join(str(p) for p in paths))
    return pipeline.RunResult(run_id, evaluation_run_id, summary, paths)
