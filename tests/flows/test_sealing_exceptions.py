"""A sealed quarter's applied exceptions are part of its hashes (warehouse/sealing.py): editing the
register after the seal changes only a re-evaluation, and tampering with the sealed run's
result_exceptions is named by verify."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from flows.config import Config, Exceptions
from tests.controls.harness import Org
from tests.controls.test_exceptions_register import CONTROLS, ENTRY, unscanned
from warehouse import runner, sealing
from warehouse.schema import create_schema

EVALUATED_AT = datetime(2026, 11, 27, tzinfo=timezone.utc)
AFTER_GRACE = datetime(2026, 11, 28, tzinfo=timezone.utc)


@pytest.fixture
def sealed(monkeypatch, tmp_path):
    """(con, config, register path, sealed run id, change id): one change excepted by EXC-1, sealed."""
    every = [c for c in runner.load_controls() if c.control_id in CONTROLS]
    monkeypatch.setattr(runner, "load_controls", lambda: every)
    monkeypatch.setattr(runner, "build_models", lambda con: [])
    org = Org()
    ids = unscanned(org)
    path = tmp_path / "exceptions.yaml"
    path.write_text(json.dumps({"exceptions": [dict(ENTRY, subject=ids["change_id"])]}), encoding="utf-8")
    config = Config(exceptions=Exceptions(path=path))
    con = org.connect(config=config, evaluated_at=EVALUATED_AT)
    con.execute("drop table raw._manifests")          # the harness's table has only the columns EV-01 reads
    create_schema(con)
    run_id = runner.evaluate(con, config, "2026Q3", evaluated_at=EVALUATED_AT)
    sealing.seal(con, "2026Q3", now=AFTER_GRACE, by="auditor.kim")
    return con, config, path, run_id, ids["change_id"]


def applied(con, run_id: str) -> list[tuple]:
    return con.execute("select control_id, subject_id, exception_id, justification from result_exceptions"
                       " where run_id = ? order by all", [run_id]).fetchall()


def test_the_seal_hashes_the_applied_exceptions(sealed):
    con, _, _, run_id, change_id = sealed
    row = sealing.sealed_row(con, "2026Q3")
    hashes = json.loads(row["result_hashes"])
    assert "exceptions" in hashes and hashes == sealing.result_hashes(con, run_id)
    assert applied(con, run_id) == [("CM-08", change_id, "EXC-1", ENTRY["justification"])]
    result = sealing.verify(con, "2026Q3", "/nonexistent")
    assert result.ok and result.notes == []


def test_a_register_edited_after_the_seal_changes_only_a_reevaluation(sealed):
    con, config, path, run_id, change_id = sealed
    path.write_text(json.dumps({"exceptions": [dict(ENTRY, subject=change_id, justification="widened later")]}),
                    encoding="utf-8")
    with pytest.raises(sealing.PeriodSealed):
        runner.evaluate(con, config, "2026Q3", evaluated_at=EVALUATED_AT)
    rerun = runner.evaluate(con, config, "2026Q3", evaluated_at=EVALUATED_AT, reevaluate=True)
    assert applied(con, rerun) == [("CM-08", change_id, "EXC-1", "widened later")]
    assert applied(con, run_id) == [("CM-08", change_id, "EXC-1", ENTRY["justification"])]
    result = sealing.verify(con, "2026Q3", "/nonexistent")
    assert result.ok                                   # the sealed run is intact ...
    assert len(result.notes) == 1                      # ... and the later register load is named
    assert str(path) in result.notes[0] and "keeps the 1 exception(s) it applied" in result.notes[0]


def test_verify_names_tampered_applied_exceptions(sealed):
    con, _, _, run_id, _ = sealed
    con.execute("update result_exceptions set justification = 'rewritten' where run_id = ?", [run_id])
    result = sealing.verify(con, "2026Q3", "/nonexistent")
    assert not result.ok
    assert [p for p in result.problems if "result_exceptions" in p] == result.problems
    assert len(result.problems) == 1 and run_id in result.problems[0]
    con.execute("delete from result_exceptions where run_id = ?", [run_id])
    assert any("result_exceptions" in p for p in sealing.verify(con, "2026Q3", "/nonexistent").problems)
