"""warehouse/explain.py batches: explain_many (the evidence pack's one query per evidence kind for the
whole sample) equals explain per change, and the batched raw-record lookup finds the same record as a
plain per-row query of the raw table."""
from __future__ import annotations

from dataclasses import asdict

import duckdb
import pytest
from evaluated_org import make_evaluated_org

from warehouse.explain import RAW_KEYS, explain, explain_many, raw_record, raw_records
from warehouse.runner import latest_run_id


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    config = make_evaluated_org(tmp_path_factory.mktemp("explain_many") / "org")
    with duckdb.connect(str(config.warehouse.path), read_only=True) as connection:
        yield connection


def _changes(con) -> list[str]:
    """Changes with the most evidence kinds first (PRs, reviews, checks, ticket, approvals), then any."""
    return [r[0] for r in con.execute("""select o.change_id from change_outcomes o
        where o.run_id = ? order by (select count(*) from int_changes_linked_to_prs p where p.change_id = o.change_id) desc,
        o.change_id limit 12""", [latest_run_id(con)]).fetchall()]


def test_explain_many_equals_explain_per_change(con):
    ids = _changes(con)
    many = explain_many(con, ids)
    assert list(many) == ids
    for change_id in ids:
        assert asdict(many[change_id]) == asdict(explain(con, change_id))
    # the batch really carries evidence and raw records (not a comparison of empty explanations)
    assert any(e.pull_requests and e.reviews and e.checks and e.ticket and e.approvals for e in many.values())
    assert all(e.change["record_sha256"] for e in many.values())
    assert all(r["record_sha256"] for e in many.values() for r in e.pull_requests + e.reviews + e.checks)


def test_explain_many_of_no_change_and_of_an_unknown_change(con):
    assert explain_many(con, []) == {}
    with pytest.raises(LookupError, match="acme/none@1"):
        explain_many(con, [_changes(con)[0], "acme/none@1"])


def _per_row(con, table: str, expressions: tuple[str, ...], parts: tuple[str, ...]):
    """The latest loaded raw record with these key parts, by a plain query of one raw table."""
    where = " and ".join(f"({e}) = ?" for e in expressions)
    return con.execute(f"select _record_id, _source_url from raw.{table} where {where}"
                       " order by _extracted_at desc, _record_id limit 1", list(parts)).fetchone()


@pytest.mark.parametrize("kind", ["deployment", "pull_request", "review", "check_run", "ticket", "approval", "compare"])
def test_batched_raw_records_equal_a_per_row_query(con, kind):
    table, expressions = next((t, e) for t, e in RAW_KEYS[kind]
                              if con.execute(f"select count(*) from raw.{t}").fetchone()[0])
    keys = [tuple(r) for r in con.execute(f"select distinct {', '.join(expressions)} from raw.{table}"
                                          f" order by all limit 40").fetchall() if None not in r]
    keys.append(("no-such-key",) + keys[0][1:])
    found = raw_records(con, kind, keys)
    assert len(found) == len(keys) - 1
    for parts in keys:
        expected = _per_row(con, table, expressions, parts)
        got = found.get(parts)
        assert (got["record_sha256"], got["source_url"]) == expected if expected else got is None
    single = raw_record(con, kind, keys[0][0], **dict(zip(("repo", "base"), keys[0][1:])))
    assert single == found[keys[0]]
    assert raw_record(con, kind, None) == {"record_sha256": None, "source_url": None}
