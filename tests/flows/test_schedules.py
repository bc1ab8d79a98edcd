"""Deployment specs from [schedules] (flows/schedules.py), prefect.yaml, and the step-naming errors.

No Prefect server: specs are plain data, RunnerDeployments are built offline."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows import pipeline
from flows.config import Config, ConfigError, load_config
from flows.schedules import (DeploymentSpec, FlowNotAvailable, Schedules, build_specs, load_flow,
                             render_prefect_yaml, to_deployments)

ROOT = Path(__file__).resolve().parents[2]


def _by_name(specs: list[DeploymentSpec]) -> dict[str, DeploymentSpec]:
    return {s.name: s for s in specs}


def test_default_specs_name_flow_cron_time_zone_and_parameters() -> None:
    specs = _by_name(build_specs(Config(), "/srv/ct/changetrail.toml"))
    assert list(specs) == ["daily-incremental", "weekly-digest", "quarter-close"]
    daily, digest, close = specs["daily-incremental"], specs["weekly-digest"], specs["quarter-close"]
    assert (daily.flow_name, daily.entrypoint, daily.cron, daily.timezone) == (
        "evidence-run", "flows/evidence_run.py:evidence_run", "0 2 * * *", "UTC")
    assert daily.parameters == {"config_path": "/srv/ct/changetrail.toml", "render": False}
    assert (digest.flow_name, digest.entrypoint, digest.cron) == (
        "weekly-digest", "flows/digest_run.py:weekly_digest", "0 7 * * 1")
    # 16 days after the quarter's end (the 1st of Jan/Apr/Jul/Oct) is the 17th, after the 15 grace days
    assert (close.flow_name, close.cron, close.parameters) == (
        "quarter-close", "0 6 17 1,4,7,10 *", {"config_path": "/srv/ct/changetrail.toml"})


def test_schedules_follow_the_config(tmp_path: Path) -> None:
    path = tmp_path / "changetrail.toml"
    path.write_text("""
[schedules]
time_zone = "Europe/Berlin"
[schedules.daily]
cron = "30 1 * * 1-5"
render_reports = true
[schedules.weekly_digest]
enabled = false
[schedules.quarter_close]
days_after_quarter_end = 20
time = "05:45"
""", encoding="utf-8")
    specs = _by_name(build_specs(load_config(path), str(path)))
    assert set(specs) == {"daily-incremental", "quarter-close"}
    assert {s.timezone for s in specs.values()} == {"Europe/Berlin"}
    assert specs["daily-incremental"].cron == "30 1 * * 1-5"
    assert specs["daily-incremental"].parameters["render"] is True
    assert specs["quarter-close"].cron == "45 5 21 1,4,7,10 *"
    assert len(build_specs(load_config(path), str(path), include_disabled=True)) == 3


@pytest.mark.parametrize("toml, key", [
    ('[schedules]\ntime_zone = "Mars/Olympus"', "schedules.time_zone"),
    ('[schedules.daily]\ncron = "0 2 * *"', "schedules.daily.cron"),
    ('[schedules.weekly_digest]\ncron = "every monday"', "schedules.weekly_digest.cron"),
    ("[schedules.quarter_close]\ndays_after_quarter_end = 40", "schedules.quarter_close.days_after_quarter_end"),
    ('[schedules.quarter_close]\ntime = "25:00"', "schedules.quarter_close.time"),
    ("[schedules]\nretries = 3", "schedules.retries"),
])
def test_a_bad_schedule_names_the_key(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "changetrail.toml"
    path.write_text(toml + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: {key}:")


def test_retry_delays_repeat_the_last_back_off() -> None:
    assert Schedules().retry_delays() == [10, 60]
    assert Schedules(extract_retries=4, extract_retry_delay_seconds=[5, 30]).retry_delays() == [5, 30, 30, 30]
    assert Schedules(extract_retries=0).retry_delays() == []


def test_prefect_yaml_at_the_root_is_the_default_specs() -> None:
    committed = (ROOT / "prefect.yaml").read_text(encoding="utf-8")
    specs = build_specs(Config(), "changetrail.toml")
    assert committed == render_prefect_yaml(specs), "regenerate: changetrail deployments --prefect-yaml > prefect.yaml"
    deployments = yaml.safe_load(committed)["deployments"]
    assert [(d["name"], d["entrypoint"], d["schedules"], d["parameters"]) for d in deployments] == [
        (s.name, s.entrypoint, [{"cron": s.cron, "timezone": s.timezone}], s.parameters) for s in specs]
    assert {d["work_pool"]["name"] for d in deployments} == {"changetrail"}
    for d in deployments:  # every entrypoint names a flow of this repository (the digest's may not exist yet)
        file, _, func = d["entrypoint"].partition(":")
        if d["name"] != "weekly-digest" or (ROOT / file).exists():
            assert f"def {func}(" in (ROOT / file).read_text(encoding="utf-8")


def test_runner_deployments_carry_schedule_and_parameters_offline() -> None:
    specs = [s for s in build_specs(Config(), "/srv/changetrail.toml") if s.name != "weekly-digest"]
    deployments, skipped = to_deployments(specs)
    assert skipped == []
    by_name = {d.name: d for d in deployments}
    assert set(by_name) == {"daily-incremental", "quarter-close"}
    daily = by_name["daily-incremental"]
    assert daily.flow_name == "evidence-run"
    assert daily.parameters == {"config_path": "/srv/changetrail.toml", "render": False}
    (schedule,) = daily.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "UTC")
    assert by_name["quarter-close"].schedules[0].schedule.cron == "0 6 17 1,4,7,10 *"
    assert daily.entrypoint == "flows.evidence_run.evidence_run"  # module path: serve works from any directory


def test_a_flow_that_is_not_there_is_skipped_with_a_sentence() -> None:
    missing = DeploymentSpec("weekly-digest", "weekly-digest", "flows/no_such_module.py:weekly_digest",
                             "0 7 * * 1", "UTC", {"config_path": "x"})
    deployments, skipped = to_deployments([missing])
    assert deployments == [] and len(skipped) == 1
    assert skipped[0].startswith("deployment weekly-digest: flow flows/no_such_module.py:weekly_digest is not available")


def test_a_parameter_the_flow_does_not_take_is_refused() -> None:
    spec = DeploymentSpec("x", "quarter-close", "flows/quarter_close.py:quarter_close", "0 6 17 1,4,7,10 *", "UTC",
                          {"config_path": "c", "sealing_days": 3})
    with pytest.raises(FlowNotAvailable, match="takes no parameter"):
        load_flow(spec)


def test_every_spec_parameter_is_a_parameter_of_its_flow() -> None:
    for spec in build_specs(Config(), "c.toml"):
        if spec.name == "weekly-digest":
            try:
                load_flow(spec)
            except FlowNotAvailable as exc:  # flows/digest_run.py is another engineer's: the hook waits for it
                assert "is not available" in str(exc)
            continue
        load_flow(spec)


def test_cli_prints_the_specs_and_the_prefect_yaml(tmp_path: Path) -> None:
    from flows.cli import app

    config = tmp_path / "changetrail.toml"
    config.write_text('[schedules]\ntime_zone = "America/New_York"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["deployments", "--config", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = yaml.safe_load(result.stdout)
    assert [r["deployment"] for r in rows] == ["evidence-run/daily-incremental", "weekly-digest/weekly-digest",
                                                "quarter-close/quarter-close"]
    assert {r["time zone"] for r in rows} == {"America/New_York"}
    result = CliRunner().invoke(app, ["deployments", "--config", str(config), "--prefect-yaml"])
    data = yaml.safe_load(result.stdout)
    assert data["deployments"][0]["parameters"]["config_path"] == "changetrail.toml"
    assert data["deployments"][0]["schedules"] == [{"cron": "0 2 * * *", "timezone": "America/New_York"}]


# -- failures name the step and the source ------------------------------------------------------
def test_step_prefixes_the_error_and_keeps_its_type() -> None:
    from extractors.core.errors import HttpStatusError

    with pytest.raises(HttpStatusError) as info:
        with pipeline.step("extract", "github"):
            raise HttpStatusError("github", "https://api.github.com/repos/a/b/pulls", 404)
    assert str(info.value) == "extract github: GET https://api.github.com/repos/a/b/pulls failed: HTTP 404"
    with pytest.raises(ValueError, match=r"^load: bad manifest$"):
        with pipeline.step("load"):
            raise ValueError("bad manifest")


def test_step_wraps_errors_whose_text_cannot_be_prefixed() -> None:
    with pytest.raises(pipeline.StepError, match=r"^render 2026Q3 quarterly: KeyError: "):
        with pipeline.step("render 2026Q3", "quarterly"):
            raise KeyError("files")
