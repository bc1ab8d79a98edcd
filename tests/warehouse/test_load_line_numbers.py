"""`_line_no` of a raw row is the record's line in its landing file (warehouse/load.py).

An auditor takes a raw row's `_landing_file` and `_line_no` to the landing file and expects that
line to hold the row's record; the run record hashes each file's rows "in line order". DuckDB
numbers rows of a parallel scan in no particular order unless told, which a window over the file
name did not: past one vector (2,048 rows) most records got another record's line.

Landing files written since then carry each record's line in its envelope (`numbered` in the
manifest); older files are numbered by the load in the order it reads them. Both are tested.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import duckdb
import pytest

from extractors.core.landing import LandingWriter
from warehouse.load import LoadError, load_landing
from warehouse.schema import create_schema


def _land(root: Path, unit: str, run_id: str, counts: dict[str, int], numbered: bool = True,
          claim_numbered: bool = False) -> Path:
    """One unit whose record i (1-based) of each stream says `"i": i` and sits on line i;
    `numbered=False`: as a LandingWriter before 2026-11-28 wrote it (no line in the envelope)."""
    writer = LandingWriter(root, "servicenow", unit, run_id)
    prefix = writer.envelope_prefix("2026-09-30T00:00:00+00:00", None, {"unit": unit})
    for stream, n in counts.items():
        for i in range(1, n + 1):
            writer.write(stream, {"sys_id": f"{unit}-{i}", "i": i, "note": "x" * (i % 97)}, prefix)
    manifest = writer.finish()
    if not numbered:
        body = json.loads(manifest.read_text(encoding="utf-8"))
        for entry in body["files"]:
            path = root / entry["path"]
            with gzip.open(path, "rb") as fh:
                lines = [re.sub(rb',"line":[0-9]+}\n$', b"}\n", line) for line in fh]
            with gzip.GzipFile(path, "wb", mtime=0) as fh:
                fh.write(b"".join(lines))
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
            if not claim_numbered:
                del entry["numbered"]
        manifest.write_text(json.dumps(body), encoding="utf-8")
    return manifest


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": 2})
    create_schema(con)
    return con


@pytest.mark.parametrize("layout", ["numbered", "older", "mixed"])
def test_each_row_carries_the_line_of_its_record(tmp_path, layout):
    landing = tmp_path / "landing"
    _land(landing, "big", "20260930T000000Z-aaaaaa", {"change_requests": 20_000, "approvals": 3_000},
          numbered=layout != "older")
    for k in range(3):
        _land(landing, f"unit{k}", f"20260930T000000Z-bbbbb{k}", {"change_requests": 5_000},
              numbered=layout == "numbered" or (layout == "mixed" and k == 1))
    con = _warehouse()
    summary = load_landing(con, landing)
    assert summary.records == {"servicenow/change_requests": 35_000, "servicenow/approvals": 3_000}

    for table, expected in (("raw.servicenow__change_requests", 35_000), ("raw.servicenow__approvals", 3_000)):
        rows, wrong, files = con.execute(
            f"select count(*), count(*) filter (where _line_no <> (_payload->>'i')::bigint),"
            f" count(distinct _landing_file) from {table}").fetchone()
        assert rows == expected and wrong == 0, f"{table}: {wrong} of {rows} rows name another record's line"
    assert files == 1

    # and the line is the file's own: read line 12,345 of the big file back
    path, line = con.execute("select _landing_file, _line_no from raw.servicenow__change_requests "
                             "where _payload->>'sys_id' = 'big-12345'").fetchone()
    with gzip.open(landing / path, "rt", encoding="utf-8") as fh:
        record = json.loads(fh.readlines()[line - 1])
    assert record["payload"]["sys_id"] == "big-12345"


@pytest.mark.parametrize("numbered", [True, False])
def test_a_file_that_does_not_match_its_manifest_count_is_refused(tmp_path, numbered):
    landing = tmp_path / "landing"
    _land(landing, "ok", "20260930T000000Z-aaaaaa", {"change_requests": 3_000}, numbered)
    manifest = _land(landing, "short", "20260930T000000Z-bbbbbb", {"change_requests": 2_500}, numbered)
    body = json.loads(manifest.read_text(encoding="utf-8"))
    body["files"][0]["records"] = 2_400           # the file itself is unchanged: its sha256 still matches
    manifest.write_text(json.dumps(body), encoding="utf-8")

    con = _warehouse()
    with pytest.raises(LoadError, match=r"short\.jsonl\.gz: the manifest lists 2400 records, the file has 2500 numbered"):
        load_landing(con, landing)
    # the load is one transaction: nothing of it stays, the good unit included
    assert con.execute("select count(*) from raw.servicenow__change_requests").fetchone()[0] == 0
    assert con.execute("select count(*) from raw._manifests").fetchone()[0] == 0


def test_a_file_said_to_be_numbered_without_line_numbers_is_refused(tmp_path):
    landing = tmp_path / "landing"
    _land(landing, "bare", "20260930T000000Z-aaaaaa", {"change_requests": 10}, numbered=False, claim_numbered=True)
    con = _warehouse()
    with pytest.raises(LoadError, match=r"bare\.jsonl\.gz: the manifest lists 10 records, the file has 10 numbered 0\.\.0"):
        load_landing(con, landing)
