"""Read-only commands (no Prefect): report, findings, explain."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from flows.cli.app import (CONFIG_OPTION, _emit, _load, _open_readonly, _print_rows,
                           app, console, err)


@app.command()
def report(name: str = typer.Argument("quarterly", help="which report (see reports/registry.py); 'all' for every one"),
           period: str = typer.Option(..., help="quarter, e.g. 2026Q3"), config: Optional[Path] = CONFIG_OPTION,
           fmt: str = typer.Option("all", "--format", help="pdf | html | all")):
    """Render a report of the latest evaluation of a period (no Prefect): quarterly, and the others listed in --help."""
    from flows import pipeline
    from reports.registry import FORMATS, REPORTS

    if name != "all" and name not in REPORTS:
        err.print(f"[red]No report named {name!r}.[/] Reports: {', '.join(REPORTS)}, all")
        raise typer.Exit(2)
    if fmt not in (*FORMATS, "all"):
        err.print(f"[red]--format must be pdf, html or all, not {fmt!r}[/]")
        raise typer.Exit(2)
    formats = FORMATS if fmt == "all" else (fmt,)
    names = None if name == "all" else [name]
    for path in pipeline.render_reports(_load(config), period, names=names, formats=formats):
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

