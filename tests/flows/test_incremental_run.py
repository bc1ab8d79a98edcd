"""End to end: extract -> load -> extract again from the loaded cursors (flows/pipeline.py)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from flows import pipeline
from flows.config import Config, PagerDutySource, ServiceNowSource, Sources, Warehouse
from warehouse.cursors import last_cursors, since_for_source
from warehouse.models import staging_sql


def _write(root: Path, rel: str, body) -> None:
    path = root / (rel + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body), encoding="utf-8")


def _chg(n: int, updated: str, state: str = "3") -> dict:
    return {"sys_id": f"c{n}", "number": f"CHG{n:07d}", "type": "normal", "state": state,
            "sys_created_on": "2026-07-01 00:00:00", "sys_updated_on": updated}


def _incident(n: int, created: str) -> dict:
    return {"id": f"P{n}", "incident_number": n, "status": "resolved", "title": f"incident {n}",
            "created_at": created, "last_status_change_at": created, "service": {"id": "S1", "summary": "api"},
            "priority": {"summary": "P2"}, "html_url": f"https://pd/{n}"}


def _setup(tmp_path: Path) -> tuple[Config, Path]:
    api = tmp_path / "api"
    _write(api, "servicenow/api/now/table/change_request",
           {"result": [_chg(1, "2026-06-30 00:00:00"), _chg(2, "2026-07-02 00:00:00")]})
    _write(api, "servicenow/api/now/table/sysapproval_approver", {"result": [
        {"sys_id": "a1", "state": "approved", "sys_updated_on": "2026-07-01 00:00:00"}]})
    _write(api, "servicenow/api/now/table/sys_user", {"result": [
        {"sys_id": "u1", "user_name": "alice", "sys_updated_on": "2026-01-01 00:00:00"}]})
    _write(api, "pagerduty/incidents", {"incidents": [_incident(1, "2026-07-01T00:00:00Z")]})
    _write(api, "pagerduty/incidents/P1/log_entries", {"log_entries": []})
    config = Config(
        warehouse=Warehouse(path=tmp_path / "wh.duckdb", landing=tmp_path / "landing"),
        sources=Sources(servicenow=ServiceNowSource(base_url="file://" + (api / "servicenow").as_posix(), page_size=1),
                        pagerduty=PagerDutySource(base_url="file://" + (api / "pagerduty").as_posix())),
    )
    return config, api


def _run(config: Config, run_id: str, **kwargs) -> dict[str, dict]:
    manifests = []
    for name in ("servicenow", "pagerduty"):
        try:
            manifests += pipeline.extract_source(config, name, run_id, **kwargs)
        except Exception:
            manifests += sorted((config.warehouse.landing / name / "_manifests").glob(f"{run_id}__*.json"))
    pipeline.load(config)
    return {m["unit"]: m for m in (json.loads(Path(p).read_text()) for p in manifests)}


def _records(manifest: dict, stream: str) -> int:
    return next(f["records"] for f in manifest["files"] if f["stream"] == stream)


def _staged(config: Config, view: str, column: str) -> tuple[int, int]:
    con = duckdb.connect(str(config.warehouse.path), read_only=True)
    sql = staging_sql(view)
    for staged in sorted(set(re.findall(r"\bstg_[a-z0-9_]+\b", re.sub(r"--[^\n]*", "", sql))) - {view}):
        con.execute(f"create temp view {staged} as {staging_sql(staged)}")   # staging it reads
    con.execute(f"create temp view {view} as {sql}")
    try:
        return con.execute(f"select count(*), count(distinct {column}) from {view}").fetchone()
    finally:
        con.close()


def test_second_run_reads_only_new_records_and_staging_does_not_duplicate(tmp_path: Path) -> None:
    config, api = _setup(tmp_path)
    first = _run(config, "20260701T000000Z-aaaaaa")
    assert _records(first["change_request"], "change_requests") == 2
    with duckdb.connect(str(config.warehouse.path), read_only=True) as con:
        assert last_cursors(con, "servicenow")[("change_request", "change_requests")] == "2026-07-02 00:00:00"
    before = _staged(config, "stg_servicenow__change_requests", "sys_id")

    # New and changed records after the first run; c1 is older than the overlap window.
    _write(api, "servicenow/api/now/table/change_request", {"result": [
        _chg(1, "2026-06-30 00:00:00"), _chg(2, "2026-07-02 00:00:00"), _chg(3, "2026-07-04 00:00:00"),
        _chg(4, "2026-07-05 00:00:00", state="0")]})
    _write(api, "pagerduty/incidents", {"incidents": [_incident(1, "2026-07-01T00:00:00Z"),
                                                      _incident(2, "2026-07-04T00:00:00Z")]})
    _write(api, "pagerduty/incidents/P2/log_entries", {"log_entries": []})
    second = _run(config, "20260706T000000Z-bbbbbb")
    changes = second["change_request"]
    # since = 2026-07-02 00:00 - 24h: c2 is re-read (overlap), c3 and c4 are new, c1 is not asked for.
    assert _records(changes, "change_requests") == 3
    assert next(f["requests"] for f in changes["files"]) == 3          # page_size 1: one request per record
    assert changes["cursors"] == {"change_requests": "2026-07-05 00:00:00"}
    assert _records(second["account"], "incidents") == 2                # P1 in the overlap, P2 new
    assert _records(second["sys_user"], "users") == 1                   # cursor - 24h still covers u1's stamp

    after = _staged(config, "stg_servicenow__change_requests", "sys_id")
    assert before == (2, 2) and after == (4, 4)                         # overlap re-read, no duplicates
    assert _staged(config, "stg_pagerduty__incidents", "incident_id") == (2, 2)

    since = since_for_source(config.warehouse.path, "servicenow", 24)
    assert since.per_unit["change_request"] == datetime(2026, 7, 4, tzinfo=timezone.utc)


def test_a_failed_unit_does_not_advance_its_cursor(tmp_path: Path) -> None:
    config, api = _setup(tmp_path)
    _run(config, "20260701T000000Z-aaaaaa")
    _write(api, "servicenow/api/now/table/change_request", {"result": [_chg(5, "2026-07-09 00:00:00")]})
    _write(api, "servicenow/api/now/table/sysapproval_approver", {"result": [
        {"sys_id": "a1", "state": "approved", "sys_updated_on": "2026-07-01 00:00:00"},
        {"sys_id": "a2", "state": "approved", "sys_updated_on": "2026-07-09 00:00:00"}]})
    (api / "servicenow/api/now/table/sysapproval_approver.json").rename(api / "moved.json")   # 404: unit fails
    second = _run(config, "20260710T000000Z-bbbbbb")
    assert "sysapproval_approver" not in second and "change_request" in second
    with duckdb.connect(str(config.warehouse.path), read_only=True) as con:
        cursors = last_cursors(con, "servicenow")
    assert cursors[("change_request", "change_requests")] == "2026-07-09 00:00:00"
    assert cursors[("sysapproval_approver", "approvals")] == "2026-07-01 00:00:00"   # not advanced

    (api / "moved.json").rename(api / "servicenow/api/now/table/sysapproval_approver.json")
    third = _run(config, "20260711T000000Z-cccccc")
    assert _records(third["sysapproval_approver"], "approvals") == 2   # from its own, older cursor


def test_full_refresh_ignores_the_cursors(tmp_path: Path) -> None:
    config, _ = _setup(tmp_path)
    _run(config, "20260701T000000Z-aaaaaa")
    again = _run(config, "20260702T000000Z-bbbbbb", full_refresh=True)
    # Everything is asked again; pages the source confirms unchanged (304) are not re-landed.
    changes = again["change_request"]
    assert _records(changes, "change_requests") + sum(u["records"] for u in changes["unchanged"]) == 2
    assert len(changes["unchanged"]) == 2 and changes["files"][0]["requests"] == 2
    assert "sys_updated_on>=" not in again["change_request"]["files"][0]["query"]
    assert since_for_source(tmp_path / "missing.duckdb", "servicenow", 24) is None
