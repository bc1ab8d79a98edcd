"""`changetrail retention`: remove raw evidence older than `retention.years` (policy §7).

    changetrail retention            # dry run: list what would be removed and what a seal keeps
    changetrail retention --apply    # remove it, recorded in the run chain (`verify` still passes)
"""
from __future__ import annotations

from typing import Optional
from pathlib import Path

import typer

from flows.cli.app import CONFIG_OPTION, _load, app, console


@app.command()
def retention(apply: bool = typer.Option(False, "--apply", help="really remove (default: a dry run that only lists)"),
              config: Optional[Path] = CONFIG_OPTION):
    """Remove landing files and raw rows older than retention.years; never a sealed quarter still inside retention."""
    from warehouse.retention import apply_retention, plan_retention

    cfg = _load(config)
    years, landing = cfg.retention.years, cfg.warehouse.landing
    with cfg.warehouse.connect() as con:
        plan = (apply_retention if apply else plan_retention)(con, landing, years)
    verb = "removed" if apply else "would remove"
    console.print(f"retention {years} year(s), cutoff {plan.cutoff:%Y-%m-%d %H:%M} UTC: {verb} "
                  f"{len(plan.manifests)} manifest(s), {len(plan.files)} landing file(s), {plan.rows} raw row(s)")
    for manifest in plan.manifests:
        console.print(f"  {manifest['path']}  (extracted {manifest['finished_at'][:10]}, "
                      f"{sum(f['rows'] for f in manifest['files'])} rows)", markup=False)
    for path, why in plan.kept:
        console.print(f"  kept {path}: {why}", markup=False)
    for path in plan.leftover:
        console.print(f"  {'deleted' if apply else 'would delete'} leftover {path} (removed earlier)", markup=False)
    if not apply and (plan.manifests or plan.leftover):
        console.print("Dry run: nothing changed. Pass --apply to remove.")
