"""Every API failure mode through ApiClient and the engine, with a scripted fake transport
(issue 6 item 5). test_extract_client.py already covers 5xx back-off, a connect error, 429 with
Retry-After, secondary rate limits and exhausted retries; this adds timeouts, connection resets
(also mid-body), truncated bodies, a Retry-After given as an HTTP date, a failure mid-stream
leaving nothing loadable, and counts that tie out: records served = landed + quarantined."""
from __future__ import annotations

import json
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import httpx
import pytest

from extractors.core import ApiClient, Extraction, ExtractionError, HeaderLinkPaginator, Stream
from tests.extractors.conftest import FakeSleep, read_manifest
from warehouse.load import load_landing
from warehouse.schema import create_schema

BASE = "https://api.example.test"
INCIDENTS = Stream(system="pagerduty", name="incidents", path="/incidents", records_key="incidents",
                   paginator=HeaderLinkPaginator())


def _scripted(items: list, seen: list[httpx.Request]) -> httpx.MockTransport:
    queue = list(items)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item(request) if callable(item) else item

    return httpx.MockTransport(handler)


def _client(items: list, seen: list, sleep: FakeSleep, **kwargs) -> ApiClient:
    return ApiClient("pagerduty", BASE, transport=_scripted(items, seen), sleep=sleep, **kwargs)


@pytest.mark.parametrize("failure", [
    httpx.ConnectTimeout("connect timed out"),
    httpx.ReadTimeout("read timed out"),
    httpx.PoolTimeout("no connection available"),
    httpx.ReadError("[Errno 104] Connection reset by peer"),
    httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
], ids=lambda e: type(e).__name__)
def test_timeouts_and_resets_are_retried_then_named(failure: Exception, fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    client = _client([failure, failure, httpx.Response(200, json={"incidents": []})], seen, fake_sleep)
    assert client.get("/incidents").status_code == 200
    assert fake_sleep.calls == [1.0, 2.0] and len(seen) == 3

    give_up = _client([failure] * 3, [], FakeSleep(), max_retries=2)
    with pytest.raises(ExtractionError) as failed:
        give_up.get("/incidents")
    text = str(failed.value)
    assert "pagerduty" in text and f"{BASE}/incidents" in text and type(failure).__name__ in text and "3 attempts" in text


def test_every_failure_mode_in_one_request_backs_off_as_each_asks(fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    client = _client([
        httpx.ReadTimeout("timed out"),                                   # back-off 1
        httpx.ReadError("connection reset"),                              # back-off 2
        httpx.Response(429, headers={"Retry-After": "7"}),                # as told: 7
        httpx.Response(503, json={"error": {"message": "maintenance"}}),  # back-off 8
        httpx.Response(200, json={"incidents": [{"id": "P1"}]}),
    ], seen, fake_sleep)
    assert client.get("/incidents").json() == {"incidents": [{"id": "P1"}]}
    assert fake_sleep.calls == [1.0, 2.0, 7.0, 8.0] and len(seen) == 5


def test_retry_after_as_an_http_date(fake_sleep: FakeSleep) -> None:
    now = datetime(2026, 11, 27, 10, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(datetime(2026, 11, 27, 10, 0, 30, tzinfo=timezone.utc), usegmt=True)
    client = _client([httpx.Response(429, headers={"Retry-After": later}), httpx.Response(200, json={})], [],
                     fake_sleep, clock=now.timestamp)
    client.get("/incidents")
    assert fake_sleep.calls == [30.0]


def test_500s_until_retries_run_out_name_system_url_and_status(fake_sleep: FakeSleep) -> None:
    client = _client([httpx.Response(500, json={"error": {"message": "boom"}})] * 3, [], fake_sleep, max_retries=2)
    with pytest.raises(ExtractionError) as failed:
        client.get("/incidents", params={"offset": 0})
    assert (failed.value.system, failed.value.status) == ("pagerduty", 500)
    assert "500" in str(failed.value) and "/incidents?offset=0" in str(failed.value) and "boom" in str(failed.value)


# -- through the engine: pages, quarantine, what a failed unit leaves behind --------------------------

def _page(n: int, ids: list[str], last: int, raw: bytes | None = None):
    def respond(request: httpx.Request) -> httpx.Response:
        headers = {"Link": f'<{BASE}/incidents?page={n + 1}>; rel="next"'} if n < last else {}
        body = raw if raw is not None else json.dumps({"incidents": [{"id": i} for i in ids]}).encode()
        return httpx.Response(200, content=body, headers={**headers, "Content-Type": "application/json"})
    return respond


def _extract(tmp_path: Path, items: list, sleep: FakeSleep) -> Path:
    client = _client(items, [], sleep)
    with Extraction("pagerduty", "account", tmp_path / "landing", "r1", client) as ex:
        ex.run(INCIDENTS, [{}])
        return ex.finish()


def _loaded(landing: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_schema(con)
    load_landing(con, landing)
    return con


def test_truncated_body_is_quarantined_and_paging_continues(tmp_path: Path, fake_sleep: FakeSleep) -> None:
    truncated = json.dumps({"incidents": [{"id": "P3"}, {"id": "P4"}]}).encode()[:25]
    manifest = read_manifest(_extract(tmp_path, [
        _page(1, ["P1", "P2"], 3),
        _page(2, [], 3, raw=truncated),              # 200, but the body stops half way
        _page(3, ["P5", "P6"], 3),
    ], fake_sleep))
    [q] = manifest["quarantined"]
    assert q["locator"] == "page 2" and q["reason"].startswith("response is not valid JSON")
    assert q["source"] == f"{BASE}/incidents?page=2" and q["raw"] == truncated.decode()
    con = _loaded(tmp_path / "landing")
    ids = sorted(r[0] for r in con.execute("select _payload->>'$.id' from raw.pagerduty__incidents").fetchall())
    assert ids == ["P1", "P2", "P5", "P6"]
    # served: 4 parseable records + 1 unparseable page = landed 4 + quarantined 1
    assert manifest["files"][0]["records"] == 4 and manifest["files"][0]["requests"] == 3
    assert con.execute("select count(*) from raw.quarantine").fetchone()[0] == 1


def test_record_without_primary_key_is_quarantined_the_rest_of_the_page_lands(tmp_path: Path, fake_sleep: FakeSleep) -> None:
    body = json.dumps({"incidents": [{"id": "P1"}, {"title": "no id"}, {"id": "P3"}]}).encode()
    manifest = read_manifest(_extract(tmp_path, [_page(1, [], 1, raw=body)], fake_sleep))
    assert [(q["locator"], q["reason"]) for q in manifest["quarantined"]] == [("page 1, item 2", "missing required key 'id'")]
    assert manifest["files"][0]["records"] + len(manifest["quarantined"]) == 3


def test_failure_mid_stream_leaves_no_manifest_and_nothing_loadable(tmp_path: Path, fake_sleep: FakeSleep) -> None:
    landing = tmp_path / "landing"
    with pytest.raises(ExtractionError, match="503"):
        _extract(tmp_path, [_page(1, ["P1", "P2"], 2)] + [httpx.Response(503)] * 6, fake_sleep)
    assert not list(landing.glob("*/_manifests/*.json"))
    assert [p.name for p in landing.rglob("*.jsonl.gz*")] == ["account.jsonl.gz.tmp"]   # never renamed
    con = _loaded(landing)
    assert con.execute("select count(*) from raw.pagerduty__incidents").fetchone()[0] == 0
    assert con.execute("select count(*) from raw._manifests").fetchone()[0] == 0
