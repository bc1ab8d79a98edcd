"""Setting up: doctor, init."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from flows.cli.app import CONFIG_OPTION, _load, app, console, err


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
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    console.print(f"wrote {written}: uncomment your sources, then `changetrail doctor --config {written}`")

