"""A deleted run-record chain cannot be hidden: the warehouse (`raw._run_chain`) and the landing
folder (`_run_chain.json`) remember the chain's first record, so `verify` reports "run records
deleted" and the next load refuses to adopt the warehouse again, naming the table."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.flows.integrity_fixture import two_loads, execute, land, load, make_config
from warehouse.integrity import CHAIN_FILE, adopt_unrecorded, verify_warehouse
from warehouse.load import LoadError
from warehouse.schema import connect


@pytest.fixture
def config(tmp_path: Path):
    return two_loads(tmp_path)


def _genesis(config) -> tuple:
    return execute(config, "select kind, recorded_at, record_sha256 from raw._run_records where seq = 0")[0]


def test_the_chain_genesis_is_remembered_in_the_warehouse_and_beside_the_landing(config) -> None:
    first = _genesis(config)
    assert execute(config, "select kind, recorded_at, record_sha256 from raw._run_chain") == [first]
    body = json.loads((config.warehouse.landing / CHAIN_FILE).read_text(encoding="utf-8"))
    beside = body["chains"][str(config.warehouse.path.resolve())]     # kept per warehouse file
    assert (beside["kind"], beside["recorded_at"], beside["record_sha256"]) == first
    assert verify_warehouse(config) == []        # the genesis file is not an "extra landing file"


def test_deleted_run_records_are_reported_and_never_re_adopted(config) -> None:
    execute(config, "delete from raw._run_records")
    problems = verify_warehouse(config)
    assert sum("run records deleted" in p for p in problems) == 2     # the table and the file both say so
    assert any("raw._run_chain" in p for p in problems)
    land(config, "20260703T000000Z-cccccc")
    with pytest.raises(LoadError, match=r"raw\._run_records: run records deleted.*refusing to adopt"):
        load(config)
    assert execute(config, "select count(*) from raw._run_records") == [(0,)]       # nothing adopted
    assert execute(config, "select count(*) from raw._manifests") == [(2,)]         # nothing loaded


def test_deleting_the_records_and_the_genesis_table_is_still_caught_by_the_landing_file(config) -> None:
    execute(config, "drop table raw._run_records")
    execute(config, "drop table raw._run_chain")
    problems = verify_warehouse(config)
    assert problems and "run records deleted" in problems[0] and CHAIN_FILE in problems[0]
    with pytest.raises(LoadError, match=rf"run records deleted.*{CHAIN_FILE}"):
        load(config)          # connect re-creates an empty raw._run_records: adoption is refused


def test_deleting_only_the_first_record_refuses_the_load(config) -> None:
    execute(config, "delete from raw._run_records where seq = 0")
    assert any("run record 0 is missing" in p for p in verify_warehouse(config))
    with pytest.raises(LoadError, match="run record 0 is missing"):
        load(config)


def test_a_replaced_chain_is_reported(config) -> None:
    execute(config, "delete from raw._run_records")
    (config.warehouse.landing / CHAIN_FILE).unlink()
    execute(config, "delete from raw._run_chain")
    with connect(config.warehouse.path) as con:        # what an attacker could do by hand: adopt again
        adopt_unrecorded(con)
    execute(config, "insert into raw._run_chain values ('load', '2026-07-01T00:00:00+00:00', 'forged')")
    problems = verify_warehouse(config)
    assert any("run record 0 is not the record raw._run_chain says began the chain" in p for p in problems)


def test_a_warehouse_from_before_run_records_is_still_adopted_once(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    land(config, "20260701T000000Z-aaaaaa")
    load(config)
    execute(config, "delete from raw._run_records")       # as if it predated run records...
    execute(config, "drop table raw._run_chain")          # ...and the genesis they now leave
    (config.warehouse.landing / CHAIN_FILE).unlink()
    land(config, "20260702T000000Z-bbbbbb")
    load(config)
    kinds = execute(config, "select kind from raw._run_records order by seq")
    assert kinds == [("adopt",), ("load",)]
    assert execute(config, "select kind from raw._run_chain") == [("adopt",)]
    assert (config.warehouse.landing / CHAIN_FILE).is_file()
    assert verify_warehouse(config) == []


def test_a_chain_from_before_the_genesis_gets_one_on_its_next_load(config) -> None:
    execute(config, "drop table raw._run_chain")
    (config.warehouse.landing / CHAIN_FILE).unlink()
    load(config)                           # nothing pending: still remembers the genesis
    assert execute(config, "select kind, recorded_at, record_sha256 from raw._run_chain") == [_genesis(config)]
    assert (config.warehouse.landing / CHAIN_FILE).is_file()


def test_another_warehouse_may_load_the_same_landing_folder(config, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other = make_config(tmp_path / "other")
    other.warehouse.landing = config.warehouse.landing
    load(other)                                          # its own chain, beside the first one's
    assert execute(other, "select kind from raw._run_records") == [("load",)]
    chains = json.loads((config.warehouse.landing / CHAIN_FILE).read_text(encoding="utf-8"))["chains"]
    assert set(chains) == {str(config.warehouse.path.resolve()), str(other.warehouse.path.resolve())}
    assert verify_warehouse(config) == [] and verify_warehouse(other) == []


def test_an_unreadable_genesis_file_is_reported_and_blocks_adoption(config) -> None:
    (config.warehouse.landing / CHAIN_FILE).write_text("{not json", encoding="utf-8")
    assert any("unreadable" in p for p in verify_warehouse(config))
    execute(config, "delete from raw._run_records")
    execute(config, "drop table raw._run_chain")
    with pytest.raises(LoadError, match="unreadable"):
        load(config)
