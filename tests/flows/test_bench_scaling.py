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


def test_memory_limit_and_threads_reach_every_warehouse_connection(tmp_path):
    config_path = _config(tmp_path, "ct.duckdb")
    config_path.write_text(config_path.read_text(encoding="utf-8")
                           + 'memory_limit = "512MB"\nthreads = 1\n', encoding="utf-8")
    config = load_config(config_path)
    for read_only in (False, True):
        with config.warehouse.connect(read_only=read_only) as con:
            limit, threads = con.execute(
                "select current_setting('memory_limit'), current_setting('threads')").fetchone()
            assert (limit, threads) == ("488.2 MiB", 1)  # DuckDB shows 512 MB in MiB


def test_a_memory_limit_that_is_not_a_size_is_refused(tmp_path):
    import pytest

    from flows.config import ConfigError

    config_path = _config(tmp_path, "ct.duckdb")
    config_path.write_text(config_path.read_text(encoding="utf-8") + "memory_limit = \"3GB'; drop\"\n",
                           encoding="utf-8")
    with pytest.raises(ConfigError, match="memory_limit"):
        load_config(config_path)
