"""Command `bench`: the benchmark of issue 7 (flows/bench/, benchmarks/README.md)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from flows.cli.app import _fail_cleanly, app, err


@app.command()
@_fail_cleanly
def bench(profile: str = typer.Option("S", help="S (demo, 3k changes), M (10k), L (50k), XL (500k)"),
          seed: int = typer.Option(7, help="organization seed: same seed, same organization (cached)"),
          cache: Optional[Path] = typer.Option(None, help="where generated organizations are cached"
                                               " (default ~/.cache/changetrail/bench)"),
          only: Optional[list[str]] = typer.Option(None, help="render only these reports (registry names);"
                                                   " extract, load, floor and reconcile always run"),
          stage: Optional[list[str]] = typer.Option(None, help="time only these stages again (e.g. reconcile,"
                                                    " report:quarterly) on the previous run's folder"),
          memory_limit: str = typer.Option("3GB", help="[warehouse] memory_limit of the run (DuckDB spills"
                                           " above it); \"none\" = DuckDB's default, 80 % of RAM"),
          rebase: bool = typer.Option(False, help="H/LD: before the held-back day, re-evaluate the warehouse"
                                      " kept before it on this code (untimed) and keep it, so --stage load_day"
                                      " --stage reconcile_incremental times the day alone")):
    """Generate a profile's organization once, then time extract, load, the DuckDB floor, reconcile
    and every report, one JSON line per stage."""
    from flows.bench.profiles import get_profile
    from flows.bench.runner import bench as run_bench

    try:
        get_profile(profile)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    try:
        run_bench(profile, seed=seed, cache_root=cache, only=only, stages_only=stage,
                  memory_limit=None if memory_limit.lower() == "none" else memory_limit, rebase=rebase,
                  emit=lambda line: print(json.dumps(line), flush=True))
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
