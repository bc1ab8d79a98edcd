"""Read-only commands (no Prefect): report, findings, explain."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from reports.registry import REPORTS as _REGISTERED

from flows.cli.app import (CONFIG_OPTION, _emit, _load, _open_readonly, _print_rows,
                           app, console, err)


REPORT_NAMES = list(_REGISTERED)


@app.command()
def report(name: str = typer.Argument("quarterly", help=f"which report: {', '.join(REPORT_NAMES)}, or all"),
           period: str = typer.Option(..., help="quarter, e.g. 2026Q3"), config: Optional[Path] = CONFIG_OPTION,
           fmt: str = typer.Option("all", "--format", help="pdf | html | all"),
           team: Optional[str] = typer.Option(None, help="digest only: one team instead of every team")):
    """Render a report of the latest evaluation of a period (no Prefect); the reports are listed in reports/registry.py."""
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
    if team is not None and name != "digest":
        err.print("[red]--team applies to the digest only:[/] changetrail report digest --team <team> --period ...")
        raise typer.Exit(2)
    options = {"team": team} if team else {}
    try:
        paths = pipeline.render_reports(_load(config), period, names=names, formats=formats, options=options)
    except (LookupError, ValueError) as exc:  # e.g. an unknown team, named with the teams there are
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    for path in paths:
        console.print(str(path))


# the findings export (csv/json): the result, the rule it applied, the evidence it wrote, where the
# deployment's record came from (URL, raw record SHA-256) and the exception applied, if any
FINDINGS_COLUMNS = ["control_id", "title", "subject_id", "status", "reason", "period", "exception",
                    "clause", "rule", "evidence", "deployment_url", "ticket_url", "record_sha256", "source_url",
                    "exception_id", "exception_justification", "exception_approver", "exception_approved_at",
                    "exception_expires_at"]


def findings_sql(con) -> str:
    """The findings query (parameters run, all, controls); tolerates warehouses from before the register."""
    from warehouse.explain import deployment_records_sql

    has_register = con.execute("select count(*) from information_schema.tables"
                               " where table_name = 'result_exceptions'").fetchone()[0] > 0
    excepted = ("""(select x.run_id, x.control_id, x.subject_id, x.exception_id, x.justification, x.approver,
                       x.expires_at, (select max(reg.approved_at) from exceptions_register reg
                                      where reg.exception_id = x.exception_id and reg.file_sha256 = x.file_sha256)
                                     as approved_at
                   from result_exceptions x)""" if has_register else
                "(select null as run_id, null as control_id, null as subject_id, null as exception_id,"
                " null as justification, null as approver, null as expires_at, null as approved_at)")
    return f"""select r.control_id, c.title, r.subject_id, r.status, r.reason, r.period,
                  x.exception_id || ': ' || x.justification as exception,
                  c.clause, c.description as rule, r.evidence::varchar as evidence,
                  o.deployment_url, o.ticket_url, d.record_sha256, d.source_url,
                  x.exception_id, x.justification, x.approver, x.approved_at, x.expires_at
               from run_results($run) r left join control_catalog c using (control_id)
               left join {excepted} x on x.run_id = r.run_id and x.control_id = r.control_id
                    and x.subject_id = r.subject_id
               left join change_outcomes o on r.subject_type = 'change' and o.run_id = r.run_id
                    and o.change_id = r.subject_id
               left join ({deployment_records_sql(con)}) d on d.deployment_id = o.deployment_id
               where ($all or r.status in ('fail', 'error'))
                 and ($controls is null or list_contains($controls, r.control_id))
               order by r.control_id, r.subject_id"""


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
        rows = con.execute(
            findings_sql(con),
            {"run": run_id, "all": all_statuses, "controls": [c.upper() for c in control] if control else None},
        ).fetchall()
    columns = FINDINGS_COLUMNS
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
            table.add_row(escape(r[0]), escape(r[2]), r[3], escape(r[4] or ""), escape(r[6] or ""))
        console.print(table)
    else:
        err.print(f"[red]--format must be table, csv or json, not {fmt!r}[/]")
        raise typer.Exit(2)


@app.command()
def explain(change: str = typer.Argument(..., help="change id (repo@deployment), deployment id or commit sha"),
            config: Optional[Path] = CONFIG_OPTION,
            fmt: str = typer.Option("text", "--format", help="text | json")):
    """The evidence chain of one change: deployment, commits, PRs, reviews, checks, ticket, approvals,
    scans, and per control the rule, the evidence (source URLs, raw record SHA-256) and the exceptions applied."""
    import json
    from dataclasses import asdict

    from warehouse.explain import explain as explain_change

    if fmt not in ("text", "json"):
        err.print(f"[red]--format must be text or json, not {fmt!r}[/]")
        raise typer.Exit(2)
    cfg = _load(config)
    with _open_readonly(cfg) as con:
        try:
            exp = explain_change(con, change)
        except LookupError as exc:
            err.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(1) from None
    if fmt == "json":
        print(json.dumps(asdict(exp), indent=2, default=str))
        return
    c = exp.change
    colour = {"compliant": "green", "exception": "yellow", "violation": "red"}[c["outcome"]]
    console.rule(f"{escape(c['change_id'])} · [{colour}]{c['outcome']}[/]")
    console.print(escape(f"deployed {c['deployed_at']:%Y-%m-%d %H:%M UTC} by {c['deployer_login']}"
                         f" (person: {c['deployer_person_id'] or 'unresolved'}) · sha {c['sha'][:12]}"
                         f" · team {c['team']} · category {c['category'] or 'unknown'}"
                         f"{' · EMERGENCY' if c['is_emergency'] else ''}{' · ROLLBACK' if c['is_rollback'] else ''}"
                         f"{' · first deployment (baseline)' if c['is_baseline'] else ''}"))
    console.print(escape(f"deployment: {c['deployment_url']} · record sha256 {c.get('record_sha256') or 'not loaded'}"
                         f" · read from {c.get('source_url') or '-'}"))
    sections = [("Change set", exp.commits), ("Pull requests", exp.pull_requests), ("Reviews", exp.reviews),
                ("Checks at the deployed commit", exp.checks), ("Ticket", [exp.ticket] if exp.ticket else []),
                ("Ticket approvals", exp.approvals), ("Scans of the deployed commit", exp.scans),
                ("Staging deployments of the same commit", exp.staging)]
    records = []   # printed once below the tables: each evidence row's raw record hash and source
    for title, rows in sections:
        _print_rows(title, [{k: escape(v) if isinstance(v, str) else v for k, v in row.items()
                             if k not in ("record_sha256", "source_url")} for row in rows])
        for row in rows:
            if "record_sha256" in row:
                first = next(iter(row.values()))
                records.append(f"{title.lower()} {first}: sha256 {row['record_sha256'] or 'no raw record'}"
                               f" · {row['source_url'] or '-'}")
    console.print("\n[bold]Raw records the evidence rows came from[/] (sha256 of the payload as loaded · API URL)")
    for line in dict.fromkeys(records):
        console.print(escape(line), soft_wrap=True)
    _print_rows("Controls", [{k: escape(v) if isinstance(v, str) else v for k, v in r.items()
                              if k in ("control_id", "title", "status", "reason")} for r in exp.results])
    console.print("\n[bold]Why each control decided as it did[/]")
    for r in exp.results:
        console.print(escape(f"{r['control_id']} {r['status']} — {r['reason'] or ''}"))
        console.print(escape(f"    rule ({r['clause'] or 'no clause'}): {r['rule'] or ''}"), soft_wrap=True)
        console.print(escape(f"    evidence: {r['evidence'] or '{}'}"), soft_wrap=True)
        for x in r["exceptions"]:
            line = f"    exception {x['exception_id']}: {x['justification']} · approver {x['approver'] or '-'}"
            line += f" · approved {x['approved_at']:%Y-%m-%d}" if x["approved_at"] else " · approval date unknown"
            line += f" · expires {x['expires_at']:%Y-%m-%d}" if x["expires_at"] else ""
            console.print(escape(line), soft_wrap=True)
