"""`changetrail` command line. Read-only commands (`findings`, `explain`) never start Prefect."""
from __future__ import annotations

import csv
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from flows.config import ConfigError, load_config

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Continuous SOC 2 change-management evidence (SOC2-CHG-001 / CC8.1).")
console = Console()
err = Console(stderr=True)

DEMO_CONFIG = Path("out/demo/changetrail.toml")
CONFIG_OPTION = typer.Option(None, "--config", "-c", help="changetrail.toml (default: ./changetrail.toml, else the demo's)")
REEVALUATE_OPTION = typer.Option(False, "--reevaluate", help="a sealed period: store a new, versioned run beside the sealed one")


def _fail_cleanly(fn):
    """Source and load errors already name the system, endpoint or file and the record:
    print that sentence, not a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from extractors.core.errors import ExtractionError
        from warehouse.exceptions import ExceptionsError
        from warehouse.load import LoadError
        from warehouse.sealing import SealError

        try:
            return fn(*args, **kwargs)
        except (ExtractionError, LoadError, SealError, ExceptionsError) as exc:
            err.print(f"[red]{exc}[/]")
            for note in getattr(exc, "__notes__", []):
                err.print(note)
            raise typer.Exit(1) from None

    return wrapper


def _config_path(path: Optional[Path]) -> Path:
    if path is not None:
        return path
    for candidate in (Path("changetrail.toml"), DEMO_CONFIG):
        if candidate.exists():
            return candidate
    err.print("[red]No changetrail.toml here and no demo yet.[/] Run `make demo`, or pass --config.")
    raise typer.Exit(2)


def _load(path: Optional[Path]):
    try:
        return load_config(_config_path(path))
    except ConfigError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def _open_readonly(config):
    import duckdb

    if not config.warehouse.path.exists():
        err.print(f"[red]No warehouse at {config.warehouse.path}.[/] Run `changetrail run` first.")
        raise typer.Exit(2)
    con = duckdb.connect(str(config.warehouse.path), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    return con


@app.command()
@_fail_cleanly
def demo(out: Path = typer.Option(Path("out/demo"), help="where the sample organization and reports go"),
         seed: int = typer.Option(7, help="random seed: same seed, same organization"),
         period: str = typer.Option("2026Q3"),
         scale: float = typer.Option(1.0, help="1.0 = ~3,000 production deployments")):
    """Generate a sample organization's quarter and run the whole evidence flow on it."""
    from flows.demo import generate

    started = time.monotonic()
    _clear_previous_demo(out)
    console.print(f"Generating the sample organization (seed {seed}) in {out}/sample ...")
    org = generate(out, seed=seed, period=period, scale=scale)
    console.print(f"  {org}")
    result = _run_flow(out / "changetrail.toml", period)
    console.print(f"\n[bold]Done in {time.monotonic() - started:.0f} s.[/] Reports:")
    for path in result.reports:
        console.print(f"  {path}")
    console.print("\nExplore: `changetrail findings`, `changetrail explain <change id>`")


def _clear_previous_demo(out: Path) -> None:
    """A regenerated demo starts a fresh warehouse: landing files and results of an earlier
    demo (perhaps another seed) would otherwise mix with the new organization's."""
    import shutil

    shutil.rmtree(out / "landing", ignore_errors=True)
    for name in ("changetrail.duckdb", "changetrail.duckdb.wal"):
        (out / name).unlink(missing_ok=True)


def _run_flow(config_path: Path, period: str, evaluated_at: Optional[datetime] = None, reevaluate: bool = False):
    from flows.evidence_run import evidence_run

    try:
        return evidence_run(period=period, config_path=config_path, evaluated_at=evaluated_at, reevaluate=reevaluate)
    except ConfigError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


@app.command()
@_fail_cleanly
def run(period: str = typer.Option(..., help="quarter, e.g. 2026Q3"), config: Optional[Path] = CONFIG_OPTION,
        reevaluate: bool = REEVALUATE_OPTION):
    """Extract every configured source, load, evaluate the controls and render the reports (Prefect flow)."""
    result = _run_flow(_config_path(config), period, reevaluate=reevaluate)
    for path in result.reports:
        console.print(str(path))


@app.command()
@_fail_cleanly
def extract(config: Optional[Path] = CONFIG_OPTION,
            source: Optional[list[str]] = typer.Option(None, help="only these sources"),
            full_refresh: bool = typer.Option(False, "--full-refresh",
                                              help="ignore the cursors: read every unit's whole history")):
    """Land records from the configured sources and load them into the warehouse (no Prefect).

    Incremental by default: each unit from its last loaded cursor minus the source's overlap_hours.
    """
    from flows import pipeline

    cfg = _load(config)
    run_id = pipeline.new_run_id()
    for name in source or pipeline.configured_sources(cfg):
        with console.status(f"extracting {name} ..."):
            pipeline.extract_source(cfg, name, run_id, full_refresh=full_refresh)
        console.print(f"extracted {name}")
    summary = pipeline.load(cfg)
    console.print(f"loaded {summary.total_records} records from {summary.manifests} units "
                  f"({summary.quarantined} quarantined)")


@app.command()
@_fail_cleanly
def reconcile(period: str = typer.Option(...), config: Optional[Path] = CONFIG_OPTION,
              reevaluate: bool = REEVALUATE_OPTION):
    """Evaluate every control for a period over what is loaded (no Prefect)."""
    from flows import pipeline

    console.print(pipeline.reconcile(_load(config), period, reevaluate=reevaluate))


@app.command()
@_fail_cleanly
def seal(period: str = typer.Option(..., help="quarter, e.g. 2026Q3"), config: Optional[Path] = CONFIG_OPTION,
         by: Optional[str] = typer.Option(None, help="who seals (default: $USER)"),
         force: bool = typer.Option(False, "--force", help="seal inside the grace period (recorded)"),
         verify: bool = typer.Option(False, "--verify", help="only verify an existing seal")):
    """Freeze a quarter's results and the evidence hashes they used (sealed_periods)."""
    if verify:
        return verify_seal(period=period, config=config)
    from warehouse import sealing
    from warehouse.schema import connect

    cfg = _load(config)
    with connect(cfg.warehouse.path) as con:
        s = sealing.seal(con, period, grace_days=cfg.sealing.grace_days, by=by, force=force)
    console.print(f"sealed {s.period} at run {s.run_id} by {s.sealed_by}{' (FORCED, inside the grace period)' if s.forced else ''}:"
                  f" {s.count_results} results, {s.count_outcomes} outcomes, sha256 {s.results_sha256};"
                  f" {s.count_evidence_files} evidence files, sha256 {s.evidence_sha256}")


@app.command("verify-seal")
@_fail_cleanly
def verify_seal(period: str = typer.Option(...), config: Optional[Path] = CONFIG_OPTION):
    """Recompute a sealed quarter's result hashes and its evidence files' SHA-256; name anything altered."""
    from warehouse.sealing import verify as verify_period

    cfg = _load(config)
    with _open_readonly(cfg) as con:
        result = verify_period(con, period, cfg.warehouse.landing)
    for problem in result.problems:
        err.print(f"[red]ALTERED[/] {problem}")
    if not result.ok:
        raise typer.Exit(1)
    console.print(f"{result.period} seal verified: run {result.run_id}, {result.checked_files} evidence files unchanged")


@app.command()
@_fail_cleanly
def diff(period: str = typer.Option(...), config: Optional[Path] = CONFIG_OPTION,
         run_id: Optional[str] = typer.Option(None, "--run", help="default: the latest run besides the sealed one"),
         fmt: str = typer.Option("table", "--format", help="table | csv | json")):
    """Differences between a sealed quarter's run and another run of it (status, new/missing subjects, outcomes)."""
    from warehouse.sealing import DIFF_COLUMNS, diff_runs

    cfg = _load(config)
    with _open_readonly(cfg) as con:
        base, other, rows = diff_runs(con, period, run_id)
    _emit([tuple(r.values()) for r in rows], DIFF_COLUMNS, fmt, f"{len(rows)} differences · sealed {base} -> {other}")


def _emit(rows: list[tuple], columns: list[str], fmt: str, title: str) -> None:
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        print(json.dumps([dict(zip(columns, r)) for r in rows], indent=2, default=str))
    elif fmt == "table":
        table = Table(title=title)
        for name in columns:
            table.add_column(name, overflow="fold")
        for r in rows:
            table.add_row(*[_cell(v) for v in r])
        console.print(table)
    else:
        err.print(f"[red]--format must be table, csv or json, not {fmt!r}[/]")
        raise typer.Exit(2)


@app.command()
def report(period: str = typer.Option(...), config: Optional[Path] = CONFIG_OPTION):
    """Render the quarterly report of the latest evaluation of a period (no Prefect)."""
    from flows import pipeline

    for path in pipeline.render_reports(_load(config), period):
        console.print(str(path))


@app.command()
def findings(config: Optional[Path] = CONFIG_OPTION,
             period: Optional[str] = typer.Option(None, help="default: the latest evaluated period"),
             control: Optional[list[str]] = typer.Option(None, help="only these control ids"),
             fmt: str = typer.Option("table", "--format", help="table | csv | json"),
             all_statuses: bool = typer.Option(False, "--all", help="include pass and not_applicable")):
    """Control results of the latest evaluation: failures and errors by default."""
    from warehouse.runner import latest_run_id

    cfg = _load(config)
    with _open_readonly(cfg) as con:
        run_id = latest_run_id(con, period)
        if run_id is None:
            err.print("[red]No evaluation run yet.[/] Run `changetrail run --period 2026Q3`.")
            raise typer.Exit(2)
        # the register exception covering a failure (a warehouse from before the register has none)
        has_register = con.execute("select count(*) from information_schema.tables"
                                   " where table_name = 'result_exceptions'").fetchone()[0] > 0
        excepted = ("(select run_id, control_id, subject_id, exception_id || ': ' || justification as exception"
                    " from result_exceptions)" if has_register else
                    "(select null as run_id, null as control_id, null as subject_id, null as exception)")
        rows = con.execute(
            f"""select r.control_id, c.title, r.subject_id, r.status, r.reason, r.period, x.exception
               from control_results r left join control_catalog c using (control_id)
               left join {excepted} x on x.run_id = r.run_id and x.control_id = r.control_id
                    and x.subject_id = r.subject_id
               where r.run_id = $run and ($all or r.status in ('fail', 'error'))
                 and ($controls is null or list_contains($controls, r.control_id))
               order by r.control_id, r.subject_id""",
            {"run": run_id, "all": all_statuses, "controls": [c.upper() for c in control] if control else None},
        ).fetchall()
    columns = ["control_id", "title", "subject_id", "status", "reason", "period", "exception"]
    if fmt in ("csv", "json"):
        _emit(rows, columns, fmt, "")
    elif fmt == "table":
        table = Table(title=f"{len(rows)} findings · evaluation {run_id}", show_lines=False)
        table.add_column("control", no_wrap=True)
        table.add_column("subject", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("reason", overflow="fold")
        table.add_column("exception", overflow="fold")
        for r in rows:
            table.add_row(r[0], r[2], r[3], r[4] or "", r[6] or "")
        console.print(table)
    else:
        err.print(f"[red]--format must be table, csv or json, not {fmt!r}[/]")
        raise typer.Exit(2)


@app.command()
def explain(change: str = typer.Argument(..., help="change id (repo@deployment), deployment id or commit sha"),
            config: Optional[Path] = CONFIG_OPTION):
    """The evidence chain of one change: deployment, commits, PRs, reviews, checks, ticket, approvals, scans, outcome."""
    from warehouse.explain import explain as explain_change

    cfg = _load(config)
    with _open_readonly(cfg) as con:
        try:
            exp = explain_change(con, change)
        except LookupError as exc:
            err.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
    c = exp.change
    colour = {"compliant": "green", "exception": "yellow", "violation": "red"}[c["outcome"]]
    console.rule(f"{c['change_id']} · [{colour}]{c['outcome']}[/]")
    console.print(f"deployed {c['deployed_at']:%Y-%m-%d %H:%M UTC} by {c['deployer_login']}"
                  f" (person: {c['deployer_person_id'] or 'unresolved'}) · sha {c['sha'][:12]}"
                  f" · team {c['team']} · category {c['category'] or 'unknown'}"
                  f"{' · EMERGENCY' if c['is_emergency'] else ''}{' · ROLLBACK' if c['is_rollback'] else ''}"
                  f"{' · first deployment (baseline)' if c['is_baseline'] else ''}")
    console.print(f"deployment: {c['deployment_url']}")
    sections = [("Change set", exp.commits), ("Pull requests", exp.pull_requests), ("Reviews", exp.reviews),
                ("Checks at the deployed commit", exp.checks), ("Ticket", [exp.ticket] if exp.ticket else []),
                ("Ticket approvals", exp.approvals), ("Scans of the deployed commit", exp.scans),
                ("Staging deployments of the same commit", exp.staging), ("Controls", exp.results)]
    for title, rows in sections:
        _print_rows(title, rows)


def _print_rows(title: str, rows: list[dict]) -> None:
    if not rows:
        console.print(f"\n[bold]{title}[/]: none")
        return
    table = Table(title=title, title_justify="left", title_style="bold")
    for name in rows[0]:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*[_cell(v) for v in row.values()])
    console.print(table)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    if value == "fail" or value == "error":
        return f"[red]{value}[/]"
    return str(value)


@app.command()
def doctor(config: Optional[Path] = CONFIG_OPTION):
    """Check each configured source: credential variable set, base URL reachable, what it sees (no writes)."""
    from flows.doctor import check_sources, render

    checks = check_sources(_load(config))
    render(checks, console)
    if any(not c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
def init(path: Path = typer.Option(Path("changetrail.toml"), "--path", help="where to write the config"),
         force: bool = typer.Option(False, "--force", help="overwrite an existing file")):
    """Write a commented changetrail.toml with every section and the SOC2-CHG-001 defaults."""
    from flows.init_config import ConfigExists, write_config

    try:
        written = write_config(path, force=force)
    except ConfigExists as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"wrote {written}: uncomment your sources, then `changetrail doctor --config {written}`")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
