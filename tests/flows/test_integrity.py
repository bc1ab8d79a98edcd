"""`verify_warehouse`: the hash-chained run records catch a single changed byte anywhere."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.flows.integrity_fixture import two_loads, execute, flip_byte, land, load, make_config
from warehouse.integrity import record_reports, verify_warehouse
from warehouse.schema import connect


@pytest.fixture
def config(tmp_path: Path):
    return two_loads(tmp_path)


def _files(config, pattern: str) -> list[Path]:
    return sorted(config.warehouse.landing.glob(pattern))


def test_fresh_warehouse_verifies_and_each_load_is_a_chained_record(config) -> None:
    assert verify_warehouse(config) == []
    records = execute(config, "select seq, kind, detail, prev_sha256, record_sha256 from raw._run_records order by seq")
    assert [(r[0], r[1]) for r in records] == [(0, "load"), (1, "load")]
    assert records[0][3] is None and records[1][3] == records[0][4]
    detail = json.loads(records[1][2])
    assert detail["counts"] == {"sarif/results": 2, "sarif/runs": 0}
    manifest = detail["manifests"][0]
    assert manifest["run_id"] == "20260702T000000Z-bbbbbb"
    assert {f["stream"]: f["rows"] for f in manifest["files"]} == {"runs": 0, "results": 2}
    assert all(len(f["sha256"]) == 64 and len(f["rows_sha256"]) == 64 for f in manifest["files"])
    assert [count for count, _sha in detail["quarantine"].values()] == [1]


def test_a_changed_byte_in_a_raw_value_is_named(config) -> None:
    execute(config, "update raw.sarif__results set _payload = replace(_payload::varchar, 'finding 1', 'finding 7')::json "
                    "where _payload->>'ruleId' = 'B001' and _run_id = '20260701T000000Z-aaaaaa'")
    problems = verify_warehouse(config)
    assert len(problems) == 1
    assert problems[0].startswith("raw.sarif__results: the payload of 1 row(s) from sarif/results/20260701T000000Z-aaaaaa/")
    assert problems[0].endswith("changed (SHA-256 differs from _record_id)")


def test_a_changed_payload_with_its_record_id_recomputed_is_named(config) -> None:
    execute(config, "update raw.sarif__results set _payload = replace(_payload::varchar, 'finding 1', 'finding 7')::json "
                    "where _payload->>'ruleId' = 'B001' and _run_id = '20260701T000000Z-aaaaaa'")
    execute(config, "update raw.sarif__results set _record_id = sha256(_payload::varchar)")
    problems = verify_warehouse(config)
    assert len(problems) == 1
    assert "raw.sarif__results: a row from sarif/results/20260701T000000Z-aaaaaa/" in problems[0]


def test_rows_loaded_under_the_first_row_hash_scheme_still_verify(tmp_path: Path, monkeypatch) -> None:
    """Run records written before scheme 2 (payload hashed inside the row hash) keep verifying."""
    import warehouse.integrity as integrity

    config = make_config(tmp_path)
    monkeypatch.setattr(integrity, "ROW_HASH_SCHEME", 1)
    land(config, "20260701T000000Z-aaaaaa")
    load(config)
    monkeypatch.undo()
    land(config, "20260702T000000Z-bbbbbb", results=2)
    load(config)
    details = [json.loads(d) for (d,) in execute(config, "select detail from raw._run_records order by seq")]
    schemes = [{f["row_hash"] for m in d["manifests"] for f in m["files"]} for d in details]
    assert schemes == [{1}, {2}]
    assert verify_warehouse(config) == []
    execute(config, "update raw.sarif__results set _line_no = _line_no + 10 where _run_id = '20260701T000000Z-aaaaaa'")
    assert any("a row from sarif/results/20260701T000000Z-aaaaaa/" in p for p in verify_warehouse(config))


def test_deleted_and_added_raw_rows_are_named(config) -> None:
    execute(config, "delete from raw.sarif__results where _payload->>'ruleId' = 'B000' and _run_id like '20260702%'")
    execute(config, "insert into raw.sarif__results select * replace ('forged.jsonl.gz' as _landing_file) "
                    "from raw.sarif__results limit 1")
    problems = verify_warehouse(config)
    assert any("has 1 row(s), the run record 2" in p for p in problems)
    assert any("extra row(s) from forged.jsonl.gz" in p for p in problems)


def test_a_changed_byte_in_a_landing_file_is_named(config) -> None:
    target = _files(config, "sarif/results/20260701T000000Z-aaaaaa/*.jsonl.gz")[0]
    flip_byte(target)
    assert verify_warehouse(config) == [f"{target}: changed since it was loaded (sha256 differs from the run record)"]


def test_a_changed_byte_in_a_manifest_is_named(config) -> None:
    target = _files(config, "sarif/_manifests/20260702T000000Z-bbbbbb__*.json")[0]
    flip_byte(target, at=5)
    assert verify_warehouse(config) == [f"{target}: changed since it was loaded (sha256 differs from the run record)"]


def test_missing_and_extra_landing_files_are_named(config) -> None:
    gone = _files(config, "sarif/runs/20260701T000000Z-aaaaaa/*.jsonl.gz")[0]
    gone.unlink()
    extra = config.warehouse.landing / "sarif" / "results" / "planted.jsonl.gz"
    extra.write_bytes(b"x")
    problems = verify_warehouse(config)
    assert problems == [f"{gone}: landing file is missing",
                        f"{extra}: extra landing file (in no manifest of the run chain)"]


def test_a_changed_manifest_row_and_quarantine_row_are_named(config) -> None:
    execute(config, "update raw._manifests set manifest_sha256 = 'x' || manifest_sha256[2:] where run_id like '20260701%'")
    execute(config, "update raw.quarantine set reason = 'fine' where _run_id like '20260702%'")
    problems = verify_warehouse(config)
    assert len(problems) == 2
    assert problems[0].startswith("raw._manifests: row sarif/_manifests/20260701T000000Z-aaaaaa__") and "changed" in problems[0]
    assert problems[1].startswith("raw.quarantine: rows loaded at ")


def test_a_changed_byte_in_a_report_is_named(config) -> None:
    report = config.reports.out / "2026Q3" / "quarterly.html"
    report.parent.mkdir(parents=True)
    report.write_text("<p>42 changes</p>", encoding="utf-8")
    with connect(config.warehouse.path) as con:
        record_reports(con, [report], root=config.reports.out)
    assert verify_warehouse(config) == []
    flip_byte(report, at=4)
    assert verify_warehouse(config) == [f"{report}: report changed since it was rendered (sha256 differs from the run record)"]
    report.unlink()
    assert verify_warehouse(config) == [f"{report}: report is missing"]


def test_a_deleted_run_record_is_named(config) -> None:
    execute(config, "delete from raw._run_records where seq = 0")
    problems = verify_warehouse(config)
    assert "run record 0 is missing (the chain jumps to 1): deleted?" in problems
    assert any("broken link" in p for p in problems)


def test_deleting_the_last_run_record_leaves_its_rows_unaccounted_for(config) -> None:
    execute(config, "delete from raw._run_records where seq = 1")
    problems = verify_warehouse(config)
    assert any(p.startswith("raw._manifests: extra row sarif/_manifests/20260702T000000Z-bbbbbb__") for p in problems)
    assert any("extra row(s) from sarif/results/20260702T000000Z-bbbbbb/" in p for p in problems)


def test_a_rewritten_run_record_is_named(config) -> None:
    execute(config, "update raw._run_records set detail = replace(detail, '\"rows\":3', '\"rows\":4') where seq = 0")
    problems = verify_warehouse(config)
    assert problems[0].startswith("run record 0 (load, ") and problems[0].endswith("changed since it was written")


def test_a_warehouse_from_before_run_records_is_adopted_on_its_next_load(config) -> None:
    execute(config, "drop table raw._run_records")
    execute(config, "drop table raw._run_chain")                  # a warehouse from before run records
    (config.warehouse.landing / "_run_chain.json").unlink()      # has no chain genesis either
    assert verify_warehouse(config)[0].endswith("run `changetrail load` once)")
    land(config, "20260703T000000Z-cccccc")
    load(config)      # connect() creates the table; the load adopts what was there, then records itself
    kinds = execute(config, "select kind from raw._run_records order by seq")
    assert kinds == [("adopt",), ("load",)]
    assert verify_warehouse(config) == []


def test_no_warehouse_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert verify_warehouse(config) == [f"{config.warehouse.path}: no warehouse here"]
