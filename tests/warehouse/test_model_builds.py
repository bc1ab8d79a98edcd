"""warehouse/models.build_models with `reuse`: a model is rebuilt only when what it reads changed.

The inputs digest of a model covers its SQL, the digests of the models it reads, the state of its
raw tables and the parameter values it names; each build commits together with its record in
`model_builds`, so a failed build leaves neither a new relation nor a new record.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from flows.config import Config
from warehouse import models
from warehouse.models import build_models
from warehouse.periods import parse_period
from warehouse.runner import write_parameters
from warehouse.schema import connect

EVALUATED_AT = datetime(2026, 11, 2, 12, tzinfo=timezone.utc)


def _review(con, review_id: int, state: str, extracted_at: datetime) -> None:
    con.execute(
        "insert into raw.github__reviews values (?, 'run-1', 'f', 1, ?, null, ?, ?)",
        [f"r{review_id}-{state}", extracted_at, json.dumps({"repo": "acme/api", "number": 7}),
         json.dumps({"id": review_id, "user": {"login": "bob"}, "state": state, "commit_id": "abc",
                     "submitted_at": "2026-08-01T10:00:00Z", "html_url": "u"})])


@pytest.fixture
def con():
    con = connect(":memory:")
    write_parameters(con, Config(), parse_period("2026Q3"), EVALUATED_AT)
    yield con
    con.close()


def _recorded(con) -> dict[str, str]:
    return dict(con.execute("select name, inputs_digest from model_builds").fetchall())


def test_staging_is_materialised_and_a_second_build_reuses_every_model(con):
    first = build_models(con, reuse=True)
    kinds = dict(con.execute("select table_name, table_type from information_schema.tables"
                             " where table_schema = 'main'").fetchall())
    assert kinds["stg_github__reviews"] == "VIEW", "a merged staging table is read through its view"
    assert kinds["stg_people__people"] == "BASE TABLE" and kinds["int_reviews_evaluated"] == "BASE TABLE"
    assert kinds["int_reviews_unioned"] == "VIEW"
    assert set(_recorded(con)) == set(first)
    assert build_models(con, reuse=True) == []
    assert len(build_models(con)) == len(first), "without reuse every model is rebuilt"


def test_new_raw_rows_rebuild_their_staging_table_and_what_reads_it_only(con):
    build_models(con, reuse=True)
    _review(con, 1, "APPROVED", EVALUATED_AT)
    rebuilt = set(build_models(con, reuse=True))
    assert {"stg_github__reviews", "int_reviews_unioned", "int_reviews_evaluated"} <= rebuilt
    assert not {"stg_github__pull_requests", "stg_servicenow__approvals", "int_people_identities",
                "int_changes_in_period", "int_tickets_categorized"} & rebuilt
    assert con.execute("select review_id, state from stg_github__reviews").fetchall() == [(1, "APPROVED")]
    # append-only raw: the latest extraction of a review wins in the rebuilt table
    _review(con, 1, "DISMISSED", datetime(2026, 11, 3, tzinfo=timezone.utc))
    build_models(con, reuse=True)
    assert con.execute("select review_id, state from stg_github__reviews").fetchall() == [(1, "DISMISSED")]
    # the same record re-sent by a later extraction: the staging table is rebuilt with the same rows,
    # so nothing that reads it is
    _review(con, 1, "DISMISSED", datetime(2026, 11, 4, tzinfo=timezone.utc))
    assert build_models(con, reuse=True) == ["stg_github__reviews"]


def test_parameters_rebuild_only_the_models_that_name_them(con):
    build_models(con, reuse=True)
    # a new evaluation time: only the business-day calendar reads it
    write_parameters(con, Config(), parse_period("2026Q3"), datetime(2026, 11, 3, tzinfo=timezone.utc))
    assert build_models(con, reuse=True) == ["int_business_days_numbered"]
    # another period: the models bounded by the period are rebuilt; with no deployments their rows
    # stay the same (none), so nothing that reads them is
    write_parameters(con, Config(), parse_period("2026Q2"), datetime(2026, 11, 3, tzinfo=timezone.utc))
    assert set(build_models(con, reuse=True)) == {"int_changes_in_period", "int_changes_sequenced",
                                                  "int_business_days_numbered"}
    # a policy table (sensitive path globs): the shared glob matches, not the files they match
    con.execute("insert into sensitive_path_patterns values ('auth', 'x/**', '^x/.*$')")
    assert build_models(con, reuse=True) == ["int_change_files_matched"]
    # the ticket key pattern, read through its macro (a constant regex), still rebuilds what uses it
    config = Config()
    config.policy.ticket_key_pattern = "OPS-[0-9]+"
    write_parameters(con, config, parse_period("2026Q2"), datetime(2026, 11, 3, tzinfo=timezone.utc))
    assert con.execute("select ticket_key_pattern()").fetchone()[0] == "OPS-[0-9]+"
    # (the sensitive path table is written again without the row inserted above)
    assert set(build_models(con, reuse=True)) == {"int_changes_linked_to_tickets", "int_change_files_matched"}


def test_a_failed_build_records_nothing_and_keeps_the_previous_relation(con, monkeypatch):
    build_models(con, reuse=True)
    before = _recorded(con)
    _review(con, 2, "APPROVED", EVALUATED_AT)
    real = models.model_files

    def broken(layers=models.LAYERS):
        files = real(layers)
        if "int_reviews_evaluated" in files:
            files["int_reviews_evaluated"] = ("intermediate", "select * from no_such_table")
        return files

    monkeypatch.setattr(models, "model_files", broken)
    with pytest.raises(RuntimeError, match="int_reviews_evaluated"):
        build_models(con, reuse=True)
    after = _recorded(con)
    assert after["int_reviews_evaluated"] == before["int_reviews_evaluated"]
    assert con.execute("select count(*) from int_reviews_evaluated").fetchone() == (0,)
    # the staging table built before the failure is recorded with its new content; the next build
    # (model fixed) rebuilds only what was not done
    assert after["stg_github__reviews"] != before["stg_github__reviews"]
    monkeypatch.setattr(models, "model_files", real)
    rebuilt = build_models(con, reuse=True)
    assert "int_reviews_evaluated" in rebuilt and "stg_github__reviews" not in rebuilt


def test_a_model_dropped_or_turned_into_a_view_is_rebuilt(con):
    build_models(con, reuse=True)
    con.execute("drop table int_tickets_categorized")
    assert "int_tickets_categorized" in build_models(con, reuse=True)
    models.build_views(con)
    rebuilt = build_models(con, reuse=True)
    assert "stg_github__reviews" in rebuilt and "int_reviews_evaluated" in rebuilt
    assert con.execute("select table_type from information_schema.tables where table_name = 'stg_github__reviews'"
                       ).fetchone() == ("BASE TABLE",)


def _table_sql(con, schema: str, name: str) -> str:
    return con.execute("select sql from duckdb_tables() where schema_name = ? and table_name = ?",
                       [schema, name]).fetchone()[0]


def test_intermediate_tables_store_their_text_uncompressed_and_results_in_zstd(con):
    """Storage choices (warehouse/models.py, warehouse/schema.py): the period's intermediate tables,
    rebuilt most days, keep text uncompressed; the history's staging and keyed tables keep DuckDB's
    own compression; each run's results keep their texts in ZSTD."""
    _review(con, 1, "APPROVED", EVALUATED_AT)
    build_models(con, reuse=True)
    derived = _table_sql(con, "main", "int_reviews_evaluated")
    assert derived.count("USING COMPRESSION Uncompressed") == len(con.execute(
        "select 1 from information_schema.columns where table_name = 'int_reviews_evaluated'"
        " and data_type in ('VARCHAR', 'JSON')").fetchall()) > 0
    assert "USING COMPRESSION" not in _table_sql(con, "staged", "stg_github__reviews")
    assert "USING COMPRESSION" not in _table_sql(con, "main", "int_deployments_succeeded")
    results = _table_sql(con, "main", "control_results")
    assert "reason VARCHAR USING COMPRESSION ZSTD" in results and "evidence JSON USING COMPRESSION ZSTD" in results
