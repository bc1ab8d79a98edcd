"""Landing contract: envelopes, manifest written last with hashes and counts, quarantine."""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import httpx
import pytest

from extractors.core import ApiClient, Extraction, HeaderLinkPaginator, LandingWriter, Stream, unit_slug
from tests.extractors.conftest import read_landed, read_manifest

PULLS = Stream(system="github", name="pull_requests", path="/repos/{repo}/pulls", primary_key=("id",),
               params={"state": "all"}, paginator=HeaderLinkPaginator())


def _pages(pages: dict[str, tuple[bytes, str | None]]) -> httpx.MockTransport:
    """page number -> (body, next page number or None), with GitHub Link headers."""
    def handler(request: httpx.Request) -> httpx.Response:
        body, nxt = pages[request.url.params.get("page", "1")]
        headers = {"Link": f'<{request.url.copy_set_param("page", nxt)}>; rel="next"'} if nxt else {}
        return httpx.Response(200, content=body, headers=headers)
    return httpx.MockTransport(handler)


def test_bad_record_and_non_json_page_are_quarantined_and_the_rest_lands(tmp_path: Path) -> None:
    transport = _pages({
        "1": (b'[{"id": 1, "title": "ok"}, {"title": "no id"}]', "2"),
        "2": (b"<html>502 Bad Gateway from a proxy</html>", "3"),
        "3": (b'[{"id": 3}]', None),
    })
    client = ApiClient("github", "https://api.github.com", transport=transport)
    with Extraction("github", "acme/api", tmp_path, "r1", client, unit_context={"repo": "acme/api"}) as ex:
        ex.run(PULLS, [{"repo": "acme/api"}])
        manifest = read_manifest(ex.finish())
    entry = manifest["files"][0]
    assert (entry["records"], entry["requests"]) == (2, 3)
    assert [r["payload"]["id"] for r in read_landed(tmp_path, entry["path"])] == [1, 3]
    bad_record, bad_page = manifest["quarantined"]
    assert bad_record["stream"] == "pull_requests" and bad_record["locator"] == "page 1, item 2"
    assert bad_record["reason"] == "missing required key 'id'" and json.loads(bad_record["raw"]) == {"title": "no id"}
    assert bad_record["source"] == "https://api.github.com/repos/acme/api/pulls?state=all"
    assert bad_page["locator"] == "page 2" and bad_page["reason"].startswith("response is not valid JSON")
    assert bad_page["source"].endswith("page=2") and "502 Bad Gateway" in bad_page["raw"]


def test_wrong_body_shape_is_quarantined(tmp_path: Path) -> None:
    client = ApiClient("github", "https://api.github.com",
                       transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"message": "odd"})))
    with Extraction("github", "acme/api", tmp_path, "r1", client) as ex:
        ex.run(PULLS, [{"repo": "acme/api"}])
        manifest = read_manifest(ex.finish())
    assert manifest["quarantined"][0]["reason"] == "expected a JSON array, got dict"


def test_landing_files_and_manifest_follow_the_readme(tmp_path: Path) -> None:
    writer = LandingWriter(tmp_path, "github", "acme/payments", "20261127T100000Z-1a2b3c",
                           base_url="https://user:pw@api.github.com")
    writer.stream("pull_requests", "GET /repos/acme/payments/pulls?state=all&sort=updated&direction=desc")
    writer.count_request("pull_requests", 3)
    prefix = writer.envelope_prefix("2026-11-27T10:00:00.123456+00:00",
                                    "https://api.github.com/repos/acme/payments/pulls?page=2",
                                    {"repo": "acme/payments", "number": 42})
    writer.write("pull_requests", {"id": 7, "title": "Zürich ✓", "z": 1, "a": 2.50}, prefix)
    writer.write("pull_requests", {"id": 8}, prefix)
    writer.quarantine("reviews", "https://x/y", "page 2, item 7", "missing required key 'id'", "x" * 20_000)
    writer.set_cursor("pull_requests", "2026-10-01T00:00:00Z")
    path = writer.finish()
    assert path == tmp_path / "github" / "_manifests" / "20261127T100000Z-1a2b3c__acme__payments.json"
    manifest = read_manifest(path)
    assert list(manifest) == ["run_id", "system", "unit", "started_at", "finished_at", "base_url", "files",
                              "quarantined", "cursors"]
    assert manifest["base_url"] == "https://api.github.com"        # credentials stripped
    files = {f["stream"]: f for f in manifest["files"]}
    pulls = files["pull_requests"]
    assert pulls["path"] == "github/pull_requests/20261127T100000Z-1a2b3c/acme__payments.jsonl.gz"
    gz = (tmp_path / pulls["path"]).read_bytes()
    assert pulls["sha256"] == hashlib.sha256(gz).hexdigest()
    assert (pulls["records"], pulls["requests"], pulls["numbered"]) == (2, 3, True)
    assert pulls["query"] == "GET /repos/acme/payments/pulls?state=all&sort=updated&direction=desc"
    lines = gzip.decompress(gz).decode("utf-8")
    envelope = ('{"extracted_at":"2026-11-27T10:00:00.123456+00:00",'
                '"source_url":"https://api.github.com/repos/acme/payments/pulls?page=2",'
                '"context":{"repo":"acme/payments","number":42},')
    assert lines == (envelope + '"payload":{"id":7,"title":"Zürich ✓","z":1,"a":2.5},"line":1}\n'
                     + envelope + '"payload":{"id":8},"line":2}\n')
    assert files["reviews"]["records"] == 0                          # stream registered by its quarantine
    assert len(manifest["quarantined"][0]["raw"]) == 10_000
    assert manifest["cursors"] == {"pull_requests": "2026-10-01T00:00:00Z"}
    # the manifest is the last file written
    data_mtime = (tmp_path / pulls["path"]).stat().st_mtime_ns
    assert path.stat().st_mtime_ns >= data_mtime


def test_failed_unit_leaves_no_manifest(tmp_path: Path) -> None:
    client = ApiClient("github", "https://api.github.com",
                       transport=httpx.MockTransport(lambda r: httpx.Response(401, json={"message": "Bad credentials"})))
    with pytest.raises(Exception, match="HTTP 401"):
        with Extraction("github", "acme/api", tmp_path, "r1", client) as ex:
            ex.run(PULLS, [{"repo": "acme/api"}])
            ex.finish()
    assert not list(tmp_path.rglob("_manifests/*.json"))


def test_unit_slug() -> None:
    assert unit_slug("acme/payments") == "acme__payments"
    assert unit_slug("change_request") == "change_request"
    assert unit_slug("we ird/na:me") == "we_ird__na_me"
