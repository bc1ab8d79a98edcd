"""PagerDuty incidents and log entries: offset paging, time window, resolved_at, notes."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import httpx

from extractors.core import FolderTransport
from extractors.pagerduty import extract_pagerduty, pagerduty_client
from flows.config import PagerDutySource
from tests.extractors.conftest import read_manifest, write_json


def _incident(id_: str, number: int, status: str, created: str, changed: str, priority: str | None) -> dict:
    return {"id": id_, "type": "incident", "incident_number": number, "title": f"incident {number}",
            "status": status, "urgency": "high", "created_at": created, "last_status_change_at": changed,
            "priority": {"id": "PR1", "type": "priority", "summary": priority} if priority else None,
            "service": {"id": "SVC1", "type": "service_reference", "summary": "payments-api"},
            "html_url": f"https://acme.pagerduty.com/incidents/{id_}"}


def _entry(id_: str, type_: str, at: str, incident: str, **extra) -> dict:
    return {"id": id_, "type": type_, "created_at": at, "agent": {"id": "U1", "type": "user_reference"},
            "incident": {"id": incident, "type": "incident_reference"}, **extra}


def _account(root: Path) -> Path:
    pd = root / "pagerduty"
    write_json(pd, "incidents", {"incidents": [
        _incident("Q1", 1, "resolved", "2026-07-01T10:00:00Z", "2026-07-01T12:00:00Z", "P1"),
        _incident("Q2", 2, "resolved", "2026-07-02T10:00:00Z", "2026-07-02T11:00:00Z", None),
        _incident("Q3", 3, "acknowledged", "2026-07-03T10:00:00Z", "2026-07-03T10:05:00Z", "P3"),
    ]})
    write_json(pd, "incidents/Q1/log_entries", {"log_entries": [
        _entry("L3", "resolve_log_entry", "2026-07-01T11:30:00Z", "Q1"),
        _entry("L2", "annotate_log_entry", "2026-07-01T11:00:00Z", "Q1",
               channel={"type": "note", "content": "Post-incident review: bad deploy, rolled back"}),
        _entry("L1", "trigger_log_entry", "2026-07-01T10:00:00Z", "Q1", channel={"type": "api"}),
    ]})
    write_json(pd, "incidents/Q2/log_entries", {"log_entries": []})
    write_json(pd, "incidents/Q3/log_entries", {"log_entries": [
        _entry("L4", "acknowledge_log_entry", "2026-07-03T10:05:00Z", "Q3")]})
    return pd


def test_incidents_and_log_entries_paged_and_staged(tmp_path: Path, warehouse) -> None:
    pd = _account(tmp_path)
    config = PagerDutySource(base_url="file://" + pd.as_posix(), page_size=2)
    [manifest_path] = extract_pagerduty(config, tmp_path / "landing", "r1")
    manifest = read_manifest(manifest_path)
    counts = {f["stream"]: (f["records"], f["requests"]) for f in manifest["files"]}
    assert counts == {"incidents": (3, 2), "log_entries": (4, 4)}   # Q1 has 3 entries: 2 pages
    assert "date_range=all" in manifest["files"][0]["query"] and "time_zone=UTC" in manifest["files"][0]["query"]
    assert "include[]=channels" in manifest["files"][1]["query"]
    con = warehouse(tmp_path / "landing")
    incidents = con.execute("select incident_id, incident_number, status, priority, service_id, service_name, "
                            "created_at, resolved_at from stg_pagerduty__incidents order by 1").fetchall()
    assert [(i[0], i[3], i[5]) for i in incidents] == [("Q1", "P1", "payments-api"), ("Q2", None, "payments-api"),
                                                       ("Q3", "P3", "payments-api")]
    assert incidents[0][7] == datetime(2026, 7, 1, 11, 30, tzinfo=timezone.utc)   # resolve_log_entry
    assert incidents[1][7] == datetime(2026, 7, 2, 11, tzinfo=timezone.utc)       # last_status_change_at
    assert incidents[2][7] is None                                                 # not resolved
    notes = con.execute("select log_entry_id, incident_id, type, note, agent_id from stg_pagerduty__log_entries "
                        "where note is not null").fetchall()
    assert notes == [("L2", "Q1", "annotate_log_entry", "Post-incident review: bad deploy, rolled back", "U1")]


def test_since_sends_a_utc_window(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PD_TOKEN", "pd-secret")
    pd = _account(tmp_path)
    seen: list[httpx.Request] = []
    folder = FolderTransport(pd, "pagerduty")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return folder.handle_request(request)

    config = PagerDutySource(token_env="PD_TOKEN")
    client = pagerduty_client(config, transport=httpx.MockTransport(handler))
    since, until = datetime(2026, 7, 2, tzinfo=timezone.utc), datetime(2026, 7, 10, tzinfo=timezone.utc)
    [path] = extract_pagerduty(config, tmp_path / "l", "r", since, client=client, until=until)
    first = seen[0]
    assert first.headers["Authorization"] == "Token token=pd-secret"
    assert first.url.params["since"] == "2026-07-02T00:00:00+00:00" and first.url.params["time_zone"] == "UTC"
    assert read_manifest(path)["files"][0]["records"] == 2                          # Q2, Q3


def test_devlake_incidents_resolved_at_from_log_entries(realdata: Path, tmp_path: Path, warehouse) -> None:
    """Real PagerDuty incidents (DevLake raw table) carry no resolved_at: it comes from the
    resolve_log_entry - embedded in the incident, or from the log_entries endpoint."""
    csv.field_size_limit(10**8)
    with open(realdata / "devlake" / "pagerduty" / "_raw_pagerduty_incidents.csv", newline="") as fh:
        incidents = [json.loads(row["data"]) for row in csv.DictReader(fh)]
    for variant, root in (("embedded", tmp_path / "a"), ("endpoint", tmp_path / "b")):
        pd = root / "pagerduty"
        served = incidents if variant == "embedded" else [
            {k: v for k, v in i.items() if k != "log_entries"} for i in incidents]
        write_json(pd, "incidents", {"incidents": served})
        for incident in incidents:
            entries = incident["log_entries"] if variant == "endpoint" else []
            write_json(pd, f"incidents/{incident['id']}/log_entries", {"log_entries": entries})
        extract_pagerduty(PagerDutySource(base_url="file://" + pd.as_posix()), root / "landing", "r1")
        rows = warehouse(root / "landing").execute(
            "select incident_number, status, priority, service_name, created_at, resolved_at "
            "from stg_pagerduty__incidents order by incident_number").fetchall()
        assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
            (4, "triggered", None, "DevService"), (5, "acknowledged", None, "DevService"),
            (6, "resolved", None, "DevService")], variant
        assert rows[2][4] == datetime(2022, 11, 3, 6, 45, 36, tzinfo=timezone.utc)
        assert rows[2][5] == datetime(2022, 11, 3, 6, 51, 44, tzinfo=timezone.utc), variant
        assert rows[0][5] is None and rows[1][5] is None
