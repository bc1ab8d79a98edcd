"""Runs stored by reference (warehouse/results_store.py): what is written, and that run_results
returns every run exactly as it was evaluated, whichever way it was stored."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb

from flows.config import Warehouse as WarehouseSettings
from warehouse import results_store as store
from warehouse.schema import create_schema
from warehouse.sealing import result_hashes

T0 = datetime(2026, 8, 1, tzinfo=timezone.utc)


def _row(control: str, subject: str, status: str = "pass", reason: str | None = None,
         evidence: dict | None = None, subject_type: str = "change", period: str = "2026Q3") -> tuple:
    return (period, control, subject_type, subject, status, reason, json.dumps(evidence) if evidence else None)


def _population(n: int = 40) -> list[tuple]:
    return [_row(control, f"acme/web@{i:03d}", evidence={"sha": f"{i:03d}"})
            for i in range(n) for control in ("CM-01", "CM-03")]


class Warehouse:
    def __init__(self, con: duckdb.DuckDBPyConnection | None = None, runs: int = 0):
        self.con = con or duckdb.connect()
        create_schema(self.con)
        self.runs = runs

    def run(self, rows: list[tuple], period: str = "2026Q3") -> str:
        """Evaluate a run whose results are `rows`, stored as the runner stores it."""
        self.runs += 1
        run_id = f"run-{self.runs}"
        at = T0 + timedelta(days=self.runs)
        con = self.con
        con.execute("begin transaction")
        store.start_run(con)
        con.executemany(f"insert into {store.WORKING} values (?, ?, ?, ?, ?, ?, ?, ?::json, ?)",
                        [(run_id, *r, at) for r in rows])
        stored = store.store_run(con, run_id, period)
        con.execute("insert into evaluation_runs (run_id, period, started_at, finished_at, count_results,"
                    " evaluated_at, results_base) values (?, ?, ?, ?, ?, ?, ?)",
                    [run_id, period, at, at, stored.count_results, at, stored.base])
        con.execute("commit")
        self.stored = stored
        return run_id

    def read(self, run_id: str) -> list[tuple]:
        return sorted(self.con.execute("select * exclude (evaluated_at) replace (evidence::varchar as evidence)"
                                       " from run_results(?)", [run_id]).fetchall(), key=repr)

    def physical(self, run_id: str) -> int:
        return self.con.execute("select count(*) from control_results where run_id = ?", [run_id]).fetchone()[0]

    def base(self, run_id: str) -> str | None:
        return self.con.execute("select results_base from evaluation_runs where run_id = ?", [run_id]).fetchone()[0]


def _expected(run_id: str, rows: list[tuple]) -> list[tuple]:
    return sorted(((run_id, *r) for r in rows), key=repr)


def test_first_run_of_a_period_is_stored_in_full_and_read_back():
    w = Warehouse()
    rows = _population()
    run = w.run(rows)
    assert w.base(run) is None and w.physical(run) == len(rows) == w.stored.count_results
    assert w.read(run) == _expected(run, rows)


def test_an_unchanged_run_stores_nothing_and_reads_as_its_own():
    w = Warehouse()
    rows = _population()
    first = w.run(rows)
    second = w.run(rows)
    assert w.base(second) == first and w.physical(second) == 0
    assert w.read(second) == _expected(second, rows)
    # the base's rows carry the reading run's evaluation time, not the base's
    times = w.con.execute("select distinct evaluated_at from run_results(?)", [second]).fetchall()
    assert times == [(T0 + timedelta(days=2),)]
    assert w.read(first) == _expected(first, rows)


def test_a_run_stores_exactly_its_new_changed_and_removed_subjects():
    w = Warehouse()
    rows = _population()
    first = w.run(rows)
    day = list(rows)
    day[0] = _row("CM-01", "acme/web@000", "fail", "no ticket", {"sha": "000"})       # status and reason
    day[3] = _row("CM-03", "acme/web@001", evidence={"sha": "001", "reviewers": 2})    # evidence only
    day[5] = _row("CM-03", "acme/web@002", period="2026Q4")                            # period (same key)
    del day[10]                                                                         # subject gone
    day.append(_row("CM-01", "acme/web@900"))                                          # new subject
    day.append(_row("EV-02", "acme/web", subject_type="repository"))
    second = w.run(day)
    assert w.base(second) == first
    assert (w.stored.count_stored, w.stored.count_removed, w.stored.count_results) == (5, 1, len(day))
    assert w.physical(second) == 5
    assert w.con.execute("select control_id, subject_id from control_result_removals where run_id = ?",
                         [second]).fetchall() == [(rows[10][1], rows[10][3])]
    assert w.read(second) == _expected(second, day)
    assert w.read(first) == _expected(first, rows)


def test_the_base_is_always_a_run_stored_in_full():
    w = Warehouse()
    rows = _population()
    first = w.run(rows)
    second = w.run(rows[:-1])
    third = w.run(rows[:-2] + [_row("CM-01", "acme/web@901")])
    assert w.base(second) == w.base(third) == first
    assert w.read(third) == _expected(third, rows[:-2] + [_row("CM-01", "acme/web@901")])
    assert w.read(second) == _expected(second, rows[:-1])


def test_a_run_differing_in_more_than_a_quarter_of_its_rows_is_stored_in_full_and_becomes_the_base():
    w = Warehouse()
    rows = _population(40)
    first = w.run(rows)
    grown = rows + _population(80)[80:]           # 40 more changes: half the run is new
    second = w.run(grown)
    assert w.base(second) is None and w.physical(second) == len(grown)
    third = w.run(grown)
    assert w.base(third) == second and w.physical(third) == 0
    assert w.read(third) == _expected(third, grown) and w.read(first) == _expected(first, rows)


def test_duplicate_subject_keys_are_stored_in_full():
    w = Warehouse()
    rows = _population()
    w.run(rows)
    repeated = rows + [rows[0]]               # a control that returned one subject twice
    second = w.run(repeated)
    assert w.base(second) is None
    assert w.read(second) == _expected(second, repeated)


def test_another_periods_run_is_never_a_base():
    w = Warehouse()
    w.run(_population())
    q4 = [_row(c, s, period="2026Q4") for _, c, _, s, *_ in _population()]
    run = w.run(q4, period="2026Q4")
    assert w.base(run) is None and w.read(run) == _expected(run, q4)


def test_a_runs_seal_hash_does_not_depend_on_how_it_is_stored():
    rows = _population()
    day = rows[1:] + [_row("CM-01", "acme/web@900", "fail", "no ticket")]
    by_reference, in_full = Warehouse(), Warehouse()
    by_reference.run(rows)
    run = by_reference.run(day)
    in_full.runs = 1                             # same run id and evaluation time, stored in full
    assert in_full.run(day) == run and in_full.base(run) is None
    assert by_reference.base(run) == "run-1"
    assert result_hashes(by_reference.con, run) == result_hashes(in_full.con, run)


def test_a_failed_run_leaves_nothing_stored():
    w = Warehouse()
    rows = _population()
    first = w.run(rows)
    con = w.con
    con.execute("begin transaction")
    store.start_run(con)
    con.executemany(f"insert into {store.WORKING} values ('run-x', ?, ?, ?, ?, ?, ?, ?::json, now())",
                    rows[1:] + [_row("CM-01", "acme/web@999")])
    store.store_run(con, "run-x", "2026Q3")
    con.execute("rollback")
    assert w.physical("run-x") == 0
    assert con.execute("select count(*) from control_result_removals").fetchone()[0] == 0
    assert w.read(first) == _expected(first, rows)


def test_with_no_tolerance_any_difference_is_stored_in_full(monkeypatch):
    monkeypatch.setattr(store, "FULL_FRACTION", 0.0)
    w = Warehouse()
    rows = _population()
    w.run(rows)
    assert w.base(w.run(rows)) == "run-1"          # no difference: still by reference
    assert w.base(w.run(rows[1:])) is None


def _warehouse_from_before(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """The tables as a version before run_results wrote them: every run stored in full."""
    con.execute("""create table evaluation_runs (run_id VARCHAR PRIMARY KEY, period VARCHAR NOT NULL,
        started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, config_hash VARCHAR, count_changes BIGINT,
        count_results BIGINT)""")
    con.execute("""create table control_results (run_id VARCHAR NOT NULL, period VARCHAR NOT NULL,
        control_id VARCHAR NOT NULL, subject_type VARCHAR NOT NULL, subject_id VARCHAR NOT NULL,
        status VARCHAR NOT NULL, reason VARCHAR, evidence JSON, evaluated_at TIMESTAMPTZ NOT NULL)""")
    con.execute("insert into evaluation_runs values ('old-1', '2026Q3', ?, ?, 'cfg', 40, ?)", [T0, T0, len(rows)])
    con.executemany("insert into control_results values ('old-1', ?, ?, ?, ?, ?, ?, ?::json, ?)",
                    [(*r, T0) for r in rows])


def test_a_warehouse_from_before_keeps_its_runs_readable_and_becomes_the_base():
    con = duckdb.connect()
    rows = _population()
    _warehouse_from_before(con, rows)
    w = Warehouse(con, runs=1)                   # the upgrade: create_schema on the old tables
    assert w.read("old-1") == _expected("old-1", rows)
    new = w.run(rows[2:])
    assert w.base(new) == "old-1" and w.physical(new) == 0
    assert w.read(new) == _expected(new, rows[2:])


def test_altering_the_base_alters_the_hash_of_every_run_stored_against_it():
    """A seal of a run stored by reference covers the base rows it reads (sealing.verify)."""
    w = Warehouse()
    rows = _population()
    first = w.run(rows)
    second = w.run(rows[1:])
    before = result_hashes(w.con, second)
    w.con.execute("update control_results set status = 'fail' where run_id = ? and control_id = 'CM-03'"
                  " and subject_id = 'acme/web@007'", [first])
    after = result_hashes(w.con, second)
    assert before["CM-03"] != after["CM-03"] and before["CM-01"] == after["CM-01"]


def test_a_warehouse_from_before_is_readable_read_only_before_any_new_run(tmp_path):
    """Upgraded code, nothing evaluated yet: reports and the CLI read it read-only (no schema run)."""
    path = tmp_path / "old.duckdb"
    rows = _population()
    with duckdb.connect(str(path)) as con:
        _warehouse_from_before(con, rows)
    with WarehouseSettings(path=path).connect(read_only=True) as con:
        got = sorted(con.execute("select * exclude (evaluated_at) replace (evidence::varchar as evidence)"
                                 " from run_results('old-1')").fetchall(), key=repr)
    assert got == _expected("old-1", rows)
    with WarehouseSettings(path=path).connect() as con:        # the first write upgrades it
        assert con.execute("select count(*) from duckdb_functions() where function_name = 'run_results'"
                           " and not internal").fetchone()[0] == 1
