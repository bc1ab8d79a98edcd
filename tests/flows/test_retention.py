"""`changetrail retention`: dry run by default, removal only with --apply, sealed quarters kept, verify still passes."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.flows.integrity_fixture import execute, land, load, make_config
from warehouse.integrity import verify_warehouse
from warehouse.retention import apply_retention, cutoff_for, plan_retention
from warehouse.schema import connect

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
OLD, NEW = "20220301T000000Z-oldold", "20260701T000000Z-newnew"


@pytest.fixture
def config(tmp_path: Path):
    config = make_config(tmp_path)
    land(config, OLD, results=4, finished_at="2022-03-01T00:00:00+00:00")
    land(config, NEW, results=2, finished_at="2026-07-01T00:00:00+00:00")
    load(config)
    return config


def _landing_files(config) -> set[str]:
    return {str(p.relative_to(config.warehouse.landing)) for p in config.warehouse.landing.rglob("*") if p.is_file()}


def _rows(config) -> dict[str, int]:
    return dict(execute(config, "select _run_id, count(*) from raw.sarif__results group by 1"))


def test_cutoff_is_whole_years_back() -> None:
    assert cutoff_for(NOW, 3) == datetime(2023, 11, 1, tzinfo=timezone.utc)
    assert cutoff_for(datetime(2028, 2, 29, tzinfo=timezone.utc), 3) == datetime(2025, 2, 28, tzinfo=timezone.utc)


def test_dry_run_lists_only_old_evidence_and_changes_nothing(config) -> None:
    before = _landing_files(config)
    with connect(config.warehouse.path) as con:
        plan = plan_retention(con, config.warehouse.landing, 3, now=NOW)
    assert [m["path"].split("/")[-1].split("__")[0] for m in plan.manifests] == [OLD]
    assert plan.rows == 4 and len(plan.files) == 2
    assert _landing_files(config) == before
    assert _rows(config) == {OLD: 4, NEW: 2}
    assert execute(config, "select count(*) from raw._run_records where kind = 'retention'") == [(0,)]


def test_apply_removes_old_rows_and_files_records_it_and_verify_still_passes(config) -> None:
    with connect(config.warehouse.path) as con:
        plan = apply_retention(con, config.warehouse.landing, 3, now=NOW)
    assert plan.rows == 4
    assert _rows(config) == {NEW: 2}
    assert not any(OLD in f for f in _landing_files(config))
    assert any(NEW in f for f in _landing_files(config))
    assert execute(config, "select count(*) from raw._manifests where run_id = ?", [OLD]) == [(0,)]
    kind, detail = execute(config, "select kind, detail from raw._run_records order by seq desc limit 1")[0]
    body = json.loads(detail)
    assert kind == "retention" and body["years"] == 3
    assert sorted(f["rows"] for f in body["files"]) == [0, 4]
    assert verify_warehouse(config) == []
    # nothing left to remove: a second apply is a no-op
    with connect(config.warehouse.path) as con:
        assert apply_retention(con, config.warehouse.landing, 3, now=NOW).manifests == []


def test_verify_names_files_removed_by_retention_that_reappear(config) -> None:
    old_file = next(p for p in config.warehouse.landing.rglob("*.jsonl.gz") if OLD in str(p))
    saved = old_file.read_bytes()
    with connect(config.warehouse.path) as con:
        apply_retention(con, config.warehouse.landing, 3, now=NOW)
    old_file.parent.mkdir(parents=True, exist_ok=True)
    old_file.write_bytes(saved)
    assert verify_warehouse(config) == [f"{old_file}: removed by retention but still present "
                                        "(re-run `changetrail retention --apply`)"]
    with connect(config.warehouse.path) as con:
        plan = apply_retention(con, config.warehouse.landing, 3, now=NOW)
    assert plan.leftover and not old_file.exists()
    assert verify_warehouse(config) == []


def test_evidence_of_a_sealed_quarter_inside_retention_is_kept(config) -> None:
    manifest = execute(config, "select manifest_path, manifest_sha256 from raw._manifests where run_id = ?", [OLD])[0]
    evidence = json.dumps([{"kind": "manifest", "path": manifest[0], "sha256": manifest[1]}])
    seal = ("insert into sealed_periods (period, run_id, sealed_at, sealed_by, forced, results_sha256, evidence, "
            "evidence_sha256) values (?, 'r', now(), 'test', false, 'x', ?, 'y')")
    execute(config, seal, ["2024Q1", evidence])          # ends 2024-04-01 > cutoff 2023-11-01: still inside
    with connect(config.warehouse.path) as con:
        plan = apply_retention(con, config.warehouse.landing, 3, now=NOW)
    assert plan.manifests == [] and plan.kept == [(manifest[0], "listed by the seal of 2024Q1, inside retention")]
    assert _rows(config) == {OLD: 4, NEW: 2}
    # the same seal once its quarter has left retention no longer protects it
    with connect(config.warehouse.path) as con:
        plan = apply_retention(con, config.warehouse.landing, 3, now=datetime(2027, 5, 1, tzinfo=timezone.utc))
    assert plan.rows == 4 and _rows(config) == {NEW: 2}
    assert verify_warehouse(config) == []


def test_cli_is_a_dry_run_without_apply(tmp_path: Path) -> None:
    config = make_config(tmp_path)       # extraction dates relative to today: the CLI uses the clock
    now = datetime.now(timezone.utc)
    land(config, OLD, results=4, finished_at=cutoff_for(now, 2).isoformat())
    land(config, NEW, results=2, finished_at=now.isoformat())
    load(config)
    toml = tmp_path / "changetrail.toml"
    toml.write_text(f'[warehouse]\npath = "{config.warehouse.path}"\nlanding = "{config.warehouse.landing}"\n'
                    f'[reports]\nout = "{config.reports.out}"\n[retention]\nyears = 1\n', encoding="utf-8")
    runner = CliRunner()
    dry = runner.invoke(app, ["retention", "--config", str(toml)])
    assert dry.exit_code == 0, dry.output
    assert "would remove 1 manifest(s), 2 landing file(s), 4 raw row(s)" in " ".join(dry.output.split())
    assert "Pass --apply to remove." in dry.output
    assert _rows(config) == {OLD: 4, NEW: 2}
    done = runner.invoke(app, ["retention", "--apply", "--config", str(toml)])
    assert done.exit_code == 0, done.output
    assert "removed 1 manifest(s)" in " ".join(done.output.split())
    assert _rows(config) == {NEW: 2}
    verified = runner.invoke(app, ["verify", "--config", str(toml)])
    assert verified.exit_code == 0 and "verified" in verified.output
