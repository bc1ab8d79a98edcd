"""Hostile and broken input (issue 6 item 5): each bad kind gets a quarantine entry with its reason
(or a clear error naming the file/endpoint), everything else still loads, and the counts tie out
per file/stream: read = loaded + quarantined (manifest `records` + its quarantine entries, and the
raw rows the load appended)."""
from __future__ import annotations

import json
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import httpx
import pytest

from extractors.core import ApiClient, FolderTransport
from extractors.deploylog import extract_deploylog
from extractors.sarif import extract_sarif
from flows.config import DeployLogSource, SarifSource
from tests.extractors.conftest import read_manifest, write_json
from warehouse.load import LoadError, load_landing
from warehouse.schema import create_schema

MAPPING = {"deployment_id": "id", "repo": "app", "sha": "sha", "environment": "env", "status": "state",
           "started_at": "at"}


def _deploy(n: int, at: str = "2026-08-03T09:00:00Z", **extra) -> dict:
    return {"id": f"d-{n}", "app": "acme/web", "sha": f"{n:040x}", "env": "production", "state": "ok", "at": at, **extra}


def _load(landing: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_schema(con)
    load_landing(con, landing)
    return con


def _ties_out(manifest: dict, con: duckdb.DuckDBPyConnection, table: str, stream: str, read: int) -> None:
    """read = loaded + quarantined, in the manifest and in the warehouse."""
    [entry] = [f for f in manifest["files"] if f["stream"] == stream]
    quarantined = [q for q in manifest["quarantined"] if q["stream"] == stream]
    assert entry["records"] + len(quarantined) == read
    assert con.execute(f"select count(*) from {table}").fetchone()[0] == entry["records"]
    assert con.execute("select count(*) from raw.quarantine where stream = ?", [stream]).fetchone()[0] == len(quarantined)


# -- deploy log: one file with every kind of bad line ------------------------------------------------

def test_deploylog_bad_lines_are_quarantined_with_reasons_and_the_rest_loads(tmp_path: Path) -> None:
    future = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    lines = [
        json.dumps(_deploy(1)).encode(),
        b'{"id": "d-2", "app": "acme/web", ',                                  # malformed JSON
        json.dumps(_deploy(3)).encode(),
        json.dumps(_deploy(3)).encode(),                                       # duplicate record: kept, staging dedupes
        json.dumps(_deploy(4, note="caf\u00e9"), ensure_ascii=False).encode().replace(b"caf\xc3\xa9", b"caf\xe9"),  # Latin-1, not UTF-8
        json.dumps(_deploy(5, at="2026-08-03T09:00:00")).encode(),             # no time zone
        json.dumps(_deploy(6, at=future)).encode(),                            # from the future
        json.dumps(_deploy(7, note="\u00fcber \u2713")).encode(),              # real UTF-8: fine
        b'{"id": "d-8", "app": "acme/w',                                       # truncated last line
    ]
    log = tmp_path / "logs" / "deploys.jsonl"
    log.parent.mkdir()
    log.write_bytes(b"\n".join(lines))
    [path] = extract_deploylog(DeployLogSource(path=log.parent, columns=MAPPING), tmp_path / "landing", "r1")
    manifest = read_manifest(path)
    reasons = {q["locator"]: q["reason"] for q in manifest["quarantined"]}
    assert set(reasons) == {f"deploys.jsonl, line {n}" for n in (2, 5, 6, 7, 9)}
    assert reasons["deploys.jsonl, line 2"].startswith("not valid JSON")
    assert reasons["deploys.jsonl, line 5"] == "not valid UTF-8 text"
    assert reasons["deploys.jsonl, line 6"] == "started_at '2026-08-03T09:00:00' has no time zone"
    assert "is in the future" in reasons["deploys.jsonl, line 7"]
    assert reasons["deploys.jsonl, line 9"].startswith("not valid JSON")
    assert all(q["source"] == str(log) for q in manifest["quarantined"])
    assert "caf\ufffd" in next(q["raw"] for q in manifest["quarantined"] if q["reason"] == "not valid UTF-8 text")
    con = _load(tmp_path / "landing")
    _ties_out(manifest, con, "raw.deploylog__deployments", "deployments", read=len(lines))
    ids = sorted(r[0] for r in con.execute("select _payload->>'$.id' from raw.deploylog__deployments").fetchall())
    assert ids == ["d-1", "d-3", "d-3", "d-7"]


def test_deploylog_csv_with_non_utf8_cell_quarantines_that_row_only(tmp_path: Path) -> None:
    log = tmp_path / "deploys.csv"
    log.write_bytes(b"id,app,sha,env,state,at\n"
                    b"d-1,acme/web,aaa,production,ok,2026-08-03T09:00:00Z\n"
                    b"d-2,acme/w\xffb,bbb,production,ok,2026-08-03T09:00:00Z\n"
                    b"d-3,acme/web,ccc,production,ok,2026-08-03T09:00:00Z\n")
    [path] = extract_deploylog(DeployLogSource(path=log, columns=MAPPING), tmp_path / "landing", "r1")
    manifest = read_manifest(path)
    assert [(q["locator"], q["reason"]) for q in manifest["quarantined"]] == [("deploys.csv, line 3", "not valid UTF-8 text")]
    _ties_out(manifest, _load(tmp_path / "landing"), "raw.deploylog__deployments", "deployments", read=3)


def test_large_jsonl_file_is_streamed_with_bounded_memory(tmp_path: Path) -> None:
    """~48 MB of JSON Lines extracts with a Python heap peak far below the file's size."""
    log = tmp_path / "big.jsonl"
    line = json.dumps(_deploy(0, note="x" * 400)).encode() + b"\n"
    count = (48 << 20) // len(line)
    with log.open("wb") as fh:
        block = line * 1000
        for _ in range(count // 1000):
            fh.write(block)
    count = (count // 1000) * 1000
    size = log.stat().st_size
    tracemalloc.start()
    try:
        [path] = extract_deploylog(DeployLogSource(path=log, columns=MAPPING), tmp_path / "landing", "r1")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    manifest = read_manifest(path)
    assert manifest["files"][0]["records"] == count and manifest["quarantined"] == []
    assert peak < size / 8, f"peak {peak} bytes while reading a {size}-byte file"


# -- SARIF: wrong versions, truncated, not UTF-8, symlinks out of the folder -------------------------

SARIF_OK = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semgrep"}},
                                          "results": [{"ruleId": "r1", "level": "error"}, {"ruleId": "r2"}]}]}


def test_sarif_hostile_files_are_quarantined_and_the_good_one_loads(tmp_path: Path) -> None:
    folder = tmp_path / "sarif"
    folder.mkdir()
    good = json.dumps(SARIF_OK)
    (folder / "good.sarif").write_text(good)
    (folder / "v1.sarif").write_text(json.dumps({**SARIF_OK, "version": "1.0.0"}))
    (folder / "v2.sarif").write_text(json.dumps({**SARIF_OK, "version": "2.0.0"}))
    (folder / "truncated.sarif").write_text(good[: len(good) // 2])
    (folder / "latin1.sarif").write_bytes(good.replace('"r2"', '"r\u00e9"').encode("latin-1"))
    outside = tmp_path / "secret.sarif"
    outside.write_text(good)
    (folder / "escape.sarif").symlink_to(outside)
    (folder / "dangling.sarif").symlink_to(tmp_path / "nowhere.sarif")
    [path] = extract_sarif(SarifSource(path=folder), tmp_path / "landing", "r1")
    manifest = read_manifest(path)
    reasons = {q["locator"]: q["reason"] for q in manifest["quarantined"]}
    assert reasons["v1.sarif"] == "not a SARIF 2.1.0 log: version '1.0.0' (only 2.1.0 is supported)"
    assert reasons["v2.sarif"] == "not a SARIF 2.1.0 log: version '2.0.0' (only 2.1.0 is supported)"
    assert reasons["truncated.sarif"].startswith("not valid JSON")
    assert reasons["latin1.sarif"].startswith("not valid JSON") and "utf-8" in reasons["latin1.sarif"]
    assert reasons["escape.sarif"].startswith("path escapes the input folder") and str(outside) in reasons["escape.sarif"]
    assert "cannot be resolved inside the input folder" in reasons["dangling.sarif"]
    assert next(q for q in manifest["quarantined"] if q["locator"] == "escape.sarif")["raw"] == ""   # never read
    con = _load(tmp_path / "landing")
    # 7 files read for `runs`: 1 run landed + 6 quarantined; the good file's 2 results all land
    _ties_out(manifest, con, "raw.sarif__runs", "runs", read=7)
    _ties_out(manifest, con, "raw.sarif__results", "results", read=2)


# -- FolderTransport: paths that try to leave the served folder -----------------------------------

def test_folder_transport_refuses_paths_out_of_its_folder(tmp_path: Path) -> None:
    root = tmp_path / "served"
    write_json(root, "pagerduty/incidents", {"incidents": [{"id": "P1"}], "more": False})
    write_json(tmp_path, "secret", {"incidents": [{"id": "LEAK"}]})
    (root / "pagerduty" / "linked.json").symlink_to(tmp_path / "secret.json")
    (root / "pagerduty" / "dir").symlink_to(tmp_path, target_is_directory=True)
    client = httpx.Client(transport=FolderTransport(root / "pagerduty", style="pagerduty"), base_url="http://folder")
    assert client.get("/incidents").json()["incidents"] == [{"id": "P1"}]
    for path in ("/../secret", "/%2e%2e/secret", "/incidents/../../secret"):
        response = client.get(path)
        assert response.status_code == 404 and "LEAK" not in response.text, path
    for path in ("/linked", "/dir/secret"):
        response = client.get(path)
        assert response.status_code == 403 and "LEAK" not in response.text, path
        assert "escapes the input folder" in response.json()["message"] and path in response.json()["message"]


def test_folder_transport_escape_fails_the_extraction_naming_the_endpoint(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    write_json(tmp_path, "secret", {"incidents": []})
    (root / "incidents.json").symlink_to(tmp_path / "secret.json")
    client = ApiClient("pagerduty", root.as_uri())
    with pytest.raises(Exception) as failed:
        client.get("/incidents")
    assert "403" in str(failed.value) and "/incidents" in str(failed.value)


# -- landing files damaged after extraction --------------------------------------------------------

def test_truncated_landing_file_is_a_load_error_naming_the_file(tmp_path: Path) -> None:
    log = tmp_path / "deploys.jsonl"
    log.write_text("\n".join(json.dumps(_deploy(n)) for n in range(50)))
    [path] = extract_deploylog(DeployLogSource(path=log, columns=MAPPING), tmp_path / "landing", "r1")
    landed = tmp_path / "landing" / read_manifest(path)["files"][0]["path"]
    data = landed.read_bytes()
    landed.write_bytes(data[: len(data) // 2])
    with pytest.raises(LoadError, match=str(landed)):
        _load(tmp_path / "landing")


def test_scanner_report_symlinked_out_of_the_folder_is_quarantined(tmp_path: Path) -> None:
    from extractors.scanners import extract_scanners
    from flows.config import ScannersSource

    folder = tmp_path / "scans"
    folder.mkdir()
    bandit = {"results": [{"test_id": "B101", "filename": "a.py", "line_number": 1, "issue_severity": "LOW",
                           "issue_confidence": "HIGH", "issue_text": "assert used"}], "metrics": {}}
    (folder / "bandit.json").write_text(json.dumps(bandit))
    (tmp_path / "elsewhere.json").write_text(json.dumps(bandit))
    (folder / "linked.json").symlink_to(tmp_path / "elsewhere.json")
    manifests = [read_manifest(p) for p in extract_scanners(ScannersSource(path=folder), tmp_path / "landing", "r1")]
    quarantined = [q for m in manifests for q in m["quarantined"]]
    assert [(q["locator"], q["reason"].split(" (")[0]) for q in quarantined] == [
        ("linked.json", f"path escapes the input folder {folder.resolve()}")]
    reports = [f for m in manifests for f in m["files"] if f["stream"] == "reports"]
    assert sum(f["records"] for f in reports) == 1    # bandit.json landed; linked.json only quarantined
