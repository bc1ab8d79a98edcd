"""Warehouse and landing files readable by their owner only: 0600 files, 0700 folders, whatever the umask."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.flows.integrity_fixture import land, load, make_config


@pytest.fixture
def open_umask():
    previous = os.umask(0o022)    # the usual default: without care, files would be world-readable
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_landing_files_and_folders_are_owner_only(tmp_path: Path, open_umask) -> None:
    config = make_config(tmp_path)
    manifest = land(config, "20260701T000000Z-aaaaaa")
    landing = config.warehouse.landing
    folders = [landing, *(p for p in landing.rglob("*") if p.is_dir())]
    files = [p for p in landing.rglob("*") if p.is_file()]
    assert manifest in files and len(files) == 3      # runs, results, manifest
    assert {str(p.relative_to(tmp_path)): _mode(p) for p in folders} == {
        str(p.relative_to(tmp_path)): 0o700 for p in folders}
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_warehouse_file_is_owner_only(tmp_path: Path, open_umask) -> None:
    config = make_config(tmp_path)
    land(config, "20260701T000000Z-aaaaaa")
    load(config)
    assert _mode(config.warehouse.path) == 0o600
    wal = Path(str(config.warehouse.path) + ".wal")
    assert not wal.exists() or _mode(wal) == 0o600
