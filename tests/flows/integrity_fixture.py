"""A tiny warehouse for the integrity and retention tests: SARIF landing units loaded for real."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb

from extractors.core.landing import LandingWriter
from flows.config import Config, Reports, Warehouse
from warehouse.load import load_landing
from warehouse.schema import connect


def make_config(tmp_path: Path) -> Config:
    return Config(warehouse=Warehouse(path=tmp_path / "wh.duckdb", landing=tmp_path / "landing"),
                  reports=Reports(out=tmp_path / "reports"))


def land(config: Config, run_id: str, results: int = 3, finished_at: str | None = None) -> Path:
    """One SARIF unit with `results` records and one quarantined file; returns its manifest."""
    writer = LandingWriter(config.warehouse.landing, "sarif", f"scans-{run_id}", run_id)
    writer.stream("runs")
    for i in range(results):
        writer.write_record("results", {"ruleId": f"B{i:03d}", "message": {"text": f"finding {i}"}},
                            context={"scan_file": "a.sarif", "run_index": 0, "result_index": i},
                            source_url="file:///scans/a.sarif")
    writer.quarantine("runs", "/scans/bad.sarif", "bad.sarif", "not valid JSON", "{")
    manifest = writer.finish()
    if finished_at:   # an old extraction (retention tests): rewritten before it is loaded
        body = json.loads(manifest.read_text(encoding="utf-8"))
        body["started_at"] = body["finished_at"] = finished_at
        manifest.write_text(json.dumps(body), encoding="utf-8")
    return manifest


def load(config: Config) -> None:
    with connect(config.warehouse.path) as con:
        load_landing(con, config.warehouse.landing)


def execute(config: Config, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(config.warehouse.path)) as con:
        return con.execute(sql, params or []).fetchall()


def flip_byte(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if at is None else at
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def two_loads(tmp_path: Path) -> Config:
    """A warehouse with two loads of generated SARIF results (the integrity tests' starting point)."""
    config = make_config(tmp_path)
    land(config, "20260701T000000Z-aaaaaa")
    load(config)
    land(config, "20260702T000000Z-bbbbbb", results=2)
    load(config)
    return config
