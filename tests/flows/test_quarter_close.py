"""The `quarter-close` flow on a generated organization, and a failing source through `evidence-run`:
both run the real Prefect flows (one test server per session)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from extractors.core.errors import ExtractionError
from flows import pipeline
from flows.config import load_config
from flows.demo import generate
from flows.evidence_run import evidence_run
from flows.quarter_close import previous_quarter, quarter_close
from reports import registry

PERIOD = "2026Q3"                                           # ends 2026-10-01; 15 grace days -> sealable 2026-10-16
INSIDE_GRACE = datetime(2026, 10, 10, 6, tzinfo=timezone.utc)
AFTER_GRACE = datetime(2026, 10, 17, 6, tzinfo=timezone.utc)


def _counts(config) -> tuple[int, int]:
    with duckdb.connect(str(config.warehouse.path), read_only=True) as con:
        return con.execute("select (select count(*) from evaluation_runs where period = ?),"
                           " (select count(*) from sealed_periods where period = ?)", [PERIOD, PERIOD]).fetchone()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    """A small organization extracted and loaded (no evaluation yet)."""
    out = tmp_path_factory.mktemp("close")
    generate(out, seed=11, period=PERIOD, scale=0.05)
    config = load_config(out / "changetrail.toml")
    run_id = pipeline.new_run_id()
    for name in pipeline.configured_sources(config):
        pipeline.extract_source(config, name, run_id)
    pipeline.load(config)
    return out / "changetrail.toml"


def test_previous_quarter() -> None:
    assert previous_quarter(datetime(2026, 10, 17, tzinfo=timezone.utc)) == "2026Q3"
    assert previous_quarter(datetime(2027, 1, 1, tzinfo=timezone.utc)) == "2026Q4"
    assert previous_quarter(datetime(2026, 3, 31, 23, tzinfo=timezone.utc)) == "2025Q4"


RENDERED: list[tuple[str, str | None]] = []


def record_request(request) -> list[Path]:
    """A stand-in registered report: records which run it was asked for."""
    RENDERED.append((request.period, request.run_id))
    path = request.out_dir / "recorded.txt"
    path.write_text(str(request.run_id), encoding="utf-8")
    return [path]


def test_close_renders_every_report_then_seals_after_the_grace_period_once(loaded: Path, prefect_harness,
                                                                          monkeypatch) -> None:
    # the real quarterly report plus a recording one (the registry's other reports cost a minute a run;
    # the scenario tests render every real report through `evidence-run`)
    reports = {"quarterly": registry.REPORTS["quarterly"],
               "recorded": registry.ReportSpec("recorded", "Recorded", "tests", f"{__name__}:record_request")}
    monkeypatch.setattr(registry, "REPORTS", reports)
    monkeypatch.setattr("flows.quarter_close.REPORTS", reports)
    config = load_config(loaded)

    early = quarter_close(config_path=loaded, now=INSIDE_GRACE)          # period: the quarter just ended
    assert early.period == PERIOD and early.seal is None and not early.already_sealed
    assert early.status == "seal pending until 2026-10-16"
    assert _counts(config) == (1, 0)
    assert all(p.exists() and p.is_relative_to(config.reports.out / PERIOD) for p in early.reports)
    assert {p.suffix for p in early.reports} >= {".pdf", ".html", ".txt"}
    assert RENDERED == [(PERIOD, early.run_id)]

    closed = quarter_close(config_path=loaded, period=PERIOD, now=AFTER_GRACE)
    assert closed.status == "sealed" and closed.seal is not None
    assert closed.seal.run_id == closed.run_id and closed.seal.sealed_by == "changetrail quarter-close"
    assert not closed.seal.forced
    assert _counts(config) == (2, 1)                                     # re-evaluated with the late evidence, sealed
    assert RENDERED[-1] == (PERIOD, closed.run_id)

    again = quarter_close(config_path=loaded, period=PERIOD, now=AFTER_GRACE)
    assert again.status == "already sealed" and again.seal is None
    assert again.run_id == closed.run_id                                 # the sealed run, not a new one
    assert _counts(config) == (2, 1)                                     # nothing re-evaluated, nothing re-sealed
    assert sorted(again.reports) == sorted(closed.reports)
    assert RENDERED[-1] == (PERIOD, None)                                # None: the report reads the sealed run


def _github_config(tmp_path: Path, retries: int) -> Path:
    path = tmp_path / "changetrail.toml"
    path.write_text(f"""
[warehouse]
path = "wh.duckdb"
landing = "landing"
[sources.github]
org = "acme"
repos = ["acme/api"]
base_url = "file://{(tmp_path / 'no-such-api').as_posix()}"
[schedules]
extract_retries = {retries}
extract_retry_delay_seconds = [0]
""", encoding="utf-8")
    return path


def test_a_failed_source_fails_the_run_naming_step_and_source(tmp_path: Path, prefect_harness) -> None:
    with pytest.raises(ExtractionError) as info:
        evidence_run(config_path=_github_config(tmp_path, retries=0), period=PERIOD)
    assert str(info.value).startswith("extract github: GET file://"), str(info.value)
    assert "/repos/acme/api" in str(info.value)
    assert not (tmp_path / "wh.duckdb").exists()                         # the load step never ran


def test_network_errors_are_retried_with_back_off_and_answers_are_not(tmp_path: Path, monkeypatch,
                                                                    prefect_harness) -> None:
    from extractors.core.errors import HttpStatusError

    calls: list[str] = []

    def flaky(source, landing, run_id, **_):
        calls.append(run_id)
        raise ExtractionError("github", "https://api.github.com/orgs/acme/repos", 503, "retry later")

    monkeypatch.setattr(pipeline, "extractor_for", lambda name: flaky)
    with pytest.raises(ExtractionError, match=r"^extract github: GET https://api.github.com/orgs/acme/repos "
                                              r"failed: HTTP 503"):
        evidence_run(config_path=_github_config(tmp_path, retries=2), period=PERIOD)
    assert len(calls) == 3                                               # 1 + 2 retries

    def forbidden(source, landing, run_id, **_):
        calls.append(run_id)
        raise HttpStatusError("github", "https://api.github.com/orgs/acme/repos", 403)

    calls.clear()
    monkeypatch.setattr(pipeline, "extractor_for", lambda name: forbidden)
    with pytest.raises(HttpStatusError, match="^extract github: .* HTTP 403"):
        evidence_run(config_path=_github_config(tmp_path, retries=2), period=PERIOD)
    assert len(calls) == 1                                               # an answer is not retried
