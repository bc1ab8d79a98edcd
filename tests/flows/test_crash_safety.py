"""Crash safety (issue 6 item 4): a run killed at any named checkpoint, then re-run, ends exactly
where an uninterrupted run ends; two runs at once do not both write.

Each kill point runs tests/flows/crash_runner.py (flows.pipeline.run_pipeline: extract -> load ->
reconcile -> the emergency report) in a subprocess with CHANGETRAIL_FAULT=<point>[:<n>], which
dies with exit 137 there (extractors/core/faults.py), then re-runs it without a fault and compares
a canonical dump of the warehouse with the uninterrupted run's: every raw table's rows (minus
load-time columns: run id, landing file, extraction time) as a multiset, quarantine entries,
manifests and cursors, the final evaluation's control results and change outcomes, and the report
files; `verify` must find the chain intact and no lock may be left behind.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from extractors.core.faults import POINTS
from extractors.registry import ALL_STREAMS, raw_table_name
from flows.config import load_config
from flows.runlock import Holder, RunLock, RunLocked, lock_path
from warehouse.integrity import verify_warehouse

RUNNER = Path(__file__).with_name("crash_runner.py")
PERIOD = "2026Q3"
REPOS = 3       # the demo organization trimmed to a few repositories: same code paths, less data

# point -> hit to die at; later hits land mid-stream (several pages, tables, controls done)
KILL_POINTS = {
    "extract.before_source": 2, "extract.after_page": 9, "landing.mid_file": 1,
    "landing.before_rename": 3, "landing.before_manifest": 2, "landing.mid_manifest": 4,
    "landing.after_manifest": 5, "extract.after_source": 3,
    "load.before_transaction": 1, "load.after_table": 4, "load.after_quarantine": 1,
    "load.after_manifests": 1, "load.before_commit": 1, "load.after_commit": 1,
    "reconcile.before_transaction": 1, "reconcile.mid_controls": 6, "reconcile.before_outcomes": 1,
    "reconcile.before_commit": 1, "reconcile.after_commit": 1,
    "report.before_render": 1, "report.mid_pdf": 1, "report.mid_html": 1,
    "report.before_record": 1, "report.after_record": 1,
}


def test_every_checkpoint_is_exercised():
    assert set(KILL_POINTS) == set(POINTS)
    assert len(KILL_POINTS) >= 20


@pytest.fixture(scope="module")
def organization(tmp_path_factory) -> Path:
    from flows.demo import generate

    root = tmp_path_factory.mktemp("crash-org")
    generate(root, seed=11, period=PERIOD, scale=0.08)
    repos = root / "sample/github/orgs/acme/repos.json"
    repos.write_text(json.dumps(json.loads(repos.read_text())[:REPOS]))
    shutil.rmtree(root / "sample/ground_truth", ignore_errors=True)
    return root


def _workspace(organization: Path, dest: Path) -> Path:
    dest.mkdir()
    (dest / "sample").symlink_to(organization / "sample")
    shutil.copy(organization / "changetrail.toml", dest / "changetrail.toml")
    return dest / "changetrail.toml"


def _run(config: Path, fault: str | None = None, wait: float = 0.0) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CHANGETRAIL_FAULT"}
    if fault:
        env["CHANGETRAIL_FAULT"] = fault
    return subprocess.run([sys.executable, str(RUNNER), str(config), PERIOD, str(wait)],
                          cwd=config.parent, env=env, capture_output=True, text=True, timeout=600)


def canonical_dump(config_path: Path) -> dict:
    """The warehouse's state without what differs between two runs of the same data (run ids,
    landing file names, extraction and load times)."""
    config = load_config(config_path)
    con = duckdb.connect(str(config.warehouse.path), read_only=True)
    dump: dict = {}
    try:
        for system, stream in ALL_STREAMS:
            table = raw_table_name(system, stream)
            dump[table] = sorted(con.execute(
                f"select _record_id, coalesce(_source_url, ''), coalesce(_context::varchar, ''), "
                f"_payload::varchar from {table}").fetchall())
        dump["quarantine"] = sorted(con.execute(
            "select system, stream, coalesce(source, ''), coalesce(locator, ''), reason, coalesce(raw, '') "
            "from raw.quarantine").fetchall())
        dump["manifests"] = sorted(con.execute(
            "select system, unit, count_records, count_quarantined, cursors::varchar from raw._manifests").fetchall())
        run = con.execute("select run_id from evaluation_runs order by finished_at desc limit 1").fetchone()[0]
        for table, source in (("control_results", "run_results(?)"), ("change_outcomes", "change_outcomes where run_id = ?")):
            rows = con.execute(f"select * exclude (run_id) from {source}", [run]).fetchall()
            dump[table] = sorted(tuple(_stable(v) for v in row) for row in rows)
    finally:
        con.close()
    workspace = str(config_path.parent)       # each test's own folder appears in file:// URLs
    dump = {key: sorted(tuple(str(v).replace(workspace, "<ws>") for v in row) for row in rows)
            for key, rows in dump.items()}
    out = config.reports.out / PERIOD
    dump["reports"] = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return dump


_EXTRACTED = re.compile(r"(last extracted |\"last_extracted_at\":\")\d{4}-\d\d-\d\d[ T][0-9:.+]+( UTC)?")


def _stable(value) -> str:
    """A result cell without what legitimately differs between two runs of the same data: when a
    source was extracted (EV-01 names it) and the order of list aggregates in evidence JSON
    (several controls aggregate without an ORDER BY)."""
    text = _EXTRACTED.sub(r"\1<extracted>", str(value))
    if text[:1] in "[{":
        try:
            return json.dumps(_sorted_lists(json.loads(text)), sort_keys=True)
        except ValueError:
            pass
    return text


def _sorted_lists(value):
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_lists(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


@pytest.fixture(scope="module")
def uninterrupted(organization, tmp_path_factory) -> dict:
    config = _workspace(organization, tmp_path_factory.mktemp("crash-baseline") / "ws")
    result = _run(config)
    assert result.returncode == 0, result.stderr[-3000:]
    dump = canonical_dump(config)
    assert sum(1 for key, rows in dump.items() if key.startswith("raw.") and rows) >= 5
    assert dump["change_outcomes"] and dump["reports"], "the baseline run must produce outcomes and reports"
    return dump


@pytest.mark.slow
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_run_then_rerun_equals_uninterrupted(point, organization, uninterrupted, tmp_path):
    config = _workspace(organization, tmp_path / "ws")
    killed = _run(config, f"{point}:{KILL_POINTS[point]}")
    # 137: the run itself was killed; 1: a killed extraction worker process broke the run's pool
    assert killed.returncode in (137, 1), f"{point}: rc {killed.returncode}\n{killed.stderr[-2000:]}"
    assert f"killed at {point}" in killed.stderr, f"{point} was not reached:\n{killed.stderr[-2000:]}"
    if killed.returncode == 137:
        assert lock_path(config.parent / "changetrail.duckdb").exists(), "a killed run leaves its lock behind"

    rerun = _run(config)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after = canonical_dump(config)
    for key in uninterrupted:
        assert after[key] == uninterrupted[key], f"after a kill at {point}, {key} differs from an uninterrupted run"
    assert not lock_path(config.parent / "changetrail.duckdb").exists()
    assert verify_warehouse(load_config(config)) == []
    leftovers = [*(config.parent / "landing").rglob("*.tmp"), *(config.parent / PERIOD).rglob("*.tmp")]
    assert leftovers == [], "a killed run's temporary files are set aside or replaced by the re-run"


def test_second_run_refuses_naming_the_holder(tmp_path):
    warehouse = tmp_path / "changetrail.duckdb"
    with RunLock(warehouse, "run-one") as first:
        assert first.stale is None
        with pytest.raises(RunLocked) as refused:
            RunLock(warehouse, "run-two", wait=0.2, poll=0.05).acquire()
        text = str(refused.value)
        assert "run-one" in text and f"pid {os.getpid()}" in text and str(lock_path(warehouse)) in text
        holder = json.loads(lock_path(warehouse).read_text())
        assert {"pid", "host", "started", "run_id"} <= set(holder)
    assert not lock_path(warehouse).exists()


def test_stale_lock_is_taken_over_and_named(tmp_path):
    warehouse = tmp_path / "changetrail.duckdb"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket
    holder = Holder(int(dead.stdout), socket.gethostname(), "2026-11-01T00:00:00+00:00", "run-killed", "load")
    lock_path(warehouse).write_text(json.dumps(holder.__dict__))
    with RunLock(warehouse, "run-next") as lock:
        assert lock.stale == holder
        assert json.loads(lock_path(warehouse).read_text())["run_id"] == "run-next"


def test_lock_of_another_host_is_never_taken_over(tmp_path):
    warehouse = tmp_path / "changetrail.duckdb"
    lock_path(warehouse).write_text(json.dumps(Holder(1, "elsewhere.example", "2026-11-01T00:00:00+00:00",
                                                      "run-remote").__dict__))
    with pytest.raises(RunLocked, match=re.escape("pid 1 on elsewhere.example")):
        RunLock(warehouse, "run-local").acquire()
    assert json.loads(lock_path(warehouse).read_text())["run_id"] == "run-remote"


def test_concurrent_run_waits_or_refuses(organization, tmp_path):
    """A real run holds the lock; a second one started meanwhile refuses, naming the first."""
    config = _workspace(organization, tmp_path / "ws")
    warehouse = config.parent / "changetrail.duckdb"
    with RunLock(warehouse, "run-in-progress"):
        second = _run(config)
    assert second.returncode != 0
    assert "run-in-progress" in second.stderr and "RunLocked" in second.stderr
    assert not warehouse.exists(), "the refused run wrote nothing"


def test_second_run_waits_for_the_first_to_release(tmp_path):
    import threading

    warehouse = tmp_path / "changetrail.duckdb"
    first = RunLock(warehouse, "run-one").acquire()
    got: list[RunLock] = []
    waiter = threading.Thread(target=lambda: got.append(RunLock(warehouse, "run-two", wait=600, poll=0.01).acquire()))
    waiter.start()
    assert not got
    first.release()
    waiter.join()
    assert got and got[0].stale is None
    assert json.loads(lock_path(warehouse).read_text())["run_id"] == "run-two"
    got[0].release()
    assert not lock_path(warehouse).exists()
