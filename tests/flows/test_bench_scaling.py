"""README "Scaling past one machine": the warehouse location setting accepts a DuckDB URI."""
from __future__ import annotations

from pathlib import Path

import duckdb

from flows import pipeline
from flows.config import is_database_uri, load_config


def _config(tmp_path: Path, path: str) -> Path:
    config = tmp_path / "conf" / "changetrail.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[warehouse]\npath = "{path}"\nlanding = "landing"\n', encoding="utf-8")
    return config


def test_a_relative_file_is_resolved_beside_the_config(tmp_path):
    config = load_config(_config(tmp_path, "wh/changetrail.duckdb"))
    assert config.warehouse.path == tmp_path / "conf" / "wh" / "changetrail.duckdb"


def test_uri_values_are_kept_as_written(tmp_path):
    for uri in ("md:changetrail", "motherduck:changetrail", f"file:{tmp_path}/x.duckdb"):
        assert str(load_config(_config(tmp_path, uri)).warehouse.path) == uri
        assert is_database_uri(uri)
    assert not is_database_uri("changetrail.duckdb")


def test_a_file_uri_warehouse_is_loaded_and_evaluated(tmp_path):
    target = tmp_path / "elsewhere" / "ct.duckdb"
    target.parent.mkdir()
    config = load_config(_config(tmp_path, f"file:{target}"))
    (tmp_path / "conf" / "landing").mkdir()
    pipeline.load(config)
    run_id = pipeline.reconcile(config, "2026Q3")
    assert target.exists() and not (tmp_path / "conf" / f"file:{target}").exists()
    con = duckdb.connect(str(target), read_only=True)
    try:
        assert con.execute("select period from evaluation_runs where run_id = ?", [run_id]).fetchone() == ("2026Q3",)
    finally:
        con.close()
