"""Shared fixtures for extractor tests: folders served as APIs, a warehouse with staging views.

Landing files are loaded with the real load step (`warehouse.load.load_landing`) into the raw
tables of `warehouse.schema`, and the staging views are created straight from
`warehouse/models/staging/*.sql`, so these tests exercise exactly what production runs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REALDATA = (REPO_ROOT / ".." / "shared" / "realdata").resolve()


@pytest.fixture
def realdata() -> Path:
    """The shared real recordings; tests using them skip cleanly when the folder is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real recorded data not available at {REALDATA}")
    return REALDATA


def write_json(root: Path, relpath: str, body: Any) -> Path:
    """Write `<root>/<relpath>.json` (the FolderTransport layout)."""
    path = root / (relpath.strip("/") + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def staging_connection(landing: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse: raw tables, the landed records, and every staging view."""
    from warehouse.load import load_landing
    from warehouse.models import build_models
    from warehouse.schema import create_schema

    con = duckdb.connect()
    create_schema(con)
    load_landing(con, landing)
    build_models(con, layers=("staging",), materialize=())  # views, in dependency order
    return con


@pytest.fixture
def warehouse() -> Callable[[Path], duckdb.DuckDBPyConnection]:
    return staging_connection


class FakeSleep:
    """Records requested sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


def read_manifest(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def read_landed(landing: Path, relpath: str) -> list[dict[str, Any]]:
    import gzip

    with gzip.open(landing / relpath, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]
