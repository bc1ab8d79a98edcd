"""Commands that run changetrail unattended: serve (Prefect schedules), deployments (what serve would serve)."""
from __future__ import annotations

from typing import Optional
from pathlib import Path

import typer
from rich.markup import escape

from flows.cli.app import CONFIG_OPTION, _config_path, _emit, _load, app, console, err


def _specs(config: Optional[Path], portable: bool):
    from flows.schedules import build_specs

    path = _config_path(config)
    cfg = _load(path)
    # prefect.yaml runs on a worker from its checkout: the config path is relative to it
    return build_specs(cfg, path.name if portable else str(path.resolve()))


@app.command()
def serve(config: Optional[Path] = CONFIG_OPTION):
    """Register the scheduled deployments (the `schedules` section of the config) and run them from this process
    (daily incremental run, weekly digest, quarter close + seal). Stop with Ctrl-C."""
    from flows.schedules import FlowNotAvailable, serve as serve_specs, to_deployments

    specs = _specs(config, portable=False)
    _, skipped = to_deployments(specs)
    for sentence in skipped:
        err.print(f"[yellow]skipped[/] {sentence}")
    for spec in specs:
        if not any(s.startswith(f"deployment {spec.name}:") for s in skipped):
            console.print(f"serving {spec.flow_name}/{spec.name}: cron '{spec.cron}' ({spec.timezone})")
    try:
        serve_specs(specs)
    except FlowNotAvailable as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None


@app.command()
def deployments(config: Optional[Path] = CONFIG_OPTION,
                prefect_yaml: bool = typer.Option(False, "--prefect-yaml",
                                                  help="print a prefect.yaml for a Prefect server and work pool"),
                work_pool: str = typer.Option("changetrail", help="work pool named in the prefect.yaml"),
                fmt: str = typer.Option("table", "--format", help="table | csv | json")):
    """The deployments `serve` registers, from the config's `schedules` section (nothing is started)."""
    from flows.schedules import render_prefect_yaml

    specs = _specs(config, portable=prefect_yaml)
    if prefect_yaml:
        print(render_prefect_yaml(specs, work_pool), end="")
        return
    rows = [(f"{s.flow_name}/{s.name}", s.cron, s.timezone, ", ".join(f"{k}={v}" for k, v in s.parameters.items()))
            for s in specs]
    _emit(rows, ["deployment", "cron", "time zone", "parameters"], fmt, f"{len(rows)} scheduled deployments")
