"""Prefect flow `quarter-close`: every registered report of the quarter just ended, then its seal.

Scheduled `schedules.quarter_close.days_after_quarter_end` days after the quarter ends
(flows/schedules.py). Steps:

1. reconcile the quarter over everything loaded so far (the daily run keeps extracting), unless
   it is sealed already;
2. render every report in reports/registry.py, one task each (a failure names the report);
3. seal that evaluation run once `sealing.grace_days` have passed since the quarter's end;
   earlier, the run ends with the seal pending (the artifact says from when) — seal it then with
   `changetrail seal` or by running this deployment again.

Idempotent: a sealed quarter is never evaluated or sealed again; a re-run only re-renders its
reports from the sealed run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows import pipeline
from flows.config import Config, load_config
from flows.evidence_run import artifact_key, publish_reports, reconcile_period
from reports.registry import REPORTS
from warehouse import sealing
from warehouse.periods import parse_period, period_of

SEALED_BY = "changetrail quarter-close"


@dataclass
class CloseResult:
    period: str
    run_id: str                     # the evaluation run the reports show (the sealed one once sealed)
    reports: list[Path]
    seal: sealing.Seal | None       # the seal made by this run
    already_sealed: bool
    sealable_from: datetime

    @property
    def status(self) -> str:
        if self.already_sealed:
            return "already sealed"
        if self.seal is not None:
            return "sealed"
        return f"seal pending until {self.sealable_from:%Y-%m-%d}"


def previous_quarter(now: datetime) -> str:
    """The quarter that ended most recently before `now`."""
    return period_of(period_of(now).start - timedelta(days=1)).name


def sealed_run(config: Config, period: str) -> str | None:
    with config.warehouse.connect() as con:
        return sealing.sealed_run_id(con, period)


@task(name="render_report", task_run_name="render {name} {period}")
def render_report(config: Config, period: str, name: str, run_id: str | None) -> list[Path]:
    with pipeline.step(f"render {period}", name):
        return pipeline.render_reports(config, period, run_id, names=[name])


@task(name="seal_period", task_run_name="seal {period}")
def seal_period(config: Config, period: str, run_id: str, now: datetime) -> sealing.Seal:
    with pipeline.step("seal", period):
        with config.warehouse.connect() as con:
            return sealing.seal(con, period, grace_days=config.sealing.grace_days, now=now, by=SEALED_BY,
                                run_id=run_id)


@flow(name="quarter-close", log_prints=False)
def quarter_close(config_path: Path, period: str | None = None, now: datetime | None = None) -> CloseResult:
    """`period` None = the quarter that ended most recently; `now` (default: the clock) is both the
    evaluation moment and the moment compared with the grace period."""
    logger = get_run_logger()
    config = load_config(config_path)
    now = now or datetime.now(timezone.utc)
    period = parse_period(period).name if period else previous_quarter(now)
    opens = sealing.sealable_from(period, config.sealing.grace_days)

    existing = sealed_run(config, period)
    run_id = existing or reconcile_period(config, period, now)
    # a sealed period's reports are rendered from its sealed run (run_id None selects it)
    paths = [p for name in REPORTS for p in render_report(config, period, name, None if existing else run_id)]
    made = None
    if existing:
        logger.info("%s is already sealed at run %s: reports re-rendered, nothing re-evaluated", period, existing)
    elif now >= opens:
        made = seal_period(config, period, run_id, now)
        logger.info("sealed %s at run %s (results sha256 %s)", period, run_id, made.results_sha256)
    else:
        logger.warning("%s not sealed: the grace period runs until %s; run this deployment again or "
                       "`changetrail seal --period %s` then", period, f"{opens:%Y-%m-%d}", period)
    result = CloseResult(period, run_id, paths, made, bool(existing), opens)
    create_table_artifact(
        key=artifact_key("quarter-close-summary"),
        table=[{"period": period, "evaluation run": run_id, "reports": len(paths), "seal": result.status,
                "results sha256": made.results_sha256 if made else ""}],
        description=f"Quarter close of {period}")
    publish_reports(artifact_key("quarter-close-reports"), period, paths)
    return result
