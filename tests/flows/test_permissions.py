"""Warehouse and landing files readable by their owner only: 0600 files, 0700 folders, whatever the umask."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import file_mode
from tests.flows.integrity_fixture import land, load, make_config


def test_landing_files_and_folders_are_owner_only(tmp_path: Path, open_umask) -> None:
    config = make_config(tmp_path)
    manifest = land(config, "20260701T000000Z-aaaaaa")
    landing = config.warehouse.landing
    folders = [landing, *(p for p in landing.rglob("*") if p.is_dir())]
    files = [p for p in landing.rglob("*") if p.is_file()]
    assert manifest in files and len(files) == 3      # runs, results, manifest
    assert {str(p.relative_to(tmp_path)): file_mode(p) for p in folders} == {
        str(p.relative_to(tmp_path)): 0o700 for p in folders}
    assert {p.name: file_mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_warehouse_file_is_owner_only(tmp_path: Path, open_umask) -> None:
    config = make_config(tmp_path)
    land(config, "20260701T000000Z-aaaaaa")
    load(config)
    assert file_mode(config.warehouse.path) == 0o600
    wal = Path(str(config.warehouse.path) + ".wal")
    assert not wal.exists() or file_mode(wal) == 0o600
