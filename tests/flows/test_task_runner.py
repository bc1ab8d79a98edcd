"""README "Scaling past one machine": `[schedules] task_runner` spreads evidence-run's extraction
tasks over worker processes; the run loads exactly what the threaded run loads."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.config import ConfigError, load_config
from flows.evidence_run import extraction_runner


def _with_runner(config: Path, runner: str) -> Path:
    text = config.read_text(encoding="utf-8")
    config.write_text(f'{text}\n[schedules]\ntask_runner = "{runner}"\ntask_workers = 2\n', encoding="utf-8")
    return config


def test_the_configured_runner_is_used(tmp_path):
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    config_path = tmp_path / "changetrail.toml"
    config_path.write_text("", encoding="utf-8")
    assert isinstance(extraction_runner(load_config(config_path), 3), ThreadPoolTaskRunner)
    runner = extraction_runner(load_config(_with_runner(config_path, "processes")), 3)
    assert isinstance(runner, ProcessPoolTaskRunner) and runner._max_workers == 2
    config_path.write_text('[schedules]\ntask_runner = "dask"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="task_runner"):
        load_config(config_path)


def test_process_workers_extract_what_threads_extract(tmp_path, prefect_harness, monkeypatch):
    from flows.demo import generate
    from flows.evidence_run import evidence_run

    threads, processes = tmp_path / "threads", tmp_path / "processes"
    generate(threads, seed=5, period="2026Q3", scale=0.05)
    shutil.copytree(threads, processes)
    results = {}
    for folder, runner in ((threads, "threads"), (processes, "processes")):
        monkeypatch.chdir(folder)
        results[runner] = evidence_run(period="2026Q3", config_path=_with_runner(folder / "changetrail.toml", runner),
                                       render=False)
    assert results["processes"].load.total_records > 0
    assert results["threads"].load.records == results["processes"].load.records
    assert results["threads"].load.quarantined == results["processes"].load.quarantined
