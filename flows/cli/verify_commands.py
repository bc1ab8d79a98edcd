"""`changetrail verify`: tamper evidence.

    changetrail verify                 # the warehouse's raw evidence and landing files against the run chain
    changetrail verify out/2026Q3/pack # an auditor evidence pack: every hash in manifest.json and its signature

Exit status 0 when everything checks out, 1 naming each changed, missing or extra item.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from flows.cli.app import CONFIG_OPTION, _load, app, console, err


@app.command()
def verify(pack: Optional[Path] = typer.Argument(None, help="an evidence pack (folder or its manifest.json); "
                                                             "without it, the warehouse and landing files"),
           config: Optional[Path] = CONFIG_OPTION):
    """Check hashes and signatures; name anything changed, missing or extra."""
    if pack is not None:
        from reports.evidence_pack.verify import verify_pack

        problems = verify_pack(pack)
        what = f"evidence pack {pack}"
    else:
        from warehouse.integrity import verify_warehouse

        problems = verify_warehouse(_load(config))
        what = "warehouse and landing files"
    if problems:
        err.print(f"[red]{what}: {len(problems)} problem(s)[/]")
        for problem in problems:
            err.print(f"  {problem}", markup=False)
        raise typer.Exit(1)
    console.print(f"[green]{what}: verified[/]")
