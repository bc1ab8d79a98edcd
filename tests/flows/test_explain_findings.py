"""Every finding explained: `changetrail explain` and the `findings` export show per control the
rule, the evidence (with source URLs and the raw record's SHA-256) and the exceptions applied."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import duckdb
import pytest
from typer.testing import CliRunner

from flows import pipeline
from flows.cli import app
from flows.cli.read_commands import FINDINGS_COLUMNS
from flows.config import load_config
from flows.demo import generate
from warehouse.runner import load_controls

PERIOD = "2026Q3"
EVALUATED_AT = datetime(2026, 11, 27, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> dict:
    """A tiny demo organization, evaluated with one register exception covering a CM-08 failure."""
    out = tmp_path_factory.mktemp("explain") / "org"
    generate(out, seed=5, scale=0.05)
    config = load_config(out / "changetrail.toml")
    run_id = pipeline.new_run_id()
    for name in pipeline.configured_sources(config):
        pipeline.extract_source(config, name, run_id)
    pipeline.load(config)
    first = pipeline.reconcile(config, PERIOD, EVALUATED_AT)
    with duckdb.connect(str(config.warehouse.path), read_only=True) as con:
        change_id, control_id = con.execute(
            "select subject_id, control_id from run_results(?) where status = 'fail'"
            " and subject_type = 'change' and control_id in ('CM-05', 'CM-08', 'CM-09') order by all limit 1",
            [first]).fetchone()
        ciso = con.execute("select person_id from int_people_unioned where list_contains(roles, 'ciso')"
                           " order by person_id limit 1").fetchone()[0]
    (out / "exceptions.yaml").write_text(json.dumps({"exceptions": [dict(
        id="EXC-7", control=control_id, subject=change_id, justification="<b>vendor</b> fix pending [red]x[/]",
        approver=ciso, approved_at="2026-06-01", expires_at="2026-12-31", ticket="RISK-7")]}), encoding="utf-8")
    config = load_config(out / "changetrail.toml")
    run = pipeline.reconcile(config, PERIOD, EVALUATED_AT)
    return dict(out=out, config=config, run=run, change_id=change_id, control_id=control_id, ciso=ciso)


def cli(org: dict, *args: str):
    result = CliRunner().invoke(app, [*args, "--config", str(org["out"] / "changetrail.toml")])
    assert result.exit_code == 0, result.output
    return result.output


def raw_sha256(org: dict, table: str, key: str, value: str) -> set[str]:
    """SHA-256 of every loaded payload of that record, computed here from the payload text."""
    with duckdb.connect(str(org["config"].warehouse.path), read_only=True) as con:
        return {r[0] for r in con.execute(f"select sha256(_payload::varchar) from raw.{table}"
                                          f" where _payload->>'{key}' = ?", [str(value)]).fetchall()}


def test_findings_json_has_rule_evidence_record_hash_and_the_exception(org):
    rows = json.loads(cli(org, "findings", "--format", "json"))
    assert rows and all(list(r) == FINDINGS_COLUMNS for r in rows)
    rules = {c.control_id: c for c in load_controls()}
    for r in rows:
        assert r["rule"] == rules[r["control_id"]].description and r["clause"] == rules[r["control_id"]].clause
        assert isinstance(json.loads(r["evidence"]), dict)
    hit = next(r for r in rows if r["subject_id"] == org["change_id"] and r["control_id"] == org["control_id"])
    assert (hit["exception_id"], hit["exception_justification"], hit["exception_approver"]) == (
        "EXC-7", "<b>vendor</b> fix pending [red]x[/]", org["ciso"])
    assert hit["exception_approved_at"].startswith("2026-06-01") and hit["exception_expires_at"].startswith("2026-12-31")
    deployment_id = org["change_id"].split("@")[1]
    assert hit["deployment_url"].endswith(f"/deployments/{deployment_id}")
    assert hit["record_sha256"] in raw_sha256(org, "github__deployments", "id", deployment_id)
    assert hit["source_url"].startswith("file://") and "/deployments" in hit["source_url"]
    others = [r for r in rows if r["exception_id"] is None]
    assert others and all(r["exception_justification"] is None for r in others)


def test_findings_csv_header_is_the_export_columns(org):
    out = cli(org, "findings", "--format", "csv")
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == FINDINGS_COLUMNS and len(table) > 1


def test_explain_json_carries_records_rules_and_exceptions(org):
    exp = json.loads(cli(org, "explain", org["change_id"], "--format", "json"))
    deployment_id = org["change_id"].split("@")[1]
    assert exp["change"]["record_sha256"] in raw_sha256(org, "github__deployments", "id", deployment_id)
    results = {r["control_id"]: r for r in exp["results"]}
    excepted = results[org["control_id"]]
    assert excepted["status"] == "fail" and excepted["rule"] and excepted["clause"]
    assert [(x["exception_id"], x["approver"], x["ticket"]) for x in excepted["exceptions"]] == [
        ("EXC-7", org["ciso"], "RISK-7")]
    assert all(r["exceptions"] == [] for cid, r in results.items() if cid != org["control_id"])
    for pr in exp["pull_requests"]:
        assert pr["record_sha256"] is not None
        with duckdb.connect(str(org["config"].warehouse.path), read_only=True) as con:
            payload_hashes = {r[0] for r in con.execute(
                "select sha256(_payload::varchar) from raw.github__pull_requests where (_payload->>'number')::int = ?"
                " and _context->>'repo' = ?", [pr["number"], exp["change"]["repo"]]).fetchall()}
        assert pr["record_sha256"] in payload_hashes and pr["source_url"].startswith("file://")
    assert all(r["record_sha256"] for r in exp["reviews"] + exp["checks"])
    if exp["ticket"]:
        assert exp["ticket"]["record_sha256"] and "change_request" in exp["ticket"]["source_url"]


def test_explain_text_shows_rule_evidence_records_and_the_exception_as_text(org):
    out = cli(org, "explain", org["change_id"])
    exp = json.loads(cli(org, "explain", org["change_id"], "--format", "json"))
    flat = " ".join(out.split())
    assert "Why each control decided as it did" in out
    assert f"{org['control_id']} fail" in flat and "rule (§" in flat and "evidence: {" in flat
    # source text is printed as text: neither HTML nor console markup is interpreted
    assert "exception EXC-7: <b>vendor</b> fix pending [red]x[/]" in flat
    assert "expires 2026-12-31" in flat and "approved 2026-06-01" in flat
    assert exp["change"]["record_sha256"] in out.replace("\n", "")
    assert "Raw records the evidence rows came from" in out
    for pr in exp["pull_requests"]:
        assert f"pull requests {pr['number']}: sha256 {pr['record_sha256']}" in flat


def test_explain_unknown_change_names_it(org):
    result = CliRunner().invoke(app, ["explain", "acme/none@1", "--config", str(org["out"] / "changetrail.toml")])
    assert result.exit_code == 1 and "no change matches 'acme/none@1'" in " ".join(result.output.split())
