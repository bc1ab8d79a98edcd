"""A tiny generated organization (flows/demo) extracted, loaded and evaluated for 2026Q3 without
Prefect, for reports that read the intermediate models (people, PRs, incidents, business days) as
well as the result tables: the emergency report and the digest."""
from __future__ import annotations

from datetime import datetime, timezone

UTC = timezone.utc
_EVALUATED: dict = {}


def make_evaluated_org(out, seed: int = 3, scale: float = 0.05,
                       evaluated_at: datetime = datetime(2026, 11, 27, tzinfo=UTC)):
    """A tiny generated organization (flows/demo) extracted, loaded and evaluated for 2026Q3 without
    Prefect; returns its config. For reports that read the intermediate models too. Built once per
    test process and arguments: later calls copy the first one's folder into `out`."""
    import shutil

    from flows.config import load_config

    key = (seed, scale, evaluated_at)
    if key in _EVALUATED:
        shutil.copytree(_EVALUATED[key], out)
        return load_config(out / "changetrail.toml")
    _EVALUATED[key] = out
    from flows import pipeline
    from flows.demo import generate

    generate(out, seed=seed, period="2026Q3", scale=scale)
    config = load_config(out / "changetrail.toml")
    run_id = pipeline.new_run_id()
    for name in pipeline.configured_sources(config):
        pipeline.extract_source(config, name, run_id)
    pipeline.load(config)
    pipeline.reconcile(config, "2026Q3", evaluated_at)
    return config

