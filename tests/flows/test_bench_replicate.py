"""The XL method on the tiny profile: T's landed evidence replicated 3 times (flows/bench/replicate.py).

Load accepts the copies, reconcile finds exactly 3x the changes, and every control's count of each
status is exactly 3x (per-source controls: the same), which shows the copies neither collapse into
each other in staging nor meet in the joins. Timings are printed, never asserted."""
from __future__ import annotations

import gzip
import json

import duckdb
import pytest
from typer.testing import CliRunner

from flows.bench.profiles import Profile, get_profile
from flows.bench.replicate import (
    PEOPLE_STREAMS,
    Plan,
    Remapper,
    ReplicationError,
    replicated_config,
)
from flows.bench.runner import (
    Workspace,
    _timed,
    day_folder,
    prepare_replicated,
    release_day,
    run_stage,
    stages,
    summary,
)
from flows.config import load_config
from warehouse.load import file_sha256

COPIES = 3
T3 = Profile("T3", 450, "the test profile's landing three times", replicate_from="T", copies=COPIES)


TD = Profile("TD", 300, "T as two quarters with its last day held back", replicate_from="T", copies=2,
             months_back=3, daily=True)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="module")
def runs(cache):
    replica, setup = prepare_replicated(T3, 7, cache)
    generated, replicated = setup
    original = Workspace(cache / "T-7", cache / "T-7" / "source")   # T's extraction, cached by the set-up
    print(json.dumps(replicated))
    lines = {name: {stage: run_stage(stage, ws) for stage in ("load", "reconcile")}
             for name, ws in (("original", original), ("replica", replica))}
    return {"original": original, "replica": replica, "lines": lines, "replicated": replicated,
            "generated": generated}


def _status_counts(workspace: Workspace) -> dict[tuple[str, str, str], int]:
    config = load_config(workspace.config_path)
    con = duckdb.connect(str(config.warehouse.path), read_only=True)
    try:
        return {(control, subject, status): count for control, subject, status, count in con.execute(
            "select control_id, subject_type, status, count(*) from run_results((select max(run_id) from evaluation_runs))"
            " group by all").fetchall()}
    finally:
        con.close()


def _landing(workspace: Workspace):
    return load_config(workspace.config_path).warehouse.landing


def test_load_accepts_every_copy_and_reconcile_finds_three_times_the_changes(runs):
    original, replica = runs["lines"]["original"], runs["lines"]["replica"]
    people = 0
    for manifest in _landing(runs["original"]).glob("*/_manifests/*.json"):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        people += sum(f["records"] for f in data["files"] if (data["system"], f["stream"]) in PEOPLE_STREAMS)
    assert people > 0                                            # the directories are landed once
    assert replica["load"]["records"] == COPIES * (original["load"]["records"] - people) + people
    assert replica["load"]["records"] == runs["replicated"]["records"]
    assert original["reconcile"]["changes"] == runs["generated"]["changes"] > 0
    assert replica["reconcile"]["changes"] == COPIES * original["reconcile"]["changes"]


def test_every_controls_status_counts_are_exactly_three_times_the_originals(runs):
    original, replica = _status_counts(runs["original"]), _status_counts(runs["replica"])
    assert set(original) == set(replica)
    assert {status for _, _, status in original} >= {"pass", "fail", "not_applicable"}
    for key, count in original.items():
        _, subject, _ = key
        expected = count if subject == "source" else COPIES * count   # EV-01/EV-03: one row per source
        assert replica[key] == expected, (key, count, replica[key])
    assert any(subject == "repository" for _, subject, _ in original)   # EV-02: the copies are onboarded


def test_replicated_files_match_their_manifests(runs):
    landing = _landing(runs["replica"])
    manifests = sorted(landing.glob("*/_manifests/*.json"))
    assert len(manifests) == runs["replicated"]["manifests"]
    copies = {json.loads(m.read_text(encoding="utf-8"))["run_id"].rpartition("-x")[2] for m in manifests}
    assert {"1", "2"} <= copies
    for manifest in manifests:
        for entry in json.loads(manifest.read_text(encoding="utf-8"))["files"]:
            path = landing / entry["path"]
            assert file_sha256(path) == entry["sha256"], path
            with gzip.open(path, "rb") as fh:
                assert sum(1 for _ in fh) == entry["records"], path


def test_changetrail_verify_passes_on_the_replicated_warehouse(runs):
    from flows.cli import app

    result = CliRunner().invoke(app, ["verify", "--config", str(runs["replica"].config_path)])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output


def test_the_run_config_lists_every_copy(runs):
    config = load_config(runs["replica"].config_path)
    original = load_config(runs["original"].config_path)
    assert len(config.teams) == COPIES * len(original.teams)
    repo, team = next(iter(original.teams.items()))
    assert config.teams[f"{repo}-x2"] == team


def test_a_replicated_profile_times_load_floor_and_reconcile(runs, monkeypatch):
    from flows.bench import runner

    monkeypatch.setattr(runner, "get_profile", lambda name: T3)
    monkeypatch.setattr(runner, "prepare_replicated",
                        lambda *args, **kwargs: (runs["replica"], [runs["generated"], runs["replicated"]]))
    lines = runner.bench("T3")
    assert [line["stage"] for line in lines] == ["machine", "generate", "replicate", "load", "floor",
                                                 "reconcile", "summary"]   # reports only with --only
    assert lines[5]["changes"] == COPIES * runs["lines"]["original"]["reconcile"]["changes"]
    summary = lines[-1]
    assert summary["total_wall_s"] == round(lines[3]["wall_s"] + lines[5]["wall_s"], 3)   # set-up not counted
    assert summary["failed_stages"] == [] and summary["api_requests"] == 0


def test_xl_times_load_floor_and_reconcile_only(tmp_path):
    xl = get_profile("XL")
    assert (xl.replicate_from, xl.copies, xl.changes) == ("L", 10, 10 * get_profile("L").changes)
    assert stages(Workspace(tmp_path, tmp_path), xl)[:3] == ["load", "floor", "reconcile"]
    assert all(s.startswith("report:") for s in stages(Workspace(tmp_path, tmp_path), xl)[3:])


# -- the rewriting rules, line by line --------------------------------------------------------------

def _remapper(**kwargs) -> Remapper:
    return Remapper(Plan(3, ("payments-api", "payments-api-2"), ticket_pattern=r"CHG[0-9]{7}", **kwargs))


def test_a_line_keeps_its_shape_and_people_while_identities_change():
    line = json.dumps({"context": {"repo": "acme/payments-api", "deployment_id": 4106083},
                       "payload": {"id": 4106083, "sha": "516b79ce8ccc0ab306494312aaa551a1acdef228",
                                   "size": 12345678, "ratio": -0.1234567, "other": "acme/payments-api-2",
                                   "title": "CHG0031585: fix\\n516b79c", "user": {"login": "maya", "id": 1234567},
                                   "email": "56902031+maya@users.noreply.github.com",
                                   "approver": "3464640eefef8bceb4c3b9ac99b74908"}},
                      separators=(",", ":")).encode() + b"\n"
    remap = _remapper(keep=frozenset({b"3464640eefef8bceb4c3b9ac99b74908"}))
    one, two = (json.loads(copy) for copy in remap.copies(line, "github"))
    assert one["context"] == {"repo": "acme/payments-api-x1", "deployment_id": 4106083 + 10**13}
    assert two["payload"]["id"] == two["context"]["deployment_id"] == 4106083 + 2 * 10**13
    assert one["payload"]["sha"] == "616b79ce8ccc0ab306494312aaa551a1acdef228"
    assert one["payload"]["title"] == "CHG1031585: fix\\n616b79c"       # a prefix stays a prefix
    assert two["payload"]["other"] == "acme/payments-api-2-x2"           # names are whole tokens
    assert (one["payload"]["size"], one["payload"]["ratio"]) == (12345678, -0.1234567)
    assert one["payload"]["user"] == {"login": "maya", "id": 1234567}
    assert one["payload"]["email"] == "56902031+maya@users.noreply.github.com"
    assert one["payload"]["approver"] == "3464640eefef8bceb4c3b9ac99b74908"


def test_pagerduty_ids_change_but_user_references_do_not():
    line = b'{"payload":{"id":"QODA3ZR9H8JJU0","type":"incident","agent":{"id":"P3Q2Y31","type":"user_reference"}}}'
    (one, _) = _remapper().copies(line, "pagerduty")
    assert json.loads(one)["payload"] == {"id": "QODA3ZR9H8JJU0X1", "type": "incident",
                                          "agent": {"id": "P3Q2Y31", "type": "user_reference"}}
    assert _remapper().copies(line, "github")[0] == line


def test_jira_issue_ids_change_in_jira_only():
    line = b'{"payload":{"id":"10023","key":"OPS-12"}}'
    assert json.loads(_remapper().copies(line, "jira")[1])["payload"]["id"] == str(10023 + 2 * 10**9)
    assert _remapper().copies(line, "servicenow")[1] == line


def test_a_ticket_number_that_cannot_keep_its_format_is_refused():
    with pytest.raises(ReplicationError, match="CHG1031585"):
        _remapper().copies(b'{"number":"CHG1031585"}', "servicenow")


def test_history_copies_move_every_date_back_a_quarter_each():
    line = (b'{"extracted_at":"2026-08-31T10:00:00Z","payload":{"number":"CHG0031585","sys_created_on":'
            b'"2026-05-31 23:59:59","start":"2026-11-30","branch":"release-2026-08-01x","n":20260831}}')
    remap = Remapper(Plan(12, (), ticket_pattern=r"CHG[0-9]{7}", months_back=3))
    copies = [json.loads(c) for c in remap.copies(line, "servicenow")]
    assert len(copies) == 11
    assert copies[0]["extracted_at"] == "2026-05-31T10:00:00Z"
    assert copies[1]["payload"]["sys_created_on"] == "2025-11-30 23:59:59"     # 31 Nov -> 30 Nov
    assert copies[10]["extracted_at"] == "2023-11-30T10:00:00Z"               # 11 quarters back
    assert copies[2]["payload"]["start"] == "2026-02-28"
    assert copies[0]["payload"]["branch"] == "release-2026-05-01x" and copies[0]["payload"]["n"] == 20260831
    # tickets stay distinct beyond nine copies: the second digit carries copies 10 and 11
    numbers = [c["payload"]["number"] for c in copies]
    assert numbers[:2] == ["CHG1031585", "CHG2031585"] and numbers[9:] == ["CHG0131585", "CHG0231585"]
    assert len(set(numbers) | {"CHG0031585"}) == 12


def test_h_is_twelve_quarters_of_l_with_the_day_on_top(tmp_path):
    h = get_profile("H")
    assert (h.replicate_from, h.copies, h.months_back, h.daily) == ("L", 12, 3, True)


def test_replicated_config_adds_each_copy_where_repositories_are_listed():
    text = ('[sources.github]\norg = "acme"\nrepos = ["acme/a", "acme/b"]\n\n'
            '[teams]\n"acme/a" = "web"\n\n[reports]\nout = "."\n')
    out = replicated_config(text, ["acme/a", "acme/b"], 3)
    import tomllib

    parsed = tomllib.loads(out)
    assert parsed["sources"]["github"]["repos"] == ["acme/a", "acme/b", "acme/a-x1", "acme/b-x1", "acme/a-x2", "acme/b-x2"]
    assert parsed["teams"] == {"acme/a": "web", "acme/a-x1": "web", "acme/a-x2": "web"}
    assert parsed["reports"] == {"out": "."}


# -- history with a day on top (profile H's method on T) -------------------------------------------

def _results(workspace: Workspace, run_id: str) -> list[tuple]:
    config = load_config(workspace.config_path)
    con = duckdb.connect(str(config.warehouse.path), read_only=True)
    try:
        return sorted(con.execute("select control_id, subject_type, subject_id, status, reason from run_results(?)",
                                  [run_id]).fetchall())
    finally:
        con.close()


def _manifest_records(folder) -> dict[str, int]:
    counts: dict[str, int] = {}
    for manifest in folder.glob("*/_manifests/*.json"):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        for f in data["files"]:
            key = f"{data['system']}/{f['stream']}"
            counts[key] = counts.get(key, 0) + f["records"]
    return counts


def test_a_held_back_day_loads_on_the_history_and_reconciles_as_a_full_run(cache):
    history, setup = prepare_replicated(TD, 7, cache)
    original = _manifest_records(cache / "T-7" / "source" / "landing")
    day = _manifest_records(day_folder(history))
    # the day is the quarter's last day: new deployments, statuses, PRs and tickets, not re-sends
    assert all(day.get(k, 0) > 0 for k in ("github/deployments", "github/deployment_statuses",
                                           "github/pull_requests", "servicenow/change_requests")), day
    assert sum(day.values()) < sum(original.values()) / 20
    assert stages(history, TD)[-2:] == ["load_day", "reconcile_incremental"]
    run_stage("load", history)
    assert run_stage("reconcile", history)["changes"] > 0
    assert release_day(history) > 0 and not list(day_folder(history).rglob("*.json"))
    assert run_stage("load_day", history)["records"] == sum(day.values())
    incremental = run_stage("reconcile_incremental", history)
    full = run_stage("reconcile", history)
    got, want = _results(history, incremental["run_id"]), _results(history, full["run_id"])
    assert got == want and incremental["changes"] == full["changes"]
    # the day's run writes what the day changed, by reference to the run before it
    assert incremental["results_base"] is not None and incremental["results_base"] == full["results_base"]
    assert 0 < incremental["results_stored"] < incremental["records"] / 4
    # per change: the change controls ran on the day's changes, not the quarter's
    assert incremental["controls_per_change"] >= 10
    assert 0 < incremental["changes_recomputed"] < incremental["controls_per_change"] * incremental["changes"] / 4
    # copy 1 is the quarter before: its deployments fall in 2026Q2
    con = duckdb.connect(str(load_config(history.config_path).warehouse.path), read_only=True)
    try:
        months = dict(con.execute("select strftime(created_at, '%Y-%m') as m, count(*) from stg_github__deployments"
                                  " where repo like '%-x1' group by all").fetchall())
    finally:
        con.close()
    in_q2 = sum(n for month, n in months.items() if month in ("2026-03", "2026-04", "2026-05", "2026-06"))  # 03: baselines
    assert in_q2 > 0.97 * sum(months.values()) and not {"2026-08", "2026-09"} & set(months), months


def _runs_and_day_manifests(path) -> tuple[int, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select (select count(*) from evaluation_runs),"
                           " (select count(*) from raw._manifests where run_id like '%-day')").fetchone()
    finally:
        con.close()


def test_rebase_evaluates_the_warehouse_before_the_day_on_this_code_and_keeps_it(cache):
    """`bench --rebase`: the kept warehouse before the day is evaluated once more (untimed, a
    `rebase` line outside the summary's total) and kept so; the day is then loaded and timed on it,
    and timing it again restores that warehouse, day files already in the landing."""
    history, _ = prepare_replicated(TD, 7, cache)
    kept = history.org_dir / "before-day.duckdb"
    kept.unlink(missing_ok=True)          # another test's, from the shared cache
    day = sum(_manifest_records(day_folder(history)).values())
    run_stage("load", history)
    run_stage("reconcile", history)
    wanted = ["load_day", "reconcile_incremental"]
    lines = list(_timed(history, None, wanted, TD, rebase=True))
    assert [line["stage"] for line in lines] == ["rebase", *wanted] and lines[0]["timed"] is False
    assert _runs_and_day_manifests(kept) == (2, 0), "kept: the history evaluated twice, no day"
    assert lines[1]["records"] == day and lines[2]["changes"] > 0
    assert summary(lines, TD)["total_wall_s"] == round(lines[1]["wall_s"] + lines[2]["wall_s"], 3)
    again = list(_timed(history, None, wanted, TD, rebase=True))
    assert again[1]["records"] == day, "the restored warehouse loads the same day again"
    assert _runs_and_day_manifests(kept) == (3, 0)
    runs, day_manifests = _runs_and_day_manifests(load_config(history.config_path).warehouse.path)
    assert runs == 4 and day_manifests > 0, "the run: three evaluations before the day, one after it"
