"""Commands that extract, evaluate or seal: demo, run, extract, reconcile, seal, verify-seal, diff."""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from flows.cli.app import (CONFIG_OPTION, REEVALUATE_OPTION, _config_path, _emit, _fail_cleanly, _load,
                           _open_readonly, app, console, err)
from flows.config import ConfigError


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
    _demo_signing_key(out)
    result = _run_flow(out / "changetrail.toml", period)
    console.print(f"\n[bold]Done in {time.monotonic() - started:.0f} s.[/] Reports:")
    for path in result.reports:
        console.print(f"  {path}")
    console.print("\nExplore: `changetrail findings`, `changetrail explain <change id>`")


def _demo_signing_key(out: Path) -> None:
    """The demo's evidence pack is signed with a key file of its own (out/demo/signing-key.pem, never
    inside the pack), named in its config; a real deployment sets CHANGETRAIL_SIGNING_KEY instead."""
    from reports.evidence_pack.signing import write_key_file

    key = out / "signing-key.pem"
    if not key.exists():
        write_key_file(key)
    config = out / "changetrail.toml"
    text = config.read_text(encoding="utf-8")
    if "[reports.evidence_pack]" not in text:
        config.write_text(text.rstrip("\n") + '\n\n[reports.evidence_pack]\nsigning_key_file = "signing-key.pem"\n',
                          encoding="utf-8")


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
        err.print(f"[red]{escape(str(exc))}[/]")
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

    cfg = _load(config)
    with cfg.warehouse.connect() as con:
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
        err.print(f"[red]ALTERED[/] {escape(str(problem))}")
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

