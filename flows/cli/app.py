"""The Typer app and what every command shares: config lookup, clean errors, output helpers.

Commands live beside this file, one module per group; `flows/cli/__init__.py` imports them."""
from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
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
            err.print(f"[red]{escape(str(exc))}[/]")
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
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None


def _open_readonly(config):

    if not config.warehouse.path.exists():
        err.print(f"[red]No warehouse at {config.warehouse.path}.[/] Run `changetrail run` first.")
        raise typer.Exit(2)
    con = config.warehouse.connect(read_only=True)
    con.execute("set TimeZone = 'UTC'")
    return con


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

