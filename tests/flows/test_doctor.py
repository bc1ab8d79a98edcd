"""`changetrail doctor`: folder-served APIs, a mocked live API, a missing credential."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from flows.cli import app
from flows.config import load_config
from flows.doctor import check_sources
from tests.extractors.conftest import write_json


def _folder_org(root: Path) -> None:
    write_json(root / "github", "orgs/acme/repos", [{"id": i, "full_name": f"acme/r{i}"} for i in range(3)])
    write_json(root / "servicenow", "api/now/table/change_request", {"result": [{"sys_id": "a"}, {"sys_id": "b"}]})
    write_json(root / "pagerduty", "incidents", {"incidents": [{"id": "P1"}]})
    (root / "scans").mkdir()
    (root / "scans" / "a.sarif").write_text("{}")
    (root / "audit" / "prod").mkdir(parents=True)
    (root / "audit" / "prod" / "audit.log").write_text("")
    (root / "people.csv").write_text("person_id,name\nalice,Alice\nbob,Bob\n")


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "changetrail.toml"
    path.write_text(text)
    return path


FOLDER_CONFIG = """
[sources.github]
org = "acme"
base_url = "file://sample/github"
token_env = "CT_DOCTOR_UNSET_TOKEN"
[sources.servicenow]
base_url = "file://sample/servicenow"
[sources.pagerduty]
base_url = "file://sample/pagerduty"
[sources.sarif]
path = "sample/scans"
[sources.people]
path = "sample/people.csv"
[sources.k8s_audit]
path = "sample/audit"
"""


def test_folder_sources_all_ok(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CT_DOCTOR_UNSET_TOKEN", raising=False)
    _folder_org(tmp_path / "sample")
    result = CliRunner().invoke(app, ["doctor", "--config", str(_config(tmp_path, FOLDER_CONFIG))],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    checks = {c.source: c for c in check_sources(load_config(tmp_path / "changetrail.toml"))}
    assert all(c.ok for c in checks.values())
    assert checks["github"].seen == "org acme: 3 repositories visible"
    assert checks["github"].credential == "not needed (local folder)"
    assert checks["github"].reached == "GET /orgs/acme/repos -> 200"
    assert checks["servicenow"].seen == "change_request: 2 records readable"
    assert checks["pagerduty"].seen == "incidents: 1 (the API's default 30-day window)"
    assert checks["sarif"].seen == "1 SARIF/JSON files"
    assert checks["k8s_audit"].seen == "1 audit log files"
    assert checks["people"].seen == "2 people rows"
    assert "OK" in result.output and "FAIL" not in result.output


def test_missing_credential_fails_without_a_request(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CT_DOCTOR_TOKEN", raising=False)
    config = _config(tmp_path, '[sources.github]\norg = "acme"\nbase_url = "https://github.invalid/api/v3"\n'
                               'token_env = "CT_DOCTOR_TOKEN"\n[sources.cloudtrail]\npath = "nowhere"\n')
    result = CliRunner().invoke(app, ["doctor", "--config", str(config)], env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert "CT_DOCTOR_TOKEN NOT SET" in result.output and "Traceback" not in result.output
    checks = {c.source: c for c in check_sources(load_config(config))}
    assert checks["github"].reached == "not tried (https://github.invalid/api/v3)"
    assert (checks["cloudtrail"].ok, checks["cloudtrail"].seen) == (False, "path does not exist")


def test_live_api_scopes_counts_and_the_secret_never_shown(tmp_path: Path, monkeypatch) -> None:
    secret = "ghp_doctorSecretValue123"
    monkeypatch.setenv("CT_DOCTOR_TOKEN", secret)
    monkeypatch.setenv("CT_SN_USER", "integration")
    monkeypatch.setenv("CT_SN_PASSWORD", "pw-secret-456")
    seen_requests: list[httpx.Request] = []

    def github(request: httpx.Request) -> httpx.Response:
        seen_requests.append(request)
        last = "https://ghe.example/api/v3/organizations/1/repos?per_page=1&page=57"
        return httpx.Response(200, json=[{"id": 1}], headers={
            "X-OAuth-Scopes": "repo, read:org", "X-RateLimit-Remaining": "4999", "X-RateLimit-Limit": "5000",
            "Link": f'<{last.replace("57", "2")}>; rel="next", <{last}>; rel="last"'})

    def servicenow(request: httpx.Request) -> httpx.Response:
        seen_requests.append(request)
        return httpx.Response(401, json={"error": {"message": "User Not Authenticated"}, "status": "failure"})

    config = load_config(_config(tmp_path, """
[sources.github]
org = "acme"
base_url = "https://ghe.example/api/v3"
token_env = "CT_DOCTOR_TOKEN"
[sources.servicenow]
base_url = "https://acme.service-now.com"
user_env = "CT_SN_USER"
password_env = "CT_SN_PASSWORD"
"""))
    checks = {c.source: c for c in check_sources(config, transports={
        "github": httpx.MockTransport(github), "servicenow": httpx.MockTransport(servicenow)})}
    gh = checks["github"]
    assert gh.ok and gh.credential == "CT_DOCTOR_TOKEN set"
    assert gh.seen == ("org acme: 57 repositories visible; token scopes: repo, read:org; "
                       "rate limit remaining 4999/5000")
    assert seen_requests[0].url.params["per_page"] == "1"
    assert seen_requests[0].headers["Authorization"] == f"Bearer {secret}"
    sn = checks["servicenow"]
    assert not sn.ok and "401" in sn.reached and "User Not Authenticated" in sn.seen
    assert len(seen_requests) == 2                      # a 401 is not retried
    text = json.dumps([c.__dict__ for c in checks.values()])
    assert secret not in text and "pw-secret-456" not in text
