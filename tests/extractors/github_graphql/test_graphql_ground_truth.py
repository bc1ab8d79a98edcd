"""The whole flow on a generated organization with `[sources.github] api = "graphql"`: FolderTransport
answers POST /graphql from the generated REST folders, and the findings and outcomes must equal the
generator's ground truth exactly, as they do through REST (tests/scenario)."""
from __future__ import annotations

import duckdb

from flows.demo import generate
from flows.evidence_run import evidence_run
from tests.scenario.ground_truth import EVALUATED_AT, PERIOD, assert_findings_match, assert_outcomes_match


def test_graphql_path_matches_the_ground_truth(tmp_path, prefect_harness) -> None:
    org = generate(tmp_path, seed=5, period=PERIOD, scale=0.08)
    config = org.config_path.read_text(encoding="utf-8")
    assert "[sources.github]\n" in config
    org.config_path.write_text(config.replace("[sources.github]\n", '[sources.github]\napi = "graphql"\n', 1),
                               encoding="utf-8")
    result = evidence_run(period=PERIOD, config_path=org.config_path, evaluated_at=EVALUATED_AT, render=False)
    with duckdb.connect(str(tmp_path / "changetrail.duckdb"), read_only=True) as con:
        graphql_rows = con.execute("select count(*) from raw.github__graphql_pull_requests").fetchone()[0]
        rest_rows = con.execute("select count(*) from raw.github__reviews").fetchone()[0]
        assert graphql_rows > 0 and rest_rows == 0          # PRs, reviews and commits came through GraphQL
        assert_findings_match(tmp_path, con, result.evaluation_run_id)
        assert_outcomes_match(tmp_path, con, result.evaluation_run_id)
        _provenance_is_found_in_graphql_records(con, result.evaluation_run_id)


def _provenance_is_found_in_graphql_records(con, run_id: str) -> None:
    """`changetrail explain` and the evidence pack name the raw record of every PR, review and check
    run; here those records are the GraphQL nodes that hold them."""
    from warehouse.explain import explain_many

    changes = [r[0] for r in con.execute("select change_id from change_outcomes where run_id = ? order by change_id",
                                         [run_id]).fetchall()]
    graphql = {r[0] for r in con.execute("select _record_id from raw.github__graphql_pull_requests union all "
                                         "select _record_id from raw.github__graphql_commit_checks").fetchall()}
    rows = {kind: [row for e in explain_many(con, changes, run_id).values() for row in getattr(e, kind)]
            for kind in ("pull_requests", "reviews", "checks")}
    for kind, found in rows.items():
        assert found, f"no {kind} in the sample organization: the check would be vacuous"
        assert all(row["record_sha256"] in graphql for row in found), kind
