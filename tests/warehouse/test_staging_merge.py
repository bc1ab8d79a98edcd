"""Merged staging tables and keyed intermediate models (warehouse/merge.py) equal a rebuild from
every raw row.

A generated organization is extracted, loaded and built; then raw rows land as later extractions
would: documents re-sent unchanged, documents changed (a PR's labels all removed, a compare with
fewer files and commits, a scan file scanned again with fewer results), new associations, and an
extraction older than the stored one, which must not win. After a build with reuse, every merged
model must hold exactly the rows its SQL gives over all raw rows, with the output digest a full
fingerprint would give, and only the delta was parsed; every intermediate model merged by key
must hold the rows its SQL gives over the merged staging tables, having recomputed only the keys
the staging merges touched.
"""
from __future__ import annotations


from datetime import datetime, timezone

import pytest

from tests.conftest import loaded_demo
from warehouse import merge
from warehouse.integrity import append_record
from warehouse.models import build_models, model_files
from warehouse.periods import parse_period
from warehouse.runner import write_parameters
from warehouse.schema import connect

LATER, EARLIER = "interval '3 days'", "interval '-30 days'"
MERGED = {name: merge.merge_spec(name, sql) for name, (_, sql) in model_files(("staging",)).items()
          if merge.merge_spec(name, sql)}
KEYED = {name: merge.merge_spec(name, sql, "intermediate")
         for name, (_, sql) in model_files(("intermediate",)).items()
         if merge.merge_spec(name, sql, "intermediate")}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    config = loaded_demo(tmp_path_factory.mktemp("merge"), seed=5)
    with connect(config.warehouse.path) as con:
        write_parameters(con, config, parse_period("2026Q3"), datetime(2026, 11, 2, tzinfo=timezone.utc))
        build_models(con, reuse=True)
    return config.warehouse.path


def _reland(con, table: str, where: str, shift: str, payload: str = "_payload", context: str = "_context") -> int:
    """Append copies of raw rows as a later (or earlier) extraction would land them."""
    before = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
    con.execute(f"""insert into raw.{table}
        select sha256(({payload})::varchar), 'run-merge-test', _landing_file, _line_no,
               _extracted_at + {shift}, _source_url, {context}, {payload}
        from raw.{table} where {where}""")
    return con.execute(f"select count(*) from raw.{table}").fetchone()[0] - before


def _landed(con) -> dict[str, int]:
    # each document gets one new version: two versions at the same extraction time would tie, and
    # a tie is broken arbitrarily by a rebuild too (the PRs changed below are rowid >= 20, re-sent < 5)
    return {
        "PR labels removed": _reland(con, "github__pull_requests",
                                     "rowid in (select rowid from raw.github__pull_requests"
                                     " where json_array_length(_payload -> 'labels') > 0 and rowid >= 20 limit 3)",
                                     LATER, "json_merge_patch(_payload, '{\"labels\": [], \"title\": \"retitled\"}')"),
        "PRs re-sent": _reland(con, "github__pull_requests", "rowid < 5", LATER),
        "an older PR version": _reland(con, "github__pull_requests", "rowid between 10 and 12", EARLIER,
                                       "json_merge_patch(_payload, '{\"title\": \"stale\"}')"),
        "reviews changed": _reland(con, "github__reviews", "rowid < 4", LATER,
                                   "json_merge_patch(_payload, '{\"state\": \"DISMISSED\"}')"),
        "compares shortened": _reland(con, "github__compares",
                                      "rowid in (select rowid from raw.github__compares where json_array_length("
                                      "_payload -> 'files') > 1 and json_array_length(_payload -> 'commits') > 1 limit 2)",
                                      LATER, "json_merge_patch(_payload, json_object('files', json_array("
                                      "_payload -> '$.files[0]'), 'commits', json_array(_payload -> '$.commits[0]')))"),
        "new commit -> PR links": _reland(con, "github__commit_pulls", "rowid < 3", LATER,
                                          "json_merge_patch(_payload, '{\"number\": 999999}')"),
        "deployment statuses changed": _reland(con, "github__deployment_statuses", "rowid < 3", LATER,
                                               "json_merge_patch(_payload, '{\"state\": \"failure\"}')"),
        "a SARIF run scanned again": _reland(con, "sarif__runs", "rowid = 0", LATER),
        "...with one result": _reland(
            con, "sarif__results",
            "rowid = (select min(r.rowid) from raw.sarif__results r, (select * from raw.sarif__runs where rowid = 0) u"
            " where r._run_id = u._run_id and r._context ->> 'scan_file' = u._context ->> 'scan_file'"
            " and r._context ->> 'run_index' = u._context ->> 'run_index')", LATER),
        "audit events re-read": _reland(con, "k8s_audit__events", "rowid < 3", LATER),
        "incident log entries changed": _reland(con, "pagerduty__log_entries", "rowid < 3", LATER,
                                                "json_merge_patch(_payload, '{\"type\": \"annotate_log_entry\"}')"),
        "tickets changed": _reland(con, "servicenow__change_requests", "rowid < 3", LATER,
                                   "json_merge_patch(_payload, '{\"short_description\": \"edited\"}')"),
        "a ticket recategorized": _reland(con, "servicenow__change_requests", "rowid = 7", LATER,
                                          "json_merge_patch(_payload, '{\"type\": \"emergency\"}')"),
        "approvals changed": _reland(con, "servicenow__approvals", "rowid < 3", LATER,
                                     "json_merge_patch(_payload, '{\"state\": \"rejected\"}')"),
        "deployments re-sent": _reland(con, "github__deployments", "rowid between 3 and 5", LATER,
                                       "json_merge_patch(_payload, '{\"environment\": \"staging\"}')"),
    }


def _same_as_rebuilt(con, name: str) -> None:
    """The stored rows equal the model's SQL run over everything, and the maintained digest is right."""
    if name in MERGED:
        sql = model_files(("staging",))[name][1]
        rebuilt_sql = merge.view_sql(name, MERGED[name], source=sql)
    else:
        rebuilt_sql = f"select * from ({model_files(('intermediate',))[name][1]})"
    stored = con.execute(f"select * from {name} order by all").fetchall()
    rebuilt = con.execute(f"{rebuilt_sql} order by all").fetchall()
    assert stored == rebuilt, f"{name}: merged rows differ from a rebuild"
    rows, total = merge._sums(con, f"select * from {name}")
    recorded = con.execute("select output_digest from model_builds where name = ?", [name]).fetchone()[0]
    assert recorded == merge.digest_of(con, name, rows, total), f"{name}: maintained digest drifted"


def test_the_merged_models_are_the_large_keyed_ones():
    assert {"stg_github__pull_requests", "stg_github__reviews", "stg_github__pull_request_labels",
            "stg_github__compare_commits", "stg_github__compare_files", "stg_sarif__scan_findings",
            "stg_servicenow__change_requests", "stg_sarif__scans", "stg_k8s_audit__runtime_changes",
            "stg_pagerduty__log_entries"} <= set(MERGED)
    assert MERGED["stg_github__commit_pulls"].mode == "union"
    assert MERGED["stg_github__compares"].key == ("repo", "base_sha", "head_sha")


def test_a_delta_merge_equals_a_rebuild(warehouse, monkeypatch):
    parsed: list[str] = []
    delta, keyed = merge.build_delta, merge.build_keyed
    recomputed: dict[str, int] = {}

    def spy(con, name, sql, spec):
        parsed.append(name)
        return delta(con, name, sql, spec)

    def keyed_spy(con, name, *args):
        digest = keyed(con, name, *args)
        recomputed[name] = con.execute(f"select count(*) from {merge.CHANGES}.{name}").fetchone()[0]
        return digest
    monkeypatch.setattr(merge, "build_delta", spy)
    monkeypatch.setattr(merge, "build_keyed", keyed_spy)
    with connect(warehouse) as con:
        landed = _landed(con)
        assert all(landed.values()), landed
        before = {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in {**MERGED, **KEYED}}
        built = build_models(con, reuse=True)
        assert set(parsed) == set(built) & set(MERGED) and "stg_github__pull_requests" in parsed
        for name in MERGED:
            _same_as_rebuilt(con, name)
        assert set(recomputed) == set(KEYED)
        for name in KEYED:
            _same_as_rebuilt(con, name)
            # only the touched keys: their old and new rows make the change log, not the table
            assert 0 < recomputed[name] < before[name] / 4, (name, recomputed[name], before[name])
        assert con.execute("select count(*) from int_ticket_approvals_resolved where state = 'rejected'"
                           " and sys_id in (select sys_id from stg_servicenow__approvals where state = 'rejected')"
                           ).fetchone()[0] >= 3
        # the changes are visible: removed labels gone, the stale title did not win, fewer files
        assert con.execute("select count(*) from stg_github__pull_requests where title = 'retitled'").fetchone()[0] == 3
        assert con.execute("select count(*) from stg_github__pull_requests where title = 'stale'").fetchone()[0] == 0
        assert con.execute("select count(*) from stg_github__pull_request_labels").fetchone()[0] \
            < before["stg_github__pull_request_labels"]
        assert con.execute("select count(*) from stg_github__commit_pulls where pr_number = 999999").fetchone()[0] > 0
        assert con.execute("select count(*) from stg_sarif__scan_findings").fetchone()[0] \
            < before["stg_sarif__scan_findings"]
        # nothing new: nothing rebuilt, nothing parsed
        parsed.clear()
        assert build_models(con, reuse=True) == [] and parsed == []


def test_a_keyed_model_rebuilds_whole_when_what_is_not_keyed_changed(warehouse, monkeypatch):
    """A parameter (the ticket categories), or a source rebuilt without a change log, leaves no
    key-wise path: the model is rebuilt from all rows, and still equals its SQL."""
    whole: list[str] = []
    create = merge._sums

    def spy(con, query):
        if query.startswith("select * from int_"):
            whole.append(query.split()[-1])
        return create(con, query)
    monkeypatch.setattr(merge, "_sums", spy)
    with connect(warehouse) as con:
        con.execute("update ticket_categories set category = 'Normal' where category = 'Emergency'")
        assert "int_tickets_categorized" in build_models(con, reuse=True)
        assert whole == ["int_tickets_categorized"]
        _same_as_rebuilt(con, "int_tickets_categorized")
        whole.clear()
        con.execute("delete from model_merges where name = 'stg_servicenow__approvals'")  # no change log
        _reland(con, "servicenow__approvals", "rowid = 4", LATER, "json_merge_patch(_payload, '{\"state\": \"x\"}')")
        assert "int_ticket_approvals_resolved" in build_models(con, reuse=True)
        assert whole == ["int_ticket_approvals_resolved"]
        _same_as_rebuilt(con, "int_ticket_approvals_resolved")


def test_retention_or_a_changed_model_rebuilds_whole(warehouse):
    name = "stg_github__reviews"
    sql = model_files(("staging",))[name][1]
    with connect(warehouse) as con:
        assert merge.can_merge(con, name, sql)
        assert not merge.can_merge(con, name, sql + "\n-- edited"), "another SQL text cannot take a delta"
        con.execute("begin transaction")
        append_record(con, "retention", {"cutoff": "2020-01-01T00:00:00+00:00", "years": 3, "manifests": [], "files": []})
        con.execute("commit")
        assert not merge.can_merge(con, name, sql), "rows removed by retention: rebuilt from what is left"
        _reland(con, "github__reviews", "rowid < 2", LATER)
        assert name in build_models(con, layers=("staging",), reuse=True)
        assert merge.can_merge(con, name, sql)
        _same_as_rebuilt(con, name)


def test_a_merged_model_must_declare_its_documents():
    with pytest.raises(ValueError, match="documents"):
        merge.merge_spec("stg_x__y", "-- merge key: id\nwith final as (select 1 as id) select * from final")
    with pytest.raises(ValueError, match="select \\* from final"):
        merge.merge_spec("stg_x__y", "-- merge: union\nselect 1")
    with pytest.raises(ValueError, match="merge inputs"):
        merge.merge_spec("int_x", "-- merge key: id\nselect 1 as id", "intermediate")
    assert merge.merge_spec("int_x", "-- merge key: a, b\n-- merge inputs: int_y_unioned\nselect 1", "intermediate") \
        == merge.MergeSpec("inputs", ("a", "b"), ("int_y_unioned",))
    assert merge.merge_spec("stg_x__y", "-- a comment\nselect 1") is None


def test_intermediate_tables_stored_uncompressed_hold_exactly_their_sql(warehouse):
    """An intermediate table is created with its text columns declared uncompressed
    (warehouse/models._create_derived): the same column types and rows as its SQL."""
    with connect(warehouse) as con:
        build_models(con)
        checked = 0
        for name, (layer, sql) in model_files(("intermediate",)).items():
            if name in KEYED or "USING COMPRESSION" not in con.execute(
                    "select sql from duckdb_tables() where table_name = ?", [name]).fetchone()[0]:
                continue
            con.execute(f"create or replace temp table _expected as {sql}")
            types = "select column_name, data_type from information_schema.columns where table_name = ? order by ordinal_position"
            assert con.execute(types, [name]).fetchall() == con.execute(types, ["_expected"]).fetchall(), name
            assert con.execute(f"select * from {name} order by all").fetchall() == \
                con.execute("select * from _expected order by all").fetchall(), name
            checked += con.execute(f"select count(*) > 0 from {name}").fetchone()[0]
        assert checked >= 8, "the per-change tables with text were compared with rows in them"
