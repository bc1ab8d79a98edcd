"""ApiClient: credentials from the environment, retries, rate limits - without sleeping."""
from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from extractors.core import (
    ApiClient, EnvCredentialAuth, ExtractionError, Fault, FolderTransport, HttpStatusError, MissingCredentialError,
)
from tests.extractors.conftest import FakeSleep, write_json

BASE = "https://api.example.test"


def _scripted(responses: list[httpx.Response | Exception], seen: list[httpx.Request]) -> httpx.MockTransport:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handler)


def _client(responses: list, seen: list, sleep: FakeSleep, **kwargs) -> ApiClient:
    return ApiClient("github", BASE, transport=_scripted(responses, seen), sleep=sleep, **kwargs)


def test_retries_502_then_succeeds_with_exponential_backoff(fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(502), httpx.Response(503), httpx.Response(200, json=[1])], seen, fake_sleep)
    assert client.get("/repos/a/b/pulls").json() == [1]
    assert fake_sleep.calls == [1.0, 2.0] and len(seen) == 3


def test_transport_error_is_retried(fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.ConnectError("reset"), httpx.Response(200, json=[])], seen, fake_sleep)
    assert client.get("/x").status_code == 200 and fake_sleep.calls == [1.0]


def test_429_honours_retry_after(fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(429, headers={"Retry-After": "17"}), httpx.Response(200, json=[])], seen, fake_sleep)
    client.get("/x")
    assert fake_sleep.calls == [17.0]


def test_secondary_rate_limit_403_with_retry_after_and_without_header(fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    client = _client([
        httpx.Response(403, headers={"Retry-After": "5"}, json={"message": "You have exceeded a secondary rate limit"}),
        httpx.Response(403, json={"message": "You have exceeded a secondary rate limit. Please wait."}),
        httpx.Response(200, json=[]),
    ], seen, fake_sleep)
    client.get("/x")
    assert fake_sleep.calls == [5.0, 60.0]


def test_primary_rate_limit_waits_until_reset(fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000120"}
    client = _client([httpx.Response(403, headers=headers, json={"message": "API rate limit exceeded"}),
                      httpx.Response(200, json=[])], seen, fake_sleep, clock=lambda: 1_000_000.0)
    client.get("/x")
    assert fake_sleep.calls == [121.0]          # until the reset, plus one second of margin


def test_an_exhausted_window_on_success_waits_before_the_next_request(fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000010"}
    client = _client([httpx.Response(200, headers=headers, json=[]), httpx.Response(200, json=[])],
                     seen, fake_sleep, clock=lambda: 1_000_000.0)
    client.get("/x")
    assert fake_sleep.calls == []
    client.get("/y")
    assert fake_sleep.calls == [11.0]


def test_exhausted_retries_raise_extraction_error_naming_system_url_and_status(fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(502)] * 3, seen, fake_sleep, max_retries=2)
    with pytest.raises(ExtractionError) as info:
        client.get("/repos/acme/api/pulls", params={"page": 2})
    message = str(info.value)
    assert "github" in message and "https://api.example.test/repos/acme/api/pulls?page=2" in message
    assert "HTTP 502" in message and info.value.status == 502 and len(seen) == 3


def test_exhausted_transport_errors_name_the_url(fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.ConnectError("down")] * 2, seen, fake_sleep, max_retries=1)
    with pytest.raises(ExtractionError, match=r"api.example.test/x.*no HTTP response"):
        client.get("/x")


def test_plain_403_and_404_are_not_retried(fake_sleep: FakeSleep) -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(403, json={"message": "Resource not accessible by integration"}),
                      httpx.Response(404, json={"message": "Not Found"})], seen, fake_sleep)
    with pytest.raises(HttpStatusError, match="Resource not accessible"):
        client.get("/a")
    with pytest.raises(HttpStatusError) as info:
        client.get("/b")
    assert info.value.status == 404 and fake_sleep.calls == []


def test_folder_faults_drive_the_same_retry_path(tmp_path: Path, fake_sleep: FakeSleep) -> None:
    write_json(tmp_path, "incidents", {"incidents": []})
    transport = FolderTransport(tmp_path, "pagerduty", faults={
        "incidents": [Fault(429, {"Retry-After": "9"}), Fault(502)]})
    client = ApiClient("pagerduty", "file://" + tmp_path.as_posix(), transport=transport, sleep=fake_sleep)
    assert client.get("/incidents").json()["incidents"] == []
    assert fake_sleep.calls == [9.0, 2.0]


@pytest.mark.parametrize("scheme, variables, expected", [
    ("bearer", ("T_GH",), "Bearer s3cr3t-gh"),
    ("pagerduty", ("T_PD",), "Token token=s3cr3t-pd"),
    ("basic", ("T_USER", "T_PASS"), "Basic " + base64.b64encode(b"svc:s3cr3t-pw").decode()),
])
def test_credentials_are_read_from_the_environment_at_request_time(
    monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep, scheme: str, variables: tuple, expected: str,
) -> None:
    seen: list[httpx.Request] = []
    client = ApiClient("x", BASE, EnvCredentialAuth("x", scheme, variables),
                       transport=_scripted([httpx.Response(200, json=[])], seen), sleep=fake_sleep)
    for name, value in zip(variables, {"bearer": ["s3cr3t-gh"], "pagerduty": ["s3cr3t-pd"],
                                       "basic": ["svc", "s3cr3t-pw"]}[scheme]):
        monkeypatch.setenv(name, value)          # set after the client exists: read per request
    client.get("/x")
    assert seen[0].headers["Authorization"] == expected
    assert "s3cr3t" not in str(seen[0].url)


def test_missing_credential_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    client = ApiClient("github", BASE, EnvCredentialAuth("github", "bearer", ("NOPE_TOKEN",)),
                       transport=_scripted([httpx.Response(200)], []))
    with pytest.raises(MissingCredentialError, match="NOPE_TOKEN"):
        client.get("/x")
    assert "NOPE_TOKEN" in repr(EnvCredentialAuth("github", "bearer", ("NOPE_TOKEN",)))
