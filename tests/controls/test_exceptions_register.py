"""The exceptions register: documented, approved deviations turn covered failures into `exception`.

Each case evaluates a harness organization through `runner.evaluate` (the models are the harness's
views, so `build_models` is skipped) with the controls it needs, and a register file.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from flows.config import Config, Exceptions
from tests.controls.harness import BASE, Org
from warehouse import runner
from warehouse.exceptions import ExceptionsError, read_register
from warehouse.schema import connect, create_schema

EVALUATED_AT = datetime(2026, 11, 27, tzinfo=timezone.utc)
CONTROLS = ("CM-01", "CM-03", "CM-04", "CM-05", "CM-08", "CM-09", "CM-10", "CM-14", "CM-15", "CM-16", "CM-20")
ENTRY = dict(id="EXC-1", control="CM-08", justification="vendor base image, no upstream fix; WAF rule compensates",
             approver="cyrus", approved_at="2026-08-01", expires_at="2026-09-30", ticket="RISK-42")


@pytest.fixture
def evaluate(monkeypatch, tmp_path):
    """evaluate(org, entries, **exceptions_config) -> (con, run_id); entries are dicts or YAML text."""
    every = [c for c in runner.load_controls() if c.control_id in CONTROLS]
    monkeypatch.setattr(runner, "load_controls", lambda: every)
    monkeypatch.setattr(runner, "build_models", lambda con: [])
    path = tmp_path / "exceptions.yaml"

    def run(org: Org, entries, con=None, **settings):
        text = entries if isinstance(entries, str) else json.dumps({"exceptions": entries}, default=str)
        path.write_text(text, encoding="utf-8")
        config = Config(exceptions=Exceptions(path=path, **settings))
        if con is None:
            con = org.connect(config=config, evaluated_at=EVALUATED_AT)
            create_schema(con)
        return con, runner.evaluate(con, config, "2026Q3", evaluated_at=EVALUATED_AT)

    return run


def unscanned(org: Org, repo: str = "acme/payments", at: datetime = BASE) -> dict:
    """A Normal change whose only failure is CM-08 (no scan of the deployed commit)."""
    ids = org.change(repo=repo, at=at, ticket=f"CHG{org.next_id():07d}")
    org.drop("stg_sarif__scans", commit_sha=ids["sha"])
    return ids


def outcome(con, run_id: str, change_id: str) -> tuple:
    return con.execute("select outcome, exception_ids, failed_controls, reasons from change_outcomes"
                       " where run_id = ? and change_id = ?", [run_id, change_id]).fetchone()


def test_valid_exception_turns_the_violation_into_an_exception_with_its_justification(evaluate):
    org = Org()
    ids = unscanned(org)
    con, run_id = evaluate(org, [dict(ENTRY, subject=ids["change_id"])])
    result, exception_ids, failed, reasons = outcome(con, run_id, ids["change_id"])
    assert (result, exception_ids, failed) == ("exception", ["EXC-1"], ["CM-08"])
    assert reasons[0].startswith("CM-08: ") and reasons[0].endswith("[exception EXC-1]")
    # the evidence did fail: the control result keeps its status
    assert con.execute("select status from run_results(?) where control_id = 'CM-08'"
                       " and subject_id = ?", [run_id, ids["change_id"]]).fetchone()[0] == "fail"
    assert con.execute("select control_id, subject_id, exception_id, justification, approver, expires_at"
                       " from result_exceptions where run_id = ?", [run_id]).fetchall() == [
        ("CM-08", ids["change_id"], "EXC-1", ENTRY["justification"], "cyrus",
         datetime(2026, 9, 30, 23, 59, 59, 999999, tzinfo=timezone.utc))]


@pytest.mark.parametrize("change", [
    pytest.param(dict(expires_at="2026-08-03"), id="expired-before-the-deployment"),
    pytest.param(dict(approved_at=None), id="not-approved"),
    pytest.param(dict(approved_at="2026-12-01"), id="approved-after-the-evaluation"),
    pytest.param(dict(approver=None), id="no-approver"),
    pytest.param(dict(approver="alice"), id="approver-without-the-role"),
    pytest.param(dict(approver="nobody"), id="approver-not-in-the-directory"),
    pytest.param(dict(control="CM-05"), id="other-control"),
    pytest.param(dict(subject="acme/payments@1"), id="other-subject"),
])
def test_exceptions_that_do_not_count(evaluate, change):
    org = Org()
    ids = unscanned(org)
    entry = dict(ENTRY, subject=ids["change_id"])
    entry.update(change)
    con, run_id = evaluate(org, [{k: v for k, v in entry.items() if v is not None}])
    assert outcome(con, run_id, ids["change_id"])[:2] == ("violation", [])
    assert con.execute("select count(*) from result_exceptions where run_id = ?", [run_id]).fetchone()[0] == 0


def test_approval_after_the_deployment_is_a_retroactive_waiver_only_when_allowed(evaluate):
    org = Org()
    ids = unscanned(org)
    entry = [dict(ENTRY, subject=ids["change_id"], approved_at="2026-08-05")]   # deployed 2026-08-04 14:00
    con, run_id = evaluate(org, entry)
    assert outcome(con, run_id, ids["change_id"])[0] == "violation"
    con, run_id = evaluate(org, entry, con=con, allow_retroactive=True)
    assert outcome(con, run_id, ids["change_id"])[:2] == ("exception", ["EXC-1"])
    con, run_id = evaluate(org, entry, con=con, allow_retroactive=True, approver_roles=["eng_lead"])
    assert outcome(con, run_id, ids["change_id"])[0] == "violation"    # cyrus is the CISO


def test_scope_by_repository_team_and_date_range(evaluate):
    org = Org()
    pay = unscanned(org, "acme/payments")
    web = unscanned(org, "acme/web")
    later = unscanned(org, "acme/web", at=BASE + timedelta(days=40))     # 13 Sep 2026
    ok = org.change(repo="acme/ok", ticket="CHG0000099")
    entries = [
        dict(ENTRY, id="EXC-REPO", scope="repo:acme/payments"),
        dict(ENTRY, id="EXC-ALL", scope="*", valid_from="2026-08-01", expires_at="2026-08-31"),
    ]
    con, run_id = evaluate(org, entries)
    assert outcome(con, run_id, pay["change_id"])[:2] == ("exception", ["EXC-REPO"])
    assert outcome(con, run_id, web["change_id"])[:2] == ("exception", ["EXC-ALL"])
    assert outcome(con, run_id, later["change_id"])[:2] == ("violation", [])   # outside the range
    assert outcome(con, run_id, ok["change_id"])[:2] == ("compliant", [])
    con, run_id = evaluate(org, [dict(ENTRY, id="EXC-TEAM", scope="team:core")], con=con)
    assert {outcome(con, run_id, c["change_id"])[0] for c in (pay, web, later)} == {"exception"}
    con, run_id = evaluate(org, [dict(ENTRY, id="EXC-BARE", scope="acme/web")], con=con)
    assert [outcome(con, run_id, c["change_id"])[0] for c in (pay, web, later)] == ["violation", "exception", "exception"]


def test_every_failure_must_be_covered(evaluate):
    org = Org()
    ids = unscanned(org)
    org.drop("stg_github__deployments", environment="staging", sha=ids["sha"])   # CM-09 fails too
    con, run_id = evaluate(org, [dict(ENTRY, subject=ids["change_id"])])
    result, exception_ids, failed, _ = outcome(con, run_id, ids["change_id"])
    assert (result, exception_ids, failed) == ("violation", ["EXC-1"], ["CM-08", "CM-09"])
    con, run_id = evaluate(org, [dict(ENTRY, subject=ids["change_id"]),
                                 dict(ENTRY, id="EXC-2", control="CM-09", scope="acme/payments")], con=con)
    assert outcome(con, run_id, ids["change_id"])[:2] == ("exception", ["EXC-1", "EXC-2"])


def test_history_is_kept_and_the_latest_load_applies(evaluate):
    org = Org()
    ids = unscanned(org)
    con, first = evaluate(org, [dict(ENTRY, subject=ids["change_id"], expires_at="2026-08-01")])
    assert outcome(con, first, ids["change_id"])[0] == "violation"
    con, second = evaluate(org, [dict(ENTRY, subject=ids["change_id"], expires_at="2026-12-31")], con=con)
    assert outcome(con, second, ids["change_id"])[0] == "exception"
    versions = con.execute("select expires_at::date::varchar, file_sha256, loaded_at from exceptions_register"
                           " where exception_id = 'EXC-1' order by loaded_at").fetchall()
    assert [v[0] for v in versions] == ["2026-08-01", "2026-12-31"]
    assert versions[0][1] != versions[1][1] and versions[0][2] < versions[1][2]
    # the same file again is not a new version; the earlier run keeps what it applied
    con, third = evaluate(org, [dict(ENTRY, subject=ids["change_id"], expires_at="2026-12-31")], con=con)
    assert con.execute("select count(*) from exceptions_loads").fetchone()[0] == 2
    assert outcome(con, third, ids["change_id"])[0] == "exception"
    assert outcome(con, first, ids["change_id"])[0] == "violation"


def test_an_emptied_register_is_a_new_version_that_applies_nothing(evaluate):
    org = Org()
    ids = unscanned(org)
    con, _ = evaluate(org, [dict(ENTRY, subject=ids["change_id"])])
    con, run_id = evaluate(org, "exceptions: []\n", con=con)
    assert outcome(con, run_id, ids["change_id"])[0] == "violation"
    assert con.execute("select count(*) from exceptions_register").fetchone()[0] == 1


def test_csv_register(tmp_path):
    path = tmp_path / "exceptions.csv"
    path.write_text("id,control,subject,scope,valid_from,expires_at,justification,approver,approved_at,ticket\n"
                    "EXC-7,cm-08,,acme/web,,2026-09-30T12:00:00+02:00,legacy build,cyrus,2026-07-01,RISK-7\n",
                    encoding="utf-8")
    (entry,) = read_register(path, ["CM-08"]).entries
    assert (entry.control_id, entry.scope, entry.subject_id, entry.ticket) == ("CM-08", "repo:acme/web", None, "RISK-7")
    assert entry.expires_at == datetime(2026, 9, 30, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("change, field, problem", [
    (dict(justification=None), "justification", "required"),
    (dict(expires_at="30/09/2026"), "expires_at", "is not a date"),
    (dict(control="CM-99"), "control", "unknown control 'CM-99'"),
    (dict(scope="acme/web"), "scope", "exactly one of 'subject'"),
    (dict(subject=None, scope="everything"), "scope", "is not repo:"),
    (dict(subject=None, scope="*"), "valid_from", "required with scope '*'"),
    (dict(expiry="2026-09-30"), "expiry", "unknown field"),
    (dict(valid_from="2026-10-01"), "expires_at", "before valid_from"),
    (dict(id="EXC-1"), "id", "duplicate of entry 1"),
])
def test_malformed_entries_name_the_file_the_entry_and_the_field(tmp_path, change, field, problem):
    path = tmp_path / "exceptions.yaml"
    second = {k: v for k, v in (dict(ENTRY, id="EXC-2", subject="acme/web@1") | change).items() if v is not None}
    path.write_text(json.dumps({"exceptions": [dict(ENTRY, subject="acme/web@1"), second]}), encoding="utf-8")
    with pytest.raises(ExceptionsError) as exc:
        read_register(path, list(CONTROLS))
    message = str(exc.value)
    assert message.startswith(f"{path}: entry 2 ({second['id']}): field '{field}': "), message
    assert problem in message


def test_an_invalid_register_stops_the_evaluation_before_anything_is_written(evaluate):
    org = Org()
    unscanned(org)
    with pytest.raises(ExceptionsError, match="entry 1 \\(EXC-1\\): field 'approved_at'"):
        evaluate(org, [dict(ENTRY, subject="x", approved_at="yesterday")])


def test_findings_show_the_exception_covering_a_failure(tmp_path):
    from flows.cli import app

    db = tmp_path / "changetrail.duckdb"
    with connect(db) as con:
        con.execute("insert into evaluation_runs (run_id, period, started_at, finished_at)"
                    " values ('r1', '2026Q3', now(), now())")
        con.execute("insert into control_results values ('r1', '2026Q3', 'CM-08', 'change', 'acme/a@1', 'fail',"
                    " 'no scan', '{}', now()), ('r1', '2026Q3', 'CM-09', 'change', 'acme/a@1', 'fail', 'no staging',"
                    " '{}', now())")
        con.execute("insert into result_exceptions values ('r1', 'CM-08', 'acme/a@1', 'EXC-1', 'vendor image',"
                    " 'cyrus', now(), 'abc')")
    config = tmp_path / "changetrail.toml"
    config.write_text(f'[warehouse]\npath = "{db}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["findings", "-c", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["control_id"]: r["exception"] for r in json.loads(result.output)}
    assert rows == {"CM-08": "EXC-1: vendor image", "CM-09": None}


def test_register_config_defaults_encode_the_policy():
    settings = Config().exceptions
    assert settings.approver_roles == ["ciso", "eng_lead"] and settings.allow_retroactive is False
    assert str(settings.path) == "exceptions.yaml"


def test_yaml_register_with_native_dates(tmp_path):
    path = tmp_path / "exceptions.yaml"
    path.write_text("exceptions:\n  - id: EXC-9\n    control: CM-09\n    scope: team:payments\n"
                    "    justification: no staging for the batch cluster\n    approver: lena\n"
                    "    approved_at: 2026-07-01\n    expires_at: 2026-09-30 18:00:00\n", encoding="utf-8")
    (entry,) = read_register(path).entries
    assert entry.scope == "team:payments" and entry.approved_at == datetime(2026, 7, 1, tzinfo=timezone.utc)
    assert entry.expires_at == datetime(2026, 9, 30, 18, tzinfo=timezone.utc)


def test_report_lists_register_exceptions_with_justification_approver_and_expiry(tmp_path):
    import duckdb

    from reports.quarterly import build_context
    from reports.csv_export import write_findings_csv
    from tests.reports.quarterly_fixture import GENERATED_AT, make_small

    con = duckdb.connect()
    make_small(con)
    (row,) = build_context(con, "2026Q3", "Acme", generated_at=GENERATED_AT).exceptions.rows
    assert (row.change_id, row.basis) == ("acme/web@2003", "§5 emergency + register")
    (waiver,) = row.register
    assert (waiver.exception_id, waiver.control_id, waiver.approver, waiver.expires) == (
        "EXC-2026-004", "CM-05", "cyrus", "2026-09-30")
    assert "WEB-88" in waiver.justification
    findings = write_findings_csv(con, "run-q3", "2026Q3", tmp_path / "findings.csv").read_text(encoding="utf-8")
    assert "EXC-2026-004: flaky browser test quarantined" in findings
