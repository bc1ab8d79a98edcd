"""People directory CSV validation, and the stream registry."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from extractors.core import ExtractionError
from extractors.people import extract_people
from extractors.registry import ALL_STREAMS, raw_table_name
from flows.config import PeopleSource
from tests.extractors.conftest import read_landed, read_manifest

HEADER = "person_id,name,email,github_login,servicenow_user_sys_id,pagerduty_user_id,roles,team,kind"


def test_valid_rows_load_and_bad_rows_are_quarantined_with_line_numbers(tmp_path: Path, warehouse) -> None:
    csv_path = tmp_path / "people.csv"
    csv_path.write_text("\n".join([
        HEADER,
        "p1,Alice Lee,alice@acme.test,alice,u1,PD1,senior_engineer;eng_lead,payments,human",
        'p2,"Bot, Deploy",,deploy-bot,,,,platform,service',
        "p3,Too,few,columns",
        "p4,Shared Ops,ops@acme.test,ops,,,engineer,platform,team",
        "p5,Eve,eve@acme.test,eve,,,engineer;wizard,payments,human",
        "",
        "p6,Carol,carol@acme.test,carol,u6,,qa,,human",
    ]) + "\n", encoding="utf-8")
    [path] = extract_people(PeopleSource(path=csv_path), tmp_path / "landing", "r1")
    manifest = read_manifest(path)
    assert manifest["unit"] == "people" and manifest["files"][0]["records"] == 3
    reasons = [q["reason"] for q in manifest["quarantined"]]
    assert reasons == [
        "people.csv line 4: expected 9 columns, found 4",
        "people.csv line 5: unknown kind 'team' (expected one of human, service, shared)",
        "people.csv line 6: unknown role(s) 'wizard' (expected ciso, eng_lead, engineer, qa, security, "
        "senior_engineer)",
    ]
    landed = read_landed(tmp_path / "landing", manifest["files"][0]["path"])
    assert landed[0]["payload"]["roles"] == "senior_engineer;eng_lead"
    assert landed[0]["context"] == {"file": "people.csv", "line": 2}
    rows = warehouse(tmp_path / "landing").execute(
        "select person_id, name, email, github_login, servicenow_user_sys_id, roles, team, kind "
        "from stg_people__people order by 1").fetchall()
    assert rows == [
        ("p1", "Alice Lee", "alice@acme.test", "alice", "u1", ["senior_engineer", "eng_lead"], "payments", "human"),
        ("p2", "Bot, Deploy", None, "deploy-bot", None, [], "platform", "service"),
        ("p6", "Carol", "carol@acme.test", "carol", "u6", ["qa"], None, "human"),
    ]


def test_wrong_header_is_fatal_and_names_the_file(tmp_path: Path) -> None:
    csv_path = tmp_path / "people.csv"
    csv_path.write_text("id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(ExtractionError, match=r"people\.csv line 1: header must be exactly person_id,name"):
        extract_people(PeopleSource(path=csv_path), tmp_path / "landing", "r1")
    assert not list((tmp_path / "landing").rglob("*.json"))


def test_registry_lists_every_stream_with_its_raw_table() -> None:
    """Every raw table a staging view reads is registered (so the schema creates it), the
    registry has no duplicates, and the streams the controls stand on are all there."""
    import re as _re

    from warehouse.models import MODELS_DIR

    assert len(ALL_STREAMS) == len(set(ALL_STREAMS))
    core = {("github", s) for s in ("repositories", "deployments", "deployment_statuses", "pull_requests",
                                    "reviews", "pr_commits", "commit_pulls", "compares", "check_runs")}
    core |= {("servicenow", "change_requests"), ("servicenow", "approvals"), ("servicenow", "users"),
             ("pagerduty", "incidents"), ("pagerduty", "log_entries"), ("sarif", "runs"), ("sarif", "results"),
             ("people", "people")}
    assert core <= set(ALL_STREAMS)
    for view in (MODELS_DIR / "staging").glob("*.sql"):
        for system, stream in _re.findall(r"\braw\.([a-z0-9_]+?)__([a-z0-9_]+)", view.read_text()):
            assert (system, stream) in ALL_STREAMS, f"{view.name} reads unregistered raw.{system}__{stream}"
            assert raw_table_name(system, stream) == f"raw.{system}__{stream}"
    with pytest.raises(KeyError):
        raw_table_name("github", "nope")


def test_every_staging_view_in_the_contract_exists_and_builds_empty(tmp_path: Path, warehouse) -> None:
    """The column lists of warehouse/README.md's staging table, in order, are what the views return."""
    contract = (Path(__file__).resolve().parents[2] / "warehouse" / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^\| `(stg_[a-z_]+)` \| ([^|]+)\|", contract, flags=re.M))
    con = warehouse(tmp_path)              # nothing landed: raw tables empty
    for view, columns in named:
        expected = [c.strip().split(" ")[0] for c in columns.split(",")]
        described = [row[0] for row in con.execute(f"describe {view}").fetchall()]
        assert described == expected, view
        assert con.execute(f"select count(*) from {view}").fetchone()[0] == 0
    assert len(named) == 20
