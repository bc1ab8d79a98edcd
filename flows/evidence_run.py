"""Prefect flow `evidence-run`: extract -> load -> reconcile -> report, as thin tasks.

Extraction units run concurrently and only write landing files; `load_landed` is the single
task that writes DuckDB (DESIGN rule 5).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows import pipeline
from flows.config import Config, load_config


@task(name="extract_source", retries=2, retry_delay_seconds=[10, 60])
def extract_source(config: Config, name: str, run_id: str) -> list[Path]:
    return pipeline.extract_source(config, name, run_id)


@task(name="load_landed")
def load_landed(config: Config) -> pipeline.LoadSummary:
    return pipeline.load(config)


@task(name="reconcile_period")
def reconcile_period(config: Config, period: str, evaluated_at: datetime | None = None,
                     reevaluate: bool = False) -> str:
    return pipeline.reconcile(config, period, evaluated_at, reevaluate)


@task(name="render_reports")
def render_reports(config: Config, period: str, evaluation_run_id: str) -> list[Path]:
    return pipeline.render_reports(config, period, evaluation_run_id)


@flow(name="evidence-run", log_prints=False)
def evidence_run(period: str, config_path: Path, evaluated_at: datetime | None = None,
                 reevaluate: bool = False) -> pipeline.RunResult:
    logger = get_run_logger()
    config = load_config(config_path)
    run_id = pipeline.new_run_id()
    futures = [extract_source.submit(config, name, run_id) for name in pipeline.configured_sources(config)]
    for future in futures:
        future.result()  # a failed source fails the run, naming the source and endpoint
    summary = load_landed(config)
    evaluation_run_id = reconcile_period(config, period, evaluated_at, reevaluate)
    # a re-evaluation of a sealed period does not replace its reports: None selects the sealed run
    paths = render_reports(config, period, None if reevaluate else evaluation_run_id)
    create_table_artifact(
        key="evidence-run-summary",
        table=[{"stream": k, "records": v} for k, v in sorted(summary.records.items())],
        description=f"Records loaded for {period} (run {run_id})",
    )
    logger.info("reports: %s", ", ".join(str(p) for p in paths))
    return pipeline.RunResult(run_id, evaluation_run_id, summary, paths)
