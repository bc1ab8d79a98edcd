"""Every report output is written atomically (reports/atomic.py): a write that fails part-way - here
a row iterator that raises after some rows - leaves the previous file byte for byte, no partial
file and no temporary behind."""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from reports.atomic import atomic_open, atomic_path, write_text_atomic
from reports.csv_export import FINDING_COLUMNS
from reports.csv_export import _write as csv_write
from reports.evidence_pack.pack import _csv
from reports.xlsx import write_xlsx


class Boom(RuntimeError):
    pass


def failing_rows(good: int):
    for i in range(good):
        yield [f"row {i}", i]
    raise Boom("the source went away mid-report")


def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_xlsx_keeps_the_previous_file_when_the_rows_fail(tmp_path: Path) -> None:
    out = tmp_path / "q.xlsx"
    write_xlsx(out, {"Population": (["a", "b"], [["x", 1]])})
    before = out.read_bytes()
    with pytest.raises(Boom):
        write_xlsx(out, {"Population": (["a", "b"], failing_rows(5000))})
    assert out.read_bytes() == before
    assert _only(tmp_path) == ["q.xlsx"]


def test_xlsx_failing_first_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(Boom):
        write_xlsx(tmp_path / "new.xlsx", {"S": (["a", "b"], failing_rows(3))})
    assert _only(tmp_path) == []


def test_evidence_pack_csv_keeps_the_previous_file(tmp_path: Path) -> None:
    out = tmp_path / "sample.csv"
    _csv(out, ["a", "b"], [["old", 1]])
    with pytest.raises(Boom):
        _csv(out, ["a", "b"], failing_rows(20_000))      # > one write buffer reached the disk
    assert out.read_text(encoding="utf-8") == "a,b\nold,1\n"
    assert _only(tmp_path) == ["sample.csv"]


class FailingCursor:
    """A DuckDB cursor stand-in whose second batch fails (the connection died mid-export)."""

    def __init__(self) -> None:
        self.batches = 0

    def fetchmany(self, size: int):
        self.batches += 1
        if self.batches > 1:
            raise duckdb.IOException("connection lost")
        return [tuple(f"v{i}" for i in range(len(FINDING_COLUMNS)))] * size


def test_population_and_findings_csv_keep_the_previous_file(tmp_path: Path) -> None:
    out = tmp_path / "findings.csv"
    out.write_text("previous\n", encoding="utf-8")
    with pytest.raises(duckdb.IOException):
        csv_write(FailingCursor(), FINDING_COLUMNS, out)
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert _only(tmp_path) == ["findings.csv"]


def test_atomic_open_replaces_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    with atomic_open(out, "w", encoding="utf-8", newline="") as fh:
        assert Path(fh.name) == tmp_path / ".r.csv.tmp" and not out.exists()
        csv.writer(fh).writerow(["x"])
    assert out.read_text(encoding="utf-8").strip() == "x"
    with pytest.raises(Boom), atomic_open(out, "w", encoding="utf-8") as fh:
        fh.write("half")
        raise Boom()
    assert out.read_text(encoding="utf-8").strip() == "x" and _only(tmp_path) == ["r.csv"]
    with pytest.raises(ValueError):
        with atomic_open(out, "a"):
            pass


def test_atomic_path_and_text(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "m.json"
    write_text_atomic(out, "{}\n")
    assert out.read_text(encoding="utf-8") == "{}\n"
    with pytest.raises(KeyboardInterrupt), atomic_path(out) as tmp:
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt
    assert out.read_text(encoding="utf-8") == "{}\n" and not tmp_path.joinpath("sub", ".m.json.tmp").exists()

