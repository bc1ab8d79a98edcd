"""Prefect flow `weekly-digest`: render the engineering-lead digests every week.

    from flows.digest_run import weekly_digest
    weekly_digest(config_path=Path("changetrail.toml"), as_of=date(2026, 9, 21))

Decision: a week's digest covers the **running quarter up to `as_of`** (the quarter containing
the day before `as_of`), read from that quarter's latest evaluation, and marks the items deployed
in the 7 days before `as_of` as "new this week". A 7-day-only digest would hide the backlog a lead
still has to clear; the quarter is what the auditor will test. The flow only reads the warehouse
(evaluate first: `evidence-run` or `changetrail reconcile`); it writes under
`<reports.out>/<quarter>/digest/`.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.config import load_config
from flows.pipeline import report_dir
from reports.digest import write_digests
from reports.registry import FORMATS
from warehouse.periods import period_of


def digest_period(as_of: date) -> str:
    """The quarter a digest dated `as_of` covers: the one holding the last day of its week."""
    last_day = as_of - timedelta(days=1)
    return period_of(datetime(last_day.year, last_day.month, last_day.day, tzinfo=timezone.utc)).key


@task(name="render_digests")
def render_digests(config_path: Path, period: str, as_of: date, team: str | None,
                   formats: tuple[str, ...]) -> list[Path]:
    config = load_config(config_path)
    if not Path(config.warehouse.path).exists():
        raise FileNotFoundError(f"{config_path}: warehouse {config.warehouse.path} does not exist; "
                                "run `changetrail run` (evidence-run) first")
    with config.warehouse.connect(read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return write_digests(con, period, config.reports.organization, report_dir(config, period),
                             formats=formats, team=team, as_of=as_of)


@flow(name="weekly-digest", log_prints=False)
def weekly_digest(config_path: Path, as_of: date | None = None, team: str | None = None,
                  formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Every team's digest (or `team`'s) of the running quarter as of `as_of` (default: today, UTC)."""
    as_of = as_of or datetime.now(timezone.utc).date()
    period = digest_period(as_of)
    paths = render_digests(Path(config_path), period, as_of, team, tuple(formats))
    get_run_logger().info("weekly digest %s as of %s: %d files", period, as_of, len(paths))
    return paths
