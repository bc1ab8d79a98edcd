"""`changetrail bench` end to end on the tiny profile T: the JSON lines' shape and that counts tie.

Timings are printed, never asserted (no timed tests)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.bench.profiles import PROFILES, get_profile
from flows.bench.runner import bench
from reports.registry import REPORTS

TIMED_KEYS = {"stage", "wall_s", "cpu_s", "peak_rss_mb", "records", "records_per_s", "api_requests",
              "ratio_to_floor", "load_average"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="module")
def lines(cache):
    emitted: list[dict] = []
    result = bench("T", seed=7, cache_root=cache, only=["emergency"], emit=emitted.append)
    assert result == emitted
    return {line["stage"]: line for line in result}


def test_every_stage_prints_one_line_with_the_figures(lines):
    sources = [s for s in lines if s.startswith("extract:")]
    assert sources and "extract:github" in sources
    expected = {*sources, "load", "floor", "reconcile", "report:emergency",
                *(s.replace("extract:", "extract_incremental:") for s in sources), "load_day", "reconcile_incremental"}
    assert expected <= set(lines)
    for stage in expected:
        assert TIMED_KEYS <= set(lines[stage]), stage
        assert lines[stage]["peak_rss_mb"] > 0 and lines[stage]["wall_s"] >= 0
    assert lines["machine"]["nproc"] >= 1 and lines["machine"]["profile"] == "T"
    assert not {f"report:{name}" for name in REPORTS if name != "emergency"} & set(lines)  # --only


def test_counts_tie_between_extract_load_and_the_floor(lines):
    extracted = sum(line["records"] for stage, line in lines.items() if stage.startswith("extract:"))
    assert extracted == lines["load"]["records"] == lines["floor"]["records"] > 0
    assert lines["floor"]["ratio_to_floor"] == 1.0
    assert lines["reconcile"]["changes"] == lines["report:emergency"]["records"] == lines["generate"]["changes"]
    assert lines["reconcile_incremental"]["changes"] == lines["reconcile"]["changes"]
    assert lines["reconcile_incremental"]["records"] == lines["reconcile"]["records"]
    assert lines["reconcile"]["results_stored"] == lines["reconcile"]["records"]     # the period's first run
    assert lines["reconcile_incremental"]["results_base"] == lines["reconcile"]["run_id"]


def test_api_requests_are_counted_at_the_transport(lines):
    github = lines["extract:github"]
    assert github["api_requests"] > github["units"]        # pages, reviews, commits, checks ...
    assert github["duplicate_requests"] == 0
    summary = lines["summary"]
    assert summary["api_requests"] == sum(l["api_requests"] for s, l in lines.items() if s.startswith("extract:"))
    assert summary["github_requests_per_1000_prs"] == round(github["api_requests"] * 1000 / lines["generate"]["pull_requests"], 1)
    assert summary["github_requests_incremental_day"] == lines["extract_incremental:github"]["api_requests"]
    assert summary["failed_stages"] == []


def test_a_second_run_reuses_the_generated_organization(tmp_path, monkeypatch):
    import flows.bench.runner as runner

    calls = []
    monkeypatch.setattr(runner, "_timed", lambda *args: iter(()))
    first = runner.bench("T", cache_root=tmp_path, emit=calls.append)
    second = runner.bench("T", cache_root=tmp_path)
    assert first[1]["cached"] is False and second[1]["cached"] is True
    assert second[1]["changes"] == first[1]["changes"] > 0


def test_profiles_and_an_unknown_profile():
    assert [PROFILES[p].changes for p in ("S", "M", "L", "XL")] == [3_000, 10_000, 50_000, 500_000]
    assert get_profile("l").scale == pytest.approx(50_000 / 3_000, rel=1e-3)
    with pytest.raises(ValueError, match="unknown benchmark profile 'XXL'"):
        get_profile("XXL")


def test_cli_names_a_bad_profile(tmp_path):
    from flows.cli import app

    result = CliRunner().invoke(app, ["bench", "--profile", "XXL", "--cache", str(tmp_path)])
    assert result.exit_code != 0
    assert "XXL" in result.output


def test_stages_can_be_timed_again_on_the_previous_run(lines, cache):
    again = bench("T", seed=7, cache_root=cache, stages_only=["reconcile", "report:emergency"])
    timed = [line for line in again if "wall_s" in line and line["stage"] != "generate"]
    assert [line["stage"] for line in timed] == ["reconcile", "report:emergency"]
    assert timed[0]["changes"] == lines["reconcile"]["changes"]  # the same warehouse, evaluated again
    assert again[0]["memory_limit"] == "3GB"
    with pytest.raises(ValueError, match="unknown stage"):
        bench("T", seed=7, cache_root=cache, stages_only=["reconcil"])


def test_rebase_needs_a_held_back_day(cache):
    with pytest.raises(ValueError, match="held-back day"):
        bench("T", seed=7, cache_root=cache, rebase=True)
    with pytest.raises(ValueError, match="load_day"):
        bench("LD", seed=7, cache_root=cache, stages_only=["reconcile"], rebase=True)


def test_the_run_config_carries_the_memory_limit(lines, cache):
    from flows.config import load_config

    config = load_config(next(cache.glob("T-*")) / "run" / "changetrail.toml")
    assert config.warehouse.memory_limit == "3GB"
