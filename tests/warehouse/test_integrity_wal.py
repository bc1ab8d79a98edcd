"""The warehouse's write-ahead log is owner-only too, including the .wal DuckDB re-creates after a
checkpoint (it is created lazily, at the first write, so a chmod after connect cannot cover it)."""
from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import file_mode

from warehouse.schema import connect


def test_wal_is_owner_only_after_every_checkpoint(tmp_path: Path, open_umask) -> None:
    path = tmp_path / "wh.duckdb"
    wal = Path(str(path) + ".wal")
    con = connect(path)
    try:
        con.execute("create table t (a integer)")
        con.execute("insert into t values (1)")
        assert wal.exists() and file_mode(wal) == 0o600
        con.execute("checkpoint")
        assert not wal.exists()                 # DuckDB deletes it at a checkpoint...
        con.execute("insert into t values (2)")
        assert wal.exists() and file_mode(wal) == 0o600     # ...and creates it again at the next write
        assert file_mode(path) == 0o600
    finally:
        con.close()


def test_umask_is_only_ever_tightened(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        connect(tmp_path / "wh.duckdb").close()
        assert os.umask(0o027) == 0o077
    finally:
        os.umask(previous)
