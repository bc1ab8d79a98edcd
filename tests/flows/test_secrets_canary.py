"""Secrets never leave the process: a canary credential is searched for in every output.

The whole Prefect flow runs on a generated organization with every credential variable set to
a canary (the folder sources still send it, in the Authorization header); then the logs, the
warehouse file, every landing file and manifest (decompressed), every report (PDF text, XLSX
cells) and the Prefect artifacts are searched. A second test makes an API echo the refused
credential in its error body, the way some servers do, and checks the error and logs.
"""
from __future__ import annotations

import base64
import gzip
import io
import logging
import zipfile
from pathlib import Path

import httpx
import pytest

from extractors.core.errors import ExtractionError
from flows.config import GitHubSource, load_config

CANARY = "ctcanary0secret7f3a9b1e5d2c"
USER = "ctcanary0user"
NEEDLES = (CANARY, base64.b64encode(f"{USER}:{CANARY}".encode()).decode(), CANARY.encode().hex())
VARIABLES = {"GITHUB_TOKEN": CANARY, "GITLAB_TOKEN": CANARY, "PAGERDUTY_TOKEN": CANARY, "JIRA_TOKEN": CANARY,
             "SERVICENOW_PASSWORD": CANARY, "SERVICENOW_USER": USER, "JIRA_USER": USER}


def _texts(path: Path) -> list[bytes]:
    """The bytes of a file and of what it contains (gzip members, zip entries, PDF text)."""
    data = path.read_bytes()
    out = [data]
    if data[:2] == b"\x1f\x8b":
        out.append(gzip.decompress(data))
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            out += [archive.read(name) for name in archive.namelist()]
    elif data[:5] == b"%PDF-":
        from pypdf import PdfReader

        out += [(page.extract_text() or "").encode() for page in PdfReader(io.BytesIO(data)).pages]
    return out


def _leaks(root: Path) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if "sample" in path.relative_to(root).parts:
            continue      # the generated API folders: the source data, not an output
        if any(needle.encode() in text for text in _texts(path) for needle in NEEDLES):
            found.append(str(path))
    return found


def test_canary_credentials_appear_in_no_output_of_a_full_run(tmp_path, prefect_harness, monkeypatch, caplog, capfd):
    from flows.demo import generate
    from flows.evidence_run import evidence_run
    from warehouse.integrity import verify_warehouse

    for name, value in VARIABLES.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "demo"
    generate(out, seed=3, period="2026Q3", scale=0.05)
    result = evidence_run(period="2026Q3", config_path=out / "changetrail.toml")
    assert result.reports and result.load.total_records > 0
    assert (out / "landing").is_dir() and (out / "changetrail.duckdb").is_file()

    outputs = _leaks(out)
    logs = caplog.text + "".join(capfd.readouterr())
    artifacts = _prefect_artifacts()
    assert "loaded" in logs + artifacts, "no run log was captured: the log search would be vacuous"
    assert not outputs, f"canary found in {outputs}"
    assert not [n for n in NEEDLES if n in logs], "canary found in the captured logs"
    assert not [n for n in NEEDLES if n in artifacts], "canary found in a Prefect artifact"
    # and the run's own chain verifies: loads and rendered reports were recorded
    assert verify_warehouse(load_config(out / "changetrail.toml")) == []


def _prefect_artifacts() -> str:
    """Every artifact and log line the test Prefect server holds, as text."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
        logs = client.read_logs()
    return "\n".join([repr(a.data) + repr(a.description) for a in artifacts] + [entry.message for entry in logs])


def test_an_api_echoing_the_refused_token_does_not_leak_it(tmp_path, monkeypatch, caplog):
    from extractors.github.extract import extract_github, github_client

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": f"Bad credentials: {request.headers['Authorization']}"})

    monkeypatch.setenv("GITHUB_TOKEN", CANARY)
    caplog.set_level(logging.DEBUG)
    config = GitHubSource(base_url="https://github.invalid/api", org="acme", repos=["acme/api"], max_retries=0)
    client = github_client(config, transport=httpx.MockTransport(echo))
    with pytest.raises(ExtractionError) as raised:
        extract_github(config, tmp_path / "landing", "20260701T000000Z-aaaaaa", client=client)
    message = str(raised.value) + "".join(getattr(raised.value, "__notes__", []))
    assert "HTTP 401" in message and "Bad credentials: Bearer [redacted]" in message
    assert CANARY not in message and CANARY not in caplog.text
    assert not _leaks(tmp_path)
