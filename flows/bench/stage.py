"""One benchmark stage in a process of its own: `python -m flows.bench.stage <stage> <config> <period>`.

A fresh process per stage makes the peak resident memory (ru_maxrss) that stage's own. The stage
prints one JSON object on its last stdout line: wall and CPU seconds, peak RSS, records, API
requests (counted at the HTTP transport: every request an httpx client sends, 304s included).
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Callable

from flows.config import Config, load_config


def count_requests(log: Path) -> Callable[[], dict[str, int]]:
    """Count every request the served API folders answer in this process and its extraction
    workers (extractors/core/transport.py appends one line per request to `log`)."""
    import os

    from extractors.core.transport import REQUEST_LOG_VARIABLE

    log.unlink(missing_ok=True)
    os.environ[REQUEST_LOG_VARIABLE] = str(log)

    def counts() -> dict[str, int]:
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        urls = [line.split(" ", 2)[2] for line in lines]
        return {"requests": len(lines), "conditional_requests": sum(line.split(" ")[1] == "1" for line in lines),
                "duplicate_requests": len(urls) - len(set(urls))}

    return counts


def _extract(config: Config, period: str, source: str, full_refresh: bool) -> dict:
    from flows import pipeline

    counts = count_requests(config.warehouse.path.with_name(f"requests-{source}.log"))
    manifests = pipeline.extract_source(config, source, pipeline.new_run_id(), full_refresh=full_refresh)
    records = 0
    for manifest in manifests:
        data = json.loads(Path(manifest).read_text(encoding="utf-8"))
        records += sum(int(f.get("records", 0)) for f in data.get("files", []))
    return {"records": records, "units": len(manifests), **counts()}


def _load(config: Config, period: str) -> dict:
    from flows import pipeline

    summary = pipeline.load(config)
    return {"records": summary.total_records, "quarantined": summary.quarantined}


def _reconcile(config: Config, period: str, incremental: bool = False) -> dict:
    from warehouse.runner import evaluate

    with config.warehouse.connect() as con:
        run_id = evaluate(con, config, period, incremental=incremental) if incremental else evaluate(con, config, period)
        changes, results, base = con.execute(
            "select count_changes, count_results, results_base from evaluation_runs where run_id = ?",
            [run_id]).fetchone()
        stored = con.execute("select count(*) from control_results where run_id = ?", [run_id]).fetchone()[0]
        scoped, recomputed = con.execute(
            "select count(*), coalesce(sum(count_recomputed), 0) from control_scopes"
            " where run_id = ? and count_recomputed is not null", [run_id]).fetchone()
    # results_stored: rows written (a run stored by reference to results_base writes its differences);
    # controls_per_change: controls run on their dirty changes only, which were changes_recomputed in all
    return {"records": results, "changes": changes, "run_id": run_id, "results_stored": stored,
            "results_base": base, "controls_per_change": scoped, "changes_recomputed": int(recomputed)}


def _report(config: Config, period: str, name: str) -> dict:
    from flows import pipeline
    from warehouse.runner import latest_run_id

    with config.warehouse.connect() as con:
        run_id = latest_run_id(con, period)
        changes = con.execute("select count(*) from change_outcomes where run_id = ?", [run_id]).fetchone()[0]
    paths = pipeline.render_reports(config, period, run_id, names=[name])
    return {"records": changes, "files": len(paths), "bytes": sum(p.stat().st_size for p in paths if p.is_file())}


def _floor(config: Config, period: str) -> dict:
    """DuckDB alone: read every landed JSONL.gz file into one table (envelopes as JSON)."""
    import duckdb

    target = config.warehouse.path.with_name("floor.duckdb")
    target.unlink(missing_ok=True)
    pattern = (config.warehouse.landing / "**" / "*.jsonl.gz").as_posix()
    con = duckdb.connect(str(target))
    try:
        con.execute(f"create table landed as select * from read_json('{pattern}', format = 'newline_delimited',"
                    " columns = {extracted_at: 'VARCHAR', source_url: 'VARCHAR', context: 'JSON', payload: 'JSON'},"
                    " filename = true, compression = 'gzip')")
        records = con.execute("select count(*) from landed").fetchone()[0]
    finally:
        con.close()
        target.unlink(missing_ok=True)
        target.with_name(target.name + ".wal").unlink(missing_ok=True)
    return {"records": records}


def _own_peak_kb() -> int:
    """This process's own peak resident memory (VmHWM). Not ru_maxrss: Linux carries the parent's
    high-water mark across fork/vfork + exec, so a stage started by a runner that had just generated
    a large organization would report the runner's peak as its own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children (extraction workers)."""
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))


def run_stage(stage: str, config_path: Path, period: str) -> dict:
    config = load_config(config_path)
    kind, _, arg = stage.partition(":")
    actions: dict[str, Callable[[], dict]] = {
        "extract": lambda: _extract(config, period, arg, full_refresh=True),
        "extract_incremental": lambda: _extract(config, period, arg, full_refresh=False),
        "load": lambda: _load(config, period),
        "load_day": lambda: _load(config, period),
        "floor": lambda: _floor(config, period),
        "reconcile": lambda: _reconcile(config, period),
        "reconcile_incremental": lambda: _reconcile(config, period, incremental=True),
        "report": lambda: _report(config, period, arg),
    }
    if kind not in actions:
        raise ValueError(f"unknown benchmark stage {stage!r}")
    before = _cpu()
    started = time.perf_counter()
    figures = actions[kind]()
    wall = time.perf_counter() - started
    cpu = _cpu() - before
    peak_kb = max(_own_peak_kb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    records = figures.get("records", 0)
    return {"stage": stage, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "records": records, "records_per_s": round(records / wall, 1) if wall > 0 else None,
            "api_requests": figures.pop("requests", 0), **figures}


def main(argv: list[str]) -> None:
    stage, config_path, period = argv
    print(json.dumps(run_stage(stage, Path(config_path), period)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
